"""Our two qwen-agent model types for real servers, `million_oai` (any OpenAI-compatible server:
vLLM, Ollama, Xinference, DashScope's compatible mode) and `million_dashscope` (the DashScope SDK).

They are qwen-agent's own `oai` / `qwen_dashscope` classes with what a real server broke
(each found on the wire, tests/llm_wire):

- Native tool calls are assembled by the chunk's `index` and `id`, whatever the server does with
  them: vLLM sends the id and name first and `arguments` absent (None) in that chunk, then argument
  pieces without an id; sglang repeats the id on every piece; Ollama sends the whole call in one
  chunk; a second call in the same message gets its own index/id. qwen-agent's loop fails on the
  first vLLM chunk (`FunctionCall(arguments=None)`, QwenLM/Qwen-Agent#702).
- A tool result goes back as `{"role": "tool", "tool_call_id": …}` (qwen-agent writes `id`, which
  OpenAI-compatible servers reject or ignore: QwenLM/Qwen-Agent#917), and every call has an id.
- Reasoning is never part of the answer: `reasoning_content` (vLLM ≤ 0.10, DashScope) and
  `reasoning` (vLLM ≥ 0.11, Ollama) go to the message's `reasoning_content`, and so does a
  `<think>…</think>` block written into the content (a reasoning model served without a reasoning
  parser). It is not sent back to the server on the next call either.
- A failed request raises `LLMServiceError` with the HTTP status in its text, so the turn's error
  message can say what happened (401 → key, 429 → busy, 5xx → server, timeout). Retries
  (LLM_MAX_RETRIES) happen only before the first byte of a reply, never after a part of the answer
  was shown.
"""

from __future__ import annotations

import copy
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from qwen_agent.llm.base import register_llm
from qwen_agent.llm.oai import TextChatAtOAI
from qwen_agent.llm.qwen_dashscope import QwenChatAtDS
from qwen_agent.llm.schema import ASSISTANT, FunctionCall, Message

RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}
# A stream that ended without a finish_reason was cut (a proxy or the server closed it early).
CUT = "模型服务的流式回复在中途断开（没有收到结束标记），回答不完整。"


class LLMServiceError(RuntimeError):
    """The model server failed; the text names the HTTP status (if any) and the server's message."""

    def __init__(self, text: str, status: int | None = None) -> None:
        super().__init__(text)
        self.status = status


# -- reasoning ---------------------------------------------------------------------------------------
def split_thinking(text: str) -> tuple[str, str]:
    """(reasoning, answer) of a content string. `<think>` opens reasoning (still open while
    streaming: all of it is reasoning so far); a lone `</think>` (DeepSeek-R1's template puts the
    opening tag in the prompt) closes it."""
    if not text:
        return "", text
    low = text.lower()
    start = low.find("<think>")
    end = low.find("</think>")
    if start >= 0 and (end < 0 or end > start) and not text[:start].strip():
        if end < 0:
            return text[start + 7:].strip(), ""
        return text[start + 7:end].strip(), text[end + 8:].lstrip()
    if end >= 0 and start < 0:
        return text[:end].strip(), text[end + 8:].lstrip()
    return "", text


# -- tool-call assembly --------------------------------------------------------------------------------
@dataclass
class _Call:
    id: str
    name: str = ""
    arguments: str = ""


@dataclass
class ToolCallAssembler:
    """Native tool calls put together from streamed pieces (see the module docstring)."""
    calls: list[_Call] = field(default_factory=list)
    _by_index: dict[int, _Call] = field(default_factory=dict)

    def add(self, index: int | None, call_id: str | None, name: str | None, arguments: str | None) -> None:
        call_id = call_id or ""
        slot: _Call | None = None
        if call_id:
            slot = next((c for c in self.calls if c.id == call_id), None)
            if slot is None and index is not None:
                cand = self._by_index.get(index)
                if cand is not None and cand.id.startswith("call_auto_") and not cand.name:
                    slot, slot.id = cand, call_id
        elif index is not None and index in self._by_index:
            slot = self._by_index[index]
        elif self.calls:
            slot = self.calls[-1]
        if slot is None:
            slot = _Call(call_id or f"call_auto_{uuid.uuid4().hex[:12]}")
            self.calls.append(slot)
        if index is not None:
            self._by_index[index] = slot
        if name and name != slot.name:
            slot.name = name if not slot.name else slot.name + name
        slot.arguments += arguments or ""

    def messages(self) -> list[Message]:
        return [Message(role=ASSISTANT, content="", function_call=FunctionCall(name=c.name, arguments=c.arguments),
                        extra={"function_id": c.id}) for c in self.calls if c.name]


def _assemble(reasoning: str, content: str, calls: ToolCallAssembler,
              usage: dict[str, Any] | None = None) -> list[Message]:
    think, answer = split_thinking(content)
    reasoning = "\n".join(x for x in (reasoning.strip(), think) if x)
    out: list[Message] = []
    if reasoning:
        out.append(Message(role=ASSISTANT, content="", reasoning_content=reasoning))
    if answer:
        out.append(Message(role=ASSISTANT, content=answer))
    out += calls.messages()
    if usage and out:  # where evaluation/metering.py reads a backend's token usage
        out[-1].extra = {**(out[-1].extra or {}), "model_service_info": {"usage": usage}}
    return out


def outgoing_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """qwen-agent's OpenAI-style messages made valid for a real server: every tool call has an id,
    a tool result names it in `tool_call_id`, no reasoning is sent back."""
    out = []
    pending: list[str] = []
    for m in messages:
        m = dict(m)
        m.pop("reasoning_content", None)
        if m.get("role") == "assistant":
            for tc in m.get("tool_calls") or []:
                if not tc.get("id") or tc["id"] == "1":
                    tc["id"] = f"call_{uuid.uuid4().hex[:12]}"
                pending.append(tc["id"])
            if "content" not in m or m["content"] is None:
                m["content"] = ""
        elif m.get("role") == "tool":
            call_id = m.pop("id", None)
            if pending:
                call_id = pending.pop(0) if call_id not in pending else (pending.remove(call_id) or call_id)
            m["tool_call_id"] = call_id or f"call_{uuid.uuid4().hex[:12]}"
            m.pop("extra", None)
        out.append(m)
    return out


class _EveryCallHasAnId:
    """qwen-agent's agent loop reads `message.extra["function_id"]` of every tool call, but its
    ✿FUNCTION✿ (qwen) prompt parser leaves `extra` None: the turn failed with
    "'NoneType' object has no attribute 'get'" right after the first call."""

    def _postprocess_messages(self, messages: list[Message], fncall_mode: bool, generate_cfg: dict) -> list[Message]:
        out = super()._postprocess_messages(messages, fncall_mode=fncall_mode, generate_cfg=generate_cfg)  # type: ignore[misc]
        for i, m in enumerate(out):
            if m.extra is None:
                m.extra = {}
            if m.function_call and not m.extra.get("function_id"):
                m.extra["function_id"] = f"call_text_{i + 1}"
        return out


# -- OpenAI-compatible --------------------------------------------------------------------------------
def _openai_error(e: Exception) -> LLMServiceError:
    import httpx
    import openai

    if isinstance(e, openai.APITimeoutError):
        return LLMServiceError(f"模型服务响应超时（timed out）：{e}")
    if isinstance(e, openai.APIStatusError):
        body = e.body if isinstance(e.body, (dict, str)) else ""
        return LLMServiceError(f"HTTP {e.status_code}: {e.message} {body}"[:600], e.status_code)
    if isinstance(e, openai.APIConnectionError):
        return LLMServiceError(f"无法连接模型服务（connect error）：{e}")
    if isinstance(e, (httpx.RemoteProtocolError, httpx.ReadError)):
        return LLMServiceError(f"模型服务的流式回复在中途断开：{type(e).__name__}: {e}")
    if isinstance(e, httpx.TimeoutException):
        return LLMServiceError(f"模型服务响应超时（timed out）：{e}")
    return LLMServiceError(f"模型服务返回了无法解析的回复：{type(e).__name__}: {e}"[:600])


@register_llm("million_oai")
class OpenAICompatible(_EveryCallHasAnId, TextChatAtOAI):
    """cfg: model, model_server, api_key, timeout (s), max_retries; generate_cfg as qwen-agent's."""

    def __init__(self, cfg: dict[str, Any] | None = None) -> None:
        import openai

        cfg = dict(cfg or {})
        super().__init__(cfg)
        self._client = openai.OpenAI(base_url=(cfg.get("model_server") or "").strip() or None,
                                     api_key=(cfg.get("api_key") or "EMPTY").strip(),
                                     timeout=float(cfg.get("timeout", 60.0)),
                                     max_retries=int(cfg.get("max_retries", 1)))

        def create(*args: Any, **kwargs: Any) -> Any:
            extra = {k: kwargs.pop(k) for k in ("top_k", "repetition_penalty") if k in kwargs}
            if extra:
                kwargs["extra_body"] = {**kwargs.get("extra_body", {}), **extra}
            kwargs.pop("request_timeout", None)
            return self._client.chat.completions.create(*args, **kwargs)

        self._chat_complete_create = create

    def convert_messages_to_dicts(self, messages: list[Message]) -> list[dict]:
        return outgoing_messages(super().convert_messages_to_dicts(messages))

    def _chat_stream(self, messages: list[Message], delta_stream: bool, generate_cfg: dict) -> Iterator[list[Message]]:
        dicts = self.convert_messages_to_dicts(messages)
        try:
            response = self._chat_complete_create(model=self.model, messages=dicts, stream=True, **generate_cfg)
        except Exception as e:  # noqa: BLE001 - every failure becomes one clear error
            raise _openai_error(e) from e
        reasoning, content, calls = "", "", ToolCallAssembler()
        finished = False
        try:
            for chunk in response:
                if not chunk.choices:
                    continue
                finished = finished or bool(chunk.choices[0].finish_reason)
                delta = chunk.choices[0].delta
                r = getattr(delta, "reasoning_content", None) or getattr(delta, "reasoning", None)
                extra = getattr(delta, "model_extra", None) or {}
                r = r or extra.get("reasoning_content") or extra.get("reasoning")
                if isinstance(r, str) and r:
                    reasoning += r
                if delta.content:
                    content += delta.content
                for tc in delta.tool_calls or []:
                    fn = tc.function
                    calls.add(tc.index, tc.id, fn.name if fn else None, fn.arguments if fn else None)
                if delta_stream:
                    raise NotImplementedError("delta_stream is not supported")
                out = _assemble(reasoning, content, calls)
                if out:  # nothing yet (the role-only first chunk): qwen-agent's parsers need a message
                    yield out
            if not finished:
                raise LLMServiceError(CUT)
        except (LLMServiceError, NotImplementedError):
            raise
        except Exception as e:  # noqa: BLE001 - a failure after the reply began is a cut stream
            err = _openai_error(e)
            if "connect" in str(err) or "断开" in str(err):
                raise LLMServiceError(CUT) from e
            raise err from e

    def _chat_no_stream(self, messages: list[Message], generate_cfg: dict) -> list[Message]:
        dicts = self.convert_messages_to_dicts(messages)
        try:
            response = self._chat_complete_create(model=self.model, messages=dicts, stream=False, **generate_cfg)
        except Exception as e:  # noqa: BLE001
            raise _openai_error(e) from e
        msg = response.choices[0].message
        extra = getattr(msg, "model_extra", None) or {}
        reasoning = getattr(msg, "reasoning_content", None) or extra.get("reasoning_content") or extra.get("reasoning") or ""
        calls = ToolCallAssembler()
        for i, tc in enumerate(msg.tool_calls or []):
            calls.add(i, tc.id, tc.function.name, tc.function.arguments)
        return _assemble(str(reasoning or ""), msg.content or "", calls)


# -- DashScope ----------------------------------------------------------------------------------------
@register_llm("million_dashscope")
class DashScope(_EveryCallHasAnId, QwenChatAtDS):
    """cfg as qwen-agent's qwen_dashscope, plus timeout (s) and max_retries; `base_http_api_url`
    (DASHSCOPE_BASE_URL) points the SDK at another endpoint."""

    def __init__(self, cfg: dict[str, Any] | None = None) -> None:
        cfg = dict(cfg or {})
        super().__init__(cfg)
        self._timeout = float(cfg.get("timeout", 60.0))
        self._retries = int(cfg.get("max_retries", 1))

    def _messages(self, messages: list[Message]) -> list[dict[str, Any]]:
        dicts = [m.model_dump() for m in messages]
        if dicts[-1]["role"] == ASSISTANT:
            dicts[-1]["partial"] = True
        return outgoing_messages(self._conv_qwen_agent_messages_to_oai(dicts))

    def _call(self, messages: list[Message], generate_cfg: dict, stream: bool) -> Any:
        import dashscope

        cfg = copy.deepcopy(generate_cfg)
        cfg.pop("request_timeout", None)
        try:
            return dashscope.Generation.call(self.model, messages=self._messages(messages), result_format="message",
                                             stream=stream, request_timeout=self._timeout, **cfg)
        except Exception as e:  # noqa: BLE001
            raise _requests_error(e) from e

    def _chat_stream(self, messages: list[Message], delta_stream: bool, generate_cfg: dict) -> Iterator[list[Message]]:
        if delta_stream:
            raise NotImplementedError("delta_stream is not supported")
        attempt = 0
        while True:
            shown = False
            try:
                for out in self._stream_once(messages, generate_cfg):
                    shown = True
                    yield out
                return
            except LLMServiceError as e:
                if shown or attempt >= self._retries or (e.status is not None and e.status not in RETRY_STATUS):
                    raise
                attempt += 1
                time.sleep(min(0.5 * 2 ** attempt, 4.0))

    def _stream_once(self, messages: list[Message], generate_cfg: dict) -> Iterator[list[Message]]:
        response = self._call(messages, generate_cfg, stream=True)
        reasoning, content, calls = "", "", ToolCallAssembler()
        finished = False
        try:
            for chunk in response:
                if chunk.status_code != 200:
                    raise LLMServiceError(f"HTTP {chunk.status_code}: {chunk.code} {chunk.message}"[:600],
                                          int(chunk.status_code))
                choice = (chunk.output or {}).get("choices") or [{}]
                finished = finished or choice[0].get("finish_reason") not in (None, "", "null")
                msg = choice[0].get("message") or {}
                reasoning += msg.get("reasoning_content") or ""
                content += msg.get("content") or ""
                for i, tc in enumerate(msg.get("tool_calls") or []):
                    fn = tc.get("function") or {}
                    calls.add(tc.get("index", i), tc.get("id"), fn.get("name"), fn.get("arguments"))
                usage = chunk.usage if isinstance(chunk.usage, dict) else None
                out = _assemble(reasoning, content, calls, usage)
                if out:
                    yield out
            if not finished:
                raise LLMServiceError(CUT)
        except LLMServiceError:
            raise
        except Exception as e:  # noqa: BLE001
            raise _requests_error(e) from e

    def _chat_no_stream(self, messages: list[Message], generate_cfg: dict) -> list[Message]:
        *_, last = self._chat_stream(messages, False, generate_cfg)
        return last


def _requests_error(e: Exception) -> LLMServiceError:
    import requests

    if isinstance(e, requests.exceptions.Timeout):
        return LLMServiceError(f"模型服务响应超时（timed out）：{e}")
    if isinstance(e, requests.exceptions.ChunkedEncodingError):
        return LLMServiceError(f"模型服务的流式回复在中途断开：{e}")
    if isinstance(e, requests.exceptions.ConnectionError):
        return LLMServiceError(f"无法连接模型服务（connect error）：{e}")
    return LLMServiceError(f"模型服务返回了无法解析的回复：{type(e).__name__}: {e}"[:600])

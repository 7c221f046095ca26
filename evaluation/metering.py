"""LLM calls and tokens per turn. The model object is wrapped where every backend's request goes
(`_chat_stream` / `_chat_no_stream`): usage is taken from the response when the backend reports it
(DashScope does), otherwise estimated from characters and marked as an estimate."""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

_CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")
ESTIMATE_RULE = "按字符估算：每个汉字（含全角标点）计 1 个 token，其余字符每 4 个计 1 个 token"


def estimate_tokens(text: str) -> int:
    cjk = len(_CJK.findall(text))
    return cjk + math.ceil((len(text) - cjk) / 4)


def message_text(msg: Any) -> str:
    """Text of a qwen-agent Message or dict: content items plus any function call."""
    get = msg.get if isinstance(msg, dict) else lambda k, d=None: getattr(msg, k, d)
    content = get("content", "")
    if isinstance(content, list):
        parts = []
        for item in content:
            t = item.get("text") if isinstance(item, dict) else getattr(item, "text", None)
            parts.append(t or "")
        content = "".join(parts)
    fc = get("function_call")
    if fc:
        name = fc.get("name") if isinstance(fc, dict) else getattr(fc, "name", "")
        args = fc.get("arguments") if isinstance(fc, dict) else getattr(fc, "arguments", "")
        content = f"{content or ''}{name or ''}{args or ''}"
    return content or ""


def _usage(msgs: list[Any]) -> tuple[int, int] | None:
    """(input, output) tokens when the backend put its usage on the response (DashScope)."""
    for m in reversed(msgs or []):
        extra = m.get("extra") if isinstance(m, dict) else getattr(m, "extra", None)
        info = (extra or {}).get("model_service_info") if isinstance(extra, dict) else None
        usage = getattr(info, "usage", None) if info is not None else None
        if usage is None and isinstance(info, dict):
            usage = info.get("usage")
        if usage:
            u = usage if isinstance(usage, dict) else dict(usage)
            i = u.get("input_tokens", u.get("prompt_tokens"))
            o = u.get("output_tokens", u.get("completion_tokens"))
            if i is not None and o is not None:
                return int(i), int(o)
    return None


@dataclass
class TokenCount:
    calls: int = 0
    prompt: int = 0
    completion: int = 0
    reported_calls: int = 0  # calls whose usage came from the backend
    estimated_calls: int = 0  # calls estimated from characters

    @property
    def total(self) -> int:
        return self.prompt + self.completion

    @property
    def method(self) -> str:
        if self.calls == 0:
            return "无大模型调用"
        if self.estimated_calls == 0:
            return "后端返回的 usage"
        if self.reported_calls == 0:
            return "估算（后端未返回 usage，" + ESTIMATE_RULE + "）"
        return f"混合（{self.reported_calls} 次来自 usage，{self.estimated_calls} 次估算）"


class LlmMeter:
    """Counts requests to the wrapped model; `take()` returns and resets the count (one turn)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = TokenCount()

    def take(self) -> TokenCount:
        with self._lock:
            c, self._count = self._count, TokenCount()
            return c

    def _record(self, messages: list[Any], output: list[Any]) -> None:
        usage = _usage(output)
        with self._lock:
            self._count.calls += 1
            if usage:
                self._count.prompt += usage[0]
                self._count.completion += usage[1]
                self._count.reported_calls += 1
            else:
                self._count.prompt += estimate_tokens("".join(message_text(m) for m in messages))
                self._count.completion += estimate_tokens("".join(message_text(m) for m in output or []))
                self._count.estimated_calls += 1

    def wrap(self, llm: Any) -> Any:
        stream, no_stream = llm._chat_stream, llm._chat_no_stream

        def chat_stream(messages: list[Any], delta_stream: bool, generate_cfg: dict) -> Iterator[list[Any]]:
            last: list[Any] = []
            acc: list[Any] = []
            for chunk in stream(messages, delta_stream=delta_stream, generate_cfg=generate_cfg):
                last = chunk
                if delta_stream:
                    acc.extend(chunk)
                yield chunk
            self._record(messages, acc if delta_stream else last)

        def chat_no_stream(messages: list[Any], generate_cfg: dict) -> list[Any]:
            out = no_stream(messages, generate_cfg=generate_cfg)
            self._record(messages, out)
            return out

        llm._chat_stream = chat_stream
        llm._chat_no_stream = chat_no_stream
        return llm

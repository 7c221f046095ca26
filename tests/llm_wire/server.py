"""A local model server for the wire tests: real HTTP on 127.0.0.1 (stdlib http.server, HTTP/1.1,
chunked transfer encoding as uvicorn sends it), speaking

- the OpenAI chat-completions protocol: POST /v1/chat/completions (JSON, or SSE `data: {...}` chunks
  ending with `data: [DONE]`), GET /v1/models (vLLM adds `max_model_len`);
- DashScope's generation protocol: POST /api/v1/services/aigc/text-generation/generation, SSE with
  `id:` / `event:result` / `:HTTP_STATUS/200` / `data:{"output":{"choices":[{"message":…}]}}` lines
  when the SDK sends `X-DashScope-SSE: enable`, errors as `{"code": …, "message": …}` with the status.

It replays scripted replies (`play`) or asks a `brain` (request → reply) in the shapes real servers
produce. Where each shape comes from:

- vLLM native tool calls: the first delta carries `id`, `type` and `function.name` with `arguments`
  absent, later deltas only `index` and `function.arguments` pieces, `finish_reason: "tool_calls"`
  (https://github.com/vllm-project/vllm/issues/9693, https://github.com/InternLM/lmdeploy/issues/3412
  shows vLLM's `id=''` on the pieces and sglang's repeated id); several calls get index 0, 1, …
- Ollama: each tool call whole in one chunk (https://github.com/ollama/ollama/issues/11633).
- Reasoning: `delta.reasoning_content` (vLLM ≤ 0.10, https://docs.vllm.ai/en/v0.7.3/features/reasoning_outputs.html;
  DashScope), `delta.reasoning` (vLLM ≥ 0.11, https://docs.vllm.ai/en/v0.11.2/features/reasoning_outputs/),
  or `<think>…</think>` inside the content when the server runs without a reasoning parser
  (https://docs.vllm.ai/en/v0.15.0/api/vllm/reasoning/deepseek_r1_reasoning_parser/).
- vLLM without `--enable-auto-tool-choice` answers a `tools` request with 400
  `"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set`
  (https://github.com/langchain4j/langchain4j/issues/3475).
- A tool message must carry `tool_call_id` (https://github.com/QwenLM/Qwen-Agent/pull/917,
  https://github.com/vercel/ai/pull/2177): the server answers 400 otherwise, as OpenAI does.
- DashScope: endpoint and SSE streaming https://help.aliyun.com/zh/dashscope/create-a-chat-foundation-model,
  https://help.aliyun.com/zh/model-studio/stream; error body `{"code":"InvalidApiKey","message":…}`.
- Prompt-based function calling: when a request has no `tools`, a tool call is written as text in
  qwen-agent's formats: `<tool_call>{"name":…,"arguments":…}</tool_call>` (nous, the Qwen2.5/Qwen3
  chat template's own) or `✿FUNCTION✿: name` / `✿ARGS✿: {…}` (qwen).
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

NOUS_MARK = "<tool_call>"
QWEN_MARK = "✿FUNCTION✿"


# -- what a request looked like ------------------------------------------------------------------------
@dataclass
class Request:
    protocol: str  # "openai" | "dashscope"
    path: str
    body: dict[str, Any]
    headers: dict[str, str]

    @property
    def messages(self) -> list[dict[str, Any]]:
        if self.protocol == "dashscope":
            return (self.body.get("input") or {}).get("messages") or []
        return self.body.get("messages") or []

    @property
    def params(self) -> dict[str, Any]:
        return self.body.get("parameters") or {} if self.protocol == "dashscope" else self.body

    @property
    def tools(self) -> list[dict[str, Any]]:
        return self.params.get("tools") or []

    @property
    def stream(self) -> bool:
        if self.protocol == "dashscope":
            return self.headers.get("x-dashscope-sse", "").lower() == "enable"
        return bool(self.body.get("stream"))

    @property
    def system(self) -> str:
        return "\n".join(_text(m.get("content")) for m in self.messages if m.get("role") == "system")

    @property
    def prompt_style(self) -> str | None:
        """The text function-call format the system prompt asks for, when the tools are in the prompt."""
        s = self.system
        if QWEN_MARK in s:
            return "qwen"
        if NOUS_MARK in s:
            return "nous"
        return None

    def _split(self) -> tuple[str, list[str]]:
        """(the person's last question, the tool results that followed it), in every function-call style."""
        msgs = self.messages
        results: list[str] = []
        for m in reversed(msgs):
            role, text = m.get("role"), _text(m.get("content"))
            if role == "tool":
                results.insert(0, text)
                continue
            if role == "user" and "<tool_response>" in text and not text.split("<tool_response>")[0].strip():
                results[:0] = [p.split("</tool_response>")[0].strip() for p in text.split("<tool_response>")[1:]]
                continue
            if role == "user":
                if "✿RESULT✿" in text:
                    head = text.split(QWEN_MARK)[0]
                    results[:0] = [p.split("✿RETURN✿")[0].strip(" :\n") for p in text.split("✿RESULT✿")[1:]]
                    return head.strip(), results
                return text.strip(), results
            if role in ("assistant", "system"):
                continue
        return "", results

    @property
    def question(self) -> str:
        return self._split()[0]

    @property
    def tool_results(self) -> list[str]:
        return self._split()[1]


def _text(content: Any) -> str:
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) if isinstance(p, dict) else str(p) for p in content)
    return content if isinstance(content, str) else ""


# -- what the server replies -------------------------------------------------------------------------
@dataclass
class Text:
    """An answer, streamed in `pieces` chunks; reasoning first, in `reasoning_field`
    (reasoning_content | reasoning) or, with think_in_content, as <think>…</think> in the content."""
    text: str
    reasoning: str = ""
    reasoning_field: str = "reasoning_content"
    think_in_content: bool = False
    pieces: int = 4


@dataclass
class Call:
    name: str
    arguments: str | dict[str, Any]

    @property
    def args_text(self) -> str:
        return self.arguments if isinstance(self.arguments, str) else json.dumps(self.arguments, ensure_ascii=False)


@dataclass
class ToolCalls:
    """Tool calls, native (`tools` in the request) or as text (prompt-based; the format the system
    prompt asks for unless `text_style` says). style: vllm (id+name, then argument pieces without id),
    sglang (the id repeated on every piece), ollama (each call whole in one chunk)."""
    calls: list[Call]
    style: str = "vllm"
    pieces: int = 5
    lead_text: str = ""
    reasoning: str = ""
    text_style: str | None = None


@dataclass
class HttpError:
    status: int
    message: str
    code: str = ""


@dataclass
class Cut:
    """Some of the answer, then the connection closes without the end of the chunked body."""
    text: str


@dataclass
class Slow:
    seconds: float
    then: Any


@dataclass
class NoFinish:
    """A stream that ends cleanly at the HTTP level but never sends a finish_reason (nor [DONE])."""
    text: str


Reply = Text | ToolCalls | HttpError | Cut | Slow | NoFinish


def _pieces(s: str, n: int) -> list[str]:
    if n <= 1 or len(s) <= 1:
        return [s]
    size = max(1, -(-len(s) // n))
    return [s[i:i + size] for i in range(0, len(s), size)]


def text_tool_call(calls: list[Call], style: str) -> str:
    if style == "qwen":
        return "\n".join(f"{QWEN_MARK}: {c.name}\n✿ARGS✿: {c.args_text}" for c in calls)
    return "\n".join(f"<tool_call>\n{{\"name\": \"{c.name}\", \"arguments\": {c.args_text}}}\n</tool_call>"
                     for c in calls)


# -- the server ------------------------------------------------------------------------------------------
@dataclass
class WireServer:
    model: str = "qwen2.5-32b-instruct"
    max_model_len: int | None = 32768
    models_status: int = 200
    require_tool_call_id: bool = True
    native_tools: bool = True  # False: 400 for a `tools` request, as vLLM without --enable-auto-tool-choice
    api_key: str | None = None  # when set, any other key gets 401
    requests: list[Request] = field(default_factory=list)
    script: deque = field(default_factory=deque)
    brain: Callable[[Request], Reply] | None = None
    default: Reply | None = None
    _httpd: ThreadingHTTPServer | None = None

    # -- control ---------------------------------------------------------------------------------
    def play(self, *replies: Reply) -> WireServer:
        self.script.extend(replies)
        return self

    def reset(self) -> None:
        self.script.clear()
        self.requests.clear()
        self.brain = None
        self.default = None
        self.native_tools = True
        self.api_key = None
        self.models_status = 200

    @property
    def port(self) -> int:
        assert self._httpd is not None
        return self._httpd.server_address[1]

    @property
    def openai_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def dashscope_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v1"

    def start(self) -> WireServer:
        server = self

        class Handler(_Handler):
            wire = server

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()

    def next_reply(self, req: Request) -> Reply:
        if self.script:
            return self.script.popleft()
        if self.brain is not None:
            return self.brain(req)
        if self.default is not None:
            return self.default
        return HttpError(500, "wire server: no scripted reply left")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    wire: WireServer

    def log_message(self, *_a: Any) -> None:  # quiet
        pass

    def handle(self) -> None:
        try:
            super().handle()
        except (ConnectionResetError, BrokenPipeError):
            pass  # the client hung up (a timeout, or a test that expected a failure)

    # -- low-level writing -----------------------------------------------------------------------
    def _json(self, status: int, obj: Any) -> None:
        data = json.dumps(obj, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _start_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()

    def _chunk(self, text: str) -> None:
        data = text.encode()
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _cut(self) -> None:
        self.wfile.flush()
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.close_connection = True

    # -- routing -----------------------------------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802
        w = self.wire
        if self.path.rstrip("/").endswith("/v1/models"):
            if not self._auth_ok():
                return
            if w.models_status != 200:
                self._json(w.models_status, {"error": {"message": "models unavailable"}})
                return
            card: dict[str, Any] = {"id": w.model, "object": "model", "created": 0, "owned_by": "vllm"}
            if w.max_model_len:
                card["max_model_len"] = w.max_model_len
            self._json(200, {"object": "list", "data": [card]})
            return
        self._json(404, {"error": {"message": "not found"}})

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b"{}"
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            self._json(400, {"error": {"message": "invalid json"}})
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        if self.path.endswith("/chat/completions"):
            req = Request("openai", self.path, body, headers)
        elif self.path.endswith("/services/aigc/text-generation/generation"):
            req = Request("dashscope", self.path, body, headers)
        else:
            self._json(404, {"error": {"message": f"no route {self.path}"}})
            return
        self.wire.requests.append(req)
        if not self._auth_ok(req.protocol):
            return
        problem = self._invalid(req)
        if problem:
            self._error(req, HttpError(400, problem, "InvalidParameter"))
            return
        reply = self.wire.next_reply(req)
        try:
            self._reply(req, reply)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout): nothing to do

    def _auth_ok(self, protocol: str = "openai") -> bool:
        key = self.wire.api_key
        if key is None:
            return True
        if self.headers.get("Authorization", "") == f"Bearer {key}":
            return True
        if protocol == "dashscope":
            self._json(401, {"code": "InvalidApiKey", "message": "Invalid API-key provided.",
                             "request_id": uuid.uuid4().hex})
        else:
            self._json(401, {"error": {"message": "Incorrect API key provided.", "type": "invalid_request_error",
                                       "code": "invalid_api_key"}})
        return False

    def _invalid(self, req: Request) -> str:
        """What a real server refuses before generating anything."""
        if req.tools and not self.wire.native_tools:
            return '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set'
        if self.wire.require_tool_call_id:
            for m in req.messages:
                if m.get("role") == "tool" and not m.get("tool_call_id"):
                    return "messages with role 'tool' must have a 'tool_call_id'"
        return ""

    # -- replies -----------------------------------------------------------------------------------
    def _reply(self, req: Request, reply: Reply) -> None:
        if isinstance(reply, Slow):
            time.sleep(reply.seconds)
            reply = reply.then
        if isinstance(reply, HttpError):
            self._error(req, reply)
            return
        if isinstance(reply, ToolCalls) and not req.tools:
            style = reply.text_style or req.prompt_style or "nous"
            text = (reply.lead_text + "\n" if reply.lead_text else "") + text_tool_call(reply.calls, style)
            reply = Text(text, reasoning=reply.reasoning, pieces=reply.pieces)
        if not req.stream:
            self._whole(req, reply)
            return
        self._start_stream()
        try:
            if req.protocol == "dashscope":
                self._stream_dashscope(reply)
            else:
                self._stream_openai(reply)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _error(self, req: Request, e: HttpError) -> None:
        if req.protocol == "dashscope":
            code = e.code or {401: "InvalidApiKey", 429: "Throttling.RateQuota", 500: "InternalError"}.get(e.status, "Error")
            self._json(e.status, {"code": code, "message": e.message, "request_id": uuid.uuid4().hex})
        else:
            self._json(e.status, {"error": {"message": e.message, "type": "BadRequestError" if e.status == 400
                                            else "server_error", "code": e.status}})

    def _whole(self, req: Request, reply: Reply) -> None:
        msg: dict[str, Any] = {"role": "assistant", "content": ""}
        finish = "stop"
        if isinstance(reply, Text):
            msg["content"] = (f"<think>{reply.reasoning}</think>" if reply.think_in_content else "") + reply.text
            if reply.reasoning and not reply.think_in_content:
                msg[reply.reasoning_field] = reply.reasoning
        elif isinstance(reply, ToolCalls):
            msg["tool_calls"] = [{"id": f"call_{uuid.uuid4().hex[:8]}", "type": "function",
                                  "function": {"name": c.name, "arguments": c.args_text}} for c in reply.calls]
            finish = "tool_calls"
        elif isinstance(reply, (Cut, NoFinish)):
            msg["content"] = reply.text
        if req.protocol == "dashscope":
            self._json(200, {"output": {"choices": [{"message": msg, "finish_reason": finish}]},
                             "usage": {"input_tokens": 10, "output_tokens": 5}, "request_id": uuid.uuid4().hex})
        else:
            self._json(200, {"id": "chatcmpl-x", "object": "chat.completion", "created": 0, "model": self.wire.model,
                             "choices": [{"index": 0, "message": msg, "finish_reason": finish}],
                             "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}})

    # OpenAI SSE
    def _oai(self, delta: dict[str, Any], finish: str | None = None) -> None:
        chunk = {"id": "chatcmpl-wire", "object": "chat.completion.chunk", "created": 0, "model": self.wire.model,
                 "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}
        self._chunk("data: " + json.dumps(chunk, ensure_ascii=False) + "\n\n")

    def _stream_openai(self, reply: Reply) -> None:
        self._oai({"role": "assistant", "content": ""})
        if isinstance(reply, Text):
            if reply.reasoning and reply.think_in_content:
                for p in _pieces(f"<think>\n{reply.reasoning}\n</think>\n\n", 3):
                    self._oai({"content": p})
            elif reply.reasoning:
                for p in _pieces(reply.reasoning, 3):
                    self._oai({reply.reasoning_field: p})
            for p in _pieces(reply.text, reply.pieces):
                self._oai({"content": p})
            self._oai({}, "stop")
        elif isinstance(reply, ToolCalls):
            if reply.reasoning:
                for p in _pieces(reply.reasoning, 3):
                    self._oai({"reasoning_content": p})
            if reply.lead_text:
                self._oai({"content": reply.lead_text})
            for i, c in enumerate(reply.calls):
                cid = f"chatcmpl-tool-{uuid.uuid4().hex[:16]}"
                if reply.style == "ollama":
                    self._oai({"tool_calls": [{"id": f"call_{uuid.uuid4().hex[:8]}", "index": i, "type": "function",
                                               "function": {"name": c.name, "arguments": c.args_text}}]})
                    continue
                self._oai({"tool_calls": [{"index": i, "id": cid, "type": "function", "function": {"name": c.name}}]})
                for p in _pieces(c.args_text, reply.pieces):
                    piece: dict[str, Any] = {"index": i, "function": {"arguments": p}}
                    if reply.style == "sglang":
                        piece.update(id=cid, type="function")
                    self._oai({"tool_calls": [piece]})
            self._oai({}, "tool_calls")
        elif isinstance(reply, Cut):
            for p in _pieces(reply.text, 3):
                self._oai({"content": p})
            self._cut()
            return
        elif isinstance(reply, NoFinish):
            self._oai({"content": reply.text})
            self._end_stream()
            return
        self._chunk("data: [DONE]\n\n")
        self._end_stream()

    # DashScope SSE (incremental_output: every event carries only the new piece)
    def _ds(self, n: int, message: dict[str, Any], finish: str = "null") -> None:
        data = {"output": {"choices": [{"message": {"role": "assistant", "content": "", **message},
                                        "finish_reason": finish}]},
                "usage": {"input_tokens": 120, "output_tokens": n, "total_tokens": 120 + n},
                "request_id": "wire-" + uuid.uuid4().hex[:8]}
        self._chunk(f"id:{n}\nevent:result\n:HTTP_STATUS/200\ndata:{json.dumps(data, ensure_ascii=False)}\n\n")

    def _stream_dashscope(self, reply: Reply) -> None:
        n = 0
        if isinstance(reply, Text):
            if reply.reasoning and reply.think_in_content:
                for p in _pieces(f"<think>\n{reply.reasoning}\n</think>\n\n", 3):
                    n += 1
                    self._ds(n, {"content": p})
            elif reply.reasoning:
                for p in _pieces(reply.reasoning, 3):
                    n += 1
                    self._ds(n, {"reasoning_content": p})
            for p in _pieces(reply.text, reply.pieces):
                n += 1
                self._ds(n, {"content": p})
            self._ds(n + 1, {}, "stop")
        elif isinstance(reply, ToolCalls):
            for i, c in enumerate(reply.calls):
                cid = f"call_{uuid.uuid4().hex[:16]}"
                n += 1
                self._ds(n, {"tool_calls": [{"index": i, "id": cid, "type": "function",
                                             "function": {"name": c.name, "arguments": ""}}]})
                for p in _pieces(c.args_text, reply.pieces):
                    n += 1
                    self._ds(n, {"tool_calls": [{"index": i, "id": "", "type": "function",
                                                 "function": {"arguments": p}}]})
            self._ds(n + 1, {}, "tool_calls")
        elif isinstance(reply, Cut):
            for p in _pieces(reply.text, 3):
                n += 1
                self._ds(n, {"content": p})
            self._cut()
            return
        elif isinstance(reply, NoFinish):
            self._ds(1, {"content": reply.text})
        self._end_stream()

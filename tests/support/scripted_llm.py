"""A scripted fake LLM for tests: registered as a qwen-agent model, it plays a fixed list of steps
(tool calls, then a final answer) so the real Assistant and tools run end to end offline."""

from __future__ import annotations

import json
import uuid
from typing import Any

from qwen_agent.llm.base import BaseChatModel
from qwen_agent.llm.schema import ASSISTANT, FUNCTION, USER, FunctionCall, Message


class ScriptedLLM(BaseChatModel):
    """steps: list of ("call", tool_name, args_dict_or_raw_string) | ("answer", text) | ("raise", exc).
    The n-th LLM call after the last user message plays step n. `seen` records the function
    results the model received, so tests can check what reached the LLM."""

    def __init__(self, steps: list[tuple], cfg: dict[str, Any] | None = None) -> None:
        super().__init__(cfg or {"model": "scripted"})
        self.steps = steps
        self.seen: list[tuple[str, str]] = []
        self.calls = 0

    @property
    def support_multimodal_input(self) -> bool:
        return False

    def _next(self, messages: list[Message]) -> list[Message]:
        self.calls += 1
        last_user = max(i for i, m in enumerate(messages) if m.role == USER)
        done = [m for m in messages[last_user + 1:] if m.role == FUNCTION]
        self.seen = [(m.name or "", m.content if isinstance(m.content, str) else str(m.content)) for m in done]
        step = self.steps[min(len(done), len(self.steps) - 1)]
        if step[0] == "raise":
            raise step[1]
        if step[0] == "call":
            args = step[2] if isinstance(step[2], str) else json.dumps(step[2], ensure_ascii=False)
            return [Message(role=ASSISTANT, content="", function_call=FunctionCall(name=step[1], arguments=args),
                            extra={"function_id": uuid.uuid4().hex[:8]})]
        return [Message(role=ASSISTANT, content=step[1])]

    def _chat_with_functions(self, messages, functions, stream, delta_stream, generate_cfg, lang):  # type: ignore[override]
        out = self._next(messages)
        return iter([out]) if stream else out

    def _chat_stream(self, messages, delta_stream, generate_cfg):  # type: ignore[override]
        yield self._next(messages)

    def _chat_no_stream(self, messages, generate_cfg):  # type: ignore[override]
        return self._next(messages)

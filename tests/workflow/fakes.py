"""Fake LLMs for the workflow tests, in the style of tests/support/scripted_llm.py: the real
Assistant and tools run; only the model's decisions are scripted."""

from __future__ import annotations

from typing import Any

from qwen_agent.llm.schema import SYSTEM, USER, Message

from tests.support.scripted_llm import ScriptedLLM


def text_of(m: Message) -> str:
    c = m.content
    return c if isinstance(c, str) else "".join(getattr(p, "text", "") or "" for p in c or [])


class RecordingLLM(ScriptedLLM):
    """ScriptedLLM that also keeps every request (system text, all messages) it received."""

    def __init__(self, steps: list[tuple], cfg: dict[str, Any] | None = None) -> None:
        super().__init__(steps, cfg)
        self.requests: list[list[Message]] = []

    def _next(self, messages: list[Message]) -> list[Message]:
        self.requests.append(list(messages))
        return super()._next(messages)

    @property
    def last_system(self) -> str:
        return next((text_of(m) for m in self.requests[-1] if m.role == SYSTEM), "")

    def request_chars(self, i: int = -1) -> int:
        return sum(len(text_of(m)) + len(str(m.function_call or "")) for m in self.requests[i])


class ByQuestionLLM(RecordingLLM):
    """Plays a script chosen by the last user message (so one model serves a whole conversation);
    questions not in the book get the default script."""

    def __init__(self, book: dict[str, list[tuple]], default: list[tuple] | None = None) -> None:
        super().__init__(default or [("answer", "好的。")])
        self.book = book
        self.default = self.steps

    def _next(self, messages: list[Message]) -> list[Message]:
        last_user = next(text_of(m) for m in reversed(messages) if m.role == USER)
        self.steps = self.book.get(last_user, self.default)
        return super()._next(messages)

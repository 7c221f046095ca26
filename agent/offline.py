"""The offline mode: a deterministic router registered as a qwen-agent model, so the very same
Assistant, tools and UI run without any LLM service. See agent/routing.py for what it understands."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from qwen_agent.llm.base import BaseChatModel, register_llm
from qwen_agent.llm.schema import ASSISTANT, FUNCTION, SYSTEM, USER, FunctionCall, Message

from agent import routing
from million.customers import CustomerIndex
from million.services import get_services
from tools.wording import missing_customer


def _text(msg: Message) -> str:
    c = msg.content
    if isinstance(c, str):
        return c
    return "".join(getattr(item, "text", "") or "" for item in c or [])


def default_lookup() -> routing.Lookup:
    svc = get_services()
    # Asked on each of a turn's calls (the router re-reads the conversation); cached per data version.
    index = CustomerIndex(svc.wh)

    @lru_cache(maxsize=1)
    def branches_for(token: str) -> tuple[str, ...]:
        return tuple(svc.wh.query("SELECT DISTINCT branch_name FROM customer_base")["branch_name"].astype(str))

    @lru_cache(maxsize=1)
    def segments_for(token: str) -> tuple[str, ...]:
        try:
            return tuple(str(s["segment_name"]) for s in svc.segments().all())
        except Exception:  # segments not built yet: the router simply does not recognise names
            return ()

    return routing.Lookup(index.exists, lambda: list(branches_for(svc.wh.version_token())),
                          lambda: list(segments_for(svc.wh.version_token())), resolve=index.resolve,
                          looks_like_id=index.looks_like_id, missing=lambda t: missing_customer(index, t))


@register_llm("offline_router")
class OfflineRouter(BaseChatModel):
    """Reads the conversation, calls the next tool of its plan, and when the plan is done answers
    with text composed only from the tool results."""

    def __init__(self, cfg: dict[str, Any] | None = None) -> None:
        super().__init__(cfg or {})
        self.lookup: routing.Lookup = (cfg or {}).get("lookup") or default_lookup()

    @property
    def support_multimodal_input(self) -> bool:
        return False

    def plan_of(self, messages: list[Message]) -> routing.Plan | None:
        """The plan for the last user message (the UI shows it before the calls run)."""
        last_user = max((i for i, m in enumerate(messages) if m.role == USER), default=None)
        if last_user is None:
            return None
        return routing.plan_for(_text(messages[last_user]), self._previous_customer(messages[:last_user]), self.lookup)

    def decide(self, messages: list[Message]) -> Message:
        last_user = max((i for i, m in enumerate(messages) if m.role == USER), default=None)
        plan = self.plan_of(messages)
        if last_user is None or plan is None:
            return Message(role=ASSISTANT, content=routing.help_text(routing.ENABLE_LLM_HINT))
        done = [(m.name or "", _text(m)) for m in messages[last_user + 1:] if m.role == FUNCTION]
        if len(done) < len(plan.calls):
            call = plan.calls[len(done)]
            return Message(role=ASSISTANT, content="", function_call=FunctionCall(name=call.tool, arguments=call.json_args()),
                           extra={"function_id": uuid.uuid4().hex[:12]})
        if plan.kind == "help":
            return Message(role=ASSISTANT, content=routing.help_text(routing.ENABLE_LLM_HINT))
        if plan.kind == "refuse":
            return Message(role=ASSISTANT, content=routing.REFUSE_WRITE)
        if plan.kind == "answer":
            return Message(role=ASSISTANT, content=plan.message)
        if plan.kind == "brief":
            return Message(role=ASSISTANT, content=routing.compose_brief(plan.subject, done))
        if plan.kind == "products":
            return Message(role=ASSISTANT, content=routing.compose_products(plan.subject, done))
        return Message(role=ASSISTANT, content=routing.compose_single(done))

    def _previous_customer(self, history: list[Message]) -> str | None:
        for m in reversed(history):
            if m.role == ASSISTANT and m.function_call:
                try:
                    cid = json.loads(m.function_call.arguments).get("customer_id")
                except (ValueError, AttributeError):
                    cid = None
                if cid:
                    return cid
            if m.role == USER:
                cid = routing.find_customer(_text(m), self.lookup)
                if cid:
                    return cid
        for m in history:  # older turns trimmed away: the memory note still names the customer
            if m.role == SYSTEM:
                cid = routing.customer_in_note(_text(m), self.lookup)
                if cid:
                    return cid
        return None

    # qwen-agent entry points: every mode returns the same single decision.
    def _chat_with_functions(self, messages, functions, stream, delta_stream, generate_cfg, lang):  # type: ignore[override]
        out = [self.decide(messages)]
        return iter([out]) if stream else out

    def _chat_stream(self, messages, delta_stream, generate_cfg) -> Iterator[list[Message]]:  # type: ignore[override]
        yield [self.decide(messages)]

    def _chat_no_stream(self, messages, generate_cfg) -> list[Message]:  # type: ignore[override]
        return [self.decide(messages)]

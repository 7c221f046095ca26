"""One run of the agent loop for the analyst workflow: like `agent.bot.run_turn`, but it takes the
prepared messages (memory note, trimmed history), can continue a turn after held code was run,
and stops as soon as a tool holds code for the person's confirmation."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

from qwen_agent.agents import Assistant

from agent.bot import TurnState, explain_llm_error
from conversation.confirm import gate_of
from conversation.session import Session

log = logging.getLogger(__name__)


def run_segment(bot: Assistant, messages: list[dict[str, Any]], session: Session) -> Iterator[TurnState]:
    """Stream the new messages after `messages`. When a tool holds code for confirmation the run
    ends right after that tool result (the caller sees it in `gate.pending`)."""
    session.new_turn()
    gate = gate_of(session)
    held_before = len(gate.pending) if gate else 0
    state = TurnState()
    t0 = time.perf_counter()
    run = bot.run(messages=messages, session=session)
    try:
        for response in run:
            if session.cancelled.is_set():
                state.error = "已取消。"
                break
            state.messages = [m if isinstance(m, dict) else m.model_dump() for m in response]
            state.seconds = time.perf_counter() - t0
            yield state
            if gate and len(gate.pending) > held_before and state.messages and state.messages[-1].get("role") == "function":
                break  # code is waiting for the click: no further LLM call until it has run
    except Exception as e:  # the LLM backend failed: say so plainly, keep what the tools produced
        log.warning("turn failed: %s", e)
        state.error = explain_llm_error(e)
    finally:
        run.close()
    state.llm_calls = sum(1 for m in state.messages if m.get("role") == "assistant")
    state.seconds = time.perf_counter() - t0
    yield state

"""Tests ask through the app's one turn runner (memory, plan, confirm gate, charts), as every caller does."""

from __future__ import annotations

from typing import Any

from qwen_agent.agents import Assistant

from agent.turn import Dialogue, Turn, TurnRunner
from conversation.session import Session
from million.settings import get_settings


def ask(bot: Assistant, session: Session, text: str, history: list[dict[str, Any]] | None = None) -> Turn:
    """One turn; the runner appends it to `history` (pass the same list to carry a conversation on)."""
    *_, turn = TurnRunner(bot, get_settings()).ask(Dialogue(session, history if history is not None else []), text)
    return turn

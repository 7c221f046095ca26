"""Workflow fixtures: the app's own pieces (history database, conversation store, report library,
ChatFlow) over the small warehouse, each test with its own data folder."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from tests.support.chat_text import html_text
from webapp.auth import User

ANALYST = User("analyst1", "", None, "analyst")
RM = User("rm1", "", None, "rm")


@pytest.fixture()
def wf_settings(app_settings, tmp_path: Path):
    """The session's settings with a fresh data folder (history database, reports, session files)."""
    return dataclasses.replace(app_settings, data_dir=tmp_path / "data")


@pytest.fixture()
def make_flow(wf_settings):
    """Build a ChatFlow the way create_app does; call again with the same settings to 'restart'."""
    from agent.bot import build_assistant
    from webapp.chat_flow import ChatFlow
    from webapp.conversations import ConversationStore
    from webapp.history_store import HistoryDB
    from webapp.reports import ReportLibrary

    opened: list[HistoryDB] = []

    def make(llm: Any = None, planner: Any = None, settings=None, budget: int | None = None) -> ChatFlow:
        s = settings or wf_settings
        if budget is not None:
            s = dataclasses.replace(s, history_budget_chars=budget)
        db = HistoryDB(s.history_db)
        opened.append(db)
        store = ConversationStore(s.data_dir / "sessions", s.max_tool_calls_per_turn, db=db)
        bot = build_assistant(s, llm=llm)
        return ChatFlow(s, store, lambda: bot, reports=ReportLibrary(s.reports_dir, db), planner_llm=planner)

    yield make
    for db in opened:
        db.close()


def last(views):
    """Run a flow generator to the end; return (all views, the last one)."""
    vs = list(views)
    return vs, vs[-1]


def chat_text(view) -> str:
    parts = []
    for m in view.chat:
        c = m.get("content")
        title = (m.get("metadata") or {}).get("title", "")
        parts.append(f"{title}\n{html_text(c)}" if isinstance(c, str) else f"{title}\n[file {c.get('alt_text', '')}]")
    return "\n".join(parts)


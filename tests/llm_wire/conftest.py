"""Wire-test fixtures: one local model server for the session (tests/llm_wire/server.py), reset for
each test, and the app's own chat flow (webapp/chat_flow.py ChatFlow, as the web UI drives it) built
from settings that point the real backends at that server."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.llm_wire.server import WireServer
from tests.support.chat_text import html_text
from webapp.auth import User

RM = User("rm1", "", None, "rm")


@pytest.fixture(scope="session")
def wire_server() -> Iterator[WireServer]:
    server = WireServer().start()
    yield server
    server.stop()


@pytest.fixture()
def wire(wire_server: WireServer) -> Iterator[WireServer]:
    wire_server.reset()
    yield wire_server
    wire_server.reset()


@pytest.fixture()
def dashscope_endpoint() -> Iterator[None]:
    """The DashScope SDK's base URL is process-wide: put it back after a test that moved it."""
    import dashscope

    saved = dashscope.base_http_api_url, dashscope.api_key
    yield
    dashscope.base_http_api_url, dashscope.api_key = saved


@pytest.fixture()
def openai_settings(app_settings, wire: WireServer, tmp_path: Path):
    return dataclasses.replace(app_settings, data_dir=tmp_path / "data", dashscope_api_key="",
                               llm_base_url=wire.openai_url, llm_model=wire.model, llm_api_key="",
                               llm_timeout_s=5.0, llm_max_retries=0, llm_fncall="")


@pytest.fixture()
def dashscope_settings(app_settings, wire: WireServer, tmp_path: Path, dashscope_endpoint):
    return dataclasses.replace(app_settings, data_dir=tmp_path / "data", dashscope_api_key="sk-wire-test",
                               dashscope_model="qwen-plus", dashscope_base_url=wire.dashscope_url,
                               llm_base_url="", llm_timeout_s=5.0, llm_max_retries=0, llm_fncall="")


@pytest.fixture()
def flows() -> Iterator[Any]:
    """make(settings) -> ChatFlow built the way webapp/app.py builds it (the real backend from settings)."""
    from agent.bot import build_assistant
    from webapp.chat_flow import ChatFlow
    from webapp.conversations import ConversationStore
    from webapp.history_store import HistoryDB

    opened: list[HistoryDB] = []

    def make(settings: Any) -> ChatFlow:
        db = HistoryDB(settings.history_db)
        opened.append(db)
        store = ConversationStore(settings.data_dir / "sessions", settings.max_tool_calls_per_turn, db=db)
        bot = build_assistant(settings)
        return ChatFlow(settings, store, lambda: bot)

    yield make
    for db in opened:
        db.close()


def ask(flow: Any, text: str, cid: str | None = None) -> tuple[list[Any], Any]:
    views = list(flow.ask(RM, cid, text))
    return views, views[-1]


def chat_text(view: Any) -> str:
    parts = []
    for m in view.chat:
        c = m.get("content")
        title = (m.get("metadata") or {}).get("title", "")
        parts.append(f"{title}\n{html_text(c)}" if isinstance(c, str) else f"{title}\n[file]")
    return "\n".join(parts)


@pytest.fixture(scope="session", autouse=True)
def _wire_report() -> Iterator[None]:
    from tests.llm_wire import report

    yield
    report.write_if_asked()

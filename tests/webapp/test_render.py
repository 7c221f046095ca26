"""How tool calls show in the chat: held code waits without a spinner."""

from __future__ import annotations

from conversation.session import ToolEvent
from webapp.render import tool_block


def test_held_code_shows_no_spinner() -> None:
    held = tool_block(ToolEvent(1, "sql_inter", {"sql": "SELECT 1"}, 0.001, "pending", "等待确认", "等待确认"))
    assert held["metadata"]["title"].startswith("[待确认]")
    assert held["metadata"]["status"] == "done"  # Gradio spins for "pending", and nothing is running
    done = tool_block(ToolEvent(2, "sql_inter", {"sql": "SELECT 1"}, 0.01, "ok", "查询成功", "查询成功"))
    assert done["metadata"]["status"] == "done" and done["metadata"]["title"].startswith("[完成]")

"""Turn the agent's messages and the session's tool events into Gradio chat messages: each tool
call a collapsible block (name, arguments, duration, result), charts inline, files downloadable."""

from __future__ import annotations

import json
from typing import Any

from agent.bot import TurnState
from agent.session import Session, ToolEvent
from webapp.sanitize import sanitize_markdown

TOOL_LABELS = {
    "sql_inter": "SQL 查询", "python_inter": "Python 分析", "predict_million_prob": "百万概率预测",
    "explain_customer": "SHAP 解释", "segment_lookup": "客群查询", "recommend_products": "产品推荐",
    "forecast_aum": "AUM 预测",
}


def tool_block(ev: ToolEvent) -> dict[str, Any]:
    args = json.dumps(ev.args, ensure_ascii=False, indent=1) if ev.args else "{}"
    status = {"ok": "[完成]", "error": "[出错]", "refused": "[拒绝]"}.get(ev.status, "")
    body = f"参数：\n```json\n{args}\n```\n\n{sanitize_markdown(ev.display)}"
    return {"role": "assistant", "content": body,
            "metadata": {"title": f"{status} 调用工具 {ev.tool}（{TOOL_LABELS.get(ev.tool, ev.tool)}）",
                         "status": "done", "duration": round(ev.duration_s, 3)}}


def pending_block(name: str, arguments: str) -> dict[str, Any]:
    return {"role": "assistant", "content": f"参数：\n```json\n{arguments[:2000]}\n```",
            "metadata": {"title": f"[进行中] 正在调用 {name}（{TOOL_LABELS.get(name, name)}）", "status": "pending"}}


def render_turn(user_text: str, state: TurnState, session: Session, events_before: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [{"role": "user", "content": sanitize_markdown(user_text)}]
    events = session.events[events_before:]
    ei = 0
    pending: dict[str, Any] | None = None
    for m in state.messages:
        role = m.get("role")
        if role == "assistant" and m.get("function_call"):
            fc = m["function_call"]
            pending = pending_block(fc.get("name", "?"), fc.get("arguments", ""))
        elif role == "function":
            pending = None
            if ei < len(events):
                ev = events[ei]
                ei += 1
                out.append(tool_block(ev))
                for f in ev.files:
                    if f.is_image:
                        out.append({"role": "assistant", "content": {"path": str(f.path), "mime_type": f.mime,
                                                                     "alt_text": f.name}})
        elif role == "assistant":
            text = m.get("content")
            if isinstance(text, list):
                text = "".join(part.get("text", "") for part in text if isinstance(part, dict))
            if text:
                out.append({"role": "assistant", "content": sanitize_markdown(text)})
    if pending is not None:
        out.append(pending)
    if state.error:
        out.append({"role": "assistant", "content": f"⚠ {state.error}"})
    return out


def download_paths(session: Session) -> list[str]:
    return [str(f.path) for f in session.files.values() if not f.is_image]

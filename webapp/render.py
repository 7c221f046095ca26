"""Turn a conversation (its turn records, the agent's messages and the session's tool events) into
Gradio chat messages: the plan with its progress, each tool call a collapsible block (name,
arguments, duration, result), charts inline, code waiting for confirmation, the closing recap."""

from __future__ import annotations

import json
from typing import Any

from agent.planning import TaskPlan, plan_markdown, recap_markdown, step_status
from conversation.session import Session, ToolEvent

TOOL_LABELS = {
    "sql_inter": "SQL 查询", "python_inter": "Python 分析", "predict_million_prob": "百万概率预测",
    "explain_customer": "SHAP 解释", "segment_lookup": "客群查询", "recommend_products": "产品推荐",
    "forecast_aum": "AUM 预测",
}
STATUS_LABELS = {"ok": "[完成]", "error": "[出错]", "refused": "[拒绝]", "pending": "[待确认]"}
PAUSE_NOTE = ("‖ 上面的 {label} 代码**等待您确认**：请在对话框下方查看代码，点击“运行”执行，"
              "“修改”后再运行，或“取消”。确认之前不会执行任何代码。")


def tool_block(ev: ToolEvent, title: str | None = None) -> dict[str, Any]:
    args = json.dumps(ev.args, ensure_ascii=False, indent=1) if ev.args else "{}"
    body = f"参数：\n```json\n{args}\n```\n\n{ev.display}"
    head = title or f"调用工具 {ev.tool}（{TOOL_LABELS.get(ev.tool, ev.tool)}）"
    return {"role": "assistant", "content": body,
            # held code is not running: no spinner while it waits for the person ([待确认] says so)
            "metadata": {"title": f"{STATUS_LABELS.get(ev.status, '')} {head}", "status": "done",
                         "duration": round(ev.duration_s, 3)}}


def pending_block(name: str, arguments: str) -> dict[str, Any]:
    return {"role": "assistant", "content": f"参数：\n```json\n{arguments[:2000]}\n```",
            "metadata": {"title": f"[进行中] 正在调用 {name}（{TOOL_LABELS.get(name, name)}）", "status": "pending"}}


def image_messages(ev: ToolEvent) -> list[dict[str, Any]]:
    """A chart the browser draws from its numbers (safe_chat turns "chart" into its element), else the image."""
    return [{"role": "assistant", "content": "", "chart": f.spec} if f.spec is not None else
            {"role": "assistant", "content": {"path": str(f.path), "mime_type": f.mime, "alt_text": f.name}}
            for f in ev.files if f.is_image and (f.spec is not None or f.path.is_file())]


def _text(content: Any) -> str:
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content if isinstance(content, str) else ""


def render_messages(messages: list[dict[str, Any]], events: list[ToolEvent]) -> list[dict[str, Any]]:
    """The agent's messages of one run, with the i-th tool result shown from its session event.
    A function message without an event (an unknown tool name) is shown as plain text."""
    out: list[dict[str, Any]] = []
    ei = 0
    pending: dict[str, Any] | None = None
    for m in messages:
        role = m.get("role")
        if role == "assistant" and m.get("function_call"):
            fc = m["function_call"]
            pending = pending_block(fc.get("name", "?"), fc.get("arguments", ""))
        elif role == "function":
            pending = None
            if ei < len(events) and events[ei].tool == m.get("name"):
                ev = events[ei]
                ei += 1
                out.append(tool_block(ev))
                out += image_messages(ev)
            else:
                out.append({"role": "assistant", "content": _text(m.get("content"))[:2000],
                            "metadata": {"title": f"[出错] 调用工具 {m.get('name', '?')}", "status": "done"}})
        elif role == "assistant":
            text = _text(m.get("content"))
            if text:
                out.append({"role": "assistant", "content": text})
    if pending is not None:
        out.append(pending)
    return out


def turn_events(rec: Any, session: Session, live: dict[str, Any] | None = None) -> list[ToolEvent]:
    """The session events that belong to one turn, in order."""
    idx: list[int] = []
    for part in [*rec.parts, *([live] if live else [])]:
        if part.get("kind") == "agent":
            a, b = part.get("events") or (0, 0)
            idx += list(range(int(a), min(int(b), len(session.events))))
        elif part.get("kind") == "run":
            idx.append(int(part.get("event", -1)))
    return [session.events[i] for i in idx if 0 <= i < len(session.events)]


def render_record(rec: Any, session: Session, *, live: dict[str, Any] | None = None,
                  paused_label: str | None = None) -> list[dict[str, Any]]:
    """One turn: question, plan (with progress), every part, pause note or recap, error."""
    out: list[dict[str, Any]] = [{"role": "user", "content": rec.question or ""}]
    plan = TaskPlan.from_dict(rec.plan)
    plan_at = None
    if plan is not None:
        plan_at = len(out)
        out.append({})  # filled below, once the progress is known
    running_tool = None
    for part in [*rec.parts, *([live] if live else [])]:
        kind = part.get("kind")
        if kind == "agent":
            a, b = part.get("events") or (0, 0)
            events = session.events[int(a):min(int(b), len(session.events))]
            msgs = part.get("messages") or []
            out += render_messages(msgs, events)
            last = msgs[-1] if msgs else None
            running_tool = (last.get("function_call") or {}).get("name") if last and part is live else None
            if part.get("error"):
                out.append({"role": "assistant", "content": f"⚠ {part['error']}"})
        elif kind == "run":
            i = int(part.get("event", -1))
            if 0 <= i < len(session.events):
                ev = session.events[i]
                how = "（代码经您修改）" if part.get("edited") else ""
                out.append(tool_block(ev, f"已按您的确认运行 {ev.tool}（{TOOL_LABELS.get(ev.tool, ev.tool)}）{how}"))
                out += image_messages(ev)
        elif kind == "cancel":
            out.append({"role": "assistant", "content": f"已取消运行这段 {part.get('label', '')} 代码。"})
    if paused_label:
        out.append({"role": "assistant", "content": PAUSE_NOTE.format(label=paused_label)})
    if plan is not None and plan_at is not None:
        status = step_status(plan, turn_events(rec, session, live), running_tool=running_tool, finished=rec.finished)
        out[plan_at] = {"role": "assistant", "content": plan_markdown(plan, status)}
        if rec.finished:
            out.append({"role": "assistant", "content": recap_markdown(plan, status)})
    return out


def download_paths(session: Session) -> list[str]:
    return [str(f.path) for f in session.files.values() if not f.is_image and f.path.is_file()]

"""A conversation as one Markdown file the person can forward: questions, plans, every tool call
with its arguments and result, the answers. Text from elsewhere is made inert (no HTML, images or
links), charts are named rather than linked."""

from __future__ import annotations

import datetime as dt
import json

from agent.planning import TaskPlan
from million.reports.build import fence, inert
from webapp.conversations import Conversation
from webapp.render import TOOL_LABELS, turn_events


def conversation_markdown(conv: Conversation) -> str:
    s = conv.session
    when = dt.datetime.fromtimestamp(conv.turns[0].started if conv.turns else conv.updated)
    out = [f"# 对话记录：{inert(conv.title or '新对话')}", "",
           f"> 用户 {inert(conv.user)} · 开始于 {when:%Y-%m-%d %H:%M} · 导出于 {dt.datetime.now():%Y-%m-%d %H:%M}", ""]
    for n, rec in enumerate(conv.turns, 1):
        out += [f"## 第 {n} 问：{inert(' '.join(rec.question.split()))}", ""]
        plan = TaskPlan.from_dict(rec.plan)
        if plan:
            out += ["**执行计划**", ""] + [f"{st.no}. {inert(st.title)}" + (f"（{st.tool}）" if st.tool else "")
                                          for st in plan.steps] + [""]
        for ev in turn_events(rec, s):
            status = {"ok": "完成", "error": "出错", "refused": "拒绝", "pending": "等待确认"}.get(ev.status, ev.status)
            out += [f"### 工具 {ev.tool}（{TOOL_LABELS.get(ev.tool, ev.tool)}）· {status} · {ev.duration_s:.2f} 秒", "",
                    fence(json.dumps(ev.args, ensure_ascii=False, indent=1), "json"), "", inert(ev.display), ""]
            charts = [f.name for f in ev.files if f.is_image]
            if charts:
                out += ["图表：" + "、".join(inert(c) for c in charts), ""]
        for part in rec.parts:
            if part.get("kind") == "cancel":
                out += [f"（用户取消了 {part.get('label', '')} 代码的运行）", ""]
            if part.get("kind") == "agent":
                if part.get("error"):
                    out += [f"⚠ {inert(part['error'])}", ""]
                for m in part.get("messages") or []:
                    if m.get("role") == "assistant" and not m.get("function_call") and isinstance(m.get("content"), str) \
                            and m["content"].strip():
                        out += ["**助手回答**", "", inert(m["content"]), ""]
    return "\n".join(out).rstrip() + "\n"

"""Plan mode (复杂任务拆解): a numbered plan shown before anything runs, the progress of each step
while the agent works, and a recap that refers back to the plan.

With an LLM the plan comes from a planning call (prompts/planning.md); offline, the router's own
plan for the message is the plan. Steps are matched to tool calls by tool name, in order."""

from __future__ import annotations

import logging
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from million.prompts import render

log = logging.getLogger(__name__)

TOOL_TITLES = {
    "sql_inter": "SQL 查询", "python_inter": "Python 分析", "predict_million_prob": "百万概率预测",
    "explain_customer": "SHAP 解释", "segment_lookup": "客群查询", "recommend_products": "产品推荐",
    "forecast_aum": "AUM 预测",
}
SUMMARY_TOOL = "总结"
# Words that usually mean several steps; plan mode turns itself on for such questions.
MULTI_STEP_CUES = ("然后", "再", "并且", "同时", "分别", "对比", "比较", "先", "最后", "步骤", "报告", "全面", "完整",
                   "以及", "原因", "并给出", "并分析", "哪些因素")
_STEP = re.compile(r"^(?:步骤|第)?\s*(\d{1,2})\s*步?\s*[.、)）:：]\s*(?:[\[【]\s*([^\]】]{1,30}?)\s*[\]】])?\s*(.+?)\s*$")
_LEAD = re.compile(r"^[\s>*#`\-]+")  # list bullets, bold and quote marks models put before a step
MAX_STEPS = 8
MARKS = {"done": "✓", "error": "⚠", "running": "…", "pending": "‖", "todo": "□", "skipped": "－"}


@dataclass
class PlanStep:
    no: int
    title: str
    tool: str | None = None  # None: no tool (e.g. the final summary)


@dataclass
class TaskPlan:
    steps: list[PlanStep]
    source: str  # "offline" | "llm"
    automatic: bool = False  # switched on by the question rather than by the person
    events_from: int = 0  # session events before the plan started
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> TaskPlan | None:
        if not d:
            return None
        steps = [PlanStep(int(s["no"]), str(s["title"]), s.get("tool")) for s in d.get("steps") or []]
        return cls(steps, str(d.get("source", "")), bool(d.get("automatic")), int(d.get("events_from", 0)),
                   list(d.get("notes") or []))


def looks_multi_step(text: str) -> bool:
    t = (text or "").strip()
    if not t or re.match(r"^\s*(select|with)\b", t, re.I):
        return False
    questions = len(re.findall(r"[？?]", t))
    return questions >= 2 or len(t) >= 80 or any(c in t for c in MULTI_STEP_CUES)


# -- where a plan comes from -------------------------------------------------------------------

def from_router(llm: Any, messages: list[dict[str, Any]]) -> TaskPlan | None:
    """Offline: the router's plan for the message (None when the model is not the router)."""
    plan_of = getattr(llm, "plan_of", None)
    if plan_of is None:
        return None
    from qwen_agent.llm.schema import Message

    plan = plan_of([Message(**m) for m in messages])
    if plan is None or not plan.calls:
        return None
    steps = [PlanStep(i, c.purpose or TOOL_TITLES.get(c.tool, c.tool), c.tool) for i, c in enumerate(plan.calls, 1)]
    if plan.kind == "brief":
        steps.append(PlanStep(len(steps) + 1, "汇总成营销简报", None))
    return TaskPlan(steps, "offline")


def parse_steps(text: str, tool_names: list[str]) -> list[PlanStep]:
    steps: list[PlanStep] = []
    for line in (text or "").splitlines():
        m = _STEP.match(_LEAD.sub("", line))
        if not m:
            continue
        tool = (m.group(2) or "").strip().strip("`*")
        title = m.group(3).strip().strip("`*").strip()
        if tool and tool not in tool_names and tool != SUMMARY_TOOL:
            title = f"{tool}：{title}"  # an unknown tool name stays visible but is not matched
            tool = ""
        steps.append(PlanStep(len(steps) + 1, title[:200], tool if tool in tool_names else None))
        if len(steps) >= MAX_STEPS:
            break
    return steps


def from_llm(llm: Any, question: str, *, tools: dict[str, str], today: str, memory_note: str = "") -> TaskPlan | None:
    """A planning call; None when the model gives no usable list (the turn then runs unplanned)."""
    from qwen_agent.llm.schema import SYSTEM, USER, Message

    listing = "\n".join(f"- {name}：{desc.split('。')[0][:120]}" for name, desc in tools.items())
    prompt = render("planning.md", tools=listing, today=today, memory=memory_note)
    try:
        out = llm.chat(messages=[Message(role=SYSTEM, content=prompt), Message(role=USER, content=question)],
                       stream=False)
    except Exception as e:  # the main run reports LLM failures clearly; planning just steps aside
        log.warning("planning call failed: %s", e)
        return None
    text = ""
    for m in out or []:
        c = m.content if hasattr(m, "content") else m.get("content")
        text += c if isinstance(c, str) else "".join(getattr(p, "text", "") or "" for p in c or [])
    steps = parse_steps(text, list(tools))
    return TaskPlan(steps, "llm") if steps else None


def note_for_llm(plan: TaskPlan) -> str:
    lines = [f"{s.no}. [{s.tool or SUMMARY_TOOL}] {s.title}" for s in plan.steps]
    return ("【执行计划】已向用户展示以下计划，请按顺序逐步执行（每步调用对应工具），"
            "最后的回答请按步骤编号逐条总结各步结果，数字只能来自工具结果：\n" + "\n".join(lines))


# -- progress and recap --------------------------------------------------------------------------

def step_status(plan: TaskPlan, events: list[Any], *, running_tool: str | None = None,
                finished: bool = False) -> list[tuple[str, Any]]:
    """(status, event) per step. `events` are the session events since the plan started."""
    status: list[tuple[str, Any]] = [("todo", None) for _ in plan.steps]
    for ev in events:
        idx = next((i for i, s in enumerate(plan.steps) if s.tool == ev.tool and status[i][0] == "pending"), None)
        if idx is None:
            idx = next((i for i, s in enumerate(plan.steps) if s.tool == ev.tool and status[i][0] == "todo"), None)
        if idx is None:
            continue
        st = {"ok": "done", "pending": "pending"}.get(ev.status, "error")
        status[idx] = (st, ev)
    if running_tool:
        idx = next((i for i, s in enumerate(plan.steps) if s.tool == running_tool and status[i][0] == "todo"), None)
        if idx is not None:
            status[idx] = ("running", None)
    if finished:
        status = [("done", None) if s.tool is None and st == "todo" else
                  ("skipped", None) if st == "todo" else (st, ev) for s, (st, ev) in zip(plan.steps, status, strict=True)]
    return status


def plan_markdown(plan: TaskPlan, status: list[tuple[str, Any]]) -> str:
    done = sum(1 for st, _ in status if st == "done")
    head = "**执行计划**" + ("（问题包含多个步骤，已自动开启计划模式）" if plan.automatic else "")
    lines = [head, ""]
    for s, (st, _) in zip(plan.steps, status, strict=True):
        tool = f"（{s.tool} · {TOOL_TITLES.get(s.tool, s.tool)}）" if s.tool else ""
        lines.append(f"{s.no}. {MARKS[st]} {s.title}{tool}")
    lines += ["", f"进度：{done}/{len(plan.steps)}"]
    return "\n".join(lines)


def _gist(text: str, limit: int = 140) -> str:
    """A result's headline, as the report's findings read it: a line ending in a colon is followed by
    what it introduces (客户 X 截至 2026-10： 未来3个月…概率：97.5%), section labels are skipped."""
    from million.reports.build import gist

    return gist(text, limit)


def recap_markdown(plan: TaskPlan, status: list[tuple[str, Any]]) -> str:
    """The closing summary, step by step, quoting each step's tool result (nothing invented)."""
    lines = ["**计划回顾**", ""]
    tool_steps = [(st, ev) for s, (st, ev) in zip(plan.steps, status, strict=True) if s.tool is not None]
    reasons = {ev.text for st, ev in tool_steps if st == "error" and ev is not None}
    if len(tool_steps) > 1 and len(reasons) == 1 and all(st == "error" for st, _ in tool_steps):
        # every step refused alike (a customer outside the user's branches): once, not once a step
        return "\n".join([*lines, f"{MARKS['error']} {len(tool_steps)} 个步骤都未完成：{_gist(reasons.pop(), 80)}"])
    for s, (st, ev) in zip(plan.steps, status, strict=True):
        if ev is not None and st == "done":
            lines.append(f"{s.no}. {MARKS[st]} {s.title}：{_gist(ev.text)}")
        elif ev is not None:
            lines.append(f"{s.no}. {MARKS[st]} {s.title}：未完成（{_gist(ev.text, 80)}）")
        elif s.tool is None and st == "done":
            lines.append(f"{s.no}. {MARKS[st]} {s.title}：见上方回答")
        else:
            lines.append(f"{s.no}. {MARKS[st]} {s.title}：未执行")
    return "\n".join(lines)

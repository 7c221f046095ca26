"""Memory: the subject carries over to follow-ups, and long conversations are trimmed to the budget
with a summary built from tool results, without losing the subject."""

from __future__ import annotations

from agent import memory
from agent.routing import SUBJECT_MARK, Lookup
from conversation.session import ToolEvent
from million.scope import customer_branch
from million.services import get_services
from tests.workflow.conftest import ANALYST, chat_text, last
from tests.workflow.fakes import ByQuestionLLM, text_of
from webapp.auth import User

FILLER = "请详细说明一下百万客户的口径和统计方法。" * 3


def _ev(tool: str, args: dict, status: str = "ok") -> ToolEvent:
    return ToolEvent(1, tool, args, 0.1, status, "结果", "结果")


def test_context_from_questions_and_tool_calls() -> None:
    lookup = Lookup(lambda c: c == "C0000042", lambda: ["上海分行", "北京分行"], lambda: ["高潜力活跃型客户"])
    subjects = memory.Subjects(lookup, lambda c: "上海分行")
    ctx: dict[str, str] = {}
    memory.update_context(ctx, "C0000042 最近6个月的情况", [], subjects)
    assert ctx == {"customer_id": "C0000042", "customer_branch": "上海分行", "months": "最近6个月"}
    memory.update_context(ctx, "北京分行的高潜力活跃型客户呢", [], subjects)
    assert ctx["branch"] == "北京分行" and ctx["segment"] == "高潜力活跃型客户" and ctx["customer_id"] == "C0000042"
    memory.update_context(ctx, "", [_ev("forecast_aum", {"branch_name": "上海分行", "horizon": 6}),
                                    _ev("predict_million_prob", {"customer_id": "C9"}, status="error")], subjects)
    assert ctx["branch"] == "上海分行" and ctx["months"] == "未来6个月" and ctx["customer_id"] == "C0000042"
    note = memory.subject_note(ctx)
    assert note.startswith(SUBJECT_MARK) and "客户 C0000042" in note and "该客户所属分行 上海分行" in note


def _history(turns: int, size: int) -> list[dict]:
    h: list[dict] = []
    for i in range(turns):
        h += [{"role": "user", "content": f"第{i}问 " + "问" * size},
              {"role": "assistant", "content": "", "function_call": {"name": "sql_inter", "arguments": '{"sql": "SELECT 1"}'}},
              {"role": "function", "name": "sql_inter", "content": f"查询成功，返回 {i} 行 1 列。\n\n" + "表" * size},
              {"role": "assistant", "content": f"回答{i} " + "答" * size}]
    return h


def test_trimming_keeps_the_budget_the_subject_and_a_summary_from_tool_results() -> None:
    hist = _history(30, 400)
    p = memory.prepare(hist, "那他所在分行呢？", {"customer_id": "C0000042"}, budget=6000)
    assert p.chars <= 6000 and p.dropped_turns > 0
    system = p.messages[0]
    assert system["role"] == "system" and f"{SUBJECT_MARK}客户 C0000042" in system["content"]
    assert "【早前对话摘要】" in system["content"] and "查询成功，返回" in system["content"]
    assert p.messages[-1] == {"role": "user", "content": "那他所在分行呢？"}
    # whole turns are kept, the latest ones, and never split between a call and its result
    kept_users = [m["content"][:4] for m in p.messages if m["role"] == "user"][:-1]
    assert kept_users == [f"第{i}问" for i in range(30 - len(kept_users), 30)]
    roles = [m["role"] for m in p.messages[1:-1]]
    assert roles == ["user", "assistant", "function", "assistant"] * len(kept_users)


def test_short_conversations_are_sent_whole() -> None:
    hist = _history(3, 10)
    p = memory.prepare(hist, "下一问", {}, budget=10_000)
    assert p.dropped_turns == 0 and p.messages == [*hist, {"role": "user", "content": "下一问"}]


def test_a_huge_last_turn_is_shortened_not_dropped() -> None:
    hist = _history(1, 9000)
    p = memory.prepare(hist, None, {}, budget=4000)  # continuing that turn
    assert p.dropped_turns == 0 and p.chars <= 4000 + 200 and "已截断" in p.messages[2]["content"]


def test_follow_up_reaches_the_llm_with_the_subject_after_trimming(make_flow, known_customers) -> None:
    cid = known_customers["prospect"]
    branch = customer_branch(get_services().wh, cid)
    book = {cid: [("call", "forecast_aum", {"customer_id": cid}), ("answer", "趋势如上。")]}
    llm = ByQuestionLLM(book, default=[("answer", "说明：" + "口径" * 300)])
    flow = make_flow(llm, budget=3000)
    _, v = last(flow.ask(ANALYST, None, cid))
    for _ in range(8):
        _, v = last(flow.ask(ANALYST, v.cid, FILLER))
    _, v = last(flow.ask(ANALYST, v.cid, "那他所在分行呢？"))
    system = llm.last_system
    assert f"{SUBJECT_MARK}客户 {cid}" in system and f"该客户所属分行 {branch}" in system
    assert "【早前对话摘要】" in system and "forecast_aum" in system  # the old call, summarised
    assert cid not in "".join(str(m.content) for m in llm.requests[-1][1:])  # only the note names it now
    note = system[len(flow.runner.bot().system_message):]  # what the memory added to the system prompt
    sent = len(note) + sum(len(text_of(m)) for m in llm.requests[-1][1:])
    assert sent <= 3000 + 50  # the budget (message framing is counted a little differently)
    conv = flow.store.get(v.cid, ANALYST.name)
    assert len(conv.llm_history) > 20  # the full history stays in the saved conversation


def test_offline_follow_up_after_trimming(make_flow, known_customers) -> None:
    cid = known_customers["prospect"]
    flow = make_flow(budget=1500)
    _, v = last(flow.ask(ANALYST, None, cid))  # the customer's brief
    for _ in range(memory.KEEP_TURNS):
        _, v = last(flow.ask(ANALYST, v.cid, "客群概览"))
    conv = flow.store.get(v.cid, ANALYST.name)
    assert conv.session.context["customer_id"] == cid
    sent = memory.prepare(conv.llm_history, "那他所在分行呢？", conv.session.context, budget=1500).messages
    assert cid not in "".join(str(m.get("content")) + str(m.get("function_call")) for m in sent[1:])  # trimmed away
    n = len(conv.session.events)
    _, v = last(flow.ask(ANALYST, v.cid, "那他所在分行呢？"))
    new = conv.session.events[n:]
    assert [e.tool for e in new] == ["sql_inter"]  # the branch only: no second probability
    assert cid in new[0].args["sql"]
    assert "查询成功" in chat_text(v)


def test_memory_respects_the_users_branch_scope(make_flow, known_customers) -> None:
    cid = known_customers["prospect"]
    wh = get_services().wh
    branch = customer_branch(wh, cid)
    other = str(wh.query("SELECT DISTINCT branch_name FROM customer_base WHERE branch_name <> ?", [branch])
                ["branch_name"].iloc[0])
    llm = ByQuestionLLM({}, default=[("answer", "好的。")])
    flow = make_flow(llm)
    outsider = User("outsider", "", (other,), "rm")
    _, v = last(flow.ask(outsider, None, f"{cid} 最近怎么样"))
    assert "customer_id" not in flow.store.get(v.cid, outsider.name).session.context
    assert cid not in llm.last_system and branch not in llm.last_system
    insider = User("insider", "", (branch,), "rm")
    _, v = last(flow.ask(insider, None, f"{cid} 最近怎么样"))
    assert f"{SUBJECT_MARK}客户 {cid}；该客户所属分行 {branch}" in llm.last_system

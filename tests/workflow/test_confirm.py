"""Confirm before run: with the switch on, generated SQL and Python are held in the tool layer,
shown, and run only on the click (edited or not), through the same guarded path."""

from __future__ import annotations

import json

from conversation.confirm import ConfirmGate
from conversation.session import Session
from tests.support.chat_text import html_text
from tests.workflow.conftest import ANALYST, RM, chat_text, last
from tests.workflow.fakes import RecordingLLM
from tools import all_tools
from webapp.auth import User
from webapp.chat_flow import confirm_default

SQL = "SELECT city_level, COUNT(*) AS n FROM customer_base GROUP BY city_level"
EDITED = "SELECT city_level AS 城市级别, COUNT(*) AS 客户数 FROM customer_base GROUP BY city_level ORDER BY 2 DESC"


def tool(name: str):
    return next(t for t in all_tools() if t.name == name)


def audit_lines(settings) -> list[dict]:
    return [json.loads(x) for x in settings.audit_log.read_text(encoding="utf-8").splitlines()]


def test_tool_layer_holds_sql_and_python_while_the_switch_is_on(app_settings, tmp_path) -> None:
    s = Session(tmp_path, user="u", confirm_code=True)
    out = tool("sql_inter").call({"sql": SQL}, session=s)
    assert "等待用户确认" in out and "查询成功" not in out
    assert s.events[-1].status == "pending" and not s.files  # no CSV, no chart: nothing ran
    out = tool("python_inter").call({"code": "open('made.txt','w').write('x'); print('ran')"}, session=s)
    assert "等待用户确认" in out and "ran" not in out and s.events[-1].status == "pending"
    assert [p.tool for p in s.gate.pending] == ["sql_inter", "python_inter"]
    entry = audit_lines(app_settings)[-1]
    assert entry["tool"] == "python_inter" and entry["status"] == "pending"
    # Model tools are never held.
    assert "等待用户确认" not in tool("segment_lookup").call({}, session=s)


def test_a_run_needs_the_gate_token_once(app_settings, tmp_path) -> None:
    s = Session(tmp_path, user="u", confirm_code=True)
    tool("sql_inter").call({"sql": SQL}, session=s)
    forged = tool("sql_inter").call({"sql": SQL}, session=s, confirmed="made-up-token")
    assert "确认无效" in forged and s.events[-1].status == "refused"
    p, token = s.gate.approve(s.gate.pending[0].id)
    ok = tool("sql_inter").call(p.args, session=s, confirmed=token)
    assert "查询成功，返回 3 行" in ok
    again = tool("sql_inter").call(p.args, session=s, confirmed=token)
    assert "确认无效" in again  # tokens are single-use
    # A token issued for SQL does not unlock Python.
    tool("sql_inter").call({"sql": SQL}, session=s)
    _, token = s.gate.approve(s.gate.pending[0].id)
    assert "确认无效" in tool("python_inter").call({"code": "print(1)"}, session=s, confirmed=token)


def test_switch_off_runs_directly(app_settings, tmp_path) -> None:
    s = Session(tmp_path, user="u", confirm_code=False)
    assert "查询成功" in tool("sql_inter").call({"sql": SQL}, session=s)
    assert not s.gate.pending


def test_gate_survives_a_save() -> None:
    g = ConfirmGate(True)
    g.hold("sql_inter", {"sql": SQL})
    back = ConfirmGate.from_dict(json.loads(json.dumps(g.to_dict())))
    assert back.on and back.pending[0].code == SQL and back.pending[0].language == "sql"


def test_defaults_by_role() -> None:
    assert confirm_default(User("a", "", None, "analyst"), has_logins=True) is True
    assert confirm_default(User("r", "", None, "rm"), has_logins=True) is False
    assert confirm_default(User("local", "", None, "analyst"), has_logins=False) is False  # no roles configured


def test_edit_then_run_and_the_llm_continues(make_flow) -> None:
    llm = RecordingLLM([("call", "sql_inter", {"sql": SQL}), ("answer", "结论：二线城市客户最多。")])
    flow = make_flow(llm)
    _, v = last(flow.ask(ANALYST, None, "各城市级别的客户数", confirm_on=True))
    assert v.pending is not None and v.pending.code == SQL and v.pending.language == "sql"
    assert len(llm.requests) == 1  # held: the model is not asked again until the click
    assert "等待您确认" in chat_text(v) and "查询成功" not in chat_text(v)
    conv = flow.store.get(v.cid, ANALYST.name)
    assert conv.session.events[-1].status == "pending"

    _, v2 = last(flow.run_code(ANALYST, v.cid, v.pending.id, EDITED))
    assert v2.pending is None
    ran = conv.session.events[-1]
    assert ran.status == "ok" and ran.args == {"sql": EDITED} and "客户数" in ran.text
    # The model saw the edited code as the call and the real result, then answered.
    assert llm.seen and "客户数" in llm.seen[0][1] and "代码经用户修改" in llm.seen[0][1]
    calls = [m for m in conv.llm_history if m.get("function_call")]
    assert json.loads(calls[-1]["function_call"]["arguments"]) == {"sql": EDITED}
    text = chat_text(v2)
    assert "已按您的确认运行 sql_inter" in text and "代码经您修改" in text and "结论：二线城市客户最多。" in text
    audit = [e for e in audit_lines(flow.settings) if e["tool"] == "sql_inter"][-2:]
    assert [e["status"] for e in audit] == ["pending", "ok"] and audit[-1]["arguments"] == {"sql": EDITED}
    # A second click on the same code does nothing.
    _, v3 = last(flow.run_code(ANALYST, v.cid, v.pending.id, EDITED))
    assert "已运行、已取消或已过期" in v3.notice and len(conv.session.events) == 2


def test_run_unedited_python(make_flow) -> None:
    code = "print(sum(range(10)))"
    llm = RecordingLLM([("call", "python_inter", {"code": code}), ("answer", "结果是45。")])
    flow = make_flow(llm)
    _, v = last(flow.ask(ANALYST, None, "算一下", confirm_on=True))
    assert v.pending.language == "python" and v.pending.code == code
    _, v2 = last(flow.run_code(ANALYST, v.cid, v.pending.id, code))
    ev = flow.store.get(v.cid, ANALYST.name).session.events[-1]
    assert ev.status == "ok" and "45" in ev.text and "结果是45。" in chat_text(v2)
    assert "代码经您修改" not in chat_text(v2)


def test_cancel_runs_nothing(make_flow) -> None:
    llm = RecordingLLM([("call", "sql_inter", {"sql": SQL}), ("answer", "不该出现")])
    flow = make_flow(llm)
    _, v = last(flow.ask(ANALYST, None, "各城市级别的客户数", confirm_on=True))
    v2 = flow.cancel_code(ANALYST, v.cid, v.pending.id)
    conv = flow.store.get(v.cid, ANALYST.name)
    assert v2.pending is None and [e.status for e in conv.session.events] == ["pending"]
    assert len(llm.requests) == 1 and "不该出现" not in chat_text(v2) and "已取消" in chat_text(v2)
    assert "用户取消" in conv.llm_history[-1]["content"]  # the model will know on the next question


def test_a_new_question_voids_held_code(make_flow) -> None:
    llm = RecordingLLM([("call", "sql_inter", {"sql": SQL}), ("answer", "好")])
    flow = make_flow(llm)
    _, v = last(flow.ask(ANALYST, None, "各城市级别的客户数", confirm_on=True))
    held = v.pending.id
    _, v2 = last(flow.ask(ANALYST, v.cid, "算了，换个问题", confirm_on=False))
    conv = flow.store.get(v.cid, ANALYST.name)
    assert conv.session.gate.find(held) is None
    assert any("没有运行这段代码" in str(m.get("content")) for m in conv.llm_history)
    _, v3 = last(flow.run_code(ANALYST, v.cid, held, SQL))
    assert "已运行、已取消或已过期" in v3.notice


def test_switch_off_for_an_rm_runs_without_asking(make_flow) -> None:
    flow = make_flow(RecordingLLM([("call", "sql_inter", {"sql": SQL}), ("answer", "好")]))
    _, v = last(flow.ask(RM, None, "各城市级别的客户数", confirm_on=False))
    assert v.pending is None and "查询成功" in chat_text(v)


def test_offline_router_pauses_and_resumes(make_flow) -> None:
    flow = make_flow()  # the offline router
    _, v = last(flow.ask(ANALYST, None, SQL, confirm_on=True))
    assert v.pending and v.pending.code == SQL
    _, v2 = last(flow.run_code(ANALYST, v.cid, v.pending.id, SQL + " ORDER BY n DESC"))
    final = html_text(v2.chat[-1]["content"])
    assert "查询成功，返回 3 行" in final and v2.pending is None

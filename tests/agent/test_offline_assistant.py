"""Offline mode end to end: the deterministic router drives the real Assistant and tools."""

from __future__ import annotations

from agent.bot import build_assistant
from tests.support import turns


def ask(session, text, history=None):
    return turns.ask(build_assistant(), session, text, history)


def test_customer_id_gives_the_full_brief(session, known_customers) -> None:
    cid = known_customers["prospect"]
    state = ask(session, cid)
    assert state.error is None
    assert [e.tool for e in session.events] == ["predict_million_prob", "explain_customer", "segment_lookup",
                                                 "recommend_products", "forecast_aum"]
    final = state.messages[-1]["content"]
    assert f"客户 {cid} 营销简报" in final and "建议话术" in final and "概率" in final


def test_follow_up_refers_to_the_previous_customer(session, known_customers) -> None:
    cid = known_customers["prospect"]
    history: list = []
    ask(session, cid, history)
    n = len(session.events)
    second = ask(session, "他适合什么产品？", history)
    assert [e.tool for e in session.events[n:]] == ["recommend_products"]
    assert session.events[-1].args == {"customer_id": cid, "top_k": 5} and second.error is None
    answer = second.messages[-1]["content"]
    assert f"客户 {cid} 目前持有" in answer and ("最适合补充的是" in answer or "全部" in answer)


def test_sql_command_and_help(session) -> None:
    state = ask(session, "SELECT city_level, COUNT(*) AS n FROM customer_base GROUP BY city_level")
    assert "查询成功，返回 3 行" in state.messages[-1]["content"]
    state = ask(session, "今天天气怎么样？")
    assert "离线模式" in state.messages[-1]["content"] and "DASHSCOPE_API_KEY" in state.messages[-1]["content"]

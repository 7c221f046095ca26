"""The real Assistant driven end to end by a scripted fake LLM: tool call → tool result → answer,
through each of the seven tools, and the failure modes of an LLM backend."""

from __future__ import annotations

import pytest

from agent.bot import build_assistant
from tests.support import turns
from tests.support.scripted_llm import ScriptedLLM


def run(steps, session, text="问题", history=None):
    llm = ScriptedLLM(steps)
    return llm, turns.ask(build_assistant(llm=llm), session, text, history)


def _cases(known):
    cid = known["prospect"]
    return {
        "sql_inter": ({"sql": "SELECT COUNT(*) AS n FROM customer_base"}, "查询成功"),
        "python_inter": ({"code": "print(6 * 7)"}, "42"),
        "predict_million_prob": ({"customer_id": cid}, "概率"),
        "explain_customer": ({"customer_id": cid}, "推动因素"),
        "segment_lookup": ({"customer_id": cid}, "属于"),
        "recommend_products": ({"customer_id": cid}, "当前持有"),
        "forecast_aum": ({"customer_id": cid}, "预测"),
    }


@pytest.mark.parametrize("tool", ["sql_inter", "python_inter", "predict_million_prob", "explain_customer",
                                  "segment_lookup", "recommend_products", "forecast_aum"])
def test_each_tool_end_to_end(tool, session, known_customers) -> None:
    args, expect = _cases(known_customers)[tool]
    llm, state = run([("call", tool, args), ("answer", "结论：见上。")], session)
    assert state.error is None
    roles = [m["role"] for m in state.messages]
    assert roles == ["assistant", "function", "assistant"]
    assert state.messages[1]["name"] == tool and expect in state.messages[1]["content"]
    assert llm.seen and llm.seen[0][0] == tool and expect in llm.seen[0][1]  # the LLM received the result
    assert state.messages[-1]["content"] == "结论：见上。"
    assert session.events[-1].tool == tool and session.events[-1].status == "ok"


def test_system_prompt_reaches_the_llm(session) -> None:
    bot = build_assistant(llm=ScriptedLLM([("answer", "好")]))
    assert "百万客群营销助手" in bot.system_message and "CREATE TABLE" in bot.system_message


def test_malformed_tool_arguments_come_back_as_an_error_the_llm_can_fix(session, known_customers) -> None:
    llm, state = run([("call", "predict_million_prob", "{customer_id: C1"),
                      ("call", "predict_million_prob", {"customer_id": known_customers["prospect"]}),
                      ("answer", "好的")], session)
    fn = [m for m in state.messages if m["role"] == "function"]
    assert "不是合法的 JSON" in fn[0]["content"] and "概率" in fn[1]["content"]


def test_unknown_tool_name(session) -> None:
    _, state = run([("call", "rm_rf", {}), ("answer", "抱歉")], session)
    assert "does not exist" in state.messages[1]["content"] and state.messages[-1]["content"] == "抱歉"


def test_tool_loop_is_bounded(session, app_settings) -> None:
    llm, state = run([("call", "segment_lookup", {})], session)  # a model that never stops calling tools
    calls = [m for m in state.messages if m["role"] == "function"]
    assert len(calls) <= app_settings.max_tool_calls_per_turn + 1
    assert "上限" in calls[-1]["content"] or len(calls) == app_settings.max_tool_calls_per_turn + 1


@pytest.mark.parametrize("exc,expect", [(TimeoutError("Request timed out"), "超时"),
                                        (RuntimeError("Error code: 503 - Service Unavailable"), "服务端错误"),
                                        (ConnectionError("Connection refused"), "无法连接"),
                                        (RuntimeError("Error code: 429 - Too Many Requests"), "限流")])
def test_llm_failures_give_a_clear_message(session, exc, expect) -> None:
    _, state = run([("raise", exc)], session)
    assert state.error and expect in state.error


def test_context_carries_over_turns(session, known_customers) -> None:
    cid = known_customers["prospect"]
    history: list = []
    run([("call", "predict_million_prob", {"customer_id": cid}), ("answer", "概率如上")], session, text=cid,
        history=history)
    llm, second = run([("call", "recommend_products", {"customer_id": cid}), ("answer", "推荐如上")], session,
                      text="他适合什么产品？", history=history)
    assert second.error is None and session.context["customer_id"] == cid

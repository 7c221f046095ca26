"""Untrusted arguments (security-cases.md, "Model tools"): every bad input gets a clear Chinese
message, never an exception, a SQL fragment in a query or a file path."""

from __future__ import annotations

import json

import pytest

from tools import all_tools

CUSTOMER_TOOLS = ["predict_million_prob", "explain_customer", "segment_lookup", "recommend_products", "forecast_aum"]
BAD_IDS = {
    "empty": "",
    "blank": "   ",
    "10KB": "C" * 10240,
    "sql fragment": "C0000001' OR '1'='1",
    "sql comment": "C1;DROP TABLE customer_base;--",
    "path": "../../etc/passwd",
    "fullwidth look-alike": "Ｃ０００００１",
    "cyrillic look-alike": "С0000001",
    "nul byte": "C000\x00001",
    "newline": "C0000001\nSELECT",
}


@pytest.fixture(scope="module")
def tools_by_name():
    return {t.name: t for t in all_tools()}


@pytest.mark.parametrize("tool", CUSTOMER_TOOLS)
@pytest.mark.parametrize("case", list(BAD_IDS))
def test_bad_customer_ids_get_a_clear_message(tools_by_name, session, tool: str, case: str) -> None:
    out = tools_by_name[tool].call(json.dumps({"customer_id": BAD_IDS[case]}), session=session)
    assert "customer_id" in out or "客户ID" in out
    assert session.events[-1].status == "error"
    assert "Traceback" not in out and "/etc/passwd" not in out


@pytest.mark.parametrize("tool", CUSTOMER_TOOLS)
def test_wrong_types_and_unknown_parameters(tools_by_name, session, tool: str) -> None:
    out = tools_by_name[tool].call({"customer_id": 12345}, session=session)
    assert "不符合要求" in out and "string" in out
    out = tools_by_name[tool].call('{"customer_id": "C0000001", "path": "/etc"}', session=session)
    assert "不认识的参数" in out


def test_invalid_json_and_oversized_arguments(tools_by_name, session) -> None:
    t = tools_by_name["predict_million_prob"]
    assert "不是合法的 JSON" in t.call("{customer_id: ", session=session)
    assert "参数过长" in t.call('{"customer_id": "' + "x" * 30000 + '"}', session=session)
    assert "必须是 JSON 对象" in t.call("[1, 2]", session=session)


def test_numeric_ranges(tools_by_name, session) -> None:
    assert "超出允许范围" in tools_by_name["predict_million_prob"].call({"top_n": 0}, session=session)
    assert "超出允许范围" in tools_by_name["predict_million_prob"].call({"top_n": 100000}, session=session)
    assert "超出允许范围" in tools_by_name["forecast_aum"].call({"horizon": 13}, session=session)


def test_unknown_customer_is_reported_not_raised(tools_by_name, session) -> None:
    for tool in CUSTOMER_TOOLS:
        out = tools_by_name[tool].call({"customer_id": "ZZ99999999"}, session=session)
        assert "客户 ZZ99999999 不存在" in out, (tool, out)


def test_every_call_is_audited(tools_by_name, session, app_settings) -> None:
    from million import audit

    tools_by_name["predict_million_prob"].call({"customer_id": "bad id!"}, session=session)
    entries = audit.read(app_settings.audit_log, user=session.user, tool="predict_million_prob")
    assert entries and entries[-1]["status"] == "error" and entries[-1]["conversation"] == session.conversation_id
    assert {"time", "arguments", "duration_ms", "rows", "bytes"} <= set(entries[-1])


def test_tool_call_budget_per_turn(tools_by_name, session) -> None:
    session.max_tool_calls = 2
    t = tools_by_name["segment_lookup"]
    for _ in range(2):
        t.call({"customer_id": "bad id!"}, session=session)
    assert "上限" in t.call({}, session=session)
    session.new_turn()
    assert "上限" not in t.call({"customer_id": "bad id!"}, session=session)


def test_top_share_never_reads_zero() -> None:
    from tools.predict_million_prob import _top_share

    assert _top_share(1 / 15580) == "0.1% 以内" and _top_share(0.0123) == "1.2%" and _top_share(0.5) == "50.0%"

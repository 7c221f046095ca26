"""Reading numbers the way answers write them, and deciding whether a gold value is stated."""

from __future__ import annotations

import decimal

import pandas as pd
import pytest

from evaluation.matching import Fact, facts_from_frame, missing_facts, numbers_in, states

ANSWER = ("客户 C0000123（上海分行外滩支行）截至 2026-10：概率 **12.3%**，在 1,234 名潜客中排名第 56；"
          "当前总资产 98.5万，距百万还差 1.5万；全行 AUM 1.23亿（+3.5%），平均持有率 0.8123。")


def test_numbers_with_units_commas_and_signs() -> None:
    vals = {t.text: t.value for t in numbers_in(ANSWER)}
    assert vals["12.3%"] == pytest.approx(0.123)
    assert vals["1,234"] == 1234
    assert vals["98.5万"] == pytest.approx(985_000)
    assert vals["1.23亿"] == pytest.approx(123_000_000)
    assert vals["+3.5%"] == pytest.approx(0.035)
    # digits glued to a latin ID are not numbers; a month's dash is not a minus sign
    assert 123 not in vals.values() and -10 not in vals.values()


@pytest.mark.parametrize(("fact", "stated"), [
    (Fact("p", "percent", 0.12345), True),
    (Fact("p", "percent", 0.1251), False),  # would show as 12.5%
    (Fact("n", "int", 1234), True),
    (Fact("n", "int", 1235), False),
    (Fact("aum", "number", 985_321.0), True),  # 98.5万
    (Fact("aum", "number", 986_000.0), False),  # would show as 98.6万
    (Fact("x", "number", 123_456_789.0), True),  # 1.23亿
    (Fact("x", "number", 126_000_000.0), False),
    (Fact("avg", "number", 0.81234), True),
    (Fact("avg", "number", 0.8134), False),
    (Fact("ratio", "percent", 0.81234), True),  # a ratio may be shown as 0.8123
    (Fact("id", "text", "C0000123"), True),
    (Fact("id", "text", "C0000124"), False),
    (Fact("branch", "text", "上海分行 外滩支行"), True),  # whitespace-insensitive
])
def test_states(fact: Fact, stated: bool) -> None:
    assert states(fact, ANSWER) is stated


def test_money_in_yuan_or_wan_and_percent_for_plain_ratios() -> None:
    assert states(Fact("s", "number", 12_345_678.91), "合计 12,345,678.91 元")
    assert states(Fact("s", "number", 12_345_678.91), "约 1234.57万")
    assert not states(Fact("s", "number", 12_345_678.91), "约 1200万")
    assert states(Fact("r", "number", 0.0123), "环比 +1.23%")
    assert states(Fact("r", "number", -0.0123), "环比 -1.23%")
    assert not states(Fact("r", "number", 0.0123), "环比 -1.23%")


def test_check_facts_report_their_problem() -> None:
    fact = Fact("名单都是潜客", "check", lambda answer: None if "C1" in answer else "缺少 C1")
    assert missing_facts([fact], "名单：C1、C2") == []
    assert missing_facts([fact], "名单：C2") == [fact]


def test_facts_from_a_result_frame() -> None:
    df = pd.DataFrame({"branch": ["甲分行", "乙分行"], "n": [3, 4], "aum": [decimal.Decimal("1234.50"), None]})
    facts = facts_from_frame(df, max_rows=10)
    assert [(f.kind, f.value) for f in facts] == [("text", "甲分行"), ("int", 3), ("number", 1234.5),
                                                 ("text", "乙分行"), ("int", 4)]  # NULL cells are not facts
    assert [f.value for f in facts_from_frame(df, max_rows=1, columns=["n"])] == [3]

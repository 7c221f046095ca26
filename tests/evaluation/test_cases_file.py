"""The versioned evaluation set: valid, big enough, covering what the issue asks, and free of values
that only hold for one data set."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from evaluation.cases import GUARDRAILS, CaseError, load_cases, parse_case, render

CASES = Path(__file__).resolve().parents[2] / "eval" / "cases.jsonl"


@pytest.fixture(scope="module")
def cases():
    return load_cases(CASES)


def test_at_least_80_chinese_cases_in_every_category(cases) -> None:
    assert len(cases) >= 80
    cats = Counter(c.category for c in cases)
    for cat in ("brief", "followup", "prospects", "segment", "product", "forecast", "analyst", "guardrail"):
        assert cats[cat] >= 4, cat
    assert all(re.search(r"[\u4e00-\u9fff]", c.title) for c in cases)
    assert sum(bool(re.search(r"[\u4e00-\u9fff]", t.user)) for c in cases for t in c.turns) >= 70


def test_required_kinds_are_covered(cases) -> None:
    guard = {t.guardrail for c in cases for t in c.turns if t.guardrail}
    assert {"off_topic", "injection", "change_data", "secret", "other_customer"} <= guard <= set(GUARDRAILS)
    assert sum(len(c.turns) > 1 for c in cases) >= 8  # multi-turn
    assert sum(t.context for c in cases for t in c.turns) >= 8
    analyst = [t for c in cases if c.category == "analyst" for t in c.turns]
    assert all(t.gold_sql for t in analyst)
    sqls = " ".join(t.gold_sql or "" for t in analyst).upper()
    for needle in ("COUNT(", "AVG(", "ORDER BY", " JOIN ", "'{P}'"):  # counts, averages, rankings, joins, month-over-month
        assert needle in sqls, needle
    modes = Counter(tuple(c.modes) for c in cases)
    assert modes[("llm",)] >= 20 and sum(v for k, v in modes.items() if "offline" in k) >= 60


def test_natural_language_analyst_questions_need_an_llm(cases) -> None:
    for c in cases:
        if c.category == "analyst" and not re.match(r"\s*(select|with)\b", c.turns[0].user, re.I):
            assert c.modes == ["llm"], c.id


def test_no_customer_ids_or_data_specific_numbers_are_stored() -> None:
    """IDs, branch and segment names come from resolvers; the only literals are contract values."""
    text = CASES.read_text(encoding="utf-8")
    assert not re.search(r"\bC\d{5,}\b", text)  # the generator's sequential IDs
    assert not re.search(r"[0-9a-f]{32}", text)  # hex IDs
    assert not re.search(r"20\d\d-\d\d", text)  # months are resolved (month_latest, month_prev, ...)
    assert "支行" not in text  # branch names are resolved


def test_schema_errors_name_the_case() -> None:
    good = {"id": "x", "category": "brief", "title": "t", "modes": ["offline"], "turns": [{"user": "{cid}"}],
            "vars": {"cid": "prospect_near"}}
    parse_case(json.loads(json.dumps(good)))
    for broken, msg in [
        ({**good, "vars": {}}, "占位符"),
        ({**good, "category": "nope"}, "未知类别"),
        ({**good, "modes": ["gpt"]}, "modes"),
        ({**good, "turns": [{"user": "x", "tools": ["rm_rf"]}]}, "未知工具"),
        ({**good, "turns": [{"user": "x", "guardrail": "off_topic", "tools": ["sql_inter"]}]}, "不允许期望任何工具"),
        ({**good, "turns": [{"user": "x", "colour": 1}]}, "未知字段"),
    ]:
        with pytest.raises(CaseError, match=msg):
            parse_case(broken, 7)


def test_values_are_escaped_in_sql_only() -> None:
    assert render("WHERE b = '{br}'", {"br": "O'Brien"}, sql=True) == "WHERE b = 'O''Brien'"
    assert render("{br} 的名单", {"br": "O'Brien"}) == "O'Brien 的名单"

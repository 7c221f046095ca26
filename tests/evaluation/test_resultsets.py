"""SQL execution accuracy: result sets compared ignoring names, in order only when the gold orders."""

from __future__ import annotations

import decimal

import pandas as pd

from evaluation.resultsets import compare, is_ordered

GOLD = pd.DataFrame({"branch": ["甲", "乙", "丙"], "n": [3, 2, 1]})


def test_same_rows_any_order_and_names_when_unordered() -> None:
    pred = pd.DataFrame({"cnt": [1, 3, 2], "分行": ["丙", "甲", "乙"], "extra": [0, 0, 0]})
    assert compare(GOLD, pred, ordered=False) == (True, "")


def test_order_matters_when_ordered() -> None:
    pred = pd.DataFrame({"分行": ["丙", "甲", "乙"], "cnt": [1, 3, 2]})
    ok, why = compare(GOLD, pred, ordered=True)
    assert not ok and "找不到相同的值" in why
    assert compare(GOLD, pred.iloc[[1, 2, 0]].reset_index(drop=True), ordered=True)[0]


def test_rows_must_pair_up_not_only_columns() -> None:
    pred = pd.DataFrame({"分行": ["甲", "乙", "丙"], "cnt": [1, 2, 3]})  # same columns as multisets, wrong pairing
    ok, why = compare(GOLD, pred, ordered=False)
    assert not ok and "行的组合不同" in why


def test_row_count_and_missing_columns() -> None:
    assert compare(GOLD, GOLD.head(2), ordered=False)[1].startswith("行数不同")
    assert compare(GOLD, GOLD[["n"]], ordered=False)[1].startswith("列数不足")


def test_numbers_compare_across_types_with_tolerance() -> None:
    gold = pd.DataFrame({"s": [decimal.Decimal("1234567.89")], "avg": [0.333333333333]})
    pred = pd.DataFrame({"s": [1234567.89], "avg": [1 / 3]})
    assert compare(gold, pred, ordered=False)[0]
    assert not compare(gold, pd.DataFrame({"s": [1234567.0], "avg": [1 / 3]}), ordered=False)[0]


def test_ordered_only_for_an_outer_order_by() -> None:
    assert is_ordered("SELECT a FROM t ORDER BY a")
    assert not is_ordered("SELECT a FROM t")
    assert not is_ordered("SELECT * FROM (SELECT a FROM t ORDER BY a LIMIT 3) s")
    assert is_ordered("WITH x AS (SELECT a FROM t) SELECT a FROM x ORDER BY a DESC")

"""Which query results get an automatic chart, including DECIMAL sums (Python Decimal objects)."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd

from million.autochart import chart_for

PNG = b"\x89PNG\r\n\x1a\n"


def test_month_vs_decimal_sum_gets_a_chart() -> None:
    df = pd.DataFrame({"stat_month": ["2025-01", "2025-02", "2025-03"],
                       "aum": [Decimal("6669247001.10"), Decimal("6650858000.00"), None]})
    assert df["aum"].dtype == object
    png = chart_for(df)
    assert png is not None and png.startswith(PNG)


def test_category_vs_number_gets_a_bar_chart() -> None:
    df = pd.DataFrame({"城市等级": ["一线", "二线", "三线"], "客户数": [120, 300, 80]})
    assert chart_for(df).startswith(PNG)


def test_shapes_that_do_not_fit_get_no_chart() -> None:
    assert chart_for(pd.DataFrame({"n": [5]})) is None  # a single number
    assert chart_for(pd.DataFrame({"a": ["x", "y"], "b": ["p", "q"]})) is None  # no number
    assert chart_for(pd.DataFrame({"name": list("abcdefghijklmnopqrstuvwxyzABCDEFG"), "v": range(33)})) is None
    mixed = pd.DataFrame({"k": ["x", "y"], "v": [Decimal("1.5"), "n/a"]})  # text in a column is not a number
    assert chart_for(mixed) is None


def test_ranks_and_numbers_of_another_magnitude_are_not_drawn_on_one_axis() -> None:
    from million.autochart import chart_columns

    df = pd.DataFrame({"排名": [1, 2, 3], "分行": ["北京分行", "上海分行", "深圳分行"], "总AUM_亿元": [24.3, 23.9, 23.3],
                       "客户数": [1618, 1676, 1606], "百万客户数": [607, 637, 590], "人均AUM_万元": [15.0, 14.3, 14.5]})
    assert chart_columns(df, ["排名", "总AUM_亿元", "客户数", "百万客户数", "人均AUM_万元"]) == ["总AUM_亿元", "人均AUM_万元"]
    assert chart_columns(df, ["客户数", "百万客户数"]) == ["客户数", "百万客户数"]
    assert chart_for(df[["排名", "分行"]]) is None  # only a rank: nothing worth a chart

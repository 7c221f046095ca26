"""Formatting for people: the Excel-safe CSV of downloads."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

from million.fmt import axis_money, excel_csv, money_unit


def test_formula_text_is_inert_and_numbers_keep_their_values() -> None:
    df = pd.DataFrame({"备注": ["=HYPERLINK(\"http://x\")", "+1", "-2+3", "@SUM(A1)", "\tx", "张三", None],
                       "n": [-5, 1, 2, 3, 4, 5, 6], "x": [-1.5, np.nan, 0, 1, 2, 3, 4]})
    raw = excel_csv(df)
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel shows the Chinese
    back = pd.read_csv(io.BytesIO(raw), encoding="utf-8-sig")
    assert back["备注"].tolist()[:6] == ["'=HYPERLINK(\"http://x\")", "'+1", "'-2+3", "'@SUM(A1)", "'\tx", "张三"]
    assert back["n"].tolist() == df["n"].tolist() and back["x"].iloc[0] == -1.5
    assert df["备注"].iloc[0].startswith("=")  # the caller's frame is not changed


def test_headers_are_inert_too() -> None:
    back = pd.read_csv(io.BytesIO(excel_csv(pd.DataFrame({"=cmd": ["a"], "ok": ["b"]}))), encoding="utf-8-sig")
    assert back.columns.tolist() == ["'=cmd", "ok"]


def test_csv_headers_are_chinese_and_floats_have_no_noise() -> None:
    df = pd.DataFrame({"customer_id": ["C0000001"], "total_assets": [6008.839999999967], "stat_month": ["2026-10"],
                       "branch_name": ["上海分行外滩支行"], "自定义": [0.1 + 0.2]})
    text = excel_csv(df).decode("utf-8-sig")
    head, row = text.splitlines()[:2]
    assert head.split(",") == ["客户ID", "月末总资产AUM（元）", "统计月份", "开户网点", "自定义"]
    assert "6008.84" in row and "6008.8399" not in row and ",0.3" in row and "0.30000000000000004" not in row


def test_money_axis_follows_the_numbers() -> None:
    scale, unit = money_unit(1.69e10)
    assert unit == "亿" and axis_money(1.6e10, scale, unit) == "160亿" and axis_money(1.625e10, scale, unit) == "162.5亿"
    scale, unit = money_unit(9.77e5)
    assert unit == "万" and axis_money(9.75e5, scale, unit) == "97.5万"
    assert money_unit(500)[1] == "元"

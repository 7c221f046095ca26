"""Formatting for people: the Excel-safe CSV of downloads."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

from million.fmt import excel_csv


def test_formula_text_is_inert_and_numbers_keep_their_values() -> None:
    df = pd.DataFrame({"name": ["=HYPERLINK(\"http://x\")", "+1", "-2+3", "@SUM(A1)", "\tx", "张三", None],
                       "n": [-5, 1, 2, 3, 4, 5, 6], "x": [-1.5, np.nan, 0, 1, 2, 3, 4]})
    raw = excel_csv(df)
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel shows the Chinese
    back = pd.read_csv(io.BytesIO(raw), encoding="utf-8-sig")
    assert back["name"].tolist()[:6] == ["'=HYPERLINK(\"http://x\")", "'+1", "'-2+3", "'@SUM(A1)", "'\tx", "张三"]
    assert back["n"].tolist() == df["n"].tolist() and back["x"].iloc[0] == -1.5
    assert df["name"].iloc[0].startswith("=")  # the caller's frame is not changed


def test_headers_are_inert_too() -> None:
    back = pd.read_csv(io.BytesIO(excel_csv(pd.DataFrame({"=cmd": ["a"], "ok": ["b"]}))), encoding="utf-8-sig")
    assert back.columns.tolist() == ["'=cmd", "ok"]

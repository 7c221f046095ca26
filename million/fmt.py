"""How numbers read for a person: money in 万, percentages, Markdown tables."""

from __future__ import annotations

import math

import pandas as pd


def wan(amount: float | None, digits: int = 1) -> str:
    """98.5万 for 985,000; 1.23亿 from 100,000,000 up; small amounts in 元."""
    if amount is None or (isinstance(amount, float) and math.isnan(amount)):
        return "-"
    a = float(amount)
    if abs(a) >= 1e8:
        return f"{a / 1e8:.2f}亿"
    if abs(a) >= 1e4:
        return f"{a / 1e4:.{digits}f}万"
    return f"{a:,.0f}元"


def pct(x: float | None, digits: int = 1) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x * 100:.{digits}f}%"


def md_table(df: pd.DataFrame, max_rows: int = 20) -> str:
    """A small Markdown table (no tabulate dependency); cells are escaped for pipes and newlines."""
    if df.empty:
        return "（无数据）"
    head = df.head(max_rows)

    def cell(v: object) -> str:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return ""
        if isinstance(v, float):
            v = f"{v:,.4g}" if abs(v) < 1000 else f"{v:,.2f}"
        return str(v).replace("|", "\\|").replace("\n", " ")[:200]

    lines = ["| " + " | ".join(cell(c) for c in head.columns) + " |",
             "|" + "---|" * len(head.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in head.itertuples(index=False, name=None)]
    if len(df) > max_rows:
        lines.append(f"\n（共 {len(df):,} 行，仅显示前 {max_rows} 行）")
    return "\n".join(lines)


# Excel runs a cell that starts with one of these as a formula, even in a CSV (CSV injection). The text
# in downloads comes from imported files and from SQL the LLM wrote, so it is untrusted.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _inert(v: object) -> object:
    return "'" + v if isinstance(v, str) and v.startswith(FORMULA_START) else v


def excel_csv(df: pd.DataFrame) -> bytes:
    """A CSV for people to open in Excel (UTF-8 with BOM so Chinese shows). Text cells and headers that
    Excel would run as a formula get a leading apostrophe, which Excel shows as plain text; numbers keep
    their values (a negative number is a number, not text)."""
    out = df.copy()
    for c in out.columns:
        if not (pd.api.types.is_numeric_dtype(out[c]) or pd.api.types.is_datetime64_any_dtype(out[c])):
            out[c] = out[c].map(_inert)
    out.columns = [_inert(c) for c in out.columns]
    return out.to_csv(index=False).encode("utf-8-sig")

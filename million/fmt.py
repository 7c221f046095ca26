"""How numbers read for a person: money in 万, percentages, Markdown tables."""

from __future__ import annotations

import math
import re

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


def money_unit(vmax: float) -> tuple[float, str]:
    """(divisor, unit) for an axis whose largest value is vmax: 亿 from 1亿, 万 from 1万, else 元."""
    v = abs(float(vmax or 0))
    if v >= 1e8:
        return 1e8, "亿"
    if v >= 1e4:
        return 1e4, "万"
    return 1.0, "元"


def axis_money(v: float, scale: float, unit: str) -> str:
    """A tick label in the axis unit with at most 4 significant digits: 160亿, 162.5亿, 97.5万 (never 1,600,000万)."""
    x = float(v) / scale
    return ("0" if x == 0 else f"{x:,.4g}") + unit


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


def _contract_headers() -> dict[str, str]:
    """customer_id → 客户ID, total_assets → 月末总资产AUM（元）: the contract's Chinese meaning, short."""
    from million.contract import TABLES

    out: dict[str, str] = {}
    for cols in TABLES.values():
        for c in cols:
            text = c.comment.split("，")[0]
            text = re.sub(r"（(?!元|秒)[^）]*）", "", text).strip()
            out.setdefault(c.name.lower(), text or c.name)
    return out


def chinese_headers(columns: list[object]) -> list[object]:
    """Column names people read: contract columns get their Chinese name (unless it would repeat one)."""
    names = _contract_headers()
    out: list[object] = []
    for c in columns:
        zh = names.get(str(c).lower())
        out.append(zh if zh and zh not in out and zh not in columns else c)
    return out


def _clean_float(v: object) -> object:
    """6008.84 for 6008.839999999967 (binary float noise), keeping 12 significant digits."""
    if isinstance(v, float) and math.isfinite(v):
        return float(f"{v:.12g}")
    return v


def excel_csv(df: pd.DataFrame) -> bytes:
    """A CSV for people to open in Excel (UTF-8 with BOM so Chinese shows): contract columns under their
    Chinese names, floats without binary noise. Text cells and headers that Excel would run as a
    formula get a leading apostrophe, which Excel shows as plain text; numbers keep their values (a
    negative number is a number, not text)."""
    out = df.copy()
    for c in out.columns:
        if pd.api.types.is_float_dtype(out[c]):
            out[c] = out[c].map(_clean_float)
        elif not (pd.api.types.is_numeric_dtype(out[c]) or pd.api.types.is_datetime64_any_dtype(out[c])):
            out[c] = out[c].map(lambda v: _inert(_clean_float(v)))
    out.columns = [_inert(c) for c in chinese_headers(list(out.columns))]
    return out.to_csv(index=False).encode("utf-8-sig")

"""Does an answer state a gold value? Numbers are read the way people and our tools write them
("1,234", "98.5万", "1.23亿", "12.3%", "0.8123") and a number states the gold value when the gold
value rounds to it at the digits shown (at least two significant digits: "99万" states 985,321,
"98.6万" does not); counts must be exact; text values must appear verbatim (spaces ignored)."""

from __future__ import annotations

import datetime as dt
import decimal
import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

# A number not glued to a latin word or another number; CJK characters may touch it ("约98.5万").
_NUM = re.compile(
    r"(?<![A-Za-z0-9_.])(?P<sign>[-+−])?(?P<int>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<frac>\d+))?"
    r"(?:[eE](?P<exp>[-+]?\d{1,3}))?\s*(?P<unit>%|％|万亿|亿|万)?"
)
_UNITS = {None: 1.0, "%": 0.01, "％": 0.01, "万": 1e4, "亿": 1e8, "万亿": 1e12}
KINDS = ("int", "number", "percent", "text", "check")


@dataclass(frozen=True)
class NumberToken:
    text: str
    value: float  # in base units (yuan, ratio for %)
    half_ulp: float  # half of the last shown digit, in base units
    sig_digits: int
    percent: bool

    def as_plain(self) -> NumberToken:
        """A percent token read as the bare number (for golds already expressed in percent)."""
        return NumberToken(self.text, self.value * 100, self.half_ulp * 100, self.sig_digits, False)


@dataclass(frozen=True)
class Fact:
    """One value the answer must state."""
    label: str
    kind: str  # int | number | percent | text | check (value: answer -> problem text or None)
    value: Any

    def describe(self) -> str:
        return self.label if self.kind == "check" else f"{self.label}={format_value(self.value)}"


def format_value(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.6g}" if abs(v) < 1e6 else f"{v:,.2f}"
    return str(v)


def numbers_in(text: str) -> list[NumberToken]:
    out = []
    for m in _NUM.finditer(text):
        digits = m.group("int").replace(",", "")
        frac = m.group("frac") or ""
        exp = int(m.group("exp") or 0)
        unit = m.group("unit")
        mult = _UNITS[unit] * (10.0 ** exp)
        raw = float(f"{digits}.{frac}" if frac else digits)
        if m.group("sign") in ("-", "−"):
            raw = -raw
        significant = (digits + frac).lstrip("0") or "0"
        out.append(NumberToken(m.group(0).strip(), raw * mult, 0.5 * 10.0 ** (-len(frac)) * mult,
                               len(significant), unit in ("%", "％")))
    return out


def _close_number(g: float, t: NumberToken) -> bool:
    err = abs(t.value - g)
    if err <= 1e-9 * max(1.0, abs(g)):
        return True
    # rounding-consistent: the gold value rounds to what is shown, with at least two digits shown
    return t.sig_digits >= 2 and err <= t.half_ulp * (1 + 1e-9)


def states_number(g: float, kind: str, tokens: list[NumberToken]) -> bool:
    for t in tokens:
        if kind == "int":
            if not t.percent and abs(t.value - g) <= 1e-9 * max(1.0, abs(g)):
                return True
        elif kind == "percent":  # a ratio: "12.3%" or "0.123"; at least whole percents shown
            err = abs(t.value - g)
            if t.half_ulp <= 0.005 * (1 + 1e-9) and err <= t.half_ulp * (1 + 1e-9):
                return True
        else:  # number: plain, money in 万/亿, or a ratio shown as a percentage
            if _close_number(g, t) or (t.percent and _close_number(g, t.as_plain())):
                return True
    return False


def _norm_text(s: str) -> str:
    return re.sub(r"\s+", "", s).lower()


def states(fact: Fact, answer: str, tokens: list[NumberToken] | None = None) -> bool:
    if fact.value is None:
        return True
    if fact.kind == "check":  # a property of the answer checked against the warehouse
        return fact.value(answer) is None
    if fact.kind == "text":
        return _norm_text(str(fact.value)) in _norm_text(answer)
    tokens = numbers_in(answer) if tokens is None else tokens
    return states_number(float(fact.value), fact.kind, tokens)


def missing_facts(facts: list[Fact], answer: str) -> list[Fact]:
    tokens = numbers_in(answer)
    return [f for f in facts if not states(f, answer, tokens)]


# -- facts from a result table -----------------------------------------------------------------------

def plain(v: Any) -> Any:
    """numpy / Decimal / dates to plain Python; NaN and NA to None."""
    if v is None:
        return None
    if isinstance(v, (np.generic,)):
        v = v.item()
    if isinstance(v, decimal.Decimal):
        v = float(v)
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat(sep=" ") if isinstance(v, dt.datetime) else v.isoformat()
    if v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, pd.Timestamp):
        return v.isoformat(sep=" ")
    return v


def kind_of(v: Any, int_column: bool) -> str:
    if isinstance(v, bool):
        return "int"
    if isinstance(v, int) or (int_column and isinstance(v, float) and v.is_integer()):
        return "int"
    if isinstance(v, float):
        return "number"
    return "text"


def facts_from_frame(df: Any, max_rows: int = 10, columns: list[str] | None = None,
                     kinds: dict[str, str] | None = None) -> list[Fact]:
    """Every cell of the first `max_rows` rows (or of the given columns) as a fact."""
    kinds = kinds or {}
    cols = [c for c in df.columns if columns is None or c in columns]
    facts = []
    for i, row in enumerate(df.head(max_rows).itertuples(index=False, name=None)):
        for c, v in zip(df.columns, row, strict=True):
            if c not in cols:
                continue
            pv = plain(v)
            if pv is None:
                continue
            int_col = str(df[c].dtype).lower().startswith(("int", "uint"))
            facts.append(Fact(f"第{i + 1}行.{c}", kinds.get(str(c)) or kind_of(pv, int_col), pv))
    return facts

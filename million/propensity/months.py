"""Calendar arithmetic on 'YYYY-MM' month strings (as months since year 0, so gaps are real gaps)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def to_ordinal(month: str) -> int:
    return int(month[:4]) * 12 + int(month[5:7]) - 1


def from_ordinal(o: int) -> str:
    return f"{o // 12:04d}-{o % 12 + 1:02d}"


def ordinals(months: pd.Series) -> np.ndarray:
    s = months.astype(str)
    return (s.str.slice(0, 4).astype(int) * 12 + s.str.slice(5, 7).astype(int) - 1).to_numpy()


def labels(ords: np.ndarray) -> np.ndarray:
    """'YYYY-MM' strings for an array of ordinals (formatting each distinct month once)."""
    uniq, inv = np.unique(ords, return_inverse=True)
    return np.array([from_ordinal(int(o)) for o in uniq], dtype=object)[inv]


def shift(month: str, k: int) -> str:
    return from_ordinal(to_ordinal(month) + k)


def month_end(month: str) -> pd.Timestamp:
    """The last instant of the month (23:59:59.999999), the moment features are 'as of'."""
    return pd.Period(month, freq="M").end_time


def is_month(text: str) -> bool:
    return bool(MONTH_RE.match(text))

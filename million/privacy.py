"""Masking of personal data in what is sent to an external LLM (the person still sees full tables)."""

from __future__ import annotations

import pandas as pd

NAME_COLUMNS = {"name", "姓名", "客户姓名"}


def mask_name(v: object) -> object:
    s = str(v) if v is not None else ""
    return s[:1] + "*" * max(len(s) - 1, 1) if s else v


def mask_frame(df: pd.DataFrame) -> pd.DataFrame:
    cols = [c for c in df.columns if str(c).lower() in NAME_COLUMNS]
    if not cols:
        return df
    out = df.copy()
    for c in cols:
        out[c] = out[c].map(mask_name)
    return out

"""Monthly AUM series: the bank total, each segment, each branch (支行, and 分行 when the branch names
follow the 「X分行Y支行」 pattern) and each customer."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

_BRANCH_RE = re.compile(r"^(.+?分行)(.+)$")


@dataclass
class Series:
    key: str  # total | segment:<id> | branch:<name> | region:<分行>
    level: str  # total | segment | branch
    name: str
    label: str  # Chinese, for messages and chart titles
    months: list[str]
    values: np.ndarray


def region_of(branch: str) -> str | None:
    """北京分行 for 北京分行朝阳支行; None when the name does not have that shape."""
    m = _BRANCH_RE.match(branch)
    return m.group(1) if m else None


def _series(key: str, level: str, name: str, label: str, monthly: pd.Series, months: list[str]) -> Series | None:
    v = monthly.reindex(months, fill_value=0.0).to_numpy(dtype=float)
    nz = np.flatnonzero(v > 0)
    if not len(nz):
        return None
    start = int(nz[0])  # a group with no customers yet in the first months starts when it has some
    return Series(key, level, name, label, months[start:], v[start:])


def aggregate_series(behavior: pd.DataFrame, base: pd.DataFrame, segments: pd.DataFrame | None) -> list[Series]:
    """segments: customer_id, segment_id, segment_name (None when the segments step has not run)."""
    months = sorted(behavior["stat_month"].astype(str).unique().tolist())
    b = behavior[["customer_id", "stat_month", "total_assets"]].copy()
    b["customer_id"] = b["customer_id"].astype(str)
    b["stat_month"] = b["stat_month"].astype(str)
    out: list[Series] = []
    tot = _series("total", "total", "全行", "全行", b.groupby("stat_month")["total_assets"].sum(), months)
    if tot:
        out.append(tot)
    if segments is not None:
        seg = segments.assign(customer_id=segments["customer_id"].astype(str)).set_index("customer_id")
        b["segment_id"] = b["customer_id"].map(seg["segment_id"])
        names = seg.drop_duplicates("segment_id").set_index("segment_id")["segment_name"]
        for sid, g in b.dropna(subset=["segment_id"]).groupby("segment_id"):
            name = str(names[sid])
            s = _series(f"segment:{int(sid)}", "segment", name, f"客群「{name}」",
                        g.groupby("stat_month")["total_assets"].sum(), months)
            if s:
                out.append(s)
    br = base.assign(customer_id=base["customer_id"].astype(str)).set_index("customer_id")["branch_name"].astype(str)
    b["branch"] = b["customer_id"].map(br)
    b["region"] = b["branch"].map(lambda x: region_of(x) if isinstance(x, str) else None)
    for name, g in b.dropna(subset=["branch"]).groupby("branch"):
        s = _series(f"branch:{name}", "branch", str(name), str(name), g.groupby("stat_month")["total_assets"].sum(),
                    months)
        if s:
            out.append(s)
    regions = b.dropna(subset=["region"]).groupby("region")["branch"].nunique()
    for name in regions[regions > 1].index:  # a 分行 with one 支行 is the same series twice
        g = b[b["region"] == name]
        s = _series(f"region:{name}", "branch", str(name), f"{name}（合计）",
                    g.groupby("stat_month")["total_assets"].sum(), months)
        if s:
            out.append(s)
    return out


class CustomerSeries:
    """Every customer's monthly AUM in flat arrays; one lookup is a dict hit and two slices."""

    def __init__(self, df: pd.DataFrame) -> None:
        """df: customer_id, stat_month, total_assets, sorted by customer then month."""
        ids = df["customer_id"].astype(str).to_numpy(dtype=object)
        codes, uniques = pd.factorize(df["stat_month"].astype(str), sort=True)
        self.month_names = [str(m) for m in uniques]
        self.month_codes = codes.astype(np.int16)
        self.values = df["total_assets"].to_numpy(dtype=float)
        n = len(ids)
        if n:
            change = np.flatnonzero(ids[1:] != ids[:-1]) + 1
            starts = np.r_[0, change]
            ends = np.r_[change, n]
            self.index = {ids[s]: (int(s), int(e)) for s, e in zip(starts, ends, strict=True)}
        else:
            self.index = {}

    @classmethod
    def from_behavior(cls, behavior: pd.DataFrame) -> CustomerSeries:
        cols = behavior[["customer_id", "stat_month", "total_assets"]]
        return cls(cols.sort_values(["customer_id", "stat_month"], kind="stable"))

    def get(self, customer_id: str) -> tuple[list[str], np.ndarray] | None:
        span = self.index.get(customer_id)
        if span is None:
            return None
        s, e = span
        return [self.month_names[c] for c in self.month_codes[s:e]], self.values[s:e]

    def ids(self) -> list[str]:
        return list(self.index)

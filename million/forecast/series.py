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


def group_sums(behavior: pd.DataFrame, base: pd.DataFrame, segments: pd.DataFrame | None) -> pd.DataFrame:
    """AUM summed per (key, stat_month) for the total, each segment, 支行 and 分行: columns key, level,
    name, stat_month, total_assets. Sums of disjoint sets of customers add up, so a warehouse too
    large for memory is summed a range of customers at a time (`combine_sums`)."""
    b = behavior[["customer_id", "stat_month", "total_assets"]].copy()
    b["customer_id"] = b["customer_id"].astype(str)
    b["stat_month"] = b["stat_month"].astype(str)
    parts = [_sums(b, None, "total", lambda _k: "total", lambda _k: "全行")]
    if segments is not None:
        seg = segments.assign(customer_id=segments["customer_id"].astype(str)).set_index("customer_id")
        b["segment_id"] = b["customer_id"].map(seg["segment_id"])
        names = seg.drop_duplicates("segment_id").set_index("segment_id")["segment_name"]
        parts.append(_sums(b, "segment_id", "segment", lambda k: f"segment:{int(k)}", lambda k: str(names[k])))
    br = base.assign(customer_id=base["customer_id"].astype(str)).set_index("customer_id")["branch_name"].astype(str)
    b["branch"] = b["customer_id"].map(br)
    regions = pd.Series({x: region_of(x) for x in b["branch"].dropna().unique()}, dtype=object)
    b["region"] = b["branch"].map(regions)
    parts.append(_sums(b, "branch", "branch", lambda k: f"branch:{k}", str))
    parts.append(_sums(b, "region", "region", lambda k: f"region:{k}", str))
    return pd.concat(parts, ignore_index=True)


def _sums(b: pd.DataFrame, by: str | None, level: str, key, name) -> pd.DataFrame:
    g = b.groupby("stat_month") if by is None else b.dropna(subset=[by]).groupby([by, "stat_month"])
    s = g["total_assets"].sum().reset_index()
    k = s[by] if by is not None else pd.Series([None] * len(s))
    return pd.DataFrame({"key": [key(x) for x in k], "level": level, "name": [name(x) for x in k],
                         "stat_month": s["stat_month"].to_numpy(), "total_assets": s["total_assets"].to_numpy()})


def combine_sums(parts: list[pd.DataFrame]) -> pd.DataFrame:
    df = pd.concat(parts, ignore_index=True)
    return df.groupby(["key", "level", "name", "stat_month"], sort=False, as_index=False)["total_assets"].sum()


def series_from_sums(sums: pd.DataFrame, months: list[str]) -> list[Series]:
    """The series, in order: the total, segments by id, 支行 by name, then 分行 (summed over their
    支行) that have more than one 支行."""
    out: list[Series] = []
    by_key = {k: g.set_index("stat_month")["total_assets"] for k, g in sums.groupby("key", sort=False)}
    meta = sums.drop_duplicates("key").set_index("key")[["level", "name"]]

    def add(key: str, level: str, name: str, label: str) -> None:
        s = _series(key, level, name, label, by_key[key], months)
        if s:
            out.append(s)

    if "total" in by_key:
        add("total", "total", "全行", "全行")
    segs = meta[meta["level"] == "segment"]
    for key in sorted(segs.index, key=lambda k: int(k.split(":", 1)[1])):
        add(key, "segment", segs.at[key, "name"], f"客群「{segs.at[key, 'name']}」")
    branches = meta[meta["level"] == "branch"]
    for key in sorted(branches.index, key=lambda k: branches.at[k, "name"]):
        add(key, "branch", branches.at[key, "name"], branches.at[key, "name"])
    counts = pd.Series([region_of(n) for n in branches["name"]], dtype=object).value_counts()
    regions = meta[meta["level"] == "region"]
    for key in sorted(regions.index, key=lambda k: regions.at[k, "name"]):
        name = regions.at[key, "name"]
        if counts.get(name, 0) > 1:  # a 分行 with one 支行 is the same series twice
            add(key, "branch", name, f"{name}（合计）")
    return out


def aggregate_series(behavior: pd.DataFrame, base: pd.DataFrame, segments: pd.DataFrame | None) -> list[Series]:
    """segments: customer_id, segment_id, segment_name (None when the segments step has not run)."""
    months = sorted(behavior["stat_month"].astype(str).unique().tolist())
    return series_from_sums(group_sums(behavior, base, segments), months)


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

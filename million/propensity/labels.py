"""The target: did a prospect at T (AUM < 1M) reach 1M in at least one of T+1, T+2, T+3?"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from million.contract import MILLION
from million.propensity import months as mo
from million.tables import Tables

HORIZON = 3


def labelled_months(tables: Tables | list[str]) -> list[str]:
    """As-of months with the 3-month lookback and the 3-month horizon inside the export (`tables`, or
    the export's sorted month list)."""
    ms = tables if isinstance(tables, list) else tables.months
    if not ms:
        return []
    first, last = mo.to_ordinal(ms[0]), mo.to_ordinal(ms[-1])
    return [mo.from_ordinal(o) for o in range(first + 2, last - HORIZON + 1)]


def build_labels(tables: Tables, as_of_months: Iterable[str]) -> pd.DataFrame:
    """customer_id, as_of, future_max_assets (highest AUM in T+1..T+3) and label for every customer
    with a row at T. Both are NaN when any of T+1..T+3 is missing (outside the export)."""
    beh = tables.behavior
    ords = mo.ordinals(beh["stat_month"])
    wanted = np.array(sorted({mo.to_ordinal(m) for m in as_of_months}))
    aum = pd.Series(beh["total_assets"].to_numpy(dtype=float),
                    index=pd.MultiIndex.from_arrays([beh["customer_id"].to_numpy(), ords]))
    at_t = np.isin(ords, wanted)
    cid, t = beh["customer_id"].to_numpy()[at_t], ords[at_t]
    ahead = np.stack([aum.reindex(pd.MultiIndex.from_arrays([cid, t + k])).to_numpy()
                      for k in range(1, HORIZON + 1)], axis=1)
    known = ~np.isnan(ahead).any(axis=1)
    fmax = np.where(known, np.nan_to_num(ahead, nan=-1).max(axis=1), np.nan)
    label = np.where(known, (fmax >= MILLION).astype(float), np.nan)
    return pd.DataFrame({"customer_id": cid, "as_of": mo.labels(t), "future_max_assets": fmax, "label": label})


def attach_labels(features: pd.DataFrame, tables: Tables) -> pd.DataFrame:
    """Feature rows (all customers) with future_max_assets and label; rows whose future is not in
    the export are dropped."""
    lab = build_labels(tables, features["as_of"].unique())
    df = features.merge(lab, on=["customer_id", "as_of"], how="inner", validate="one_to_one")
    return df.loc[df["label"].notna()].reset_index(drop=True)


def with_labels(features: pd.DataFrame, tables: Tables) -> pd.DataFrame:
    """Prospect rows (AUM < 1M at T) with a known label: the modelling population."""
    df = attach_labels(features.loc[features["aum_cur"] < MILLION], tables)
    return df

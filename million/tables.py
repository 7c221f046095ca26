"""Both contract tables from the warehouse as typed DataFrames, and a content hash of them."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from million.contract import BEHAVIOR, CUSTOMER_BASE, TABLES
from million.warehouse import Warehouse


@dataclass
class Tables:
    base: pd.DataFrame
    behavior: pd.DataFrame

    @property
    def months(self) -> list[str]:
        return sorted(self.behavior["stat_month"].unique().tolist())

    @property
    def latest_month(self) -> str:
        return str(self.behavior["stat_month"].max())


def _typed(df: pd.DataFrame, table: str) -> pd.DataFrame:
    for col in TABLES[table]:
        if col.name not in df:
            continue
        if col.kind == "decimal":
            df[col.name] = pd.to_numeric(df[col.name]).astype(float)
        elif col.kind == "int":
            df[col.name] = pd.to_numeric(df[col.name]).astype("int64")
        elif col.kind in {"date", "datetime"}:
            df[col.name] = pd.to_datetime(df[col.name])
        elif col.kind in {"str", "month"}:
            df[col.name] = df[col.name].astype(object)
    return df


def load_tables(wh: Warehouse) -> Tables:
    base = _typed(wh.query(f"SELECT * FROM {CUSTOMER_BASE}"), CUSTOMER_BASE)
    beh = _typed(wh.query(f"SELECT * FROM {BEHAVIOR}"), BEHAVIOR)
    beh = beh.sort_values(["customer_id", "stat_month"], kind="stable").reset_index(drop=True)
    base = base.sort_values("customer_id", kind="stable").reset_index(drop=True)
    return Tables(base, beh)


def data_hash(t: Tables) -> str:
    """Order-independent content hash of both tables (16 hex chars)."""
    h = 0
    for df in (t.base, t.behavior):
        cols = sorted(df.columns)
        h ^= int(pd.util.hash_pandas_object(df[cols].astype(str), index=False).sum()) & (2**64 - 1)
        h = (h * 1_000_003) & (2**64 - 1)
    return f"{h:016x}"

"""Both contract tables from the warehouse as typed DataFrames, and a content hash of them.

A build step reads only what it needs, so the pipeline also runs on data larger than memory
(1M customers x 24 months is 23M behaviour rows): a range of customers, some months, each
customer's latest month, or a few columns. The content hash is computed inside the engine.
"""

from __future__ import annotations

from collections.abc import Sequence
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


def _select(columns: Sequence[str] | None, alias: str = "") -> str:
    if columns is None:
        return f"{alias}*"
    return ", ".join(f"{alias}{c}" for c in columns)


def load_tables(wh: Warehouse, *, customers: tuple[str, str] | None = None, months: Sequence[str] | None = None,
                latest_only: bool = False, behavior_columns: Sequence[str] | None = None,
                base_columns: Sequence[str] | None = None) -> Tables:
    """The tables, or the part of them a step needs:
    - `customers=(first, last)`: only customer_ids in that range (in the engine's own order, see
      `customer_ranges`), both tables;
    - `months`: only those behaviour months;
    - `latest_only`: each customer's most recent behaviour row;
    - `behavior_columns` / `base_columns`: only those columns (names from the contract).
    Column names are the contract's, never user text; values are bound parameters."""
    for cols, table in ((behavior_columns, BEHAVIOR), (base_columns, CUSTOMER_BASE)):
        known = {c.name for c in TABLES[table]}
        if cols is not None and not set(cols) <= known:
            raise ValueError(f"unknown columns for {table}: {sorted(set(cols) - known)}")
    base_where, beh_where, params = "", [], []
    if customers is not None:
        base_where = " WHERE customer_id >= ? AND customer_id <= ?"
        beh_where.append("b.customer_id >= ? AND b.customer_id <= ?")
        params = list(customers)
    beh_params = list(params)
    if months is not None:
        beh_where.append(f"b.stat_month IN ({', '.join('?' for _ in months)})")
        beh_params += list(months)
    sql = f"SELECT {_select(behavior_columns, 'b.')} FROM {BEHAVIOR} b"
    if latest_only:
        inner = f"SELECT customer_id, MAX(stat_month) AS m FROM {BEHAVIOR}"
        if customers is not None:
            inner += " WHERE customer_id >= ? AND customer_id <= ?"
            beh_params = list(params) + beh_params
        sql += f" JOIN ({inner} GROUP BY customer_id) l ON b.customer_id = l.customer_id AND b.stat_month = l.m"
    if beh_where:
        sql += " WHERE " + " AND ".join(beh_where)
    beh = _typed(wh.query(sql, beh_params or None), BEHAVIOR)
    base = _typed(wh.query(f"SELECT {_select(base_columns)} FROM {CUSTOMER_BASE}{base_where}", params or None),
                  CUSTOMER_BASE)
    sort = [c for c in ("customer_id", "stat_month") if c in beh]
    if sort:
        beh = beh.sort_values(sort, kind="stable").reset_index(drop=True)
    if "customer_id" in base:
        base = base.sort_values("customer_id", kind="stable").reset_index(drop=True)
    return Tables(base, beh)


def warehouse_months(wh: Warehouse) -> list[str]:
    return [str(m) for m in wh.query(f"SELECT DISTINCT stat_month FROM {BEHAVIOR} ORDER BY stat_month")["stat_month"]]


def customer_ids(wh: Warehouse) -> list[str]:
    """Every customer_id of customer_base, in the engine's own order (the order range filters use)."""
    return [str(c) for c in wh.query(f"SELECT customer_id FROM {CUSTOMER_BASE} ORDER BY customer_id")["customer_id"]]


def customer_ranges(ids: Sequence[str], size: int) -> list[tuple[str, str]]:
    """Consecutive (first, last) ranges of at most `size` customers, from ids in the engine's order:
    every customer falls in exactly one range."""
    return [(ids[i], ids[min(i + size, len(ids)) - 1]) for i in range(0, len(ids), size)]


def data_hash(wh: Warehouse) -> str:
    """Order-independent content hash of both contract tables (16 hex chars), computed in the engine."""
    h = 0
    for table in (CUSTOMER_BASE, BEHAVIOR):
        h ^= int(wh.content_hash(table, [c.name for c in TABLES[table]]), 16)
        h = (h * 1_000_003) & (2**64 - 1)
    return f"{h:016x}"

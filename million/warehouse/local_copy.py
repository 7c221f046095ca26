"""The app's local copy of a cluster warehouse (DB_URL=hive://...).

A query on a cluster takes seconds, so the RM brief (five tools per customer) never goes there: the app's
per-customer tools read a DuckDB file holding customer_base, the last SERVING_MONTHS months of behaviour,
customer_segments and the latest month of million_scores, which the batch job refreshes after it writes
them (scripts/build_artifacts.py --engine spark, or scripts/refresh_local_copy.py). Only analysts' SQL
(sql_inter) goes to the cluster. The copy is written aside and swapped in atomically, customer range by
customer range, so it never needs the whole warehouse in memory."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from million.contract import BEHAVIOR, CUSTOMER_BASE
from million.tables import customer_ids, customer_ranges, warehouse_months
from million.warehouse.base import Warehouse, WarehouseError
from million.warehouse.ddl import create_statements
from million.warehouse.duck import DuckWarehouse

RANGE_CUSTOMERS = 200_000
EXTRA_TABLES = ("customer_segments", "million_scores")


def refresh_local_copy(src: Warehouse, path: Path, *, months: int = 36,
                       log: Callable[[str], None] = print) -> dict[str, Any]:
    """Copy what the app serves from `src` into the DuckDB file at `path`; returns row counts."""
    all_months = warehouse_months(src)
    if not all_months:
        raise WarehouseError("数据仓库中没有客户月度数据，无法生成本地服务副本")
    keep = all_months[-months:]
    ranges = customer_ranges(customer_ids(src), RANGE_CUSTOMERS)
    counts: dict[str, int] = {}

    def chunks(table: str) -> Iterator[pd.DataFrame]:
        n = 0
        for lo, hi in ranges:
            if table == CUSTOMER_BASE:
                df = src.query(f"SELECT * FROM {CUSTOMER_BASE} WHERE customer_id >= ? AND customer_id <= ?", [lo, hi])
            else:
                marks = ", ".join("?" for _ in keep)
                df = src.query(f"SELECT * FROM {BEHAVIOR} WHERE customer_id >= ? AND customer_id <= ? "
                               f"AND stat_month IN ({marks})", [lo, hi, *keep])
            n += len(df)
            counts[table] = n
            yield df

    frames: dict[str, Any] = {CUSTOMER_BASE: chunks(CUSTOMER_BASE), BEHAVIOR: chunks(BEHAVIOR)}
    present = set(src.tables())
    for table in EXTRA_TABLES:
        if table in present:
            sql = f"SELECT * FROM {table}"
            if table == "million_scores":
                sql += f" WHERE as_of = '{keep[-1]}'"  # the month the app serves
            frames[table] = src.query(sql)
            counts[table] = len(frames[table])
    ddl = {t: partial(create_statements, t, "duckdb", keys_after_load=True) for t in (CUSTOMER_BASE, BEHAVIOR)}
    path.parent.mkdir(parents=True, exist_ok=True)
    with DuckWarehouse(path, read_only=False) as dst:
        dst.replace_tables(frames, ddl)
    log(f"本地服务副本已更新：{path}（{', '.join(f'{k} {v:,} 行' for k, v in counts.items())}）")
    return {"months": keep, **counts}

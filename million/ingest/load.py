"""Load both tables from a folder into the warehouse: read, check, swap in, report."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import pandas as pd

from million.contract import BEHAVIOR, CUSTOMER_BASE
from million.ingest.read import find_table_file, read_table
from million.ingest.validate import check_table
from million.warehouse import Warehouse
from million.warehouse.ddl import create_statements

REJECTS_TABLE = "load_rejects"


@dataclass
class TableSummary:
    table: str
    file: str
    read: int
    loaded: int
    rejected: int
    seconds: float


@dataclass
class LoadResult:
    tables: list[TableSummary] = field(default_factory=list)
    rejects: pd.DataFrame = field(default_factory=pd.DataFrame)

    def render(self) -> str:
        lines = [f"{'表':<28}{'读取':>10}{'导入':>10}{'拒绝':>8}{'秒':>8}"]
        for t in self.tables:
            lines.append(f"{t.table:<28}{t.read:>10,}{t.loaded:>10,}{t.rejected:>8,}{t.seconds:>8.1f}")
        return "\n".join(lines)


def load_folder(data_dir: Path, wh: Warehouse, log: Callable[[str], None] = print) -> LoadResult:
    result = LoadResult()
    t0 = time.perf_counter()
    base_path = find_table_file(data_dir, CUSTOMER_BASE)
    beh_path = find_table_file(data_dir, BEHAVIOR)
    log(f"读取 {base_path.name} …")
    base_raw = read_table(base_path, CUSTOMER_BASE)
    t_base_read = time.perf_counter() - t0
    t1 = time.perf_counter()
    log(f"读取 {beh_path.name} …")
    beh_raw = read_table(beh_path, BEHAVIOR)
    months = beh_raw["stat_month"].astype(str)
    months = months[months.str.fullmatch(r"\d{4}-(0[1-9]|1[0-2])")]
    last_month = months.max() if len(months) else None
    log("校验 customer_base …")
    base = check_table(CUSTOMER_BASE, base_raw, last_month=last_month)
    log("校验 customer_behavior_assets …")
    known = set(base.clean["customer_id"])
    refused = set(base_raw.loc[base_raw["__row"].isin(base.rejects["file_row"]), "customer_id"].map(str)) - known
    beh = check_table(BEHAVIOR, beh_raw, known_customers=known, rejected_customers=refused)
    t_beh = time.perf_counter() - t1
    rejects = pd.concat([base.rejects, beh.rejects], ignore_index=True)
    log("写入数据仓库（先写副本再原子替换）…")
    t2 = time.perf_counter()
    ddl = {t: partial(create_statements, t, wh.dialect) for t in (CUSTOMER_BASE, BEHAVIOR)}
    wh.replace_tables({CUSTOMER_BASE: base.clean, BEHAVIOR: beh.clean,
                       REJECTS_TABLE: rejects.astype({"file_row": "int64"})}, ddl)
    t_write = time.perf_counter() - t2
    rejects.to_csv(data_dir / "rejects.csv", index=False, lineterminator="\n")
    share = t_write / 2
    result.tables = [
        TableSummary(CUSTOMER_BASE, base_path.name, len(base_raw), len(base.clean), len(base.rejects), t_base_read + share),
        TableSummary(BEHAVIOR, beh_path.name, len(beh_raw), len(beh.clean), len(beh.rejects), t_beh + share),
    ]
    result.rejects = rejects
    return result


def summarize_reasons(rejects: pd.DataFrame, top: int = 10) -> str:
    if rejects.empty:
        return "没有被拒绝的行。"
    reasons = rejects["reason"].str.split("；").explode()
    reasons = reasons.map(lambda r: re.sub(r"\s+", " ", r))
    counts = reasons.value_counts().head(top)
    return "\n".join(f"  {n:>8,}  {r}" for r, n in counts.items())

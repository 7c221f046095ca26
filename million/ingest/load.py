"""Load both tables from a folder into the warehouse: read, check, swap in, report."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from million.contract import BEHAVIOR, CUSTOMER_BASE
from million.ingest.read import find_table_file, read_table, read_table_chunks, table_rows
from million.ingest.validate import (
    DUPLICATE_KEYS,
    MONTH_PATTERN,
    IdSet,
    RepeatedKeys,
    check_table,
    parse_keys,
)
from million.warehouse import Warehouse
from million.warehouse.ddl import create_statements

REJECTS_TABLE = "load_rejects"
# What the first pass over the behaviour file reads: the duplicate keys and the month.
KEY_PASS_COLUMNS = sorted({c for keys in DUPLICATE_KEYS[BEHAVIOR] for c in keys} | {"stat_month"})


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
        lines = [f"{'表':<28}{'读取':>12}{'导入':>12}{'拒绝':>10}{'秒':>8}"]
        for t in self.tables:
            lines.append(f"{t.table:<28}{t.read:>13,}{t.loaded:>13,}{t.rejected:>11,}{t.seconds:>9.1f}")
        return "\n".join(lines)


# Rows checked and written at a time: a 23M-row behaviour file never sits in memory whole.
CHUNK_ROWS = 1_000_000


def load_folder(data_dir: Path, wh: Warehouse, log: Callable[[str], None] = print,
                chunk_rows: int = CHUNK_ROWS) -> LoadResult:
    """customer_base is read and checked whole; the behaviour file in chunks, in two passes: the
    first finds keys repeated anywhere in the file (and the last month), the second checks each
    chunk and streams its clean rows into the warehouse's new copy of the table."""
    result = LoadResult()
    t0 = time.perf_counter()
    base_path = find_table_file(data_dir, CUSTOMER_BASE)
    beh_path = find_table_file(data_dir, BEHAVIOR)
    log(f"读取 {base_path.name} …")
    base_raw = read_table(base_path, CUSTOMER_BASE)
    t_base_read = time.perf_counter() - t0
    t1 = time.perf_counter()
    total = table_rows(beh_path)
    log(f"读取 {beh_path.name}（第一遍：重复键与月份）…")
    repeated = {tuple(k): RepeatedKeys(k) for k in DUPLICATE_KEYS[BEHAVIOR]}
    last_month, beh_read = None, 0
    kept: list[pd.DataFrame] | None = []  # a file that comes in one chunk is not read a second time
    with tqdm(total=total, desc="检查重复键", unit="行", unit_scale=True, leave=False) as bar:
        for raw in read_table_chunks(beh_path, BEHAVIOR, chunk_rows, only=KEY_PASS_COLUMNS):
            # a whole file in one chunk is checked from this read, unless it came without its other columns
            kept = [raw] if kept == [] and len(raw.columns) > len(KEY_PASS_COLUMNS) + 1 else None
            keys = parse_keys(BEHAVIOR, raw)
            for r in repeated.values():
                r.add(keys)
            months = keys["stat_month"].dropna().astype(str)
            months = months[months.str.fullmatch(MONTH_PATTERN)]
            if len(months):
                last_month = max(last_month or "", months.max())
            beh_read += len(raw)
            bar.update(len(raw))
    for r in repeated.values():
        r.finish()
    log("校验 customer_base …")
    base = check_table(CUSTOMER_BASE, base_raw, last_month=last_month)
    known = set(base.clean["customer_id"])
    refused = set(base_raw.loc[base_raw["__row"].isin(base.rejects["file_row"]), "customer_id"].map(str)) - known
    del base_raw
    known_ids, refused_ids = IdSet(known), IdSet(refused)
    parts: list[pd.DataFrame] = [base.rejects]  # all rejects, one frame once the behaviour file is done
    beh_loaded = 0

    def behaviour_chunks() -> Iterator[pd.DataFrame]:
        nonlocal beh_loaded
        with tqdm(total=beh_read, desc="校验并导入 customer_behavior_assets", unit="行", unit_scale=True,
                  leave=False) as bar:
            for raw in kept if kept is not None else read_table_chunks(beh_path, BEHAVIOR, chunk_rows):
                checked = check_table(BEHAVIOR, raw, known_customers=known_ids, rejected_customers=refused_ids,
                                      repeated=repeated)
                parts.append(checked.rejects)
                beh_loaded += len(checked.clean)
                bar.update(len(raw))
                yield checked.clean

    def rejects_table() -> Iterator[pd.DataFrame]:
        # iterated after the behaviour chunks (tables are written in order), so it holds all rejects
        parts[:] = [pd.concat(parts, ignore_index=True).astype({"file_row": "int64"})]
        yield parts[0]

    log("校验 customer_behavior_assets 并写入数据仓库（先写副本再原子替换）…")
    ddl = {t: partial(create_statements, t, wh.dialect, keys_after_load=True) for t in (CUSTOMER_BASE, BEHAVIOR)}
    wh.replace_tables({CUSTOMER_BASE: base.clean, BEHAVIOR: behaviour_chunks(), REJECTS_TABLE: rejects_table()}, ddl)
    t_beh = time.perf_counter() - t1
    rejects = parts[0]
    rejects.to_csv(data_dir / "rejects.csv", index=False, lineterminator="\n")
    result.tables = [
        TableSummary(CUSTOMER_BASE, base_path.name, len(base.clean) + len(base.rejects), len(base.clean),
                     len(base.rejects), t_base_read),
        TableSummary(BEHAVIOR, beh_path.name, beh_read, beh_loaded, beh_read - beh_loaded, t_beh),
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

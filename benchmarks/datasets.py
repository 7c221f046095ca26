"""Generated data sets for benchmarks and research: one folder per (customers, months, seed), made once
and reused (parquet files, oracle.csv and a loaded DuckDB warehouse)."""

from __future__ import annotations

from pathlib import Path

from million.datagen.simulate import generate
from million.datagen.writer import write_table
from million.ingest.load import load_folder
from million.warehouse import connect


def dataset(work: Path, customers: int, months: int, seed: int) -> tuple[str, Path]:
    folder = work / f"c{customers}_m{months}_s{seed}"
    db = folder / "warehouse.duckdb"
    if not db.exists():
        folder.mkdir(parents=True, exist_ok=True)
        print(f"生成 {customers:,} 位客户 × {months} 个月（seed {seed}）…", flush=True)
        g = generate(customers, months, seed)
        write_table(g.customer_base, folder, "customer_base", "parquet")
        write_table(g.behavior, folder, "customer_behavior_assets", "parquet")
        g.oracle.to_csv(folder / "oracle.csv", index=False)
        with connect(f"duckdb:///{db}", read_only=False) as wh:
            load_folder(folder, wh, log=lambda _m: None)
    return f"duckdb:///{db}", folder

"""Small generated data sets for tests, written and loaded once per test session."""

from __future__ import annotations

from pathlib import Path

from million.datagen.simulate import generate
from million.datagen.writer import write_table
from million.ingest.load import load_folder
from million.warehouse import connect


def make_dataset(out: Path, *, customers: int, months: int, seed: int, id_style: str = "seq",
                 end_month: str = "2026-10", fmt: str = "parquet") -> Path:
    out.mkdir(parents=True, exist_ok=True)
    g = generate(customers, months, seed, end_month, id_style)
    write_table(g.customer_base, out, "customer_base", fmt)
    write_table(g.behavior, out, "customer_behavior_assets", fmt)
    g.oracle.to_csv(out / "oracle.csv", index=False)
    return out


def load_duckdb(data_dir: Path) -> str:
    url = f"duckdb:///{data_dir / 'warehouse.duckdb'}"
    with connect(url, read_only=False) as wh:
        load_folder(data_dir, wh, log=lambda _m: None)
    return url

"""The three analytics steps built once per data set for the segments, rules and forecast tests.

Each data set's warehouse is copied first: the segments step publishes customer_segments and the
live-customer tests add rows, which must not leak into other teams' tests on the shared fixture."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from million.pipeline import BuildContext, run_all
from million.warehouse import connect, parse_url

# Small enough for a fast suite, large enough that every code path runs (validation window, sample).
TEST_PARAMS = {"forecast": {"customer_sample": 30, "reference_sample": 8, "n_jobs": 1, "max_branch_series": 6}}
STEPS = ["segments", "rules", "forecast"]


@dataclass
class Built:
    url: str
    artifacts: Path
    data_dir: Path
    rows: list[dict]


_cache: dict[str, Built] = {}


def copy_warehouse(url: str, dst_dir: Path) -> str:
    dst_dir.mkdir(parents=True, exist_ok=True)
    dst = dst_dir / "warehouse.duckdb"
    shutil.copyfile(parse_url(url).path, dst)
    return f"duckdb:///{dst}"


def build(name: str, url: str, data_dir: Path, tmp: Path, params: dict | None = None) -> Built:
    if name not in _cache:
        own = copy_warehouse(url, tmp / "wh")
        art = tmp / "artifacts"
        ctx = BuildContext(db_url=own, artifacts_dir=art, data_dir=data_dir, params=params or TEST_PARAMS)
        rows = run_all(ctx, only=STEPS, log=lambda _m: None)
        _cache[name] = Built(own, art, data_dir, rows)
    return _cache[name]


def reader(url: str):
    return connect(url, read_only=True)

"""The offline pipeline at a given size, one child process per stage (so each stage's seconds and peak
memory are its own): generate (parquet) → load (DuckDB) → features → train → segments → rules →
forecasts. Every stage after "load" reads from the warehouse only what it needs, as the real build does
(features a range of customers at a time; training on a sample of at most 100k customers). The features stage
writes the build's own feature table (artifacts/propensity/features.parquet); the train stage reads it back
instead of building it again (the build reuses a feature table of the same data, feature code and sampling
settings), so the features are paid for once, as in `make artifacts`, and shown as their own stage.

    python -m benchmarks.pipeline features --db-url duckdb:///DIR/warehouse.duckdb --out F.parquet  (features stage)
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.proc import run_stage
from million.propensity.paths import artifacts_paths
from million.settings import ROOT

STAGES = ("generate", "load", "features", "train", "segments", "rules", "forecasts")
STAGE_LABELS = {"generate": "生成数据（parquet）", "load": "导入 DuckDB（含逐行校验）", "features": "特征（全部月份，按客户分段）",
                "train": "训练百万概率模型", "segments": "客户分群", "rules": "关联规则", "forecasts": "AUM 预测"}
STATUS_LABELS = {"ok": "完成", "failed": "失败", "timeout": "超时", "memory_cap": "内存超限", "skipped": "未运行"}
BUILD_STEP = {"train": "propensity", "segments": "segments", "rules": "rules", "forecasts": "forecast"}


def stage_command(stage: str, size: int, months: int, folder: Path, seed: int) -> list[str]:
    py = sys.executable
    url = f"duckdb:///{folder / 'warehouse.duckdb'}"
    if stage == "generate":
        return [py, str(ROOT / "commands/generate.py"), "--customers", str(size), "--months", str(months),
                "--seed", str(seed), "--format", "parquet", "--out", str(folder)]
    if stage == "load":
        return [py, str(ROOT / "commands/load.py"), "--data", str(folder), "--db-url", url]
    if stage == "features":
        # where the build keeps its feature table: the train stage reuses it (same data, code and settings)
        # instead of building the features again, as `make artifacts` does after a features-only run
        return [py, "-m", "benchmarks.pipeline", "features", "--db-url", url, "--out",
                str(artifacts_paths(folder / "artifacts")["features"])]
    return [py, str(ROOT / "commands/build.py"), "--data", str(folder), "--db-url", url,
            "--artifacts", str(folder / "artifacts"), "--only", BUILD_STEP[stage]]


def run_size(size: int, months: int, work: Path, *, time_limit_s: float, memory_cap_mib: float, seed: int = 42,
             keep: bool = False, log: Callable[[str], None] = print) -> dict[str, Any]:
    folder = work / f"c{size}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    out: dict[str, Any] = {"customers": size, "months": months, "stages": {}}
    t0 = time.perf_counter()
    blocked = ""
    for stage in STAGES:
        if blocked:
            out["stages"][stage] = {"status": "skipped", "note": f"未运行：{blocked}"}
            continue
        log(f"  [{size:,} 客户] {STAGE_LABELS[stage]} …")
        r = run_stage(stage_command(stage, size, months, folder, seed), time_limit_s=time_limit_s,
                      memory_cap_mib=memory_cap_mib, log_path=work / "logs" / f"c{size}-{stage}.log", cwd=ROOT)
        out["stages"][stage] = r.as_dict()
        log(f"    {r.status}，{r.seconds:,.1f} 秒，峰值内存 {r.peak_mib or 0:,.0f} MiB {r.note[:200]}")
        if r.status != "ok":
            blocked = f"上一步（{STAGE_LABELS[stage]}）{STATUS_LABELS[r.status]}"
    if (folder / "customer_behavior_assets.parquet").exists() or any(folder.glob("customer_behavior_assets*")):
        out["rows"] = _rows(folder)
    out["total_seconds"] = round(time.perf_counter() - t0, 1)
    out["disk_mib"] = round(sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20)
    if not keep:
        shutil.rmtree(folder, ignore_errors=True)
    return out


def _rows(folder: Path) -> int | None:
    try:
        import pyarrow.parquet as pq

        files = sorted(folder.glob("customer_behavior_assets*.parquet"))
        return sum(pq.ParquetFile(f).metadata.num_rows for f in files) if files else None
    except Exception:  # noqa: BLE001 - the row count is informative only
        return None


def _features_main(db_url: str, out: Path) -> int:
    """What the build's feature step does: every customer-month's features, a range of customers at
    a time, streamed into a parquet file (the training sample kept in memory)."""
    from million.propensity.feature_store import CHUNK_CUSTOMERS, TRAIN_CUSTOMERS, stream_features
    from million.propensity.train import DEFAULT_PARAMS
    from million.tables import data_hash, warehouse_months
    from million.warehouse import connect

    t0 = time.perf_counter()
    with connect(db_url, read_only=True) as wh:
        latest = warehouse_months(wh)[-1]
        got = stream_features(wh, out, data_hash=data_hash(wh), latest=latest,
                              chunk_customers=CHUNK_CUSTOMERS, train_customers=TRAIN_CUSTOMERS,
                              seed=DEFAULT_PARAMS["seed"])
    import pyarrow.parquet as pq

    rows = pq.ParquetFile(out).metadata.num_rows
    print(f"特征 {rows:,} 行（{got['customers']:,} 位客户），训练样本 {len(got['labelled']):,} 行，"
          f"最新月 {len(got['latest']):,} 行，{time.perf_counter() - t0:.1f} 秒")
    return 0


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="基准测试的单个阶段")
    ap.add_argument("stage", choices=["features"])
    ap.add_argument("--db-url", required=True)
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args()
    raise SystemExit(_features_main(a.db_url, a.out))

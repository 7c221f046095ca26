"""Spark on local[N] next to the local path (scripts/bench.py --only spark):

- features (the one feature function; locally in ranges of 50,000 customers, on Spark per hash bucket);
- scoring every prospect of the latest month with a trained bundle (driver vs Spark), rows/s per core;
- analyst query p50 through a Spark Thrift Server (the ten typical queries) next to DuckDB.
Data comes from the generator in memory; the Thrift server reads it as parquet tables on this machine."""

from __future__ import annotations

import gc
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from benchmarks.stats import rss_mib, summary_ms
from million.datagen.simulate import generate
from million.memory import give_back
from million.propensity.bundle import ModelBundle
from million.propensity.feature_store import CHUNK_CUSTOMERS
from million.propensity.features import build_features
from million.propensity.scoring import score_features
from million.tables import Tables, _typed


def _tables(customers: int, months: int, seed: int) -> Tables:
    g = generate(customers, months, seed)  # typed in place: the generator's frames are not used again
    return Tables(_typed(g.customer_base, "customer_base"), _typed(g.behavior, "customer_behavior_assets"))


def local_features(tables: Tables, months: list[str] | None = None) -> tuple[float, int]:
    ids = tables.base["customer_id"].sort_values().to_numpy()
    t0, rows = time.perf_counter(), 0
    for i in range(0, len(ids), CHUNK_CUSTOMERS):
        lo, hi = ids[i], ids[min(i + CHUNK_CUSTOMERS, len(ids)) - 1]
        b = tables.behavior[(tables.behavior["customer_id"] >= lo) & (tables.behavior["customer_id"] <= hi)]
        c = tables.base[(tables.base["customer_id"] >= lo) & (tables.base["customer_id"] <= hi)]
        rows += len(build_features(Tables(c, b), months))
    return time.perf_counter() - t0, rows


def hand_over(spark: Any, df: pd.DataFrame, folder: Path, slice_rows: int = 1_000_000) -> Any:
    """`df` on Spark, read from parquet that Spark wrote a slice at a time. One createDataFrame of the whole
    frame holds every Arrow batch in Python and again in the driver JVM's heap (~4 GB each at 23M rows,
    next to the frame itself): at 1M customers that does not fit a 6 GB driver on a 24 GB machine."""
    schema = spark.createDataFrame(df.head(100_000)).schema  # one schema for every slice
    for start in range(0, len(df), slice_rows):
        spark.createDataFrame(df.iloc[start:start + slice_rows], schema=schema).write.mode("append").parquet(str(folder))
    return spark.read.parquet(str(folder))


def run_size(spark: Any, customers: int, months: int, bundle: ModelBundle, cores: int,
             log: Callable[[str], None] = print) -> dict[str, Any]:
    from million.spark.features import bucket_count, spark_features
    from million.spark.scoring import spark_scores

    t0 = time.perf_counter()
    tables = _tables(customers, months, seed=7)
    gen_s = time.perf_counter() - t0
    latest = tables.latest_month
    log(f"  {customers:,} 客户：生成 {gen_s:.0f} 秒，{len(tables.behavior):,} 行")
    loc_s, loc_rows = local_features(tables)
    log(f"  本地特征 {loc_s:.1f} 秒（{loc_rows:,} 行）")
    latest_feats = build_features(tables, [latest])
    t0 = time.perf_counter()
    local_scores = score_features(bundle, latest_feats)
    loc_score_s = time.perf_counter() - t0
    del latest_feats
    t0 = time.perf_counter()
    handover = Path(tempfile.mkdtemp(prefix="million-bench-handover-"))
    beh = hand_over(spark, tables.behavior, handover / "behaviour").persist()
    base = hand_over(spark, tables.base, handover / "base").persist()
    beh.count(), base.count()
    handover_s = time.perf_counter() - t0
    behaviour_rows = len(tables.behavior)
    # Spark holds the data now: the driver's copy goes, so the JVM and the Python workers have the memory
    # (at 1M customers the typed frames are ~8 GB next to a 6 GB driver JVM and two workers per bucket)
    del tables
    gc.collect()
    give_back()
    buckets = bucket_count(customers, 0, cores * 2)
    t0 = time.perf_counter()
    feats = spark_features(beh, base, buckets=buckets).persist()
    sp_rows = feats.count()
    sp_s = time.perf_counter() - t0
    log(f"  Spark 特征 {sp_s:.1f} 秒（{sp_rows:,} 行，{buckets} 桶；交给 Spark {handover_s:.1f} 秒）")
    t0 = time.perf_counter()
    scored = spark_scores(feats.filter(feats["as_of"] == latest), bundle, buckets=buckets)
    sp_scored = scored.count()
    sp_score_s = time.perf_counter() - t0
    log(f"  评分：本地 {loc_score_s:.1f} 秒，Spark（含 SHAP 原因与排名）{sp_score_s:.1f} 秒，{sp_scored:,} 位潜客")
    feats.unpersist(), beh.unpersist(), base.unpersist()
    shutil.rmtree(handover, ignore_errors=True)
    return {"customers": customers, "months": months, "behaviour_rows": behaviour_rows,
            "feature_rows": sp_rows, "buckets": buckets, "generate_s": round(gen_s, 1),
            "local_features_s": round(loc_s, 1), "spark_features_s": round(sp_s, 1),
            "spark_handover_s": round(handover_s, 1),
            "local_features_rows_per_core_s": round(loc_rows / loc_s, 0),
            "spark_features_rows_per_core_s": round(sp_rows / sp_s / cores, 0),
            "prospects": int(len(local_scores)), "local_score_s": round(loc_score_s, 2),
            "spark_score_s": round(sp_score_s, 1),
            "local_score_rows_per_core_s": round(len(local_scores) / max(loc_score_s, 1e-9), 0),
            "spark_score_rows_per_core_s": round(sp_scored / sp_score_s / cores, 0),
            "driver_rss_mib": rss_mib()}


def thrift_queries(customers: int, months: int, runs: int, log: Callable[[str], None] = print) -> dict[str, Any]:
    """The ten typical queries through a local Spark Thrift Server (parquet tables on this machine)."""
    from benchmarks.queries import QUERIES, time_query
    from evaluation.resultsets import compare, is_ordered
    from million.warehouse import connect
    from million.warehouse.duck import DuckWarehouse
    from tests.support import spark_server

    tables = _tables(customers, months, seed=7)
    work = Path(tempfile.mkdtemp(prefix="million-bench-sts-"))
    duck_path = work / "w.duckdb"
    with DuckWarehouse(duck_path, read_only=False) as d:
        d.replace_tables({"customer_base": tables.base, "customer_behavior_assets": tables.behavior})
    server = spark_server.start()
    try:
        _parquet_tables(server, work, {"customer_base": tables.base, "customer_behavior_assets": tables.behavior})
        wh = connect(server.url(), timeout_s=600)
        duck = connect(f"duckdb:///{duck_path}")
        rows = []
        for name, sql in QUERIES:
            s_times, s_df = time_query(wh, sql, runs)
            d_times, d_df = time_query(duck, sql, runs)
            same, why = compare(d_df, s_df, is_ordered(sql))
            rows.append({"name": name, "spark": summary_ms(s_times), "duckdb": summary_ms(d_times), "same_result": same,
                         "diff": why})
            log(f"  {name}: Spark Thrift p50 {rows[-1]['spark']['p50_ms']:.0f} ms, DuckDB {rows[-1]['duckdb']['p50_ms']:.1f} ms")
        one = summary_ms(time_query(wh, "SELECT 1 AS one", runs)[0])
        return {"customers": customers, "months": months, "runs": runs, "queries": rows, "select_1": one,
                "server_start_s": round(server.started_s, 1)}
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


def _parquet_tables(server: Any, work: Path, frames: dict[str, Any]) -> None:
    """Tables on the Thrift server over parquet files on this machine (faster than INSERTs through HS2)."""
    from million.warehouse import connect

    with connect(server.url("loader"), read_only=False) as admin:
        for name, df in frames.items():
            (work / name).mkdir()
            df.to_parquet(work / name / "part-0.parquet", index=False)
            admin._write(f"CREATE TABLE `{name}` USING parquet LOCATION '{work / name}'")


def hive_brief(customers: int, log: Callable[[str], None] = print) -> dict[str, Any]:
    """The RM brief with DB_URL=hive://... : the default data (the one the app's artifacts were built on) on
    a Spark Thrift Server, the app's local copy refreshed from it as the batch job does, then the brief timed
    exactly as `million bench --only tools` times it. Every statement sent to the cluster is counted: the
    brief must send none (only analysts' SQL goes there)."""
    from benchmarks.tool_latency import measure_brief, random_customers
    from million.services import get_services
    from million.settings import get_settings
    from million.warehouse import connect
    from million.warehouse.hive import HiveWarehouse
    from million.warehouse.local_copy import refresh_local_copy
    from tests.support import spark_server
    from tests.support.app_env import app_environment

    base = get_settings()
    with connect(base.warehouse_url) as duck:
        present = set(duck.tables())
        frames = {n: duck.query(f"SELECT * FROM {n}")
                  for n in ("customer_base", "customer_behavior_assets", "customer_segments") if n in present}
    work = Path(tempfile.mkdtemp(prefix="million-bench-hive-brief-"))
    server = spark_server.start()
    env = {"DB_URL": server.url(), "SERVING_COPY": str(work / "serving_copy.duckdb"),
           "AUDIT_LOG": str(work / "audit.jsonl")}
    real_execute = HiveWarehouse._execute
    sent: list[str] = []

    def counted(self: HiveWarehouse, sql: str, *a: Any, **k: Any) -> Any:
        sent.append(sql)
        return real_execute(self, sql, *a, **k)

    try:
        _parquet_tables(server, work, frames)
        t0 = time.perf_counter()
        with connect(server.url()) as src:
            counts = refresh_local_copy(src, Path(env["SERVING_COPY"]), months=base.serving_months, log=log)
        copy_s = time.perf_counter() - t0
        with app_environment(env) as settings:
            svc = get_services()
            if not isinstance(svc.analyst_wh, HiveWarehouse):
                raise RuntimeError(f"analysts' warehouse is {type(svc.analyst_wh).__name__}, not HiveServer2")
            picked = random_customers(svc.wh, customers)
            HiveWarehouse._execute = counted  # type: ignore[method-assign]
            try:
                brief = measure_brief(settings, picked, log)
            finally:
                HiveWarehouse._execute = real_execute  # type: ignore[method-assign]
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    log(f"  DB_URL=hive 的客户经理简报：答案 p50 {brief['p50_ms']:.1f} ms；发往集群的语句 {len(sent)} 条")
    return {"copy_s": round(copy_s, 1), "copy_rows": {k: v for k, v in counts.items() if k != "months"},
            "cluster_statements": len(sent), "brief": brief}


def run(sizes: list[int], months: int, model_dir: Path, cores: int, query_customers: int, runs: int,
        brief_customers: int = 200, log: Callable[[str], None] = print) -> dict[str, Any]:
    from million.settings import Settings
    from million.spark.session import spark_session
    from tests.support import spark_server

    spark_server.ensure_java()
    os.environ.update({k: v for k, v in spark_server.spark_env().items()
                       if k in {"SPARK_HOME", "PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON", "SPARK_LOCAL_IP"}})
    bundle = ModelBundle.load(model_dir)
    spark = spark_session(Settings(spark_master=f"local[{cores}]", spark_driver_memory="6g",
                                   spark_shuffle_partitions=cores * 4), app_name="million-bench")
    out: dict[str, Any] = {"master": f"local[{cores}]", "cores": cores, "sizes": []}
    try:
        for n in sizes:
            out["sizes"].append(run_size(spark, n, months, bundle, cores, log))
    finally:
        spark.stop()
    out["thrift"] = thrift_queries(query_customers, months, runs, log)
    out["hive_brief"] = hive_brief(brief_customers, log)
    return out


def render(data: dict[str, Any]) -> list[str]:
    lines = [f"## Spark（{data['master']}，与本地 pandas 路径对比）", "",
             "| 客户 × 月 | 特征行 | 本地特征 | Spark 特征 | 本地 行/秒/核 | Spark 行/秒/核 | 交给 Spark | 潜客 | 本地评分 | Spark 评分（含原因、排名） | Spark 评分 行/秒/核 |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in data["sizes"]:
        lines.append(f"| {r['customers']:,} × {r['months']} | {r['feature_rows']:,} | {r['local_features_s']} 秒 | "
                     f"{r['spark_features_s']} 秒 | {r['local_features_rows_per_core_s']:,.0f} | "
                     f"{r['spark_features_rows_per_core_s']:,.0f} | {r['spark_handover_s']} 秒 | {r['prospects']:,} | "
                     f"{r['local_score_s']} 秒 | "
                     f"{r['spark_score_s']} 秒 | {r['spark_score_rows_per_core_s']:,.0f} |")
    t = data["thrift"]
    lines += ["", f"本地路径单线程（每核）；Spark 每核 = 总行数 / 秒 / {data['cores']} 核。",
              "- 本地特征：同一个特征函数按 1 万客户一段在内存中的整表上计算，每段用布尔条件从整表筛出该段的行"
              "（每段扫描一次整表，客户越多这部分占比越大）；真实构建的本地特征阶段（从仓库分段读取、写 parquet）见 bench.md 的流水线一节。",
              "- 交给 Spark：生成的数据由 Spark 分片写成 parquet 再读回（集群上数据本来就在仓库里），不计入 Spark 特征时间。",
              "- 本地评分只算概率；Spark 评分还算排名和概率 ≥ 5% 的潜客的 SHAP 前三原因，并写回 million_scores 所需的列。", "",
              f"### 分析查询经 Spark Thrift Server（{t['customers']:,} 客户 × {t['months']} 月，每条 {t['runs']} 次）", "",
              f"`SELECT 1` 往返 p50 {t['select_1']['p50_ms']:.0f} ms；服务启动 {t['server_start_s']} 秒。", "",
              "| 查询 | Spark Thrift p50 | DuckDB p50 | 结果一致 |", "|---|---|---|---|"]
    for r in t["queries"]:
        lines.append(f"| {r['name']} | {r['spark']['p50_ms']:.0f} ms | {r['duckdb']['p50_ms']:.1f} ms | "
                     f"{'是' if r['same_result'] else '否：' + r['diff']} |")
    hb = data.get("hive_brief")
    if hb:
        b = hb["brief"]
        rows = "，".join(f"{k} {v:,} 行" for k, v in hb["copy_rows"].items())
        lines += ["", f"### 客户经理简报，`DB_URL=hive://…`（{b['turns']} 位随机客户，服务端）", "",
                  "默认数据（应用产物所用的那份）放在 Spark Thrift Server 上；应用的本地服务副本按批处理的方式从集群刷新"
                  f"（{rows}，{hb['copy_s']} 秒），简报的五个工具读本地副本，只有分析师的 SQL 去集群。计时方式同工具部分。", "",
                  "| 答案 p50 | 答案 p95 | 首轮（预热） | 出错 | 简报发往集群的语句 |", "|---|---|---|---|---|",
                  f"| {b['p50_ms']:.1f} ms | {b['p95_ms']:.1f} ms | {b['first_turn_ms']:,.0f} ms | {b['errors']}/{b['turns']} | "
                  f"{hb['cluster_statements']} |"]
    return lines

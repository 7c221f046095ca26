"""`scripts/build_artifacts.py --engine spark`: the offline build with the heavy parts on Spark.

1. Features (and labels) of every customer-month on the cluster, by the one feature function per hash
   bucket of customer_id (million/spark/features.py), kept as a table / parquet partitioned by month.
2. Training on the driver, on the same hash sample of customers as the local build (at most 100,000):
   only the sample's labelled rows and the latest month come to the driver; the propensity step then
   runs exactly as locally (models, evaluation, reports, model card).
3. Every prospect scored on the cluster (million/spark/scoring.py) and written back as `million_scores`,
   partitioned by month (customer_id, as_of, probability, rank, top reasons, model version).
4. Segments, rules and forecasts run as the local steps, reading only what they need through the
   warehouse interface (each customer's latest month; three columns for forecasts).
5. With DB_URL=hive://..., the app's local copy is refreshed last (million/warehouse/local_copy.py).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from million.contract import BEHAVIOR, CUSTOMER_BASE
from million.pipeline import BuildContext, run_all
from million.propensity.bundle import ModelBundle
from million.propensity.feature_store import training_sample
from million.propensity.features import FEATURE_COLUMNS, KEY_COLUMNS
from million.propensity.paths import artifacts_paths
from million.settings import Settings
from million.spark.features import LABEL_COLUMNS, bucket_count, spark_features
from million.spark.scoring import SCORES_TABLE, spark_scores
from million.tables import load_tables
from million.warehouse import Warehouse, parse_url

FEATURES_TABLE = "million_features"


class SparkJob:
    """The Spark side of one build: the source tables, the features (computed once, persisted)."""

    def __init__(self, spark: Any, settings: Settings, db_url: str, wh: Warehouse,
                 log: Callable[[str], None] = print) -> None:
        self.spark, self.settings, self.db_url, self.wh, self.log = spark, settings, db_url, wh, log
        self.url = parse_url(db_url)
        self.on_cluster = self.url.scheme == "hive"
        self._features: Any = None
        self.customers = 0
        self.buckets = 0
        self.seconds: dict[str, float] = {}

    def _table(self, name: str) -> str:
        return f"`{self.url.database}`.`{name}`"

    def sources(self) -> tuple[Any, Any]:
        if self.on_cluster:  # the bank's tables through the cluster's metastore
            return self.spark.table(self._table(BEHAVIOR)), self.spark.table(self._table(CUSTOMER_BASE))
        # A single-machine warehouse (DuckDB / MySQL) on local[N]: handed over through the warehouse interface.
        tables = load_tables(self.wh)
        return self.spark.createDataFrame(tables.behavior), self.spark.createDataFrame(tables.base)

    def features(self) -> Any:
        if self._features is None:
            t0 = time.perf_counter()
            beh, base = self.sources()
            self.customers = base.count()
            parallelism = self.spark.sparkContext.defaultParallelism
            self.buckets = bucket_count(self.customers, self.settings.spark_buckets, parallelism)
            self._features = spark_features(beh, base, labels=True, buckets=self.buckets).persist()
            rows = self._features.count()
            self.seconds["features"] = time.perf_counter() - t0
            self.log(f"Spark 特征：{self.customers:,} 位客户，{rows:,} 行，{self.buckets} 个分桶，"
                     f"{self.seconds['features']:.1f} 秒")
        return self._features

    def save_features(self, path: Path) -> None:
        feats = self.features()
        if self.on_cluster:
            (feats.write.mode("overwrite").partitionBy("as_of").format("parquet")
             .saveAsTable(self._table(FEATURES_TABLE)))
        else:
            if path.is_file():
                path.unlink()
            shutil.rmtree(path, ignore_errors=True)
            feats.write.mode("overwrite").partitionBy("as_of").parquet(str(path))

    def feature_stream(self, wh: Warehouse, path: Path, *, data_hash: str, latest: str, chunk_customers: int,
                       train_customers: int | None, seed: int, progress: Any = None) -> dict[str, Any]:
        """What stream_features returns, computed on Spark: the sample's labelled rows and the latest month."""
        feats = self.features()
        self.save_features(path)
        ids = sorted(str(r[0]) for r in feats.select("customer_id").distinct().collect())
        sample = training_sample(ids, train_customers, seed)
        labelled = feats.filter(feats["label"].isNotNull())
        if sample is not None:
            picked = self.spark.createDataFrame(pd.DataFrame({"customer_id": sorted(sample)}))
            labelled = labelled.join(picked.hint("broadcast"), "customer_id", "left_semi")
        order = ["as_of", "customer_id"]
        cols = KEY_COLUMNS + FEATURE_COLUMNS + LABEL_COLUMNS
        lab = labelled.select(*cols).toPandas().sort_values(order, kind="stable", ignore_index=True)
        last = (feats.filter(feats["as_of"] == latest).select(*KEY_COLUMNS, *FEATURE_COLUMNS).toPandas()
                .sort_values(order, kind="stable", ignore_index=True))
        return {"labelled": lab, "latest": last, "customers": len(ids), "sample": None if sample is None else len(sample),
                "reused": False}  # built on the cluster each time (no local feature file to reuse)

    def score(self, bundle: ModelBundle, months: list[str] | None, writer: Callable[[], Warehouse],
              out_dir: Path) -> dict[str, Any]:
        """Every prospect of `months` (None: every month) scored on Spark and written as million_scores."""
        t0 = time.perf_counter()
        feats = self.features()
        if months is not None:
            feats = feats.filter(feats["as_of"].isin(months))
        scores = spark_scores(feats, bundle, buckets=self.buckets)
        if self.on_cluster:
            self.spark.conf.set("spark.sql.sources.partitionOverwriteMode", "dynamic")
            target = self._table(SCORES_TABLE)
            if self.spark.catalog.tableExists(f"{self.url.database}.{SCORES_TABLE}"):
                scores.write.insertInto(target, overwrite=True)  # replaces only the months scored now
            else:
                scores.write.partitionBy("as_of").format("parquet").saveAsTable(target)
            table = self.spark.table(target)
            n = (table.filter(table["as_of"].isin(months)) if months else table).count()
        else:
            path = out_dir / SCORES_TABLE
            shutil.rmtree(path, ignore_errors=True)
            scores.write.partitionBy("as_of").parquet(str(path))
            frame = pd.read_parquet(path)  # a single-machine warehouse holds the table too
            frame["as_of"] = frame["as_of"].astype(str)
            frame = frame[["customer_id", "as_of", "probability", "rank", "top_reasons", "top_features",
                           "model_version"]]
            with writer() as w:
                w.replace_tables({SCORES_TABLE: frame})
            n = len(frame)
        self.seconds["score"] = time.perf_counter() - t0
        self.log(f"Spark 评分：{n:,} 位潜客写入 {SCORES_TABLE}，{self.seconds['score']:.1f} 秒")
        return {"rows": n, "seconds": self.seconds["score"]}


def build_on_spark(ctx: BuildContext, settings: Settings, spark: Any, *, only: list[str] | None = None,
                   score_months: str = "latest", log: Callable[[str], None] = print) -> list[dict[str, Any]]:
    job = SparkJob(spark, settings, ctx.db_url, ctx.wh, log)
    ctx.feature_stream = job.feature_stream
    rows = run_all(ctx, only=only, log=log)
    paths = artifacts_paths(ctx.artifacts_dir)
    if only is None or "propensity" in only:
        bundle = ModelBundle.load(paths["models"])
        months = None if score_months == "all" else [str(bundle.info.get("latest_month") or _latest(ctx.wh))]
        info = job.score(bundle, months, ctx.writer, paths["dir"] / "spark")
        rows.append({"step": "spark_scores", "title": "集群评分", "status": "已构建",
                     "seconds": round(info["seconds"], 1), "潜客": info["rows"]})
    if job.on_cluster:
        from million.warehouse.local_copy import refresh_local_copy

        refresh_local_copy(ctx.wh, settings.serving_copy, months=settings.serving_months, log=log)
    if job._features is not None:
        job._features.unpersist()
    return rows


def _latest(wh: Warehouse) -> str:
    return str(wh.query(f"SELECT MAX(stat_month) AS m FROM {BEHAVIOR}")["m"].iloc[0])

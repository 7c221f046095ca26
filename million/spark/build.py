"""`million build --engine spark`: the offline build with the heavy parts on Spark.

1. Features (and labels) of every customer-month on the cluster, by the one feature function per hash
   bucket of customer_id (million/spark/features.py), kept as a table / parquet partitioned by month.
2. Training on the driver, on the same hash sample of customers as the local build (at most 100,000):
   only the sample's labelled rows come to the driver; the propensity step runs as locally (models,
   evaluation on the sample's held-out months, reports, model card).
3. The latest month is scored once, on the cluster, from inside the propensity step (the "score_latest"
   hook of the feature stream): every prospect into `million_scores`, partitioned by month (customer_id,
   as_of, probability, rank, top reasons, model version). The step's latest-month artifacts come from that
   table: scores_latest.parquet (customer_id, as_of, probability of the prospects) and the SHAP charts from
   the same 2,000-row sample of prospects the local step draws. The driver never builds or scores the
   latest month's features, and the app reads its probabilities and ranks from million_scores too
   (million/propensity/cluster_scores.py).
4. Segments, rules and forecasts read and aggregate on Spark (million/spark/segments.py, rules.py,
   forecast.py) with the local steps' fitting code and outputs: KMeans fitted on the driver (every customer
   up to 200,000, else a hash sample), every customer assigned on Spark, the profiles by GROUP BY; the
   baskets counted by GROUP BY and the itemsets mined from the weighted counts; the monthly series of the
   bank, segments and branches summed in Spark SQL. Only small results (the fit sample, aggregates,
   series) and the per-customer files the app serves (segment assignments, baskets) come to the driver.
5. With DB_URL=hive://..., the app's local copy is refreshed last (million/warehouse/local_copy.py).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from million.contract import BEHAVIOR, CUSTOMER_BASE
from million.pipeline import BuildContext, run_all
from million.propensity.bundle import ModelBundle
from million.propensity.explain import sample_rows
from million.propensity.feature_store import training_sample
from million.propensity.features import FEATURE_COLUMNS, KEY_COLUMNS
from million.propensity.paths import artifacts_paths
from million.propensity.scoring import SCORE_COLUMNS
from million.propensity.step import SHAP_SAMPLE
from million.segments import store as seg_store
from million.settings import Settings
from million.spark.features import LABEL_COLUMNS, bucket_count, spark_features
from million.spark.scoring import SCORES_TABLE, spark_scores
from million.tables import load_tables
from million.warehouse import Warehouse, parse_url

FEATURES_TABLE = "million_features"
SEGMENTS_TABLE = seg_store.TABLE


class SparkJob:
    """The Spark side of one build: the source tables, the features (computed once, persisted)."""

    def __init__(self, spark: Any, settings: Settings, db_url: str, wh: Warehouse,
                 log: Callable[[str], None] = print) -> None:
        self.spark, self.settings, self.db_url, self.wh, self.log = spark, settings, db_url, wh, log
        self.url = parse_url(db_url)
        self.on_cluster = self.url.scheme == "hive"
        self._features: Any = None
        self._sources: tuple[Any, Any] | None = None
        self._segments: Any = None
        self.customers = 0
        self.buckets = 0
        self.seconds: dict[str, float] = {}
        # Set by build_on_spark: how the latest month is scored inside the propensity step.
        self.score_months = "latest"
        self.writer: Callable[[], Warehouse] = lambda: wh
        self.out_dir = Path(".")
        self.scored: dict[str, Any] | None = None

    def _table(self, name: str) -> str:
        return f"`{self.url.database}`.`{name}`"

    def sources(self) -> tuple[Any, Any]:
        if self.on_cluster:  # the bank's tables through the cluster's metastore
            return self.spark.table(self._table(BEHAVIOR)), self.spark.table(self._table(CUSTOMER_BASE))
        if self._sources is None:
            # A single-machine warehouse (DuckDB / MySQL) on local[N]: handed over through the warehouse interface.
            tables = load_tables(self.wh)
            self._sources = (self.spark.createDataFrame(tables.behavior), self.spark.createDataFrame(tables.base))
        return self._sources

    def latest_scores(self) -> Any | None:
        """million_scores of the latest scored month (customer_id, probability), when scored in this build."""
        if self.scored is None:
            return None
        from pyspark.sql import functions as F

        table = self.scores_table()
        latest = table.agg(F.max("as_of")).collect()[0][0]
        return table.filter(table["as_of"] == latest).select("customer_id", "probability")

    def segments_writer(self) -> Callable[[pd.DataFrame], None] | None:
        """customer_segments written on the cluster by Spark (None: through the warehouse, as locally)."""
        if not self.on_cluster:
            return None

        def write(table: pd.DataFrame) -> None:
            (self.spark.createDataFrame(table).write.mode("overwrite").format("parquet")
             .saveAsTable(self._table(SEGMENTS_TABLE)))
        return write

    def segments_frame(self, ctx: BuildContext) -> Any | None:
        """customer_id, segment_id, segment_name: from this build's segments step, else its artifact."""
        if self._segments is not None:
            return self._segments
        path = seg_store.folder(ctx.artifacts_dir) / seg_store.ASSIGNMENTS
        if not path.exists():
            return None
        return self.spark.createDataFrame(pd.read_parquet(path, columns=["customer_id", "segment_id", "segment_name"]))

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
        # The latest month stays on the cluster: the propensity step calls score_latest once the model is trained.
        none = pd.DataFrame({c: pd.Series(dtype=object if c in KEY_COLUMNS else float)
                             for c in KEY_COLUMNS + FEATURE_COLUMNS})
        return {"labelled": lab, "latest": none, "customers": len(ids), "sample": None if sample is None else len(sample),
                "reused": False,  # built on the cluster each time (no local feature file to reuse)
                "score_latest": lambda bundle: self.score_latest(bundle, latest)}

    def score_latest(self, bundle: ModelBundle, latest: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """The propensity step's latest-month scores from million_scores (every prospect scored once, on
        Spark, written back), and the feature rows its SHAP charts need: the same uniform sample of prospects
        the local step draws (sample_rows over the prospects in customer_id order) and the top prospect's row.
        Only customer_id, as_of, probability of the prospects and those rows come to the driver."""
        months = None if self.score_months == "all" else [latest]
        self.scored = self.score(bundle, months, self.writer, self.out_dir)
        table = self.scores_table()
        scores = (table.filter(table["as_of"] == latest).select("customer_id", "as_of", "probability", "rank")
                  .toPandas().sort_values("rank", kind="stable", ignore_index=True))
        scores = scores[SCORE_COLUMNS]  # the order score_features returns: probability down, then customer_id
        ids = scores["customer_id"].sort_values(kind="stable", ignore_index=True)
        picked = ids.iloc[sample_rows(pd.DataFrame({"pos": np.arange(len(ids))}), SHAP_SAMPLE).index]
        wanted = sorted(set(picked) | set(scores["customer_id"].iloc[:1]))
        feats = self.features()
        rows = (feats.filter(feats["as_of"] == latest)
                .join(self.spark.createDataFrame(pd.DataFrame({"customer_id": wanted})).hint("broadcast"),
                      "customer_id", "left_semi")
                .select(*KEY_COLUMNS, *FEATURE_COLUMNS).toPandas()
                .sort_values(["as_of", "customer_id"], kind="stable", ignore_index=True))
        return scores, rows, rows.loc[rows["customer_id"].isin(set(picked))]

    def scores_table(self) -> Any:
        """million_scores as a Spark DataFrame (the cluster's table, or the parquet written beside it)."""
        if self.on_cluster:
            return self.spark.table(self._table(SCORES_TABLE))
        return self.spark.read.parquet(str(self.out_dir / SCORES_TABLE))

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
        self.scored = {"rows": n, "seconds": self.seconds["score"]}
        return self.scored


def build_on_spark(ctx: BuildContext, settings: Settings, spark: Any, *, only: list[str] | None = None,
                   score_months: str = "latest", log: Callable[[str], None] = print) -> list[dict[str, Any]]:
    job = SparkJob(spark, settings, ctx.db_url, ctx.wh, log)
    paths = artifacts_paths(ctx.artifacts_dir)
    job.score_months, job.writer, job.out_dir = score_months, ctx.writer, paths["dir"] / "spark"
    ctx.feature_stream = job.feature_stream
    with spark_steps(job, ctx):
        rows = run_all(ctx, only=only, log=log)
    if (only is None or "propensity" in only) and job.scored is None:  # the step was cached: score now
        bundle = ModelBundle.load(paths["models"])
        months = None if score_months == "all" else [str(bundle.info.get("latest_month") or _latest(ctx.wh))]
        job.score(bundle, months, ctx.writer, job.out_dir)
    if job.scored is not None:
        info = job.scored
        rows.append({"step": "spark_scores", "title": "集群评分", "status": "已构建",
                     "seconds": round(info["seconds"], 1), "潜客": info["rows"]})
    if job.on_cluster:
        from million.warehouse.local_copy import refresh_local_copy

        refresh_local_copy(ctx.wh, settings.serving_copy, months=settings.serving_months, log=log)
    for df in (job._features, job._segments):
        if df is not None:
            df.unpersist()
    return rows


@contextmanager
def spark_steps(job: SparkJob, ctx: BuildContext) -> Iterator[None]:
    """run_all with the segments, rules and forecast steps reading and aggregating on Spark (same
    fingerprints, outputs and fitting code as the local steps; million/spark/segments.py, rules.py,
    forecast.py). Restored afterwards: the local build is untouched."""
    from million.forecast import step as forecast_step
    from million.rules import step as rules_step
    from million.segments import step as segments_step

    def segments(c: BuildContext) -> dict[str, Any]:
        from million.spark.segments import run_segments

        beh, base = job.sources()
        summary, job._segments = run_segments(c, beh, base, job.latest_scores(), job.segments_writer())
        return summary

    def rules(c: BuildContext) -> dict[str, Any]:
        from million.spark.rules import run_rules
        from million.spark.segments import customer_frame

        beh, base = job.sources()
        return run_rules(c, customer_frame(beh, base), job.segments_frame(c))

    def forecast(c: BuildContext) -> dict[str, Any]:
        from million.spark.forecast import run_forecast

        beh, base = job.sources()
        return run_forecast(c, beh, base, job.segments_frame(c))

    swapped = [(segments_step.STEP, segments), (rules_step.STEP, rules), (forecast_step.STEP, forecast)]
    saved = [(st, st.run) for st, _fn in swapped]
    try:
        for st, fn in swapped:
            st.run = fn
        yield
    finally:
        for st, fn in saved:
            st.run = fn


def _latest(wh: Warehouse) -> str:
    return str(wh.query(f"SELECT MAX(stat_month) AS m FROM {BEHAVIOR}")["m"].iloc[0])

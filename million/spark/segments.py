"""The segments step with the data on Spark: the KMeans fit on the driver (million.segments.step.fit_segments,
on every customer up to FIT_CUSTOMERS, as the local step, beyond that on a sample by a hash of the ID), each
customer assigned on Spark (distance to the centroids in the fitted scaler's units, a DataFrame expression),
the naming scores and the segment profiles aggregated with GROUP BY. Only the fit sample, the per-segment
aggregates and the per-customer assignments the app serves (assignments.parquet) come to the driver."""

from __future__ import annotations

from typing import Any

import pandas as pd

from million.contract import MILLION, PRODUCTS
from million.pipeline import BuildContext
from million.segments import store
from million.segments.features import BASE_COLUMNS, CLUSTER_FEATURES, LATEST_COLUMNS
from million.segments.naming import name_segments, zscores
from million.segments.profile import PROFILE_MEANS, load_propensity, profile_row
from million.segments.step import NAMING_COLUMNS, PARAMS, Fitted, fit_segments, publish
from million.spark.features import typed_input

FIT_CUSTOMERS = 200_000  # KMeans is fitted on the driver; beyond this many customers on a hash sample
SAMPLE_SALT = "million-segments"
SEGMENT = "segment_id"


def customer_frame(behavior: Any, base: Any) -> Any:
    """million.segments.features.customer_frame on Spark: each customer's latest month joined to customer_base."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from million.contract import BEHAVIOR, CUSTOMER_BASE

    beh = typed_input(behavior, BEHAVIOR).select(*LATEST_COLUMNS)
    last = F.row_number().over(Window.partitionBy("customer_id").orderBy(F.desc("stat_month")))
    beh = beh.withColumn("_last", last).filter(F.col("_last") == 1).drop("_last")
    cust = typed_input(base, CUSTOMER_BASE).select(*BASE_COLUMNS)
    df = beh.join(cust, "customer_id", "inner").withColumn("customer_id", F.col("customer_id").cast("string"))
    return df.withColumn("is_prospect", F.col("total_assets") < F.lit(float(MILLION)))


def assign_expr(fitted: Fitted) -> Any:
    """The nearest centroid (lowest id on a tie, as argmin) with the features scaled as the fitted scaler does."""
    from pyspark.sql import functions as F

    scaler, centers = fitted.scaler, fitted.km.cluster_centers_
    scaled = [(F.col(c).cast("double") - F.lit(float(m))) / F.lit(float(s))
              for c, m, s in zip(CLUSTER_FEATURES, scaler.mean_, scaler.scale_, strict=True)]
    dist = [sum(((x - F.lit(float(cj))) * (x - F.lit(float(cj))) for x, cj in zip(scaled, c, strict=True)),
                F.lit(0.0)) for c in centers]
    best, best_d = F.lit(0), dist[0]
    for i, d in enumerate(dist[1:], start=1):
        best = F.when(d < best_d, F.lit(i)).otherwise(best)
        best_d = F.least(best_d, d)
    return best


def run_segments(ctx: BuildContext, behavior: Any, base: Any, scores: Any | None,
                 write_table: Any = None) -> tuple[dict[str, Any], Any]:
    """The segments step on Spark; returns its summary and every customer's customer_id, segment_id,
    segment_name (a persisted Spark DataFrame, for the rules and forecast steps). `scores`: million_scores of
    the latest month (customer_id, probability) or None (then the propensity step's scores_latest.parquet, as
    locally); `write_table`: publishes customer_segments (default: through ctx.writer, as the local step)."""
    from pyspark.sql import functions as F

    p = {**PARAMS, **ctx.params.get("segments", {})}
    df = customer_frame(behavior, base).persist()
    n = df.count()
    base_n = base.count()
    fit_rows = df.select("customer_id", *CLUSTER_FEATURES)
    if n > FIT_CUSTOMERS:  # a uniform sample by a hash of the ID, drawn on Spark (no ID list on the driver)
        fit_rows = fit_rows.orderBy(F.xxhash64(F.lit(SAMPLE_SALT), F.col("customer_id")), "customer_id").limit(
            FIT_CUSTOMERS)
    fit_pdf = fit_rows.toPandas().sort_values("customer_id", kind="stable", ignore_index=True)
    ksel, scaler, km, _ = fit_segments(fit_pdf[list(CLUSTER_FEATURES)].astype(float), p)
    fitted = Fitted(ksel, scaler, km)
    seg = df.withColumn(SEGMENT, assign_expr(fitted)).persist()

    # Naming: segment means and the overall mean / sample std of the profiled columns.
    by_seg = seg.groupBy(SEGMENT).agg(*[F.avg(F.col(c).cast("double")).alias(c) for c in NAMING_COLUMNS]).toPandas()
    by_seg = by_seg.set_index(SEGMENT).sort_index()[NAMING_COLUMNS]
    by_seg.index.name = None
    tot = seg.agg(*[F.avg(F.col(c).cast("double")).alias(f"m_{c}") for c in NAMING_COLUMNS],
                  *[F.stddev_samp(F.col(c).cast("double")).alias(f"s_{c}") for c in NAMING_COLUMNS]).collect()[0]
    mean = pd.Series({c: float(tot[f"m_{c}"]) for c in NAMING_COLUMNS})
    std = pd.Series({c: float(tot[f"s_{c}"]) for c in NAMING_COLUMNS})
    z = zscores(by_seg, mean, std)
    names = name_segments(z)

    overall = {k: float(tot[f"m_{c}"]) if c in NAMING_COLUMNS else None for k, c in PROFILE_MEANS.items()}
    missing = [k for k, v in overall.items() if v is None]
    if missing:
        row = seg.agg(*[F.avg(F.col(PROFILE_MEANS[k]).cast("double")).alias(k) for k in missing]).collect()[0]
        overall.update({k: float(row[k]) for k in missing})

    if scores is None:
        propensity, why = load_propensity(ctx.artifacts_dir)
        prop = None if propensity is None else df.sparkSession.createDataFrame(
            propensity.rename("probability").rename_axis("customer_id").reset_index())
    else:
        prop, why = scores.select("customer_id", "probability"), ""
    stats = segment_stats(seg, prop, len(names))
    profiles = [profile_row(sid, meta, n, stats[sid], overall, prop is None, why) for sid, meta in enumerate(names)]

    seg_names = [nm["name"] for nm in names]
    as_of = str(seg.agg(F.max("stat_month")).collect()[0][0])
    cols = ["customer_id", SEGMENT, "stat_month", "age", "occupation_type", "branch_name", *CLUSTER_FEATURES]
    assignments = seg.select(*cols).toPandas().sort_values("customer_id", kind="stable", ignore_index=True)
    for c in assignments.columns:  # Spark's int columns arrive as int32; the local frame has int64
        if pd.api.types.is_integer_dtype(assignments[c]):
            assignments[c] = assignments[c].astype("int64")
    assignments.insert(2, "segment_name", [seg_names[i] for i in assignments[SEGMENT]])
    assignments = assignments.rename(columns={"stat_month": "as_of_month"})
    sizes = [stats[i]["size"] for i in range(len(names))]

    def local_table(table: pd.DataFrame) -> None:
        with ctx.writer() as wh:
            wh.replace_tables({store.TABLE: table}, ddl={store.TABLE: store.table_ddl(wh.dialect)})

    out = publish(ctx, p, fitted, z, names, profiles, overall, as_of, sizes, n, int(base_n - n), assignments,
                  write_table or local_table)
    labels = seg.select("customer_id", SEGMENT, F.element_at(F.array(*[F.lit(x) for x in seg_names]),
                                                             F.col(SEGMENT) + 1).alias("segment_name")).persist()
    labels.count()
    seg.unpersist()
    df.unpersist()
    return out | {"拟合样本": len(fit_pdf)}, labels


def segment_stats(seg: Any, prop: Any | None, k: int) -> dict[int, dict]:
    """million.segments.profile.segment_stats for every segment, by GROUP BY (exact median: percentile)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    aggs = [F.count(F.lit(1)).alias("size"),
            *[F.avg(F.col(c).cast("double")).alias(f"mean_{key}") for key, c in PROFILE_MEANS.items()],
            F.expr("percentile(CAST(total_assets AS DOUBLE), 0.5)").alias("median_aum"),
            *[F.avg(F.col(f"{p}_flag").cast("double")).alias(f"hold_{p}") for p in PRODUCTS],
            F.avg(F.col("is_prospect").cast("double")).alias("prospect_share"),
            F.sum(F.when(~F.col("is_prospect"), 1).otherwise(0)).alias("millionaires")]
    rows = {int(r[SEGMENT]): r for r in seg.groupBy(SEGMENT).agg(*aggs).collect()}
    occ = seg.groupBy(SEGMENT, "occupation_type").agg(F.count(F.lit(1)).alias("n"))
    # value_counts order: count down; ties in order of first appearance (customer_id order here).
    first = seg.groupBy(SEGMENT, "occupation_type").agg(F.min("customer_id").alias("first"))
    order = Window.partitionBy(SEGMENT).orderBy(F.desc("n"), F.asc("first"))
    top = (occ.join(first, [SEGMENT, "occupation_type"]).withColumn("r", F.row_number().over(order))
           .filter(F.col("r") <= 3).collect())
    prop_rows: dict[int, Any] = {}
    if prop is not None:
        joined = seg.select("customer_id", SEGMENT).join(prop, "customer_id", "inner")
        prop_rows = {int(r[SEGMENT]): r for r in joined.groupBy(SEGMENT).agg(
            F.avg("probability").alias("m"), F.count(F.lit(1)).alias("n")).collect()}
    out: dict[int, dict] = {}
    for sid in range(k):
        r = rows.get(sid)
        occupations = sorted((t for t in top if int(t[SEGMENT]) == sid), key=lambda t: t["r"])
        nan = float("nan")
        st: dict = {"size": int(r["size"]) if r else 0,
                    "means": {key: float(r[f"mean_{key}"]) if r else nan for key in PROFILE_MEANS},
                    "median_aum": float(r["median_aum"]) if r else nan,
                    "occupations": {str(t["occupation_type"]): int(t["n"]) for t in occupations},
                    "holding": {p: float(r[f"hold_{p}"]) if r else nan for p in PRODUCTS},
                    "prospect_share": float(r["prospect_share"]) if r else nan,
                    "millionaires": int(r["millionaires"]) if r else 0}
        if prop is not None:
            pr = prop_rows.get(sid)
            st["propensity_mean"] = float(pr["m"]) if pr else None
            st["propensity_n"] = int(pr["n"]) if pr else 0
        out[sid] = st
    return out

"""The forecast step with the data on Spark: the monthly AUM sums of the bank, each segment, each 支行 and
each 分行 by one Spark SQL GROUP BY (per range of customers, as the local step reads them). Only these
series (months × groups) and the backtest sample's own series (500 customers, drawn exactly as the local
step draws them) come to the driver; the fitting, backtests, method choice and artifacts are the
local step's (million.forecast.step.fit_and_publish). Per-customer forecasts at serve time read the app's
warehouse (its local copy with DB_URL=hive), as with a local build."""

from __future__ import annotations

from typing import Any

import pandas as pd

from million.contract import BEHAVIOR, CUSTOMER_BASE
from million.forecast.backtest import HOLDOUT, MIN_FIT
from million.forecast.series import CustomerSeries, combine_sums, region_of, series_from_sums
from million.forecast.step import (
    PARAMS,
    SERIES_BEHAVIOR_COLUMNS,
    SERIES_CHUNK,
    fit_and_publish,
    sample_positions,
)
from million.pipeline import BuildContext
from million.spark.features import typed_input

SUMS_COLUMNS = ["key", "level", "name", "stat_month", "total_assets"]


# pandas sums a group's float64 values with Kahan compensation, in row order (customer_id within a range of
# customers, see read_series): the same here, so the series are equal bit for bit and the method choice,
# which can hinge on a near tie (ARIMA(0,1,0)+drift is the drift method), is the same as the local step's.
KAHAN_SUM = ("aggregate(transform(array_sort(collect_list(struct(customer_id, total_assets))), x -> x.total_assets), "
             "named_struct('s', CAST(0 AS DOUBLE), 'c', CAST(0 AS DOUBLE)), "
             "(acc, v) -> named_struct('s', acc.s + (v - acc.c), 'c', ((acc.s + (v - acc.c)) - acc.s) - (v - acc.c)), "
             "acc -> acc.s)")


def spark_sums(behavior: Any, base: Any, segments: Any | None,
               chunk_customers: int = SERIES_CHUNK) -> tuple[pd.DataFrame, list[str]]:
    """What read_series sums for the whole warehouse (combine_sums over ranges of `chunk_customers`
    customers), and the months: per range, group and month a GROUP BY on Spark; the ranges' partial sums
    (groups x months x ranges, small) are combined on the driver by combine_sums itself."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    beh = (typed_input(behavior, BEHAVIOR).select(*SERIES_BEHAVIOR_COLUMNS)
           .withColumn("customer_id", F.col("customer_id").cast("string"))
           .withColumn("stat_month", F.col("stat_month").cast("string"))
           .withColumn("total_assets", F.col("total_assets").cast("double")))
    br = (typed_input(base, CUSTOMER_BASE).select(F.col("customer_id").cast("string").alias("customer_id"),
                                                  F.col("branch_name").cast("string").alias("branch"))
          .withColumn("chunk", F.floor((F.row_number().over(Window.orderBy("customer_id")) - 1) / chunk_customers)))
    spark = behavior.sparkSession
    names = [str(r[0]) for r in br.select("branch").distinct().collect() if r[0] is not None]
    regions = spark.createDataFrame(pd.DataFrame({"branch": names, "region": [region_of(x) for x in names]},
                                                 dtype=object), "branch string, region string")
    b = beh.join(br, "customer_id", "inner").join(regions.hint("broadcast"), "branch", "left")
    parts = [b.select(F.lit("total").alias("key"), F.lit("total").alias("level"), F.lit("全行").alias("name"),
                      "chunk", "stat_month", "customer_id", "total_assets")]
    if segments is not None:
        seg = segments.select(F.col("customer_id").cast("string").alias("customer_id"), "segment_id", "segment_name")
        parts.append(b.join(seg, "customer_id", "inner").select(
            F.concat(F.lit("segment:"), F.col("segment_id").cast("string")).alias("key"), F.lit("segment").alias("level"),
            F.col("segment_name").alias("name"), "chunk", "stat_month", "customer_id", "total_assets"))
    parts.append(b.filter(F.col("branch").isNotNull()).select(
        F.concat(F.lit("branch:"), F.col("branch")).alias("key"), F.lit("branch").alias("level"),
        F.col("branch").alias("name"), "chunk", "stat_month", "customer_id", "total_assets"))
    parts.append(b.filter(F.col("region").isNotNull()).select(
        F.concat(F.lit("region:"), F.col("region")).alias("key"), F.lit("region").alias("level"),
        F.col("region").alias("name"), "chunk", "stat_month", "customer_id", "total_assets"))
    rows = parts[0]
    for part in parts[1:]:
        rows = rows.unionByName(part)
    partial = (rows.groupBy("key", "level", "name", "chunk", "stat_month").agg(F.expr(KAHAN_SUM).alias("total_assets"))
               .toPandas().sort_values(["chunk", "key", "stat_month"], kind="stable", ignore_index=True))
    sums = combine_sums([partial[SUMS_COLUMNS]])
    months = sorted(str(r[0]) for r in beh.select("stat_month").distinct().collect())
    return sums, months


def spark_customer_sample(behavior: Any, size: int, seed: int) -> tuple[list[str], CustomerSeries]:
    """The local step's customer sample (customer_sample: the same positions among the eligible customers
    in customer_id order) and those customers' series, the only per-customer rows read to the driver."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    beh = (typed_input(behavior, BEHAVIOR).select(*SERIES_BEHAVIOR_COLUMNS)
           .withColumn("customer_id", F.col("customer_id").cast("string")))
    eligible = (beh.groupBy("customer_id").agg(F.count(F.lit(1)).alias("n"))
                .filter(F.col("n") >= MIN_FIT + HOLDOUT).select("customer_id"))
    n = eligible.count()
    pos = sample_positions(n, size, seed)
    if not pos:
        return [], CustomerSeries(pd.DataFrame(columns=list(SERIES_BEHAVIOR_COLUMNS)))
    spark = behavior.sparkSession
    numbered = eligible.withColumn("pos", F.row_number().over(Window.orderBy("customer_id")) - 1)
    picked = numbered.join(spark.createDataFrame(pd.DataFrame({"pos": pos})).hint("broadcast"), "pos", "left_semi")
    rows = (beh.join(picked.select("customer_id"), "customer_id", "left_semi").toPandas()
            .sort_values(["customer_id", "stat_month"], kind="stable", ignore_index=True))
    rows["stat_month"] = rows["stat_month"].astype(str)
    return sorted(rows["customer_id"].unique().tolist()), CustomerSeries.from_behavior(rows)


def run_forecast(ctx: BuildContext, behavior: Any, base: Any, segments: Any | None) -> dict[str, Any]:
    p = {**PARAMS, **ctx.params.get("forecast", {})}
    sums, months = spark_sums(behavior, base, segments)
    series = series_from_sums(sums, months)
    sample, cs = spark_customer_sample(behavior, int(p["customer_sample"]), int(p["seed"]))
    return fit_and_publish(ctx, p, series, sample, cs, months)

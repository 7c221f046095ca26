"""Features built on Spark (the same feature function, per hash bucket) equal the local ones cell for cell."""

from __future__ import annotations

import numpy as np
import pandas as pd

from million.propensity.feature_store import feature_table
from million.propensity.features import FEATURE_COLUMNS, KEY_COLUMNS
from million.spark.features import spark_features
from million.tables import load_tables
from million.warehouse import connect


def test_features_on_spark_equal_local_features_cell_for_cell(spark, small_wh_url: str) -> None:
    with connect(small_wh_url) as wh:
        tables = load_tables(wh)
    local = feature_table(tables)  # what the local pipeline writes: features + labels, every month
    beh = spark.createDataFrame(tables.behavior)
    base = spark.createDataFrame(tables.base)
    got = spark_features(beh, base, labels=True, buckets=7).toPandas()
    cols = KEY_COLUMNS + FEATURE_COLUMNS + ["future_max_assets", "label"]
    got = got.sort_values(["as_of", "customer_id"], ignore_index=True)[cols]
    local = local.sort_values(["as_of", "customer_id"], ignore_index=True)[cols]
    assert len(got) == len(local) > 40_000
    pd.testing.assert_frame_equal(got[KEY_COLUMNS].astype(str), local[KEY_COLUMNS].astype(str))
    a = got[cols[2:]].to_numpy(dtype=float)
    b = local[cols[2:]].to_numpy(dtype=float)
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    bad = [c for c, ok in zip(cols[2:], same.all(axis=0), strict=True) if not ok]
    assert bad == [], f"columns that differ: {bad}"
    assert same.size == len(local) * (len(FEATURE_COLUMNS) + 2)


def test_one_month_per_bucket_count_does_not_change_the_numbers(spark, small_wh_url: str) -> None:
    with connect(small_wh_url) as wh:
        tables = load_tables(wh)
    month = tables.latest_month
    beh, base = spark.createDataFrame(tables.behavior), spark.createDataFrame(tables.base)
    one = spark_features(beh, base, as_of_months=[month], buckets=1).toPandas()
    many = spark_features(beh, base, as_of_months=[month], buckets=13).toPandas()
    key = ["as_of", "customer_id"]
    pd.testing.assert_frame_equal(one.sort_values(key, ignore_index=True), many.sort_values(key, ignore_index=True),
                                  check_exact=True)
    assert set(one["as_of"]) == {month}

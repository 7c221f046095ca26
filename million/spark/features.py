"""Propensity features on Spark by THE feature function (million.propensity.features.build_features).

Rows are split into hash buckets of customer_id; each bucket's behaviour rows and customer_base rows meet
in one pandas call (cogroup + applyInPandas), which runs `feature_table` (features + labels) exactly as
the local pipeline does for a range of customers. A customer's rows never straddle two buckets, and the
function is row-wise within a customer, so the result equals the local one cell for cell. Buckets of
many customers, not one group per customer: groups of single customers were about 3x slower."""

from __future__ import annotations

from typing import Any

import pandas as pd

from million.contract import BEHAVIOR, CUSTOMER_BASE, TABLES
from million.propensity.features import FEATURE_COLUMNS, KEY_COLUMNS, build_features
from million.propensity.labels import build_labels
from million.tables import Tables, _typed

BUCKET = "_bucket"
CUSTOMERS_PER_BUCKET = 50_000
LABEL_COLUMNS = ["future_max_assets", "label"]


def bucket_count(customers: int, configured: int = 0, parallelism: int = 2) -> int:
    """`configured` when set; else about CUSTOMERS_PER_BUCKET customers a bucket, at least one per core."""
    if configured > 0:
        return configured
    return max(parallelism, -(-customers // CUSTOMERS_PER_BUCKET))


def with_bucket(df: Any, buckets: int) -> Any:
    from pyspark.sql import functions as F

    return df.withColumn(BUCKET, F.pmod(F.xxhash64(F.col("customer_id")), F.lit(buckets)).cast("int"))


def typed_input(df: Any, table: str) -> Any:
    """Decimals as doubles before pandas (the local path does float(Decimal) too: the same nearest double)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import DecimalType

    kinds = {c.name: c.kind for c in TABLES[table]}
    cols = []
    for f in df.schema.fields:
        if isinstance(f.dataType, DecimalType) or (kinds.get(f.name) == "decimal" and f.dataType.typeName() != "double"):
            cols.append(F.col(f.name).cast("double").alias(f.name))
        else:
            cols.append(F.col(f.name))
    return df.select(*cols)


def _local_types(df: pd.DataFrame, table: str) -> pd.DataFrame:
    """The column types the local path reads (million.tables), with datetimes in microseconds as DuckDB
    returns them: Arrow hands Spark timestamps over in nanoseconds, and a day count computed from
    nanoseconds rounds differently in the last bit (a date difference of ~3e17 ns is not exact in float64)."""
    df = _typed(df, table)
    for c in df.columns:
        if pd.api.types.is_datetime64_any_dtype(df[c]):
            df[c] = df[c].astype("datetime64[us]")
    return df


def output_schema(labels: bool) -> str:
    cols = ["customer_id string", "as_of string"] + [f"`{c}` double" for c in FEATURE_COLUMNS]
    if labels:
        cols += ["future_max_assets double", "label double"]
    return ", ".join(cols)


def spark_features(behavior: Any, base: Any, *, as_of_months: list[str] | None = None, labels: bool = False,
                   buckets: int = 8) -> Any:
    """A Spark DataFrame of KEY_COLUMNS + FEATURE_COLUMNS (+ future_max_assets, label when `labels`) for
    every (customer, T) with rows at T-2..T, T in `as_of_months` (all when None)."""
    beh = with_bucket(typed_input(behavior, BEHAVIOR), buckets)
    cust = with_bucket(typed_input(base, CUSTOMER_BASE), buckets)
    months = None if as_of_months is None else list(as_of_months)

    def per_bucket(beh_pdf: pd.DataFrame, base_pdf: pd.DataFrame) -> pd.DataFrame:
        tables = Tables(_local_types(base_pdf.drop(columns=[BUCKET]), CUSTOMER_BASE),
                        _local_types(beh_pdf.drop(columns=[BUCKET]), BEHAVIOR))
        tables.behavior = tables.behavior.sort_values(["customer_id", "stat_month"], kind="stable",
                                                      ignore_index=True)
        tables.base = tables.base.sort_values("customer_id", kind="stable", ignore_index=True)
        feats = build_features(tables, months)
        if labels:
            lab = build_labels(tables, feats["as_of"].unique())
            feats = feats.merge(lab, on=KEY_COLUMNS, how="left", validate="one_to_one")
            return feats[KEY_COLUMNS + FEATURE_COLUMNS + LABEL_COLUMNS]
        return feats[KEY_COLUMNS + FEATURE_COLUMNS]

    return beh.groupBy(BUCKET).cogroup(cust.groupBy(BUCKET)).applyInPandas(per_bucket, schema=output_schema(labels))

"""The rules step with the data on Spark: each customer's basket built on the executors by the local step's
own functions (attribute_items, basket_lists), then one GROUP BY over the baskets: a few hundred distinct
baskets with their customer counts come to the driver instead of one row per customer. The frequent
itemsets are counted from those weighted baskets (support = customers holding the itemset / customers:
the number Apriori computes over the one-hot rows), and the rules come from them by the local step's
product_rules (mlxtend association_rules, lift > 1, the improvement filter)."""

from __future__ import annotations

import time
from collections import Counter
from itertools import combinations
from typing import Any

import pandas as pd

from million.pipeline import BuildContext
from million.rules.baskets import attribute_items, basket_lists
from million.rules.mining import MiningResult
from million.rules.step import PARAMS, publish

BASKET_SCHEMA = "customer_id string, stat_month string, items array<string>, cool_period_until string"


def weighted_itemsets(baskets: list[tuple[tuple[str, ...], int]], n: int, min_support: float,
                      max_len: int | None = None) -> pd.DataFrame:
    """Every itemset with support >= min_support (at most max_len items) from distinct baskets and their
    counts, in Apriori's output order (by length, then by the sorted item columns) with its columns."""
    counts: Counter[frozenset] = Counter()
    for items, w in baskets:
        uniq = sorted(set(items))
        for r in range(1, (len(uniq) if max_len is None else min(max_len, len(uniq))) + 1):
            for sub in combinations(uniq, r):
                counts[frozenset(sub)] += w
    cols = sorted({it for items, _ in baskets for it in items})
    pos = {c: i for i, c in enumerate(cols)}
    keep = [(s, c / n) for s, c in counts.items() if c / n >= min_support]
    keep.sort(key=lambda t: (len(t[0]), sorted(pos[i] for i in t[0])))
    return pd.DataFrame({"support": [v for _, v in keep], "itemsets": [s for s, _ in keep]})


def spark_baskets(frame: Any, segments: Any | None) -> Any:
    """customer_id, stat_month, items, cool_period_until per customer (`frame`: the Spark customer frame of
    million/spark/segments.py; `segments`: customer_id, segment_name or None)."""
    from pyspark.sql import functions as F

    df = frame if segments is None else frame.join(segments.select("customer_id", "segment_name"), "customer_id",
                                                   "left")
    with_segments = segments is not None
    cols = ["customer_id", "stat_month", "age", "monthly_income", "asset_level", "marketing_cool_period",
            "deposit_flag", "financial_flag", "fund_flag", "insurance_flag"] + (["segment_name"] if with_segments else [])
    df = df.select(*cols).withColumn("marketing_cool_period", F.col("marketing_cool_period").cast("date"))

    def per_batch(batches: Any) -> Any:
        for pdf in batches:
            segs = pdf["segment_name"] if with_segments else None
            items = basket_lists(pdf, attribute_items(pdf, segs))
            cool = pd.to_datetime(pdf["marketing_cool_period"])
            yield pd.DataFrame({"customer_id": pdf["customer_id"].astype(str),
                                "stat_month": pdf["stat_month"].astype(str), "items": items,
                                "cool_period_until": cool.dt.strftime("%Y-%m-%d").where(cool.notna(), None)})

    return df.mapInPandas(per_batch, BASKET_SCHEMA)


def run_rules(ctx: BuildContext, frame: Any, segments: Any | None) -> dict[str, Any]:
    from pyspark.sql import functions as F

    p = {**PARAMS, **ctx.params.get("rules", {})}
    b = spark_baskets(frame, segments).persist()
    t0 = time.perf_counter()
    grouped = b.groupBy("items").agg(F.count(F.lit(1)).alias("n")).collect()  # few distinct baskets
    weighted = [(tuple(r["items"]), int(r["n"])) for r in grouped]
    n = sum(w for _, w in weighted)
    itemsets = weighted_itemsets(weighted, n, p["min_support"], p["max_len"])
    secs = round(time.perf_counter() - t0, 4)
    mining = MiningResult(itemsets, "apriori", {"spark_weighted": secs}, True,
                          f"在 Spark 上按篮子分组计数（{len(weighted):,} 种不同的篮子），按加权计数求频繁项集"
                          f"（{len(itemsets)} 个，与 Apriori 在逐客户数据上的结果相同）")
    items = sorted({it for its, _ in weighted for it in its})
    share = {it: round(sum(w for its, w in weighted if it in its) / n, 4) for it in items}
    per_customer = b.toPandas().sort_values("customer_id", kind="stable", ignore_index=True)
    as_of = str(per_customer["stat_month"].max())
    b.unpersist()
    return publish(ctx, p, mining, n, items, share, as_of, segments is not None, per_customer) | {
        "不同篮子": len(weighted)}

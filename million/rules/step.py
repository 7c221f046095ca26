"""Build step "rules": baskets -> Apriori vs FP-growth -> product rules -> artifacts and handbook."""

from __future__ import annotations

from typing import Any

import pandas as pd

from million.artifacts import write_metadata
from million.pipeline import BuildContext, Step
from million.rules import store
from million.rules.baskets import attribute_items, basket_lists, one_hot
from million.rules.mining import MiningResult, mine, product_rules
from million.rules.report import handbook
from million.segments import store as seg_store
from million.segments.features import read_customer_frame

PARAMS: dict[str, Any] = {"min_support": 0.02, "min_confidence": 0.0, "min_improvement": 0.01, "max_len": None,
                          "repeats": 2}


def segment_names(ctx: BuildContext, customer_ids: pd.Series) -> pd.Series | None:
    path = seg_store.folder(ctx.artifacts_dir) / seg_store.ASSIGNMENTS
    if not path.exists():
        return None
    a = pd.read_parquet(path, columns=["customer_id", "segment_name"])
    m = a.assign(customer_id=a["customer_id"].astype(str)).set_index("customer_id")["segment_name"]
    return customer_ids.map(m)


def run(ctx: BuildContext) -> dict[str, Any]:
    p = {**PARAMS, **ctx.params.get("rules", {})}
    df = read_customer_frame(ctx.wh)
    segs = segment_names(ctx, df["customer_id"])
    baskets = basket_lists(df, attribute_items(df, segs))
    oh = one_hot(baskets)
    mining = mine(oh, p["min_support"], p["max_len"], p["repeats"])
    cool = df["marketing_cool_period"].dt.strftime("%Y-%m-%d")
    per_customer = pd.DataFrame({"customer_id": df["customer_id"], "stat_month": df["stat_month"].astype(str),
                                 "items": baskets,
                                 "cool_period_until": cool.where(df["marketing_cool_period"].notna(), None)})
    return publish(ctx, p, mining, len(oh), list(oh.columns), oh.mean().round(4).to_dict(),
                   str(df["stat_month"].max()), segs is not None, per_customer)


def publish(ctx: BuildContext, p: dict[str, Any], mining: MiningResult, n_baskets: int, items: list[str],
            item_share: dict[str, float], as_of: str, with_segments: bool, per_customer: pd.DataFrame) -> dict[str, Any]:
    """Rules from the frequent itemsets, and every artifact the rules step writes."""
    out = store.folder(ctx.artifacts_dir)
    out.mkdir(parents=True, exist_ok=True)
    rules = product_rules(mining.itemsets, n_baskets, 1.0, p["min_confidence"], p["min_improvement"])

    rules_out = rules.assign(antecedents=rules["antecedents"].map(list), consequents=rules["consequents"].map(list))
    rules_out.to_parquet(out / store.RULES, index=False)
    mining.itemsets.assign(itemsets=mining.itemsets["itemsets"].map(sorted)).to_parquet(out / store.ITEMSETS,
                                                                                        index=False)
    per_customer.to_parquet(out / store.BASKETS, index=False)
    write_metadata(out / store.META, features=items, data_hash=ctx.data_hash,
                   metrics={"rules": len(rules), "itemsets": len(mining.itemsets), "baskets": n_baskets,
                            "seconds": mining.seconds, "algorithms_equal": mining.equal},
                   algorithm=mining.algorithm, algorithm_reason=mining.reason, params=p, as_of_month=as_of,
                   item_support=item_share, with_segments=with_segments)
    (out / store.HANDBOOK).write_text(handbook(rules, mining, n_baskets=n_baskets, min_support=p["min_support"],
                                               as_of=as_of, item_counts=item_share, with_segments=with_segments),
                                      encoding="utf-8")
    return {"规则数": len(rules), "算法": mining.algorithm,
            "apriori秒": mining.seconds.get("apriori"), "fpgrowth秒": mining.seconds.get("fpgrowth")}


STEP = Step(
    name="rules",
    title="产品关联规则",
    sources=["million/rules", "million/segments/features.py", "million/tables.py", "million/contract.py"],
    outputs=[f"{store.SUBDIR}/{f}" for f in (store.RULES, store.BASKETS, store.META)],
    run=run,
    params=PARAMS,
)

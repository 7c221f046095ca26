"""Rules and recommendations, checked against counts made independently from the generated files."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from million.rules import store
from million.rules.baskets import AGE_BANDS, INCOME_BANDS, PRODUCT_ITEMS, age_band, income_band, one_hot
from million.rules.mining import frequent_itemsets, mine, product_rules, same_itemsets
from million.rules.results import RecommendStatus
from million.rules.serving import RuleService
from million.segments import store as seg_store
from tests.segments.analytics import Built, copy_warehouse, reader

PRODUCT_FLAGS = dict(zip(PRODUCT_ITEMS, ("deposit_flag", "financial_flag", "fund_flag", "insurance_flag"), strict=True))


def truth_baskets(b: Built) -> pd.DataFrame:
    """Latest row per customer from the files, with the same bands computed here by hand."""
    beh = pd.read_parquet(b.data_dir / "customer_behavior_assets.parquet")
    base = pd.read_parquet(b.data_dir / "customer_base.parquet")
    last = beh.sort_values(["customer_id", "stat_month"]).drop_duplicates("customer_id", keep="last")
    df = last.merge(base, on="customer_id")
    seg = pd.read_parquet(seg_store.folder(b.artifacts) / seg_store.ASSIGNMENTS, columns=["customer_id", "segment_name"])
    df = df.merge(seg, on="customer_id")
    df["age_item"] = [next(lbl for bound, lbl in AGE_BANDS if a < bound) for a in df["age"]]
    df["income_item"] = [next(lbl for bound, lbl in INCOME_BANDS if x < bound) for x in df["monthly_income"]]
    df["asset_item"] = "资产" + df["asset_level"]
    return df


def item_sets(df: pd.DataFrame) -> dict[str, set[str]]:
    out = {}
    for r in df.itertuples(index=False):
        items = {p for p, f in PRODUCT_FLAGS.items() if getattr(r, f) == 1}
        out[r.customer_id] = items | {r.age_item, r.income_item, r.asset_item, r.segment_name}
    return out


def has(df: pd.DataFrame, item: str) -> pd.Series:
    if item in PRODUCT_FLAGS:
        return df[PRODUCT_FLAGS[item]] == 1
    return (df["age_item"] == item) | (df["income_item"] == item) | (df["asset_item"] == item) | (df["segment_name"] == item)


def test_rules_are_what_the_data_says(small_built: Built) -> None:
    rules = pd.read_parquet(store.folder(small_built.artifacts) / store.RULES)
    meta = json.loads((store.folder(small_built.artifacts) / store.META).read_text(encoding="utf-8"))
    df = truth_baskets(small_built)
    n = len(df)
    assert len(rules) > 0 and meta["metrics"]["baskets"] == n
    for _, r in rules.iterrows():
        ante = pd.Series(True, index=df.index)
        for it in r["antecedents"]:
            ante &= has(df, it)
        both = ante & has(df, r["consequent"])
        assert r["consequent"] in PRODUCT_ITEMS
        assert r["support"] == pytest.approx(both.mean(), abs=1e-9) and r["support"] >= 0.02
        assert r["confidence"] == pytest.approx(both.sum() / ante.sum(), abs=1e-9)
        assert r["lift"] == pytest.approx(r["confidence"] / has(df, r["consequent"]).mean(), abs=1e-9)
        assert r["lift"] > 1 and r["improvement"] >= 0.01
        assert r["targets"] == int(ante.sum() - both.sum())


def test_apriori_and_fpgrowth_compared(small_built: Built) -> None:
    meta = json.loads((store.folder(small_built.artifacts) / store.META).read_text(encoding="utf-8"))
    assert meta["algorithm"] in {"apriori", "fpgrowth"} and meta["metrics"]["algorithms_equal"] is True
    secs = meta["metrics"]["seconds"]
    faster = min(secs, key=secs.get)
    assert meta["algorithm"] == faster


def test_min_support_is_configurable_and_comparison_detects_differences() -> None:
    baskets = [["存款", "理财"], ["存款", "基金"], ["存款", "理财", "保险"], ["存款"], ["理财", "基金"]] * 20
    oh = one_hot(baskets)
    low, high = frequent_itemsets(oh, 0.2), frequent_itemsets(oh, 0.5)
    assert (high["support"] >= 0.5).all() and len(high) < len(low)
    assert same_itemsets(frequent_itemsets(oh, 0.2, "apriori"), frequent_itemsets(oh, 0.2, "fpgrowth"))
    assert not same_itemsets(low, high)
    res = mine(oh, 0.2, repeats=1)
    assert res.equal and res.algorithm in {"apriori", "fpgrowth"}
    rules = product_rules(res.itemsets, len(oh), min_improvement=0.0)
    assert (rules["lift"] > 1).all() and set(rules["consequent"]) <= set(PRODUCT_ITEMS)


def test_bands() -> None:
    assert age_band(29) == "年龄18-29岁" and age_band(30) == "年龄30-39岁" and age_band(85) == "年龄60岁以上"
    assert income_band(9999) == "月收入1万以下" and income_band(10000) == "月收入1-2万"
    assert income_band(50000) == "月收入5万以上"


def test_recommendations_are_unheld_products_backed_by_matching_rules(small_built: Built) -> None:
    svc = RuleService.load(small_built.artifacts, None)
    truth = truth_baskets(small_built)
    sets = item_sets(truth)
    df = truth.set_index("customer_id")
    seen_any = 0
    for cid in df.index[:300]:
        r = svc.recommend(cid, top_k=3)
        assert r.status is RecommendStatus.OK
        row = df.loc[cid]
        held = [p for p, f in PRODUCT_FLAGS.items() if row[f] == 1]
        assert list(r.held_products) == held
        confs = [x.confidence for x in r.recommendations]
        assert confs == sorted(confs, reverse=True) and len(confs) <= 3
        for x in r.recommendations:
            seen_any += 1
            assert x.product_name not in held and x.consequent == x.product_name
            assert set(x.antecedents) <= sets[cid]
            assert x.lift > 1 and x.rule.endswith(x.product_name)
        if not r.recommendations:
            assert set(r.unsupported_products) == set(PRODUCT_FLAGS) - set(held)
    assert seen_any > 100


def test_best_rule_per_product_is_the_most_confident_applicable(small_built: Built) -> None:
    svc = RuleService.load(small_built.artifacts, None)
    rules = svc.rules
    df = truth_baskets(small_built).set_index("customer_id")
    for cid in df.index[300:360]:
        r = svc.recommend(cid, top_k=4)
        items = set(r.held_products) | set(r.attributes)
        for x in r.recommendations:
            applicable = rules[(rules["consequent"] == x.product_name)
                               & rules["antecedents"].map(lambda a, its=items: set(a) <= its)]
            assert x.confidence == pytest.approx(applicable["confidence"].max(), abs=1e-4)


def test_cool_period_flag(small_built: Built) -> None:
    svc = RuleService.load(small_built.artifacts, None)
    df = truth_baskets(small_built)
    as_of = dt.date(2026, 10, 31)
    cooled = df[pd.to_datetime(df["marketing_cool_period"]).dt.date > as_of]
    free = df[df["marketing_cool_period"].isna()]
    assert len(cooled) and len(free)
    for cid, until in zip(cooled["customer_id"][:30], cooled["marketing_cool_period"][:30], strict=False):
        r = svc.recommend(cid, as_of=as_of)
        assert r.in_cool_period is True and r.cool_period_until == str(until)[:10]
        assert r.reference_date == as_of.isoformat()
    for cid in free["customer_id"][:30]:
        r = svc.recommend(cid, as_of=as_of)
        assert r.in_cool_period is False and r.cool_period_until is None
    later = svc.recommend(cooled["customer_id"].iloc[0], as_of=dt.date(2027, 6, 1))
    assert later.in_cool_period is False
    until = dt.date.fromisoformat(str(cooled["marketing_cool_period"].iloc[0])[:10])
    assert svc.recommend(cooled["customer_id"].iloc[0], as_of=until).in_cool_period is False  # allowed on the date
    assert svc.recommend(cooled["customer_id"].iloc[0], as_of=until - dt.timedelta(days=1)).in_cool_period is True


def test_bad_input(small_built: Built) -> None:
    svc = RuleService.load(small_built.artifacts, None)
    for bad in ["", "x" * 5000, "'; DROP TABLE customer_base; --", "../../etc/passwd", None, 7, "C0000001\x00"]:
        r = svc.recommend(bad)
        assert r.status in {RecommendStatus.INVALID, RecommendStatus.UNKNOWN} and not r.recommendations
        assert r.bad_argument == ("customer_id" if r.status is RecommendStatus.INVALID else None)
    cid = truth_baskets(small_built)["customer_id"].iloc[0]
    for k in (0, -1, 31, True, "3", 2.5):
        r = svc.recommend(cid, top_k=k)
        assert r.status is RecommendStatus.INVALID and r.bad_argument == "top_k"
    with pytest.raises(ValueError):
        svc.top_rules(0)


def test_top_rules(small_built: Built) -> None:
    svc = RuleService.load(small_built.artifacts, None)
    top = svc.top_rules(10)
    assert 0 < len(top) <= 10
    assert list(top["lift"]) == sorted(top["lift"], reverse=True)
    assert (top["targets"] > 0).all() and (top["lift"] > 1).all()
    assert {"antecedents", "consequents", "support", "confidence", "lift"} <= set(top.columns)
    assert isinstance(top["antecedents"].iloc[0], tuple)
    handbook = (store.folder(small_built.artifacts) / store.HANDBOOK).read_text(encoding="utf-8")
    assert "提升度最高的 10 条规则" in handbook


def test_customer_loaded_after_the_build(small_built: Built, tmp_path) -> None:
    from million.warehouse import connect

    url = copy_warehouse(small_built.url, tmp_path)
    with reader(url) as wh:
        base = wh.query("SELECT * FROM customer_base")
        beh = wh.query("SELECT * FROM customer_behavior_assets")
    src = str(base["customer_id"].iloc[3])
    rows = beh[beh["customer_id"] == src].copy()
    rows["customer_id"], rows["id"] = "LATE-01", [f"LATEROW{i}" for i in range(len(rows))]
    with connect(url, read_only=False) as w:
        w.replace_tables({"customer_base": pd.concat([base, base.iloc[[3]].assign(customer_id="LATE-01")]),
                          "customer_behavior_assets": pd.concat([beh, rows])})
    with reader(url) as wh:
        svc = RuleService.load(small_built.artifacts, wh)
        late, twin = svc.recommend("LATE-01"), svc.recommend(src)
    assert late.status is RecommendStatus.OK
    assert late.attributes == twin.attributes and late.recommendations == twin.recommendations


def test_hex_data(hex_built: Built) -> None:
    with reader(hex_built.url) as wh:
        svc = RuleService.load(hex_built.artifacts, wh)
        ids = wh.query("SELECT customer_id FROM customer_base LIMIT 20")["customer_id"]
        for cid in ids:
            assert svc.recommend(str(cid)).status is RecommendStatus.OK

"""The segments step on generated data: artifacts, warehouse table, profiles, plans and the service."""

from __future__ import annotations

import json

import joblib
import numpy as np
import pandas as pd
import pytest

from million.charts import missing_glyphs
from million.contract import MILLION
from million.pipeline import BuildContext
from million.segments import store
from million.segments.fit import KSelection
from million.segments.lookup import LookupProblem
from million.segments.report import k_selection_figure
from million.segments.results import SegmentStatus
from million.segments.serving import SegmentNotFound, SegmentService
from million.segments.step import run as run_segments
from tests.segments.analytics import Built, copy_warehouse, reader

BAD_IDS = ["", "   ", "x" * 10_000, "' OR 1=1 --", "C0000001; DROP TABLE customer_base", "../../etc/passwd",
           "С0000001", "C0000001\x00", None, 12345]


def latest(data_dir) -> pd.DataFrame:
    """Independent truth: the generated files, not the warehouse."""
    beh = pd.read_parquet(data_dir / "customer_behavior_assets.parquet")
    base = pd.read_parquet(data_dir / "customer_base.parquet")
    last = beh.sort_values(["customer_id", "stat_month"]).drop_duplicates("customer_id", keep="last")
    return last.merge(base, on="customer_id")


def test_every_customer_gets_a_segment(small_built: Built) -> None:
    folder = store.folder(small_built.artifacts)
    a = pd.read_parquet(folder / store.ASSIGNMENTS)
    truth = latest(small_built.data_dir)
    assert sorted(a["customer_id"]) == sorted(truth["customer_id"].astype(str))
    doc = json.loads((folder / store.PROFILES).read_text(encoding="utf-8"))
    k = doc["k_selection"]["chosen_k"]
    assert 3 <= k <= 8 and a["segment_id"].nunique() == k
    assert sum(p["size"] for p in doc["segments"]) == len(a)
    assert len({p["segment_name"] for p in doc["segments"]}) == k
    meta = json.loads((folder / store.MODEL_META).read_text(encoding="utf-8"))
    assert meta["features"] and meta["data_hash"] and meta["train_date"] and meta["metrics"]["k"] == k


def test_profiles_match_an_independent_count(small_built: Built) -> None:
    doc = json.loads((store.folder(small_built.artifacts) / store.PROFILES).read_text(encoding="utf-8"))
    a = pd.read_parquet(store.folder(small_built.artifacts) / store.ASSIGNMENTS)[["customer_id", "segment_id"]]
    truth = latest(small_built.data_dir).merge(a, on="customer_id")
    for p in doc["segments"]:
        m = truth[truth["segment_id"] == p["segment_id"]]
        assert p["size"] == len(m)
        assert p["avg_age"] == pytest.approx(m["age"].mean(), abs=0.01)
        assert p["avg_aum"] == pytest.approx(m["total_assets"].astype(float).mean(), abs=0.01)
        assert p["avg_product_count"] == pytest.approx(m["product_count"].mean(), abs=0.01)
        assert p["prospect_share"] == pytest.approx((m["total_assets"].astype(float) < MILLION).mean(), abs=1e-4)
        assert list(p["top_occupations"]) == m["occupation_type"].value_counts().index[:3].tolist()
        assert p["avg_propensity"] is None and p["avg_propensity_text"].startswith("暂无")
        plan = p["plan"]
        assert all(plan[k] for k in ("goal", "products", "channel", "frequency", "script"))
        assert "30天" in plan["frequency"]  # the cool period is part of every plan


def test_names_follow_the_rules(small_built: Built) -> None:
    doc = json.loads((store.folder(small_built.artifacts) / store.PROFILES).read_text(encoding="utf-8"))
    segs = doc["segments"]
    by_name = {p["segment_name"]: p for p in segs}
    if "高净值稳健型客户" in by_name:
        assert by_name["高净值稳健型客户"]["avg_aum"] == max(p["avg_aum"] for p in segs)
    if "大众基础型客户" in by_name:
        assert by_name["大众基础型客户"]["avg_aum"] < doc["overall"]["avg_aum"]


def test_warehouse_table_matches_the_artifact(small_built: Built) -> None:
    with reader(small_built.url) as wh:
        t = wh.query("SELECT customer_id, segment_id, segment_name FROM customer_segments")
        cols = dict(wh.columns("customer_segments"))
    a = pd.read_parquet(store.folder(small_built.artifacts) / store.ASSIGNMENTS)
    merged = a.merge(t, on="customer_id", suffixes=("", "_wh"))
    assert len(t) == len(a) == len(merged)
    assert (merged["segment_id"] == merged["segment_id_wh"]).all()
    assert (merged["segment_name"] == merged["segment_name_wh"]).all()
    assert set(cols) == set(store.TABLE_COLUMNS)


def test_report_html(small_built: Built) -> None:
    html = (store.folder(small_built.artifacts) / store.REPORT_HTML).read_text(encoding="utf-8")
    doc = json.loads((store.folder(small_built.artifacts) / store.PROFILES).read_text(encoding="utf-8"))
    for p in doc["segments"]:
        assert p["segment_name"] in html and p["plan"]["channel"] in html
    assert "data:image/png;base64," in html and "<script" not in html
    sel = KSelection(**{k: doc["k_selection"][k] for k in ("ks", "silhouette", "inertia", "elbow_k", "best_k",
                                                          "chosen_k", "reason", "sample_size")})
    assert missing_glyphs(k_selection_figure(sel)) == []


def test_service_lookups(small_built: Built) -> None:
    with reader(small_built.url) as wh:
        svc = SegmentService.load(small_built.artifacts, wh)
        a = pd.read_parquet(store.folder(small_built.artifacts) / store.ASSIGNMENTS)
        row = a.iloc[17]
        r = svc.for_customer(str(row["customer_id"]))
        assert r.status is SegmentStatus.OK and r.segment_id == row["segment_id"] and not r.assigned_live
        assert r.values["total_assets"] == pytest.approx(row["total_assets"])
        assert r.segment["plan"]["script"] and r.segment["profile"]["size"] > 0
        assert r.segment_name == row["segment_name"] and r.as_of_month == row["as_of_month"]
        for bad in BAD_IDS:
            out = svc.for_customer(bad)
            assert out.status in {SegmentStatus.INVALID, SegmentStatus.UNKNOWN} and out.segment is None
        assert len(svc.all()) == a["segment_id"].nunique()


def test_by_name_accepts_names_parts_and_ids(small_built: Built) -> None:
    with reader(small_built.url) as wh:
        svc = SegmentService.load(small_built.artifacts, wh)
    names = svc.names()
    for i, name in enumerate(names):
        assert svc.by_name(name)["segment_id"] == i and svc.by_name(name)["segment_name"] == name
        assert svc.by_name(i)["segment_id"] == i
        assert svc.by_name(f"客群{i}")["segment_id"] == i
        assert svc.by_name(f" {name.removesuffix('客户')} ")["segment_id"] == i
    for bad in ["不存在的客群", "99", "", "x" * 500, None, 3.5]:
        with pytest.raises(SegmentNotFound) as e:
            svc.by_name(bad)
        assert e.value.lookup.names == tuple(names) and e.value.lookup.problem is not LookupProblem.AMBIGUOUS
    with pytest.raises(SegmentNotFound) as e:
        svc.by_name("型")  # every seed-style name contains 型
    assert e.value.lookup.problem is LookupProblem.AMBIGUOUS and len(e.value.lookup.matches) > 1


def test_assign_reproduces_the_stored_segments(small_built: Built) -> None:
    svc = SegmentService.load(small_built.artifacts, None)
    model = joblib.load(store.folder(small_built.artifacts) / store.MODEL)
    a = pd.read_parquet(store.folder(small_built.artifacts) / store.ASSIGNMENTS).sample(200, random_state=0)
    for _, row in a.iterrows():
        got = svc.assign({f: row[f] for f in model["features"]})
        assert got.segment_id == row["segment_id"]
    with pytest.raises(ValueError, match="缺少"):
        svc.assign({"monthly_income": 1})
    with pytest.raises(ValueError, match="不是数字"):
        svc.assign({f: "abc" for f in model["features"]})
    labels = {"月收入": 30000, "总资产AUM": 3e6, "理财复购次数": 0, "信用卡月消费": 5000, "持有产品数": 2,
              "APP月登录次数": 4, "月投资交易次数": 1}
    assert svc.assign(labels).values["total_assets"] == 3e6


def test_customers_loaded_after_the_build_are_assigned_live(small_built: Built, tmp_path) -> None:
    url = copy_warehouse(small_built.url, tmp_path)
    with reader(url) as wh:
        base = wh.query("SELECT * FROM customer_base")
        beh = wh.query("SELECT * FROM customer_behavior_assets")
    new_id = "NEW-0001"
    nb = base.iloc[[0]].assign(customer_id=new_id)
    rows = beh[beh["customer_id"] == base["customer_id"].iloc[0]].copy()
    rows["customer_id"] = new_id
    rows["id"] = [f"NEWROW{i}" for i in range(len(rows))]
    from million.warehouse import connect

    with connect(url, read_only=False) as w:
        w.replace_tables({"customer_base": pd.concat([base, nb]), "customer_behavior_assets": pd.concat([beh, rows])})
    with reader(url) as wh:
        svc = SegmentService.load(small_built.artifacts, wh)
        r = svc.for_customer(new_id)
        twin = svc.for_customer(str(base["customer_id"].iloc[0]))
    assert r.status is SegmentStatus.OK and r.assigned_live and r.segment_id == twin.segment_id


def test_average_propensity_when_scores_exist(small_built: Built, tmp_path) -> None:
    url = copy_warehouse(small_built.url, tmp_path / "wh")
    art = tmp_path / "art"
    (art / "propensity").mkdir(parents=True)
    a = pd.read_parquet(store.folder(small_built.artifacts) / store.ASSIGNMENTS)
    rng = np.random.default_rng(0)
    scored = a.sample(frac=0.7, random_state=1)[["customer_id"]].assign(as_of="2026-10", probability=rng.random(1400))
    scored.to_parquet(art / "propensity" / "scores_latest.parquet")
    ctx = BuildContext(db_url=url, artifacts_dir=art, data_dir=small_built.data_dir)
    run_segments(ctx)
    doc = json.loads((store.folder(art) / store.PROFILES).read_text(encoding="utf-8"))
    a2 = pd.read_parquet(store.folder(art) / store.ASSIGNMENTS).merge(scored, on="customer_id")
    for p in doc["segments"]:
        m = a2[a2["segment_id"] == p["segment_id"]]
        assert p["avg_propensity"] == pytest.approx(m["probability"].mean(), abs=1e-4)
        assert p["propensity_scored"] == len(m)


def test_hex_ids_and_mid_period_accounts(hex_built: Built) -> None:
    a = pd.read_parquet(store.folder(hex_built.artifacts) / store.ASSIGNMENTS)
    truth = latest(hex_built.data_dir)
    assert len(a) == len(truth) and a["customer_id"].str.fullmatch(r"[0-9a-f]{32}").all()
    with reader(hex_built.url) as wh:
        svc = SegmentService.load(hex_built.artifacts, wh)
        cid = str(a["customer_id"].iloc[5])
        assert svc.for_customer(cid).status is SegmentStatus.OK
        assert svc.for_customer(cid.upper()).status is SegmentStatus.UNKNOWN  # IDs are opaque: no case folding

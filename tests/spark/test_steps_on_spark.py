"""The segments, rules and forecast steps of `build --engine spark` (data read and aggregated on Spark, the
local steps' fitting code on the driver) produce the local steps' artifacts on the same data, and the app
answers the same from either build: probability, rank and reasons, segment, products, forecast."""

from __future__ import annotations

import json
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest

from million.warehouse import connect


def _json(art: Path, rel: str) -> dict:
    return json.loads((art / rel).read_text(encoding="utf-8"))


def _close(a: object, b: object, path: str = "", rtol: float = 1e-9) -> list[str]:
    """Where two JSON documents differ (numbers within rtol; everything else exactly)."""
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return [f"{path}: keys {sorted(a.keys() ^ b.keys())}"]
        return [d for k in a for d in _close(a[k], b[k], f"{path}.{k}", rtol)]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} vs {len(b)} items"]
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in _close(x, y, f"{path}[{i}]", rtol)]
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        same = (np.isnan(a) and np.isnan(b)) or abs(a - b) <= rtol * max(abs(a), abs(b), 1.0)
        return [] if same else [f"{path}: {a} vs {b}"]
    return [] if a == b else [f"{path}: {a!r} vs {b!r}"]


def test_segments_on_spark_equal_the_local_step(spark_build, built_artifacts: Path, small_wh_url: str) -> None:
    db_url, art, rows = spark_build
    summary = next(r for r in rows if r["step"] == "segments")
    local_model = joblib.load(built_artifacts / "segments" / "model.joblib")
    spark_model = joblib.load(art / "segments" / "model.joblib")
    # Fitted on the same rows in the same order: the same centroids, bit for bit, and the same names.
    assert summary["拟合样本"] == 2000
    assert np.array_equal(local_model["kmeans"].cluster_centers_, spark_model["kmeans"].cluster_centers_)
    assert local_model["names"] == spark_model["names"]
    # Every customer assigned on Spark (distance expression) lands in the segment KMeans.predict gives.
    a = pd.read_parquet(built_artifacts / "segments" / "assignments.parquet")
    b = pd.read_parquet(art / "segments" / "assignments.parquet")
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-12)
    # The profiles aggregated by GROUP BY: equal to the pandas ones (rounded numbers, names, plans).
    pa, pb = _json(built_artifacts, "segments/profiles.json"), _json(art, "segments/profiles.json")
    pa.pop("data_hash"), pb.pop("data_hash")
    assert _close(pa, pb) == []
    assert len(pa["segments"]) >= 3 and all(s["avg_propensity"] is not None for s in pa["segments"])
    with connect(small_wh_url) as wl, connect(db_url) as ws:
        q = "SELECT * FROM customer_segments ORDER BY customer_id"
        pd.testing.assert_frame_equal(wl.query(q), ws.query(q))


def test_rules_on_spark_equal_the_local_step(spark_build, built_artifacts: Path) -> None:
    _db, art, rows = spark_build
    summary = next(r for r in rows if r["step"] == "rules")
    assert 10 <= summary["不同篮子"] < 2000  # a GROUP BY of 2,000 customers into few distinct baskets
    ra = pd.read_parquet(built_artifacts / "rules" / "rules.parquet")
    rb = pd.read_parquet(art / "rules" / "rules.parquet")
    assert len(ra) >= 5
    key = [tuple(x) for x in ra["antecedents"]], [tuple(x) for x in rb["antecedents"]]
    assert key[0] == key[1] and ra["consequent"].tolist() == rb["consequent"].tolist()
    num = ["support", "confidence", "lift", "antecedent_support", "consequent_support", "leverage", "improvement"]
    assert np.allclose(ra[num].to_numpy(float), rb[num].to_numpy(float), rtol=0, atol=1e-12)
    assert ra["targets"].tolist() == rb["targets"].tolist()
    ia = pd.read_parquet(built_artifacts / "rules" / "frequent_itemsets.parquet")
    ib = pd.read_parquet(art / "rules" / "frequent_itemsets.parquet")
    sa = {tuple(s): v for s, v in zip(ia["itemsets"], ia["support"], strict=True)}
    sb = {tuple(s): v for s, v in zip(ib["itemsets"], ib["support"], strict=True)}
    assert sa == sb  # every frequent itemset, support as Apriori computes it (count / customers)
    ba = pd.read_parquet(built_artifacts / "rules" / "baskets.parquet")
    bb = pd.read_parquet(art / "rules" / "baskets.parquet")
    assert ba["customer_id"].tolist() == bb["customer_id"].tolist()
    assert [list(x) for x in ba["items"]] == [list(x) for x in bb["items"]]
    assert ba["cool_period_until"].tolist() == bb["cool_period_until"].tolist()
    ma, mb = _json(built_artifacts, "rules/rules.json"), _json(art, "rules/rules.json")
    assert ma["item_support"] == mb["item_support"]


def test_forecast_series_on_spark_equal_the_local_step(spark_build, built_artifacts: Path) -> None:
    _db, art, _rows = spark_build
    da, db = _json(built_artifacts, "forecast/aggregates.json"), _json(art, "forecast/aggregates.json")
    assert da["series"].keys() == db["series"].keys() and len(da["series"]) >= 5
    for key, a in da["series"].items():
        b = db["series"][key]
        assert (a["level"], a["name"], a["months"], a["selected"]) == (b["level"], b["name"], b["months"],
                                                                       b["selected"]), key
        # Sums in another order: equal to the last few bits, the fits on them to far below a yuan.
        assert np.allclose(a["history"], b["history"], rtol=1e-12, atol=0), key
        assert np.allclose(a["forecast"]["mean"], b["forecast"]["mean"], rtol=1e-7, atol=0), key
    # The same 500 customers drawn for the per-customer backtest, with the same results.
    ca = pd.read_parquet(built_artifacts / "forecast" / "customer_backtest.parquet")
    cb = pd.read_parquet(art / "forecast" / "customer_backtest.parquet")
    assert len(ca) > 100
    pd.testing.assert_frame_equal(ca, cb)
    assert da["customers"] == db["customers"]


@pytest.fixture(scope="module")
def both_apps(spark_build, built_artifacts: Path, small_wh_url: str):
    from million.forecast.serving import ForecastService
    from million.propensity.serving import PropensityService
    from million.rules.serving import RuleService
    from million.segments.serving import SegmentService

    db_url, art, _rows = spark_build
    out = []
    for url, folder in ((small_wh_url, built_artifacts), (db_url, art)):
        wh = connect(url)
        out.append({"propensity": PropensityService.load(folder, wh), "segments": SegmentService.load(folder, wh),
                    "rules": RuleService.load(folder, wh), "forecast": ForecastService.load(folder, wh),
                    "wh": wh, "art": folder})
    yield out
    for app in out:
        app["wh"].close()


def test_the_app_answers_the_same_from_a_spark_build(both_apps, spark_build) -> None:
    local, spark = both_apps
    db_url = spark_build[0]
    # The spark build's app takes the cluster's scores (not scored again at start); the local one scores.
    assert (local["propensity"].scores_from, spark["propensity"].scores_from) == ("here", "million_scores")
    with connect(db_url) as wh:
        cluster = wh.query("SELECT customer_id, probability, rank, top_features FROM million_scores")
    cluster = cluster.set_index("customer_id")
    top = local["propensity"].top(50)
    assert top["customer_id"].tolist() == spark["propensity"].top(50)["customer_id"].tolist()
    picked = top["customer_id"].tolist()[:12] + cluster.sort_values("rank").index[-3:].tolist()
    for cid in picked:
        a, b = local["propensity"].predict(cid), spark["propensity"].predict(cid)
        assert (a.status, a.rank, a.n_prospects) == (b.status, b.rank, b.n_prospects), cid
        assert abs(a.probability - b.probability) <= 1e-9, cid
        # The cluster's table says what the app says: probability, rank, the strongest reasons.
        row = cluster.loc[cid]
        assert abs(row["probability"] - a.probability) <= 1e-9 and int(row["rank"]) == a.rank, cid
        ea, eb = local["propensity"].explain(cid), spark["propensity"].explain(cid)
        reasons = [f.feature for f in ea.factors_for]
        assert reasons == [f.feature for f in eb.factors_for], cid
        if row["top_features"]:
            assert row["top_features"].split(",") == reasons[:len(row["top_features"].split(","))], cid
        sa, sb = local["segments"].for_customer(cid), spark["segments"].for_customer(cid)
        assert (sa.status, sa.segment_id, sa.values) == (sb.status, sb.segment_id, sb.values), cid
        ra, rb = local["rules"].recommend(cid), spark["rules"].recommend(cid)
        assert ra.recommendations == rb.recommendations and ra.attributes == rb.attributes, cid
        fa, fb = local["forecast"].forecast(customer_id=cid), spark["forecast"].forecast(customer_id=cid)
        assert (fa.status, fa.model, fa.history) == (fb.status, fb.model, fb.history), cid
        assert np.allclose(fa.forecast, fb.forecast, rtol=1e-9), cid
    ga, gb = local["forecast"].forecast(), spark["forecast"].forecast()
    assert ga.model == gb.model and np.allclose(ga.forecast, gb.forecast, rtol=1e-7)
    assert local["segments"].names() == spark["segments"].names()


def test_segments_beyond_the_fit_cap_fit_on_a_hash_sample_and_assign_everyone(spark, small_wh_url: str,
                                                                             small_data: Path, tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """More customers than FIT_CUSTOMERS: KMeans is fitted on a hash sample of that size, and the distance
    expression on Spark puts every customer (in the sample or not) where the fitted KMeans.predict does."""
    from million.pipeline import BuildContext
    from million.segments.features import CLUSTER_FEATURES
    from million.spark import segments as spark_segments
    from million.tables import load_tables

    monkeypatch.setattr(spark_segments, "FIT_CUSTOMERS", 600)
    with connect(small_wh_url) as wh:
        tables = load_tables(wh)
    beh, base = spark.createDataFrame(tables.behavior), spark.createDataFrame(tables.base)
    ctx = BuildContext(db_url=small_wh_url, artifacts_dir=tmp_path, data_dir=small_data,  # one k, one init: quick
                       params={"segments": {"k_min": 4, "k_max": 4, "default_k": 4, "n_init": 1}})
    summary, labels = spark_segments.run_segments(ctx, beh, base, None, write_table=lambda _t: None)
    labels.unpersist()
    assert summary["拟合样本"] == 600
    model = joblib.load(tmp_path / "segments" / "model.joblib")
    a = pd.read_parquet(tmp_path / "segments" / "assignments.parquet")
    assert len(a) == 2000
    want = model["kmeans"].predict(model["scaler"].transform(a[list(CLUSTER_FEATURES)].to_numpy(dtype=float)))
    assert (a["segment_id"].to_numpy() == want).all()
    assert len(set(want)) == summary["k"] == 4


def test_scores_of_another_model_are_not_served(spark_build, built_artifacts: Path, tmp_path: Path) -> None:
    """million_scores that disagree with the model (a stale table, another build) are ignored: the
    service scores the month itself, and answers as the local build does."""
    import shutil

    import duckdb

    from million.propensity.serving import PropensityService

    db_url, art, _rows = spark_build
    db = tmp_path / "w.duckdb"
    shutil.copyfile(db_url.removeprefix("duckdb:///"), db)
    con = duckdb.connect(str(db))
    con.execute("UPDATE million_scores SET probability = probability * 0.999")  # another model, same version
    con.close()
    with connect(f"duckdb:///{db}") as wh:
        svc = PropensityService.load(art, wh)
        assert svc.scores_from == "here"
        top = svc.top(5)
        ref = PropensityService.load(built_artifacts, wh).top(5)
    assert top["customer_id"].tolist() == ref["customer_id"].tolist()
    assert np.allclose(top["probability"], ref["probability"], rtol=0, atol=1e-12)

"""PropensityService on the small warehouse and the artifacts built from it."""

from __future__ import annotations

import shutil
import statistics
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from million.contract import CUSTOMER_ID_MAX, MILLION
from million.propensity.calibration import logit
from million.propensity.explain import contributions
from million.propensity.paths import artifacts_paths
from million.propensity.results import ListProblem, PredictStatus, ProspectListError
from million.propensity.serving import PropensityService
from million.tables import load_tables
from million.warehouse import connect
from scripts import score_customers

ODD_IDS = ["", " ", "x" * 10_000, "' OR 1=1 --", "C0000001; DROP TABLE customer_base", "../../etc/passwd",
           "С0000001", "C0000001\x00", "%", "*"]


@pytest.fixture(scope="module")
def svc(built_artifacts: Path, small_wh_url: str) -> PropensityService:
    return PropensityService.load(built_artifacts, connect(small_wh_url))


@pytest.fixture(scope="module")
def latest(small_wh_url: str) -> pd.DataFrame:
    with connect(small_wh_url) as wh:
        t = load_tables(wh)
    counts = t.behavior.groupby("customer_id").size()
    last = t.behavior.loc[t.behavior["stat_month"] == t.latest_month].set_index("customer_id")
    last["months"] = counts
    return last


def test_prospect(svc: PropensityService, latest: pd.DataFrame, built_artifacts: Path) -> None:
    scores = pd.read_parquet(artifacts_paths(built_artifacts)["scores"])
    cid = scores["customer_id"].iloc[0]
    r = svc.predict(cid)
    assert r.status is PredictStatus.PROSPECT and r.customer_id == cid and r.rank == 1
    assert r.as_of == latest["stat_month"].iloc[0] and r.n_prospects == len(scores)
    assert r.probability == scores["probability"].iloc[0] and r.percentile == 1
    assert r.total_assets == latest.loc[cid, "total_assets"] < MILLION
    assert r.gap_to_million == pytest.approx(MILLION - r.total_assets)
    assert isinstance(r.in_cool_period, bool) and 0.5 < r.oot_auc <= 1
    assert r.branch_name and r.model == "LightGBM" and r.lookback == 3


def test_statuses_never_raise(svc: PropensityService, latest: pd.DataFrame) -> None:
    rich = latest.index[(latest["total_assets"] >= MILLION) & (latest["months"] >= 3)][0]
    r = svc.predict(rich)
    assert r.status is PredictStatus.ALREADY_MILLION and r.probability is None and r.total_assets >= MILLION
    short = latest.index[latest["months"] < 3]
    assert len(short), "the small data set has accounts opened in its last two months"
    r = svc.predict(short[0])
    assert r.status is PredictStatus.INSUFFICIENT_HISTORY and r.probability is None
    assert r.months_of_history == latest.loc[short[0], "months"] < r.lookback
    for odd in [*ODD_IDS, None, 123]:
        r = svc.predict(odd)  # type: ignore[arg-type]
        assert r.status is PredictStatus.UNKNOWN and r.probability is None and r.name is None
        assert len(r.customer_id) <= 2 * CUSTOMER_ID_MAX
        e = svc.explain(odd)  # type: ignore[arg-type]
        assert e.status is PredictStatus.UNKNOWN and not e.factors_for and not e.factors_against


def test_cool_period(svc: PropensityService, latest: pd.DataFrame) -> None:
    end = pd.Timestamp(latest["stat_month"].iloc[0]) + pd.offsets.MonthEnd(0)
    cool = latest.index[(latest["marketing_cool_period"] > end) & (latest["total_assets"] < MILLION)
                        & (latest["months"] >= 3)]
    assert len(cool)
    r = svc.predict(cool[0])
    assert r.in_cool_period is True
    assert r.cool_period_until == latest.loc[cool[0], "marketing_cool_period"].strftime("%Y-%m-%d")


def test_top(svc: PropensityService) -> None:
    t = svc.top(10, include_cool=True)
    assert len(t) == 10 and t["probability"].is_monotonic_decreasing
    assert list(t["rank"]) == sorted(t["rank"]) and t["rank"].iloc[0] == 1
    assert {"customer_id", "name", "branch_name", "total_assets", "probability", "rank", "in_cool_period"} <= set(t)
    assert not svc.top(50)["in_cool_period"].any()
    branch = t["branch_name"].iloc[0]
    tb = svc.top(5, branch_name=branch, include_cool=True)
    assert (tb["branch_name"] == branch).all() and tb["customer_id"].iloc[0] == t["customer_id"].iloc[0]
    city = branch.split("分行")[0] + "分行"  # e.g. 上海分行: all its sub-branches
    tc = svc.top(200, branch_name=city, include_cool=True)
    assert tc["branch_name"].str.startswith(city).all() and tc["branch_name"].nunique() >= 1
    assert len(tc) >= len(svc.top(200, branch_name=branch, include_cool=True))
    with pytest.raises(ProspectListError) as e:
        svc.top(5, branch_name="火星分行")
    assert e.value.problem is ListProblem.UNKNOWN_BRANCH and e.value.options[0] in set(t["branch_name"]) | set(
        svc.snapshot.customers["branch_name"])
    with pytest.raises(ProspectListError) as e:
        svc.top(0)
    assert e.value.problem is ListProblem.BAD_N


def _warehouse_copy(small_data: Path, tmp_path: Path) -> str:
    db = tmp_path / "wh.duckdb"
    shutil.copy(small_data / "warehouse.duckdb", db)
    con = duckdb.connect(str(db))
    con.execute("DROP TABLE IF EXISTS customer_segments")  # the segments step may have written it already
    con.close()
    return f"duckdb:///{db}"


def test_segment_table_not_built_yet(built_artifacts: Path, small_data: Path, tmp_path: Path) -> None:
    svc = PropensityService.load(built_artifacts, connect(_warehouse_copy(small_data, tmp_path)))
    with pytest.raises(ProspectListError) as e:
        svc.top(5, segment="高潜力活跃型客户")
    assert e.value.problem is ListProblem.NO_SEGMENTS_TABLE


def test_top_by_segment(built_artifacts: Path, small_data: Path, tmp_path: Path) -> None:
    url = _warehouse_copy(small_data, tmp_path)
    with connect(url, read_only=True) as wh:
        ids = wh.query("SELECT customer_id FROM customer_base ORDER BY customer_id")["customer_id"]
    seg = pd.DataFrame({"customer_id": ids, "segment_id": np.arange(len(ids)) % 2,
                        "segment_name": np.where(np.arange(len(ids)) % 2, "年轻高消费", "中产家庭")})
    with connect(url, read_only=False) as wh:
        wh.replace_tables({"customer_segments": seg})
    svc = PropensityService.load(built_artifacts, connect(url))
    t = svc.top(20, segment="中产家庭", include_cool=True)
    members = set(seg.loc[seg["segment_name"] == "中产家庭", "customer_id"])
    assert len(t) == 20 and set(t["customer_id"]) <= members and (t["segment_name"] == "中产家庭").all()
    assert set(svc.top(5, segment="1", include_cool=True)["segment_name"]) == {"年轻高消费"}
    with pytest.raises(ProspectListError) as e:
        svc.top(5, segment="不存在的客群")
    assert e.value.problem is ListProblem.UNKNOWN_SEGMENT and e.value.options == ("中产家庭", "年轻高消费")


def test_explain(svc: PropensityService) -> None:
    top = svc.top(3, include_cool=True)
    cid = top["customer_id"].iloc[0]
    e = svc.explain(cid, top_k=4)
    assert e.status is PredictStatus.PROSPECT and e.probability == svc.predict(cid).probability
    assert 0 < len(e.factors_for) <= 4 and len(e.factors_against) <= 4
    assert all(f.shap > 0 for f in e.factors_for) and all(f.shap < 0 for f in e.factors_against)
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in f.label) for f in e.factors_for)
    # exact additivity in calibrated log-odds: base + all parts = logit(probability)
    x = svc.snapshot.features.loc[[cid], svc.bundle.features].to_numpy(dtype=float)
    phi, base = contributions(svc.bundle, x)
    assert base[0] + phi.sum() == pytest.approx(logit(np.array([e.probability]))[0], abs=1e-6)
    assert svc.explain(cid).base_value == pytest.approx(base[0])
    png = svc.waterfall_png(cid)
    assert png[:4] == b"\x89PNG" and len(png) > 10_000
    with pytest.raises(ValueError, match="unknown"):
        svc.waterfall_png("no-such-customer")


def test_global(svc: PropensityService) -> None:
    g = svc.global_explanation(5)
    assert len(g.factors) == 5 and [f.rank for f in g.factors] == [1, 2, 3, 4, 5]
    vals = [f.mean_abs_shap for f in g.factors]
    assert vals == sorted(vals, reverse=True) and all(f.label for f in g.factors)
    every = svc.global_explanation(10_000).factors
    assert len(every) == len(svc.bundle.features) and g.total_mean_abs_shap == pytest.approx(sum(f.mean_abs_shap for f in every))
    assert svc.global_png()[:4] == b"\x89PNG"


def test_scores_equal_the_batch_script(svc: PropensityService, built_artifacts: Path, small_wh_url: str,
                                       tmp_path: Path) -> None:
    out = tmp_path / "scores.csv"
    assert score_customers.main(["--as-of", "latest", "--out", str(out), "--db-url", small_wh_url,
                                 "--artifacts", str(built_artifacts)]) == 0
    csv = pd.read_csv(out, dtype={"customer_id": str, "as_of": str})
    assert list(csv.columns) == ["customer_id", "as_of", "probability"]
    assert csv["as_of"].eq(svc.snapshot.as_of).all() and len(csv) == svc.snapshot.n_prospects
    for row in csv.itertuples():
        assert svc.predict(row.customer_id).probability == row.probability  # exactly equal
    built = pd.read_parquet(artifacts_paths(built_artifacts)["scores"])
    pd.testing.assert_frame_equal(built.reset_index(drop=True), csv, check_dtype=False)
    older = tmp_path / "older.csv"
    month = svc.bundle.info["split"]["test"]
    assert score_customers.main(["--as-of", month, "--out", str(older), "--db-url", small_wh_url,
                                 "--artifacts", str(built_artifacts)]) == 0
    assert pd.read_csv(older, dtype={"as_of": str})["as_of"].eq(month).all()
    assert score_customers.main(["--as-of", "1999-01", "--out", str(older), "--db-url", small_wh_url,
                                 "--artifacts", str(built_artifacts)]) == 2


def test_fast_enough(svc: PropensityService) -> None:
    ids = list(svc.top(60, include_cool=True)["customer_id"])
    times = []
    for cid in ids:
        t0 = time.perf_counter()
        svc.predict(cid)
        svc.explain(cid)
        times.append(time.perf_counter() - t0)
    assert statistics.median(times) < 0.05

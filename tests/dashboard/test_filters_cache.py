"""Untrusted filters, the version-keyed cache, and placeholders when other steps' artifacts are absent."""

from __future__ import annotations

import shutil
import sys
import time
import types
from pathlib import Path

import pandas as pd
import pytest

from million.dashboard import DashboardService, FilterError
from million.dashboard.cache import VersionedCache
from million.dashboard.forecast import drift_forecast, from_service, next_months
from million.dashboard.prospects import SCORES_PATH
from million.dashboard.warmer import DashboardWarmer
from million.forecast.results import ForecastLevel, ForecastResult, ForecastStatus
from million.warehouse import connect, parse_url

from .conftest import make_scores


@pytest.mark.parametrize("branch, month", [
    ("不存在的支行", ""),
    ("上海分行外滩支行' OR '1'='1", ""),
    ("x" * 5000, ""),
    ("", "2099-01"),
    ("", "2026-10'; DROP TABLE customer_base; --"),
    ("", "10/2026"),
])
def test_unknown_filters_are_refused(service: DashboardService, branch: str, month: str) -> None:
    with pytest.raises(FilterError) as e:
        service.data(branch, month)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in str(e.value))  # a Chinese message for the page


def test_branch_names_are_bound_not_spliced(small_data: Path, tmp_path: Path) -> None:
    """A real branch whose name looks like SQL works like any other (parameters, never string building)."""
    base = pd.read_parquet(small_data / "customer_base.parquet").head(200).copy()
    beh = pd.read_parquet(small_data / "customer_behavior_assets.parquet")
    beh = beh[beh["customer_id"].isin(base["customer_id"])]
    odd = "O'Brien支行\"; DROP TABLE customer_base; --"
    base.loc[base.index[:50], "branch_name"] = odd
    url = f"duckdb:///{tmp_path / 'odd.duckdb'}"
    with connect(url, read_only=False) as wh:
        wh.replace_tables({"customer_base": base, "customer_behavior_assets": beh})
    svc = DashboardService(url, tmp_path)
    d = svc.data(odd)
    latest = beh["stat_month"].max()
    expected = beh[(beh["stat_month"] == latest) & beh["customer_id"].isin(base["customer_id"][:50])]
    assert {c["key"]: c for c in d["kpis"]}["customers"]["value"] == len(expected)
    assert svc.data()["kpis"][0]["value"] == (beh["stat_month"] == latest).sum()  # the table is still there


def test_scope_limits_what_a_user_sees(service: DashboardService, snapshot: pd.DataFrame) -> None:
    scope = ("上海分行外滩支行", "北京分行朝阳支行")
    d = service.data(scope=scope)
    assert d["meta"]["options"]["branches"] == sorted(scope) and d["meta"]["scoped"]
    latest = snapshot["stat_month"].max()
    mine = snapshot[(snapshot["stat_month"] == latest) & snapshot["branch_name"].isin(scope)]
    assert d["kpis"][0]["value"] == len(mine)
    assert {r["branch"] for r in d["charts"]["branches"]["rows"]} == set(scope)
    assert {r["branch"] for r in d["charts"]["prospects"]["rows"]} <= set(scope)
    assert d["charts"]["trend"]["forecast"]["source"] == "drift"
    with pytest.raises(FilterError):
        service.data("西安分行高新支行", scope=scope)
    with pytest.raises(FilterError):
        service.data(scope=())


def test_cache_hits_and_reload_invalidates(small_wh_url: str, small_data: Path, tmp_path: Path) -> None:
    path = tmp_path / "wh.duckdb"
    shutil.copyfile(parse_url(small_wh_url).path, path)
    url = f"duckdb:///{path}"
    svc = DashboardService(url, tmp_path)
    first = svc.data()
    assert not first["meta"]["cached"]
    again = svc.data()
    assert again["meta"]["cached"] and again["kpis"] == first["kpis"]
    base = pd.read_parquet(small_data / "customer_base.parquet")
    beh = pd.read_parquet(small_data / "customer_behavior_assets.parquet")
    latest = beh["stat_month"].max()
    keep = beh[(beh["stat_month"] != latest) | (beh.index % 2 == 0)]
    with connect(url, read_only=False) as wh:  # a reload, as the loader does it: a new file swapped in
        wh.replace_tables({"customer_base": base, "customer_behavior_assets": keep})
    after = svc.data()
    assert not after["meta"]["cached"]
    assert after["kpis"][0]["value"] == (keep["stat_month"] == latest).sum() < first["kpis"][0]["value"]


def test_warmer_recomputes_the_default_view_after_a_reload(small_wh_url: str, small_data: Path,
                                                           tmp_path: Path) -> None:
    """The first visitor after a reload finds the default view already computed for the new data."""
    path = tmp_path / "wh.duckdb"
    shutil.copyfile(parse_url(small_wh_url).path, path)
    url = f"duckdb:///{path}"
    svc = DashboardService(url, tmp_path)
    warmer = DashboardWarmer(svc, interval_s=0.05).start()
    try:
        _wait(lambda: warmer.runs >= 1)
        first = svc.data()
        assert first["meta"]["cached"]
        base = pd.read_parquet(small_data / "customer_base.parquet")
        beh = pd.read_parquet(small_data / "customer_behavior_assets.parquet")
        latest = beh["stat_month"].max()
        keep = beh[(beh["stat_month"] != latest) | (beh.index % 2 == 0)]
        with connect(url, read_only=False) as wh:
            wh.replace_tables({"customer_base": base, "customer_behavior_assets": keep})
        _wait(lambda: warmer.runs >= 2)
        after = svc.data()
        assert after["meta"]["cached"], "the reload was not warmed"
        assert after["kpis"][0]["value"] == (keep["stat_month"] == latest).sum() < first["kpis"][0]["value"]
        runs = warmer.runs
        time.sleep(0.3)  # nothing changed: no recomputation
        assert warmer.runs == runs
    finally:
        warmer.stop()
    assert not warmer._thread.is_alive()


def test_warmer_survives_a_missing_warehouse(tmp_path: Path) -> None:
    warmer = DashboardWarmer(DashboardService(f"duckdb:///{tmp_path / 'none.duckdb'}", tmp_path), interval_s=0.05)
    assert warmer.warm_once() is False and warmer.runs == 0


def _wait(cond, timeout_s: float = 30.0) -> None:  # noqa: ANN001
    end = time.monotonic() + timeout_s
    while not cond():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.02)


def test_scores_rewrite_invalidates(small_wh_url: str, snapshot: pd.DataFrame, tmp_path: Path) -> None:
    svc = DashboardService(small_wh_url, tmp_path)
    assert svc.data()["charts"]["prospects"]["empty"]
    (tmp_path / "propensity").mkdir()
    make_scores(snapshot, snapshot["stat_month"].max()).to_parquet(tmp_path / SCORES_PATH)
    d = svc.data()
    assert not d["meta"]["cached"] and len(d["charts"]["prospects"]["rows"]) == 10


def test_placeholders_without_other_artifacts(bare_service: DashboardService) -> None:
    d = bare_service.data()
    c = d["charts"]
    assert c["segments"]["empty"] and "暂无" in c["segments"]["reason"]
    assert c["prospects"]["empty"] and "暂无" in c["prospects"]["reason"]
    card = {k["key"]: k for k in d["kpis"]}["expected_new"]
    assert card["text"] == "暂无" and card["value"] is None
    assert not c["asset_levels"].get("empty") and d["meta"]["failed"] == []


@pytest.mark.parametrize("content", [b"", b"not a parquet file"])
def test_unreadable_scores_are_a_placeholder(small_wh_url: str, tmp_path: Path, content: bytes) -> None:
    (tmp_path / "propensity").mkdir()
    (tmp_path / SCORES_PATH).write_bytes(content)
    p = DashboardService(small_wh_url, tmp_path).data()["charts"]["prospects"]
    assert p["empty"] and p["reason"].startswith("暂无")


def test_missing_warehouse_raises_a_clear_error(tmp_path: Path) -> None:
    from million.warehouse import WarehouseError

    with pytest.raises(WarehouseError, match="不存在"):
        DashboardService(f"duckdb:///{tmp_path / 'none.duckdb'}", tmp_path).data()


def test_drift_forecast_math() -> None:
    months = ["2026-01", "2026-02", "2026-03", "2026-04"]
    fc = drift_forecast(months, [100.0, 110.0, 130.0, 140.0])  # changes 10, 20, 10: drift 13.33
    assert fc["months"] == ["2026-05", "2026-06", "2026-07"]
    assert fc["forecast"] == pytest.approx([153.33, 166.67, 180.0], abs=0.01)
    assert fc["lower"][0] < fc["forecast"][0] < fc["upper"][0]
    assert fc["upper"][2] - fc["lower"][2] > fc["upper"][0] - fc["lower"][0]  # wider further out
    assert drift_forecast(months[:1], [1.0])["empty"]
    assert next_months("2026-11", 3) == ["2026-12", "2027-01", "2027-02"]


def test_forecast_service_is_used_when_present(monkeypatch: pytest.MonkeyPatch, small_wh_url: str,
                                               tmp_path: Path) -> None:
    class FakeService:
        @classmethod
        def load(cls, artifacts_dir: Path, wh: object) -> FakeService:
            return cls()

        def forecast(self, horizon: int = 3) -> ForecastResult:
            return ForecastResult(ForecastStatus.OK, ForecastLevel.TOTAL, "全行", history_months=("2026-10",),
                                  history=(5.0,), forecast_months=("2026-11", "2026-12", "2027-01"),
                                  forecast=(6.0, 7.0, 8.0), lower=(5.5, 6.0, 6.5), upper=(6.5, 8.0, 9.5),
                                  model="SARIMA", horizon=horizon)

    module = types.ModuleType("million.forecast.serving")
    module.ForecastService = FakeService  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "million.forecast.serving", module)
    got = from_service(tmp_path, object(), "2026-10")
    assert got["source"] == "service" and got["forecast"] == [6.0, 7.0, 8.0] and got["months"][0] == "2026-11"
    assert got["lower"] == [5.5, 6.0, 6.5] and "SARIMA" in got["method"]
    fc = DashboardService(small_wh_url, tmp_path).data()["charts"]["trend"]["forecast"]
    assert fc["source"] == "service"

    class Broken(FakeService):
        @classmethod
        def load(cls, artifacts_dir: Path, wh: object) -> FakeService:
            raise FileNotFoundError("model.pkl")

    module.ForecastService = Broken  # type: ignore[attr-defined]
    assert "不可用" in from_service(tmp_path, object(), "2026-10")


def test_versioned_cache_drops_old_versions() -> None:
    c = VersionedCache(max_entries=2)
    calls: list[str] = []

    def make(v: str):
        return lambda: calls.append(v) or v

    assert c.get_or_compute("v1", "a", make("a1")) == ("a1", False)
    assert c.get_or_compute("v1", "a", make("a1")) == ("a1", True)
    assert c.get_or_compute("v2", "a", make("a2")) == ("a2", False)  # new version: recomputed
    c.get_or_compute("v2", "b", make("b2"))
    c.get_or_compute("v2", "c", make("c2"))  # evicts "a" (max 2)
    assert c.get_or_compute("v2", "a", make("a2")) == ("a2", False)
    assert c.get_or_compute("v2", "x", lambda: "bad", keep=lambda v: v != "bad") == ("bad", False)
    assert c.get_or_compute("v2", "x", lambda: "good") == ("good", False)  # the rejected value was not kept
    assert calls == ["a1", "a2", "b2", "c2", "a2"]


def test_no_environment_reads() -> None:
    """Settings are the only place that reads the environment."""
    root = Path(__file__).resolve().parents[2]
    for folder in ("million/dashboard", "webapp/dashboard"):
        for f in (root / folder).glob("*.py"):
            text = f.read_text(encoding="utf-8")
            assert "os.environ" not in text and "getenv" not in text, f

"""ForecastService on generated data: histories against the files, horizons, lookups, short
histories (hex data), charts, and the report's honesty about where the forecast loses to naive."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from million.charts import missing_glyphs
from million.forecast import store
from million.forecast.backtest import METHODS
from million.forecast.charts import forecast_figure
from million.forecast.results import ForecastLevel, ForecastResult, ForecastStatus, Invalid
from million.forecast.serving import ForecastService
from million.segments import store as seg_store
from million.segments.lookup import LookupProblem
from tests.segments.analytics import Built, reader


def files(b: Built) -> tuple[pd.DataFrame, pd.DataFrame]:
    return (pd.read_parquet(b.data_dir / "customer_behavior_assets.parquet"),
            pd.read_parquet(b.data_dir / "customer_base.parquet"))


@pytest.fixture(scope="module")
def svc(small_built: Built):
    with reader(small_built.url) as wh:
        yield ForecastService.load(small_built.artifacts, wh)


def consecutive(months: list[str]) -> bool:
    idx = [int(m[:4]) * 12 + int(m[5:]) for m in months]
    return all(b - a == 1 for a, b in zip(idx, idx[1:], strict=False))


def test_total_history_and_horizons(svc: ForecastService, small_built: Built) -> None:
    beh, _ = files(small_built)
    monthly = beh.groupby("stat_month")["total_assets"].sum()
    r12 = svc.forecast(horizon=12)
    assert r12.status is ForecastStatus.OK and r12.history == pytest.approx(monthly.to_numpy(), rel=1e-9)
    assert list(r12.history_months) == monthly.index.tolist()
    for h in (1, 3, 6, 12):
        r = svc.forecast(horizon=h)
        assert len(r.forecast) == len(r.lower) == len(r.upper) == len(r.forecast_months) == h == r.horizon
        assert r.forecast == r12.forecast[:h]  # a shorter horizon is a prefix of the same model
        assert consecutive([*r.history_months[-1:], *r.forecast_months])
        assert all(lo <= m <= up for lo, m, up in zip(r.lower, r.forecast, r.upper, strict=True))
    assert r12.model and r12.level is ForecastLevel.TOTAL and r12.method_key in METHODS


def test_bad_arguments(svc: ForecastService) -> None:
    for h in (0, 13, -1, True, 2.5, "3", None):
        r = svc.forecast(horizon=h)
        assert r.status is ForecastStatus.INVALID and r.invalid is Invalid.HORIZON
    assert svc.forecast(customer_id="C0000001", segment="0").invalid is Invalid.SEVERAL_TARGETS
    for bad in ["", "x" * 10_000, "' OR 1=1 --", "../../../etc/passwd", 42, "C0000001\x00"]:
        r = svc.forecast(customer_id=bad)
        assert (r.status, r.invalid) in {(ForecastStatus.INVALID, Invalid.CUSTOMER_ID), (ForecastStatus.UNKNOWN, None)}
        assert r.level is ForecastLevel.CUSTOMER and not r.forecast
    r = svc.forecast(segment="不存在的客群")
    assert r.status is ForecastStatus.UNKNOWN and r.lookup.problem is LookupProblem.NOT_FOUND and r.lookup.names
    r = svc.forecast(branch="火星分行月球支行")
    assert r.status is ForecastStatus.UNKNOWN and r.lookup.problem is LookupProblem.NOT_FOUND
    r = svc.forecast(branch="分行")
    assert r.status is ForecastStatus.AMBIGUOUS and len(r.lookup.matches) > 1
    assert svc.forecast(branch=123).invalid is Invalid.BRANCH
    assert svc.forecast(branch="  ").invalid is Invalid.BRANCH
    assert svc.forecast(segment="").status is ForecastStatus.UNKNOWN


def test_segments_and_branches(svc: ForecastService, small_built: Built) -> None:
    beh, base = files(small_built)
    seg = pd.read_parquet(seg_store.folder(small_built.artifacts) / seg_store.ASSIGNMENTS)
    for sid, name in seg.drop_duplicates("segment_id")[["segment_id", "segment_name"]].itertuples(index=False):
        members = seg.loc[seg["segment_id"] == sid, "customer_id"]
        expect = beh[beh["customer_id"].isin(members)].groupby("stat_month")["total_assets"].sum()
        for q in (name, int(sid), f"客群{sid}"):
            r = svc.forecast(segment=q)
            assert r.status is ForecastStatus.OK and name in r.label and r.name == name
            assert r.history == pytest.approx(expect.to_numpy(), rel=1e-9)
    doc = svc.doc["series"]
    branch_keys = [k for k, e in doc.items() if k.startswith("branch:")]
    assert branch_keys
    name = doc[branch_keys[0]]["name"]
    members = base.loc[base["branch_name"] == name, "customer_id"]
    expect = beh[beh["customer_id"].isin(members)].groupby("stat_month")["total_assets"].sum()
    r = svc.forecast(branch=name)
    assert r.status is ForecastStatus.OK and r.history == pytest.approx(expect.to_numpy(), rel=1e-9)
    assert r.level is ForecastLevel.BRANCH and r.name == name


def test_customer_forecast_and_its_own_backtest(svc: ForecastService, small_built: Built) -> None:
    beh, _ = files(small_built)
    cid = str(beh["customer_id"].iloc[0])
    y = beh.loc[beh["customer_id"] == cid].sort_values("stat_month")["total_assets"].to_numpy(dtype=float)
    r = svc.forecast(customer_id=cid, horizon=4)
    assert r.status is ForecastStatus.OK and r.level is ForecastLevel.CUSTOMER and r.history == pytest.approx(y)
    assert r.customer_id == cid and cid in r.label
    naive_mape = float(np.mean(np.abs(y[-3:] - y[-4]) / y[-3:]))
    assert r.backtest.mape["naive"] == pytest.approx(naive_mape, rel=1e-9)
    assert r.backtest_mape == r.backtest.mape[r.method_key]
    again = svc.forecast(customer_id=cid, horizon=2)
    assert again.forecast == r.forecast[:2]  # served from the cache, same model
    assert svc.forecast(customer_id=cid + "X").status is ForecastStatus.UNKNOWN


def test_chart(svc: ForecastService) -> None:
    r = svc.forecast(horizon=6)
    png = svc.chart_png(r)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    assert missing_glyphs(forecast_figure(r)) == []
    with pytest.raises(ValueError, match="cannot chart"):
        svc.chart_png(ForecastResult(ForecastStatus.INVALID, invalid=Invalid.HORIZON))


def test_report_is_honest_about_naive(small_built: Built) -> None:
    doc = json.loads((store.folder(small_built.artifacts) / store.AGGREGATES).read_text(encoding="utf-8"))
    report = (store.folder(small_built.artifacts) / store.REPORT).read_text(encoding="utf-8")
    m = re.search(r"未优于朴素的：(.*?)。", report)
    losers = m.group(1) if m else ""
    for e in doc["series"].values():
        if e["level"] not in ("total", "segment") or not e["test"]:
            continue
        used, nv = e["test"][e["selected"]], e["test"]["naive"]
        assert used < nv or e["selected"] == "naive" or e["label"] in losers
        assert e["label"] in report
    bt = pd.read_parquet(store.folder(small_built.artifacts) / store.CUSTOMER_BACKTEST)
    ok = bt.dropna(subset=[f"mape_{x}" for x in METHODS])
    for x in METHODS:
        assert doc["customers"]["median"][x] == pytest.approx(ok[f"mape_{x}"].median())
    assert doc["customers"]["policy"] == min(METHODS, key=lambda x: (doc["customers"]["median"][x], METHODS.index(x)))


def test_short_histories_on_hex_data(hex_built: Built) -> None:
    beh, _ = files(hex_built)
    counts = beh.groupby("customer_id")["stat_month"].nunique()
    with reader(hex_built.url) as wh:
        svc = ForecastService.load(hex_built.artifacts, wh)
        short = counts[counts < 6].index[:5]
        assert len(short)
        for cid in short:
            r = svc.forecast(customer_id=cid)
            assert r.status is ForecastStatus.INSUFFICIENT_HISTORY and r.months_needed == 6
            assert r.months_available == counts[cid] < 6
        mid = counts[(counts >= 6) & (counts < 9)].index[:3]
        for cid in mid:
            r = svc.forecast(customer_id=cid)
            assert r.status is ForecastStatus.OK and r.backtest is None and len(r.history) == counts[cid]
        full = counts[counts == counts.max()].index[0]
        assert svc.forecast(customer_id=full).status is ForecastStatus.OK
        assert svc.forecast().history_months[-1] == "2025-06"


def test_total_chart_axis_reads_in_yi_like_the_text() -> None:
    """The bank-wide series is in the tens of 亿: the axis says 160亿, not 1,600,000万."""
    from million.forecast.charts import forecast_figure

    months = [f"2025-{m:02d}" for m in range(1, 13)]
    hist = [1.55e10 + i * 1.2e8 for i in range(12)]
    res = ForecastResult(ForecastStatus.OK, ForecastLevel.TOTAL, "全行", model="ARIMA", history_months=tuple(months),
                         history=tuple(hist), forecast_months=("2026-01", "2026-02", "2026-03"), forecast=(1.69e10,) * 3,
                         lower=(1.6e10,) * 3, upper=(1.78e10,) * 3)
    fig = forecast_figure(res)
    fig.canvas.draw()
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert labels and all(t.endswith("亿") for t in labels), labels
    assert all(len(t.rstrip("亿").replace(",", "").split(".")[0]) <= 3 for t in labels), labels
    assert ax.get_ylabel() == "AUM（亿元）"
    import matplotlib.pyplot as plt

    plt.close(fig)

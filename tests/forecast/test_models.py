"""Forecasting methods and the backtest on series whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from million.forecast.backtest import evaluate, mape
from million.forecast.models import Z95, arima, choose_d, drift, naive


def test_naive_and_drift_by_hand() -> None:
    y = np.array([10.0, 12, 14, 16, 18])
    n = naive(y, 3)
    assert n.mean.tolist() == [18, 18, 18]
    assert n.upper.tolist() == pytest.approx([18 + Z95 * 2 * np.sqrt(h) for h in (1, 2, 3)])
    d = drift(y, 3)
    assert d.mean.tolist() == pytest.approx([20, 22, 24])
    assert d.lower.tolist() == pytest.approx([20, 22, 24])  # a perfect line: no spread


def test_intervals_widen_and_never_go_negative() -> None:
    rng = np.random.default_rng(3)
    y = np.abs(1000 + np.cumsum(rng.normal(0, 300, 24)))
    for f in (naive(y, 12), drift(y, 12), arima(y, 12)):
        width = f.upper - f.lower
        assert (f.lower >= 0).all() and (f.lower <= f.mean).all() and (f.mean <= f.upper).all()
        assert width[-1] > width[0]


def test_stationarity_check_and_arima_orders() -> None:
    rng = np.random.default_rng(7)
    ar = np.empty(80)
    ar[0] = 100
    for t in range(1, 80):
        ar[t] = 100 + 0.5 * (ar[t - 1] - 100) + rng.normal(0, 2)
    assert choose_d(ar)["d"] == 0
    walk = 1e6 + np.cumsum(rng.normal(2e4, 5e3, 40))
    assert choose_d(walk)["d"] == 1
    f = arima(walk, 3)
    assert f.method == "arima" and f.order[1] == 1 and "漂移" in f.label
    assert f.lower[2] < walk[-1] + 3 * 2e4 < f.upper[2]
    short = choose_d(walk[:8])
    assert short["d"] == 1 and short["adf_p"] is None
    no_drift = arima(walk, 3, with_drift=False)
    assert "漂移" not in no_drift.label and no_drift.trend == "n"


def test_constant_series_is_not_an_error() -> None:
    f = arima(np.full(12, 5e5), 3)
    assert f.mean.tolist() == [5e5] * 3 and f.note


def test_mape() -> None:
    assert mape(np.array([0.0, 100.0]), np.array([5.0, 110.0])) == pytest.approx(0.1)
    assert mape(np.zeros(3), np.ones(3)) is None


def test_backtest_choice_and_windows() -> None:
    rng = np.random.default_rng(11)
    trend = 1e8 * (1 + 0.03 * np.arange(24)) + rng.normal(0, 2e5, 24)
    ev = evaluate(trend)
    assert ev["selected_by"] == "validation" and ev["selected"] != "naive"
    assert ev["test"]["mape"]["naive"] > ev["test"]["mape"][ev["selected"]]
    assert evaluate(trend[:10])["selected_by"] == "test"
    assert evaluate(trend[:7])["selected_by"] == "default" and evaluate(trend[:7])["test"] is None

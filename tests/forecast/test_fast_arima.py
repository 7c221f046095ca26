"""million.forecast.fast_arima against statsmodels' ARIMA: same likelihood, same forecasts, same AIC.
Where they differ, the fast fit must be the better optimum (statsmodels' L-BFGS sometimes stops early
on short series, near an MA(1) boundary)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from statsmodels.tsa.arima.model import ARIMA

from million.forecast import fast_arima
from million.forecast import models as M

KINDS = ("rw", "ar", "ma", "ima", "iar")


def _series(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    e = rng.normal(0, 1, n + 1)
    x = np.zeros(n)
    if kind == "rw":
        return np.cumsum(rng.normal(0.3, 1, n)) + 50
    if kind in ("ar", "iar"):
        for t in range(1, n):
            x[t] = (0.6 if kind == "ar" else 0.5) * x[t - 1] + e[t]
        return x + 20 if kind == "ar" else np.cumsum(x) + 40
    if kind == "ma":
        return e[1:] + 0.5 * e[:-1] + 10
    return np.cumsum(e[1:] - 0.4 * e[:-1]) + 30


def _statsmodels(y: np.ndarray, order: tuple[int, int, int], trend: str, h: int):  # noqa: ANN202
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = ARIMA(y, order=order, trend=trend, concentrate_scale=True).fit(cov_type="none")
        fc = r.get_forecast(h)
        return r, np.asarray(fc.predicted_mean), np.asarray(fc.se_mean)


@pytest.mark.parametrize("kind", KINDS)
def test_matches_statsmodels(kind: str) -> None:
    rng = np.random.default_rng(KINDS.index(kind))
    compared = 0
    for _ in range(6):
        y = _series(kind, int(rng.integers(8, 37)), rng)
        y = y / np.abs(y).max()
        for d, trend in ((0, "c"), (1, "n"), (1, "t")):
            for p, q in ((0, 0), (1, 0), (0, 1)):
                if p + q == 0 and trend == "n":
                    continue  # nothing to estimate: statsmodels refuses it, the grid skips it
                r, mean_sm, se_sm = _statsmodels(y, (p, d, q), trend, 6)
                f = fast_arima.fit(y, (p, d, q), trend)
                mean, se = fast_arima.forecast(f, float(y[-1]), 6)
                assert f.llf >= r.llf - 1e-3, (kind, p, d, q, trend)  # never a worse optimum
                if f.llf - r.llf < 1e-3:  # the same optimum: the same answer
                    compared += 1
                    assert f.aic == pytest.approx(r.aic, abs=0.01)
                    assert np.max(np.abs(mean - mean_sm)) < 2e-3
                    assert np.max(np.abs(se / se_sm - 1)) < 0.01
    assert compared >= 40


def test_customer_grid_uses_it_and_selects_like_statsmodels() -> None:
    rng = np.random.default_rng(7)
    for kind in KINDS * 4:
        y = _series(kind, 24, rng) * 1e5
        fast = M.arima(y, 12, M.CUSTOMER_GRID, with_drift=False)
        d = M.choose_d(y)["d"]
        sm = M._statsmodels(y / np.abs(y).max(), d, "c" if d == 0 else "n", M.CUSTOMER_GRID, 12)
        assert fast.method == "arima" and sm is not None
        aic, order, mean, ci = sm
        assert fast.order == order
        scale = np.abs(y).max()
        assert np.max(np.abs(fast.mean - mean * scale)) < 2e-3 * scale
        assert np.max(np.abs(fast.upper - ci[:, 1] * scale)) < 0.01 * scale


def test_rejects_orders_it_does_not_implement() -> None:
    with pytest.raises(ValueError):
        fast_arima.fit(np.arange(20.0), (2, 0, 0), "c")
    with pytest.raises(ValueError):
        fast_arima.fit(np.arange(20.0), (1, 2, 0), "n")

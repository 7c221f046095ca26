"""Exact-likelihood ARIMA(p,d,q) for the customer grid (p, q) in {(0,0), (1,0), (0,1)}, d in {0, 1}, in
numpy: the same model statsmodels fits (Gaussian likelihood, stationary/invertible parameters, the
mean concentrated out by GLS, the scale by its MLE, AIC counted as statsmodels counts it), without
the state-space machinery: a customer forecast is fitted while the RM waits, and statsmodels spent
about 5 ms of Python per fit on 24 points, with up to six fits per customer. tests/forecast/test_fast_arima.py
checks it against statsmodels.

The likelihood uses the innovations algorithm (Brockwell & Davis, 5.2): for ARMA models of order one
the innovations e_t and their relative variances r_t have closed recursions, and both are linear in
the data, so the mean is estimated by GLS for each candidate coefficient.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

SUPPORTED = frozenset({(0, 0), (1, 0), (0, 1)})
BOUND = 0.999  # |phi|, |theta| < 1: stationary AR, invertible MA (statsmodels enforces both)
_GRID = np.linspace(-BOUND, BOUND, 81)
_LOG2PI = math.log(2 * math.pi)


@dataclass
class Fit:
    order: tuple[int, int, int]
    coef: float  # phi (AR), theta (MA) or 0
    mean: float  # of the (differenced) series; 0 when the model has none
    sigma2: float
    llf: float
    aic: float
    last_innovation: float
    last_r: float  # relative variance of the last innovation
    last_w: float  # last value of the (differenced) series


def _innovations(x: np.ndarray, a: np.ndarray, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Innovations e[t, k] and relative variances r[t, k] of series x under coefficient a[k]."""
    n, m = len(x), len(a)
    e = np.empty((n, m))
    r = np.ones((n, m))
    if kind == "ar":
        e[0] = x[0]
        r[0] = 1.0 / (1.0 - a * a)
        e[1:] = x[1:, None] - a[None, :] * x[:-1, None]
    elif kind == "ma":
        rt = 1.0 + a * a
        pred = np.zeros(m)
        for t in range(n):
            e[t] = x[t] - pred
            r[t] = rt
            pred = a / rt * e[t]
            rt = 1.0 + a * a - a * a / rt
    else:
        e[:] = x[:, None]
    return e, r


def _profile(w: np.ndarray, a: np.ndarray, kind: str, with_mean: bool) -> tuple[np.ndarray, ...]:
    """Concentrated log-likelihood for each coefficient in a, with the GLS mean and the scale."""
    e_w, r = _innovations(w, a, kind)
    if with_mean:
        e_1, _ = _innovations(np.ones_like(w), a, kind)
        mu = (e_w * e_1 / r).sum(0) / (e_1 * e_1 / r).sum(0)
        e = e_w - mu[None, :] * e_1
    else:
        mu = np.zeros(len(a))
        e = e_w
    n = len(w)
    s = (e * e / r).sum(0)
    sigma2 = np.maximum(s / n, 1e-300)
    llf = -0.5 * n * (_LOG2PI + np.log(sigma2) + 1.0) - 0.5 * np.log(r).sum(0)
    return llf, mu, sigma2, e, r


def _argmax(w: np.ndarray, kind: str, with_mean: bool) -> float:
    """The coefficient maximising the profile likelihood: a grid over (-1, 1), then three zooms into
    the best cell, each one vectorised (the zoomed step ends near 1e-6; no optimiser round trips)."""
    grid = _GRID
    for _ in range(4):
        llf = _profile(w, grid, kind, with_mean)[0]
        i = int(np.nanargmax(llf))
        step = grid[1] - grid[0]
        grid = np.clip(np.linspace(grid[i] - step, grid[i] + step, 41), -BOUND, BOUND)
    return float(grid[20])


def fit(y: np.ndarray, order: tuple[int, int, int], trend: str) -> Fit:
    """Fit ARIMA(order) with trend 'n' (none), 'c' (constant, d=0) or 't' (drift, d=1) to y."""
    p, d, q = order
    if (p, q) not in SUPPORTED or d not in (0, 1):
        raise ValueError(f"fast ARIMA supports (p,q) in {sorted(SUPPORTED)} and d in (0, 1), not {order}")
    y = np.asarray(y, dtype=float)
    w = np.diff(y) if d == 1 else y
    with_mean = (trend == "c" and d == 0) or (trend == "t" and d == 1)
    kind = "ar" if p else ("ma" if q else "wn")
    a = 0.0 if kind == "wn" else _argmax(w, kind, with_mean)
    llf, mu, sigma2, e, r = (v[..., 0] if np.ndim(v) else v for v in _profile(w, np.array([a]), kind, with_mean))
    k = (p + q) + int(with_mean) + 1  # as statsmodels counts: free parameters + the concentrated scale
    llf_f = float(llf)
    return Fit(order, a, float(mu), float(sigma2), llf_f, -2.0 * llf_f + 2.0 * k, float(e[-1]), float(r[-1]),
               float(w[-1]))


def forecast(f: Fit, y_last: float, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard error of y for h = 1..horizon (exact finite-sample, as the Kalman filter)."""
    p, d, q = f.order
    h = np.arange(1, horizon + 1)
    mu, a = f.mean, f.coef
    if q:  # MA(1): one step carries the last innovation, then only the mean
        w_hat = np.full(horizon, mu)
        w_hat[0] = mu + a / f.last_r * f.last_innovation
        r_next = 1.0 + a * a - a * a / f.last_r  # variance of the next innovation, relative to sigma2
        if d == 0:
            var = np.where(h == 1, r_next, 1.0 + a * a)
        else:  # state uncertainty once, then each later shock counts (1 + theta) except the last
            var = (r_next - 1.0) + (h - 1) * (1.0 + a) ** 2 + 1.0
        mean = w_hat if d == 0 else y_last + np.cumsum(w_hat)
        return mean, np.sqrt(np.maximum(var, 0.0) * f.sigma2)
    # AR(1) (coefficient a) or white noise (a = 0): w_{T+h} = mu + a^h (w_T - mu), error weights a^j
    w_hat = mu + a ** h * (f.last_w - mu) if p else np.full(horizon, mu)
    psi = a ** np.arange(horizon) if p else np.eye(1, horizon)[0]
    if d == 0:
        mean, var = w_hat, np.cumsum(psi ** 2)
    else:
        mean, var = y_last + np.cumsum(w_hat), np.cumsum(np.cumsum(psi) ** 2)
    return mean, np.sqrt(np.maximum(var, 0.0) * f.sigma2)

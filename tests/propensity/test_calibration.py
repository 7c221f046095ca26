from __future__ import annotations

import numpy as np

from million.propensity.calibration import fit_platt, logit


def test_platt_is_monotone_and_calibrates() -> None:
    rng = np.random.default_rng(0)
    true_p = rng.beta(0.3, 8, 50_000)
    y = (rng.random(true_p.size) < true_p).astype(int)
    raw = logit(true_p) * 0.5 + 1.5  # a ranking-perfect but badly scaled score
    cal = fit_platt(raw, y)
    p = cal(raw)
    assert np.all(np.diff(p[np.argsort(raw)]) >= 0)
    assert abs(p.mean() - y.mean()) < 0.003
    assert abs(cal.a - 2.0) < 0.2


def test_score_that_does_not_rank_stays_monotone() -> None:
    rng = np.random.default_rng(1)
    raw = rng.normal(size=2000)
    y = (raw < -1).astype(int)  # anti-correlated
    cal = fit_platt(raw, y)
    assert cal.a > 0

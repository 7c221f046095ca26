"""LightGBM's monotone constraints: a higher threshold (a bigger gap) never raises a customer's score."""

from __future__ import annotations

from typing import Any

import lightgbm as lgb
import numpy as np
import pytest

from million.contract import MILLION
from million.propensity.features import FEATURE_COLUMNS, THRESHOLD_FEATURES, threshold_features
from million.propensity.train import LGBM_PARAMS, MONOTONE, TrainData, fit_lgbm
from tests.propensity.synthetic import SMALL, synthetic_data


@pytest.fixture(scope="module")
def data() -> TrainData:
    return synthetic_data()


def _params(constrained: bool) -> dict[str, Any]:
    lgbm = dict(SMALL["lgbm"])
    if not constrained:
        lgbm.pop("monotone_constraints")
        lgbm.pop("monotone_constraints_method")
    return {**SMALL, "lgbm": lgbm, "bag_seeds": 2}


@pytest.fixture(scope="module")
def constrained(data: TrainData) -> lgb.Booster:
    return fit_lgbm(data, _params(True))[0]


@pytest.fixture(scope="module")
def free(data: TrainData) -> lgb.Booster:
    return fit_lgbm(data, _params(False))[0]


def test_the_constraints_name_exactly_the_threshold_features() -> None:
    assert LGBM_PARAMS["monotone_constraints"] == MONOTONE
    assert [c for c, m in zip(FEATURE_COLUMNS, MONOTONE, strict=True) if m] == THRESHOLD_FEATURES
    assert set(MONOTONE) == {-1, 0}


def _rises_per_feature(booster: lgb.Booster, data: TrainData) -> dict[str, int]:
    """For each threshold feature alone: how many (row, step) pairs score higher after the feature grew."""
    X = data.test[FEATURE_COLUMNS].to_numpy(dtype=float)
    out = {}
    for name in THRESHOLD_FEATURES:
        j = FEATURE_COLUMNS.index(name)
        grid = np.quantile(data.train[name], np.linspace(0, 1, 25))
        scores = []
        for v in grid:
            Xv = X.copy()
            Xv[:, j] = v
            scores.append(booster.predict(Xv, raw_score=True))
        out[name] = int((np.diff(np.stack(scores), axis=0) > 1e-9).sum())
    return out


def test_a_bigger_gap_never_raises_the_score(constrained: lgb.Booster, free: lgb.Booster,
                                             data: TrainData) -> None:
    assert _rises_per_feature(constrained, data) == dict.fromkeys(THRESHOLD_FEATURES, 0)
    # the same check finds rises in the model trained without constraints, so it can fail
    assert sum(_rises_per_feature(free, data).values()) > 0


def test_a_higher_threshold_never_raises_the_score(constrained: lgb.Booster, data: TrainData) -> None:
    """All threshold features recomputed together, as the augmentation does for a threshold above 1M."""
    base = data.test.copy()
    X = base[FEATURE_COLUMNS].to_numpy(dtype=float)
    previous = constrained.predict(X, raw_score=True)
    for factor in (1.05, 1.2, 1.5, 2.0):
        Xt = X.copy()
        for name, values in threshold_features(base, factor * MILLION).items():
            Xt[:, FEATURE_COLUMNS.index(name)] = values
        score = constrained.predict(Xt, raw_score=True)
        assert (score <= previous + 1e-9).all()
        previous = score

"""Seed bagging: K LightGBM boosters merged into one booster whose raw score is their mean."""

from __future__ import annotations

from typing import Any

import lightgbm as lgb
import numpy as np
import pytest

from million.propensity.bundle import ModelBundle
from million.propensity.explain import contributions
from million.propensity.features import FEATURE_COLUMNS
from million.propensity.train import (
    TrainData,
    augment,
    fit_lgbm,
    fit_lgbm_boosters,
    merge_boosters,
    train_models,
)
from tests.propensity.synthetic import SMALL, synthetic_data


@pytest.fixture(scope="module")
def data() -> TrainData:
    return synthetic_data()


@pytest.fixture(scope="module")
def boosters(data: TrainData) -> list[lgb.Booster]:
    return fit_lgbm_boosters(data, SMALL, 3)[0]


def test_merged_raw_score_is_the_mean(data: TrainData, boosters: list[lgb.Booster]) -> None:
    X = data.test[FEATURE_COLUMNS].to_numpy(dtype=float)
    raws = [b.predict(X, raw_score=True) for b in boosters]
    assert not np.allclose(raws[0], raws[1])  # the seeds make different models, else bagging is pointless
    merged = merge_boosters(boosters)
    assert merged.num_trees() == sum(b.num_trees() for b in boosters)
    np.testing.assert_allclose(merged.predict(X, raw_score=True), np.mean(raws, axis=0), rtol=0, atol=1e-9)
    # the model file the bundle saves loads back to the same model
    again = lgb.Booster(model_str=merged.model_to_string())
    np.testing.assert_allclose(again.predict(X, raw_score=True), np.mean(raws, axis=0), rtol=0, atol=1e-9)
    assert merged.feature_name() == FEATURE_COLUMNS
    assert merged.feature_importance("gain").sum() > 0


def test_shap_of_the_merged_booster_adds_up(data: TrainData, boosters: list[lgb.Booster]) -> None:
    X = data.test[FEATURE_COLUMNS].to_numpy(dtype=float)[:200]
    merged = merge_boosters(boosters)
    contrib = merged.predict(X, pred_contrib=True)
    np.testing.assert_allclose(contrib.sum(axis=1), merged.predict(X, raw_score=True), rtol=0, atol=1e-9)
    # TreeSHAP is linear in the leaf values: the merged model's SHAP is the mean of the boosters'
    mean_contrib = np.mean([b.predict(X, pred_contrib=True) for b in boosters], axis=0)
    np.testing.assert_allclose(contrib, mean_contrib, rtol=0, atol=1e-9)


def _fit_lgbm_before_bagging(data: TrainData, params: dict[str, Any]) -> lgb.Booster:
    """fit_lgbm as it was before seed bagging (verbatim, minus the details)."""
    rng = np.random.default_rng(params["seed"])
    X, y = augment(data.train_all, params["augment_copies"], tuple(params["augment_growth"]), rng)
    p = {**params["lgbm"], "seed": params["seed"], "num_threads": params["threads"]}
    dtrain = lgb.Dataset(X, y, feature_name=FEATURE_COLUMNS, free_raw_data=True)
    dval = lgb.Dataset(data.val[FEATURE_COLUMNS].to_numpy(dtype=np.float32), data.val["label"].to_numpy(),
                       reference=dtrain)
    booster = lgb.train(p, dtrain, params["max_rounds"], valid_sets=[dval],
                        callbacks=[lgb.early_stopping(params["early_stopping"], verbose=False)])
    best = booster.best_iteration or booster.current_iteration()
    return lgb.Booster(model_str=booster.model_to_string(num_iteration=best))


def test_one_seed_is_the_model_from_before(data: TrainData) -> None:
    X = data.test[FEATURE_COLUMNS].to_numpy(dtype=float)
    new, details = fit_lgbm(data, {**SMALL, "bag_seeds": 1})
    old = _fit_lgbm_before_bagging(data, SMALL)
    np.testing.assert_array_equal(new.predict(X, raw_score=True), old.predict(X, raw_score=True))
    assert details["best_iteration"] == old.current_iteration() == details["best_iterations"][0]
    assert details["bag_seeds"] == 1 and details["train_rows"] > len(data.train)


def test_bagged_bundle_saves_loads_and_explains(data: TrainData, tmp_path) -> None:  # type: ignore[no-untyped-def]
    bundle = train_models(data, {**SMALL, "bag_seeds": 2})
    d = bundle.info["details"]["lgbm"]
    assert d["bag_seeds"] == 2 and d["seeds"] == [SMALL["seed"], SMALL["seed"] + 1] and len(d["best_iterations"]) == 2
    assert d["trees"] == sum(d["best_iterations"]) == bundle.lgbm.num_trees()
    bundle.save(tmp_path)
    loaded = ModelBundle.load(tmp_path)
    X = bundle.matrix(data.test)
    np.testing.assert_allclose(loaded.predict("lgbm", X), bundle.predict("lgbm", X), rtol=0, atol=1e-12)
    phi, base = contributions(loaded, X[:50])
    cal = loaded.calibrators["lgbm"]
    np.testing.assert_allclose(base + phi.sum(axis=1), cal.logit(loaded.raw_logit("lgbm", X[:50])), atol=1e-9)


def test_bag_seeds_must_be_positive(data: TrainData) -> None:
    with pytest.raises(ValueError):
        fit_lgbm(data, {**SMALL, "bag_seeds": 0})

"""Refit on training + validation months: every validation choice kept, the test month never used."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from million.contract import MILLION
from million.propensity.bundle import ModelBundle
from million.propensity.features import FEATURE_COLUMNS
from million.propensity.train import TrainData, make_train_data, refit_on_validation, train_models
from tests.propensity.synthetic import SMALL, synthetic_data

PARAMS = {**SMALL, "bag_seeds": 2}


@pytest.fixture(scope="module")
def data() -> TrainData:
    return synthetic_data()


@pytest.fixture(scope="module")
def validated(data: TrainData) -> ModelBundle:
    return train_models(data, {**PARAMS, "refit": False})


@pytest.fixture(scope="module")
def refit(validated: ModelBundle, data: TrainData) -> ModelBundle:
    return refit_on_validation(validated, data, PARAMS)


def test_refit_keeps_the_choices_and_calibrators(validated: ModelBundle, refit: ModelBundle, data: TrainData) -> None:
    rounds = validated.info["details"]["lgbm"]["best_iterations"]
    assert refit.info["refit"]["rounds"] == rounds
    assert refit.lgbm.num_trees() == sum(rounds)  # each seed refitted with exactly its early-stopping rounds
    assert refit.lr.named_steps["lr"].C == validated.info["details"]["lr"]["C"]
    assert refit.calibrators == validated.calibrators
    assert refit.info["refit"]["months"] == data.split.train + data.split.val
    assert refit.info["refit"]["rows_real"] == len(data.train) + len(data.val)
    # the validation metrics stay those of the validated models (out of time), not the refitted ones
    assert refit.info["validation"] == validated.info["validation"]
    X = data.test[FEATURE_COLUMNS].to_numpy(dtype=float)
    for key in ("lr", "tree", "lgbm"):  # refitted on more months: different models
        assert not np.allclose(refit.raw_logit(key, X), validated.raw_logit(key, X))


def test_refit_learns_from_the_validation_months(data: TrainData, validated: ModelBundle,
                                                 refit: ModelBundle) -> None:
    """With the same validated choices, other labels in the validation months give other refitted models."""
    flipped = dataclasses.replace(data, val=data.val.assign(label=1 - data.val["label"]),
                                  val_all=data.val_all.assign(future_max_assets=0.0))
    other = refit_on_validation(validated, flipped, PARAMS)
    X = data.test[FEATURE_COLUMNS].to_numpy(dtype=float)
    for key in ("lr", "tree", "lgbm"):
        assert not np.allclose(other.raw_logit(key, X), refit.raw_logit(key, X))


def test_test_month_never_reaches_a_fit(data: TrainData, refit: ModelBundle) -> None:
    """Scrambling the test month's labels and features changes neither the validated nor the refitted models."""
    rng = np.random.default_rng(0)
    test = data.test.copy()
    test["label"] = rng.permutation(test["label"].to_numpy())
    test[FEATURE_COLUMNS] = rng.permutation(test[FEATURE_COLUMNS].to_numpy())
    test["aum_cur"] = np.minimum(test["aum_cur"], MILLION - 1)
    scrambled = dataclasses.replace(data, test=test)
    again = train_models(scrambled, {**PARAMS, "refit": True})
    X = data.val[FEATURE_COLUMNS].to_numpy(dtype=float)
    for key in ("lr", "tree", "lgbm"):
        np.testing.assert_array_equal(again.raw_logit(key, X), refit.raw_logit(key, X))


def test_train_models_with_refit_is_validate_then_refit(data: TrainData, refit: ModelBundle) -> None:
    bundle = train_models(data, {**PARAMS, "refit": True})
    X = data.test[FEATURE_COLUMNS].to_numpy(dtype=float)
    np.testing.assert_array_equal(bundle.raw_logit("lgbm", X), refit.raw_logit("lgbm", X))
    assert "refit" in bundle.info["seconds"] and bundle.info["refit"]["trees"] == bundle.lgbm.num_trees()


def test_refit_needs_the_validation_customers(data: TrainData, validated: ModelBundle) -> None:
    with pytest.raises(ValueError, match="验证月"):
        refit_on_validation(validated, dataclasses.replace(data, val_all=None), PARAMS)


def test_make_train_data_keeps_the_validation_customers_only_when_asked(data: TrainData) -> None:
    labelled = pd.concat([data.train_all, data.val_all, data.test], ignore_index=True)
    plain = make_train_data(labelled, data.split)
    assert plain.val_all is None
    kept = make_train_data(labelled, data.split, keep_val_all=True)
    assert set(kept.val_all["as_of"]) == set(data.split.val) and len(kept.val_all) == len(data.val_all)
    assert (kept.val_all["aum_cur"] >= MILLION).any()  # every customer, not only the prospects

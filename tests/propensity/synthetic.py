"""Synthetic customer-months for the training tests: random features, AUM growth driven by a few of them,
so LightGBM has something to learn in a second."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from million.contract import MILLION
from million.propensity.features import FEATURE_COLUMNS, threshold_features
from million.propensity.split import MonthSplit
from million.propensity.train import DEFAULT_PARAMS, LGBM_PARAMS, TrainData

SMALL: dict[str, Any] = {
    **DEFAULT_PARAMS, "lgbm": {**LGBM_PARAMS, "num_leaves": 15, "max_depth": 5, "min_data_in_leaf": 20},
    "max_rounds": 80, "early_stopping": 15,
}


def synthetic_frame(rng: np.random.Generator, n: int, month: str) -> pd.DataFrame:
    """Customer-months with random features; AUM growth depends on a few of them."""
    df = pd.DataFrame(rng.normal(size=(n, len(FEATURE_COLUMNS))), columns=FEATURE_COLUMNS)
    df["aum_cur"] = rng.uniform(50_000, 1_300_000, n)
    df["monthly_income"] = rng.uniform(5_000, 80_000, n)
    df["aum_slope"] = rng.normal(5_000, 20_000, n)
    for name, values in threshold_features(df, float(MILLION)).items():
        df[name] = values
    growth = 0.08 * df["view_cur"] + 0.05 * df["login_cur"] * df["compare_cur"] + rng.normal(0, 0.12, n)
    df["future_max_assets"] = df["aum_cur"] * np.exp(0.05 + growth.clip(-1, 1))
    df["label"] = (df["future_max_assets"] >= MILLION).astype(float)
    df["customer_id"] = [f"C{i:07d}" for i in range(n)]
    df["as_of"] = month
    return df


def synthetic_data(seed: int = 3) -> TrainData:
    """Two training months, two validation months (val_all keeps their customers above 1M too), a test month."""
    rng = np.random.default_rng(seed)
    train_all = pd.concat([synthetic_frame(rng, 1500, m) for m in ("2025-01", "2025-02")], ignore_index=True)
    val = pd.concat([synthetic_frame(rng, 800, m) for m in ("2025-03", "2025-04")], ignore_index=True)
    test = synthetic_frame(rng, 800, "2025-07")
    pros = lambda df: df.loc[df["aum_cur"] < MILLION].reset_index(drop=True)  # noqa: E731
    split = MonthSplit(train=["2025-01", "2025-02"], val=["2025-03", "2025-04"], test="2025-07")
    return TrainData(pros(train_all), pros(val), pros(test), train_all, split, val_all=val)

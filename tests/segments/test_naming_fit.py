"""Unit tests of the k choice and the naming rules on data whose answer is known."""

from __future__ import annotations

import numpy as np
import pandas as pd

from million.segments.fit import choose_k, elbow, fit_model
from million.segments.naming import ARCHETYPES, name_segments

COLS = ["age", "monthly_income", "total_assets", "financial_repurchase_count", "credit_card_monthly_expense",
        "product_count", "app_login_count", "investment_monthly_count"]


def blobs(k: int, n: int = 120, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 10, (k, 3))
    return np.vstack([c + rng.normal(0, 0.3, (n, 3)) for c in centers])


def test_choose_k_finds_clear_structure_and_prefers_four_when_close() -> None:
    sel = choose_k(blobs(6), (3, 8), default_k=4, tolerance=0.02, sample=720)
    assert sel.best_k == 6 and sel.chosen_k == 6  # 4 is far worse than 6 on six separated blobs
    loose = choose_k(blobs(6), (3, 8), default_k=4, tolerance=1.0, sample=720)
    assert loose.chosen_k == 4 and "默认" in loose.reason  # "close enough" -> the seed's default
    assert sel.ks == list(range(3, 9)) and len(sel.silhouette) == 6


def test_elbow_is_the_bend() -> None:
    assert elbow([1, 2, 3, 4, 5, 6], [100, 40, 12, 10, 9, 8]) == 3


def test_fit_numbers_segments_by_aum_and_predict_agrees() -> None:
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"total_assets": np.r_[rng.normal(1e5, 1e4, 200), rng.normal(5e6, 1e5, 50),
                                             rng.normal(8e5, 5e4, 100)],
                       "monthly_income": rng.normal(2e4, 1e3, 350)})
    scaler, km, labels = fit_model(df, 3)
    means = df.groupby(labels)["total_assets"].mean()
    assert list(means.sort_values(ascending=False).index) == [0, 1, 2]
    assert (km.predict(scaler.transform(df.to_numpy())) == labels).all()


def z(**over: float) -> dict[str, float]:
    return {c: over.get(c, 0.0) for c in COLS}


def test_seed_style_names_from_centroids() -> None:
    table = pd.DataFrame([
        z(total_assets=2.5, monthly_income=2.0),  # richest
        z(total_assets=-0.5, monthly_income=-0.4, product_count=-0.5),  # mass
        z(app_login_count=1.5, investment_monthly_count=1.2, age=-0.6),  # active
        z(financial_repurchase_count=2.0, product_count=1.0),  # repurchase
    ])
    names = [n["name"] for n in name_segments(table)]
    assert names == ["高净值稳健型客户", "大众基础型客户", "高潜力活跃型客户", "高复购理财型客户"]


def test_high_income_group_and_unique_fallbacks() -> None:
    table = pd.DataFrame([
        z(total_assets=3.0, monthly_income=2.5),
        z(total_assets=0.8, monthly_income=1.5),  # second richest, high income -> 高收入资产型
        z(total_assets=-0.6, monthly_income=-0.5),
        z(total_assets=0.1),  # nothing stands out -> fallback
        z(total_assets=0.05),  # another -> numbered fallback
    ])
    res = name_segments(table)
    names = [n["name"] for n in res]
    assert names[1] == "高收入资产型客户"
    assert len(set(names)) == len(names)
    assert res[3]["archetype"] == res[4]["archetype"] == "fallback"


def test_conditions_are_enforced() -> None:
    # No cluster is 1 std above the mean AUM: nobody may be called 高净值.
    table = pd.DataFrame([z(total_assets=0.6), z(total_assets=-0.3), z(total_assets=-0.3, app_login_count=0.1)])
    names = [n["name"] for n in name_segments(table)]
    assert "高净值稳健型客户" not in names
    assert all(a.rule for a in ARCHETYPES)

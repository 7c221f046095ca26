from __future__ import annotations

import numpy as np

from million.propensity.features import build_features
from million.propensity.labels import build_labels, labelled_months, with_labels
from tests.propensity.tiny import make_tables, months

MS = months("2025-01", 8)


def test_label_is_any_of_next_three_months() -> None:
    t = make_tables({
        "hit_t3": dict(zip(MS, [900e3, 900e3, 900e3, 900e3, 900e3, 1_000_000, 900e3, 900e3], strict=True)),
        "hit_t4": dict(zip(MS, [900e3, 900e3, 900e3, 900e3, 900e3, 900e3, 1_000_001, 900e3], strict=True)),
        "dip": dict(zip(MS, [900e3, 900e3, 900e3, 999_999.99, 500e3, 990e3, 900e3, 900e3], strict=True)),
    })
    lab = build_labels(t, [MS[2]]).set_index("customer_id")
    assert lab.loc["hit_t3", "label"] == 1.0  # reached exactly 1,000,000 at T+3
    assert lab.loc["hit_t4", "label"] == 0.0  # T+4 is outside the horizon
    assert lab.loc["dip", "label"] == 0.0
    assert lab.loc["dip", "future_max_assets"] == 999_999.99


def test_unknown_future_is_nan_and_labelled_months() -> None:
    t = make_tables({"a": dict.fromkeys(MS, 100e3)})
    lab = build_labels(t, MS).set_index("as_of")
    assert lab.loc[MS[4], "label"] == 0.0
    assert np.isnan(lab.loc[MS[5], "label"])  # T+3 would be after the export
    assert labelled_months(t) == MS[2:5]


def test_prospects_only() -> None:
    t = make_tables({"rich": dict.fromkeys(MS, 1_200_000.0), "p": dict.fromkeys(MS, 990_000.0)})
    df = with_labels(build_features(t), t)
    assert set(df["customer_id"]) == {"p"}
    assert set(df["as_of"]) == set(MS[2:5])

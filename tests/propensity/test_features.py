from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from million.contract import MILLION, OCCUPATION_TYPES
from million.propensity.feature_labels import FEATURE_INFO, format_value, label
from million.propensity.features import (
    FEATURE_COLUMNS,
    KEY_COLUMNS,
    MONEY_FEATURES,
    THRESHOLD_FEATURES,
    build_features,
    threshold_features,
)
from million.tables import Tables, load_tables
from million.warehouse import connect
from tests.propensity.tiny import make_tables, months


@pytest.fixture(scope="module")
def small_tables(small_wh_url: str) -> Tables:
    with connect(small_wh_url) as wh:
        return load_tables(wh)


def test_columns_are_fixed_and_unique() -> None:
    assert len(FEATURE_COLUMNS) == len(set(FEATURE_COLUMNS))
    assert set(THRESHOLD_FEATURES) <= set(FEATURE_COLUMNS)
    assert set(MONEY_FEATURES) <= set(FEATURE_COLUMNS)
    # one-hot columns follow the contract's category order, not the data's
    occ = [c for c in FEATURE_COLUMNS if c.startswith("occupation_type_")]
    assert occ == [f"occupation_type_{v}" for v in OCCUPATION_TYPES]


def test_every_feature_has_chinese_label() -> None:
    for f in FEATURE_COLUMNS:
        assert f in FEATURE_INFO, f
        assert any("\u4e00" <= ch <= "\u9fff" for ch in label(f)), f
    assert format_value("aum_cur", 985_000) == "98.5万"
    assert format_value("in_cool_period", 1.0) == "是"


def test_values_by_hand() -> None:
    ms = months("2025-01", 4)
    t = make_tables({"A": dict(zip(ms, [600_000, 630_000, 660_000, 700_000], strict=True))},
                    extra={("A", "2025-03"): {"app_product_compare_count": 5, "app_login_count": 10,
                                              "last_contact_time": pd.Timestamp("2025-03-20 10:00"),
                                              "contact_result": "成功",
                                              "marketing_cool_period": pd.Timestamp("2025-04-19")}})
    f = build_features(t, ["2025-03"]).iloc[0]
    assert f["as_of"] == "2025-03"
    assert f["aum_mean"] == pytest.approx(630_000)
    assert f["aum_cur"] == 660_000 and f["aum_min"] == 600_000 and f["aum_max"] == 660_000
    assert f["aum_slope"] == pytest.approx(30_000)
    assert f["gap_to_million"] == pytest.approx(340_000)
    assert f["gap_income_months"] == pytest.approx(17.0)
    assert f["months_to_million_trend"] == pytest.approx(340_000 / 30_000)
    assert f["compare_cur"] == 5 and f["compare_prev"] == 0 and f["compare_per_login_cur"] == pytest.approx(0.5)
    assert f["days_since_contact"] == pytest.approx(11.58, abs=0.01)
    assert f["contact_result_成功"] == 1 and f["contact_never"] == 0
    assert f["in_cool_period"] == 1 and f["cool_days_left"] == 19
    assert f["occupation_type_专业人士"] == 1 and f[[c for c in FEATURE_COLUMNS if c.startswith("occupation_type_")]].sum() == 1
    assert f["city_level_一线城市"] == 1 and f["gender_male"] == 1


def test_needs_three_consecutive_months() -> None:
    ms = months("2025-01", 5)
    t = make_tables({"old": dict.fromkeys(ms, 100_000.0),
                     "new": {ms[3]: 50_000.0, ms[4]: 60_000.0},  # opened mid-period: 2 months only
                     "gap": {ms[0]: 1.0, ms[2]: 2.0, ms[3]: 3.0, ms[4]: 4.0}})  # missing a month
    f = build_features(t)
    assert set(f.loc[f["customer_id"] == "old", "as_of"]) == set(ms[2:])
    assert "new" not in set(f["customer_id"])
    assert set(f.loc[f["customer_id"] == "gap", "as_of"]) == {ms[4]}


def test_nothing_after_t_leaks(small_tables: Tables) -> None:
    t = small_tables.months[10]
    before = build_features(small_tables, [t])
    beh = small_tables.behavior.copy()
    later = beh["stat_month"] > t
    for col in ("total_assets", "deposit_balance", "app_product_compare_count", "app_login_count"):
        beh.loc[later, col] = beh.loc[later, col] * 3 + 7
    after = build_features(Tables(small_tables.base, beh), [t])
    pd.testing.assert_frame_equal(before, after)


def test_row_order_and_unknown_category_do_not_change_columns(small_tables: Tables) -> None:
    t = small_tables.latest_month
    ref = build_features(small_tables, [t])
    shuffled = Tables(small_tables.base.sample(frac=1, random_state=1),
                      small_tables.behavior.sample(frac=1, random_state=2))
    got = build_features(shuffled, [t])
    pd.testing.assert_frame_equal(ref, got)
    assert list(got.columns) == KEY_COLUMNS + FEATURE_COLUMNS
    odd = small_tables.base.copy()
    odd.loc[odd.index[0], "occupation_type"] = "宇航员"  # not in the contract: all occupation flags 0
    f = build_features(Tables(odd, small_tables.behavior), [t]).set_index("customer_id")
    cid = odd["customer_id"].iloc[0]
    if cid in f.index:
        assert f.loc[cid, [c for c in FEATURE_COLUMNS if c.startswith("occupation_type_")]].sum() == 0


def test_one_month_matches_all_months(small_tables: Tables) -> None:
    t = small_tables.months[-1]
    every = build_features(small_tables)
    one = build_features(small_tables, [t])
    pd.testing.assert_frame_equal(every.loc[every["as_of"] == t].reset_index(drop=True), one)
    assert np.isfinite(one[FEATURE_COLUMNS].to_numpy()).all()


def test_hex_ids_and_mid_period_accounts(hex_wh_url: str) -> None:
    with connect(hex_wh_url) as wh:
        t = load_tables(wh)
    f = build_features(t)
    assert f["customer_id"].str.fullmatch(r"[0-9a-f]{32}").all()
    first = t.behavior.groupby("customer_id")["stat_month"].min()
    late = first[first > t.months[0]].index
    assert len(late) > 0
    got = f.loc[f["customer_id"].isin(late)].groupby("customer_id")["as_of"].min()
    # a customer's first feature month is two months after its first row
    for cid, m in got.items():
        assert m > first[cid]


def test_threshold_features_at_one_million_are_the_built_ones(small_tables: Tables) -> None:
    f = build_features(small_tables, [small_tables.latest_month])
    again = threshold_features(f, MILLION)
    for name, values in again.items():
        np.testing.assert_array_equal(values, f[name].to_numpy())

"""The generator honours every rule of the data contract (../shared/data-contract.md) exactly.

Each test runs on both session data sets (sequential IDs to 2026-10, and 32-hex IDs to 2025-06 with
accounts opened mid-period), read back from the parquet files the generator wrote."""

from __future__ import annotations

import numpy as np
import pandas as pd

from million.contract import (
    BALANCE_COLUMNS,
    BASE_COLUMNS,
    BEHAVIOR,
    BEHAVIOR_COLUMNS,
    CUSTOMER_BASE,
    FLAG_COLUMNS,
    MILLION,
    TABLES,
    asset_level,
)
from million.datagen.simulate import _asset_level
from million.ingest.validate import check_table
from tests.datagen.conftest import DataSet


def cents(s: pd.Series) -> np.ndarray:
    v = s.to_numpy(dtype=float) * 100
    assert np.abs(v - np.round(v)).max() < 1e-6, f"{s.name} has more than two decimals"
    return np.round(v).astype(np.int64)


def month_end(months: pd.Series) -> pd.Series:
    return pd.to_datetime(months + "-01") + pd.offsets.MonthEnd(0) + pd.Timedelta(hours=23, minutes=59, seconds=59)


def test_columns_are_exactly_the_contract(dataset: DataSet) -> None:
    assert list(dataset.base.columns) == [c.name for c in BASE_COLUMNS]
    assert list(dataset.behavior.columns) == [c.name for c in BEHAVIOR_COLUMNS]
    assert len(dataset.base) > 1000 and len(dataset.behavior) > 20 * 1000


def test_total_is_the_sum_of_the_four_balances_to_the_cent(dataset: DataSet) -> None:
    b = dataset.behavior
    parts = sum(cents(b[c]) for c in BALANCE_COLUMNS)
    assert (cents(b["total_assets"]) == parts).all()
    assert all((b[c] >= 0).all() for c in BALANCE_COLUMNS)


def test_flags_are_one_exactly_when_the_balance_is_positive(dataset: DataSet) -> None:
    b = dataset.behavior
    for bal, flag in zip(BALANCE_COLUMNS, FLAG_COLUMNS, strict=True):
        assert set(b[flag].unique()) <= {0, 1}
        assert ((b[flag] == 1) == (cents(b[bal]) > 0)).all(), flag
        assert 0 < b[flag].mean() < 1, f"{flag} should vary"
    assert (b["product_count"] == b[list(FLAG_COLUMNS)].sum(axis=1)).all()


def test_asset_level_follows_the_contract_bounds(dataset: DataSet) -> None:
    b = dataset.behavior
    expected = b["total_assets"].map(asset_level)
    assert (b["asset_level"] == expected).all()
    assert set(b["asset_level"]) == {"初级", "中级", "高级", "资深", "至尊"}


def test_asset_level_bounds_at_the_edges() -> None:
    totals = np.array([0, 199_999.99, 200_000, 499_999.99, 500_000, 799_999.99, 800_000, 999_999.99, 1_000_000])
    want = ["初级", "初级", "中级", "中级", "高级", "高级", "资深", "资深", "至尊"]
    assert [asset_level(t) for t in totals] == want
    assert list(_asset_level(totals)) == want


def test_one_row_per_customer_and_month(dataset: DataSet) -> None:
    b = dataset.behavior
    assert not b.duplicated(["customer_id", "stat_month"]).any()
    assert b["id"].is_unique
    assert dataset.base["customer_id"].is_unique
    assert set(b["customer_id"]) == set(dataset.base["customer_id"])


def test_months_are_consecutive_from_the_first_month_to_the_last(dataset: DataSet) -> None:
    pos = {m: i for i, m in enumerate(dataset.months)}
    assert set(dataset.behavior["stat_month"]) == set(dataset.months)
    idx = dataset.behavior["stat_month"].map(pos)
    g = idx.groupby(dataset.behavior["customer_id"])
    span = g.max() - g.min() + 1
    assert (g.size() == span).all(), "a customer has a gap in its months"
    assert (g.max() == len(dataset.months) - 1).all(), "every customer runs to the last month"
    late = (g.min() > 0).sum()
    assert late > 0.03 * len(span), "some accounts open during the export period"


def test_open_account_date_fits_the_first_month(dataset: DataSet) -> None:
    base = dataset.base.set_index("customer_id")
    opened = pd.to_datetime(base["open_account_date"], format="%Y-%m-%d")
    first = dataset.behavior.groupby("customer_id")["stat_month"].min().reindex(base.index)
    first_start = pd.to_datetime(first + "-01")
    first_end = first_start + pd.offsets.MonthEnd(0)
    assert (opened <= first_end).all(), "account opened after its first monthly row"
    last_end = pd.Timestamp(dataset.months[-1] + "-01") + pd.offsets.MonthEnd(0)
    assert (opened <= last_end).all()
    mid = first != dataset.months[0]
    assert mid.any()
    # An account that appears mid-period was opened in that month, not earlier (else rows are missing).
    assert (opened[mid] >= first_start[mid]).all()
    assert (opened[~mid] < pd.Timestamp(dataset.months[0] + "-01")).mean() > 0.95


def test_every_value_is_in_the_contract_value_sets(dataset: DataSet) -> None:
    for table, df in ((CUSTOMER_BASE, dataset.base), (BEHAVIOR, dataset.behavior)):
        for col in TABLES[table]:
            s = df[col.name]
            if not col.nullable:
                assert s.notna().all(), f"{table}.{col.name} has empty values"
            s = s.dropna()
            if col.choices:
                allowed = {int(c) for c in col.choices} if col.kind == "int" else set(col.choices)
                assert set(s.unique()) <= allowed, col.name
            if col.min_value is not None:
                assert (s >= col.min_value).all(), col.name
            if col.max_value is not None:
                assert (s <= col.max_value).all(), col.name
            if col.max_len:
                assert s.astype(str).str.len().max() <= col.max_len, col.name
            if col.kind == "int":
                assert pd.api.types.is_integer_dtype(s), col.name
            pattern = {"date": r"\d{4}-\d{2}-\d{2}", "datetime": r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}",
                       "month": r"\d{4}-(0[1-9]|1[0-2])"}.get(col.kind)
            if pattern:
                assert s.astype(str).str.fullmatch(pattern).all(), col.name
    assert set(dataset.base["occupation"]) > {"律师", "教师"} or dataset.base["occupation"].nunique() > 20


def test_generated_tables_pass_the_loader_checks(dataset: DataSet) -> None:
    """Whatever the loader enforces, the generator's own output must satisfy."""
    def raw(df: pd.DataFrame) -> pd.DataFrame:
        out = df.astype(object).where(df.notna(), None)
        out["__row"] = range(2, len(out) + 2)
        return out

    base = check_table(CUSTOMER_BASE, raw(dataset.base), last_month=dataset.months[-1])
    beh = check_table(BEHAVIOR, raw(dataset.behavior), known_customers=set(dataset.base["customer_id"]))
    assert base.rejects.empty, base.rejects.head()
    assert beh.rejects.empty, beh.rejects.head()


def test_login_and_contact_times_are_not_after_the_month_end(dataset: DataSet) -> None:
    b = dataset.behavior
    end = month_end(b["stat_month"])
    for col in ("last_app_login_time", "last_contact_time"):
        t = pd.to_datetime(b[col], format="%Y-%m-%d %H:%M:%S")
        assert (t.isna() | (t <= end)).all(), col
        assert t.notna().any()


def test_no_login_or_contact_before_the_account_was_opened(dataset: DataSet) -> None:
    b = dataset.behavior
    opened = pd.to_datetime(b["customer_id"].map(dataset.base.set_index("customer_id")["open_account_date"]))
    for col in ("last_app_login_time", "last_contact_time"):
        t = pd.to_datetime(b[col])
        early = t.notna() & (t.dt.normalize() < opened)
        assert not early.any(), f"{col} before open_account_date: {b.loc[early, ['customer_id', 'stat_month', col]].head()}"


def test_cool_period_is_the_contact_day_plus_30_days(dataset: DataSet) -> None:
    b = dataset.behavior
    contact = pd.to_datetime(b["last_contact_time"])
    cool = pd.to_datetime(b["marketing_cool_period"], format="%Y-%m-%d")
    assert (contact.isna() == cool.isna()).all()
    has = contact.notna()
    assert has.mean() > 0.05
    assert (cool[has] == contact[has].dt.normalize() + pd.Timedelta(days=30)).all()


def test_contact_result_is_present_exactly_when_there_was_a_contact(dataset: DataSet) -> None:
    b = dataset.behavior
    assert (b["contact_result"].notna() == b["last_contact_time"].notna()).all()
    assert set(b["contact_result"].dropna()) == {"成功", "拒绝", "未接通", "待跟进"}


def test_bank_contacts_respect_the_cool_period(dataset: DataSet) -> None:
    """A new contact only happens after the previous cool period has ended."""
    b = dataset.behavior.sort_values(["customer_id", "stat_month"])
    contact = pd.to_datetime(b["last_contact_time"])
    prev_cool = pd.to_datetime(b.groupby("customer_id")["marketing_cool_period"].shift())
    new = contact.notna() & (contact != pd.to_datetime(b.groupby("customer_id")["last_contact_time"].shift()))
    assert (prev_cool[new].isna() | (contact[new] >= prev_cool[new])).all()


def test_ids(dataset: DataSet) -> None:
    cid, rid = dataset.base["customer_id"], dataset.behavior["id"]
    if dataset.name == "hex":
        assert cid.str.fullmatch(r"[0-9a-f]{32}").all()
        assert rid.str.fullmatch(r"[0-9a-f]{32}").all()
    else:
        assert cid.str.fullmatch(r"C\d{7}").all()
        assert rid.str.fullmatch(r"R\d{9}").all()
    assert rid.is_unique and not set(rid) & set(cid)


def test_oracle_covers_exactly_the_prospects_at_its_month(dataset: DataSet) -> None:
    o = dataset.oracle
    assert o["as_of"].nunique() == 1
    as_of = o["as_of"].iloc[0]
    assert as_of == dataset.months[-4], "the oracle month leaves three months of future in the export"
    at = dataset.behavior[dataset.behavior["stat_month"] == as_of]
    prospects = set(at.loc[at["total_assets"] < MILLION, "customer_id"])
    assert o["customer_id"].is_unique
    assert set(o["customer_id"]) == prospects
    assert o["p_true"].between(0, 1).all()
    assert 0 < o["p_true"].mean() < 0.2


def test_p_check_is_an_independent_second_estimate(dataset: DataSet) -> None:
    """Same probabilities from other Monte Carlo paths: close to p_true, equal in the mean, not a copy."""
    o = dataset.oracle
    assert o["p_check"].between(0, 1).all()
    mid = o.loc[o["p_true"].between(0.2, 0.8)]
    assert len(mid) > 10 and (mid["p_check"] != mid["p_true"]).mean() > 0.8
    assert np.corrcoef(o["p_true"], o["p_check"])[0, 1] > 0.95
    # each is a 200-path estimate: their difference has sd <= sqrt(2 * 0.25 / 200) = 0.05
    assert (o["p_check"] - o["p_true"]).abs().max() < 0.25
    assert abs(o["p_check"].mean() - o["p_true"].mean()) < 0.005


def test_oracle_probability_predicts_the_realised_label(dataset: DataSet) -> None:
    """The oracle is the true probability: customers it rates high cross 1M far more often."""
    b = dataset.behavior
    i = dataset.months.index(dataset.oracle["as_of"].iloc[0])
    future = b[b["stat_month"].isin(dataset.months[i + 1:i + 4])].groupby("customer_id")["total_assets"].max()
    o = dataset.oracle.assign(y=lambda d: d["customer_id"].map(future).fillna(0) >= MILLION)
    assert o.loc[o["p_true"] >= 0.5, "y"].mean() > 0.4
    assert o.loc[o["p_true"] < 0.01, "y"].mean() < 0.02
    # calibration in the large: expected and realised counts agree within sampling noise
    expected, realised = o["p_true"].sum(), o["y"].sum()
    assert abs(realised - expected) < 4 * np.sqrt(expected) + 3

"""Features built a range of customers at a time (for data larger than memory) equal the features
built from the whole tables, and a capped training sample is a uniform, reproducible draw."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from million.propensity.feature_store import feature_table, read_features, stream_features, training_sample
from million.tables import customer_ids, load_tables, warehouse_months
from million.warehouse import connect

ORDER = ["as_of", "customer_id"]


@pytest.fixture(scope="module")
def whole(small_wh_url: str) -> pd.DataFrame:
    with connect(small_wh_url) as wh:
        return feature_table(load_tables(wh)).sort_values(ORDER, ignore_index=True)


def run(url: str, path: Path, chunk: int, cap: int | None, data_hash: str = "0" * 16) -> dict:
    with connect(url) as wh:
        latest = warehouse_months(wh)[-1]
        return stream_features(wh, path, data_hash=data_hash, latest=latest, chunk_customers=chunk,
                               train_customers=cap, seed=42) | {"latest_month": latest}


def test_chunked_features_equal_the_whole_table(small_wh_url: str, whole: pd.DataFrame, tmp_path: Path) -> None:
    got = run(small_wh_url, tmp_path / "f.parquet", chunk=300, cap=None)
    df, info = read_features(tmp_path / "f.parquet")
    pd.testing.assert_frame_equal(df.sort_values(ORDER, ignore_index=True), whole)
    assert info["rows"] == len(whole) and info["as_of_months"] == sorted(whole["as_of"].unique())
    labelled = whole.loc[whole["label"].notna()].reset_index(drop=True)
    pd.testing.assert_frame_equal(got["labelled"], labelled)
    latest = whole.loc[whole["as_of"] == got["latest_month"], got["latest"].columns].reset_index(drop=True)
    pd.testing.assert_frame_equal(got["latest"], latest)
    assert got["customers"] == 2000 and got["sample"] is None


def test_a_capped_sample_keeps_every_month_of_the_sampled_customers(small_wh_url: str, whole: pd.DataFrame,
                                                                     tmp_path: Path) -> None:
    got = run(small_wh_url, tmp_path / "f.parquet", chunk=700, cap=500)
    with connect(small_wh_url) as wh:
        ids = customer_ids(wh)  # drawn from customer_base, as the build does
    sample = training_sample(ids, 500, 42)
    assert got["sample"] == len(sample) == 500
    assert set(got["labelled"]["customer_id"]) <= sample
    expect = whole.loc[whole["label"].notna() & whole["customer_id"].isin(sample)].reset_index(drop=True)
    pd.testing.assert_frame_equal(got["labelled"], expect)
    assert len(got["latest"]) == (whole["as_of"] == got["latest_month"]).sum()  # everyone is still scored
    # reproducible, seed-dependent, and not simply the first IDs
    assert training_sample(ids, 500, 42) == sample != training_sample(ids, 500, 7)
    assert 0.15 < sum(c in sample for c in ids[:1000]) / 500 < 0.85
    assert training_sample(ids, 5000, 42) is None


def test_a_saved_table_is_reused_only_for_the_same_data_and_settings(small_wh_url: str, tmp_path: Path) -> None:
    path = tmp_path / "f.parquet"
    built = run(small_wh_url, path, chunk=700, cap=500)
    assert not built["reused"]
    mtime = path.stat().st_mtime_ns
    again = run(small_wh_url, path, chunk=300, cap=500)  # the range size does not change the table
    assert again["reused"] and path.stat().st_mtime_ns == mtime
    for key in ("labelled", "latest"):
        pd.testing.assert_frame_equal(again[key], built[key])
    assert again["customers"] == built["customers"] and again["sample"] == built["sample"]
    # other data, or another sample size: built again
    assert not run(small_wh_url, path, chunk=700, cap=500, data_hash="1" * 16)["reused"]
    other = run(small_wh_url, path, chunk=700, cap=400)
    assert not other["reused"] and other["sample"] == 400

"""Reading parts of the warehouse (what a build step needs, so the pipeline also runs on data larger
than memory) gives exactly the rows and columns of the whole tables filtered in pandas."""

from __future__ import annotations

import pandas as pd
import pytest

from million.contract import BEHAVIOR
from million.segments.features import LATEST_COLUMNS, latest_rows
from million.tables import Tables, customer_ids, customer_ranges, data_hash, load_tables, warehouse_months
from million.warehouse import connect


@pytest.fixture(scope="module")
def whole(small_wh_url: str) -> Tables:
    with connect(small_wh_url) as wh:
        return load_tables(wh)


def same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True), check_like=False)


def test_customer_ranges_cover_every_customer_once(small_wh_url: str, whole: Tables) -> None:
    with connect(small_wh_url) as wh:
        ids = customer_ids(wh)
        ranges = customer_ranges(ids, 300)
        parts = [load_tables(wh, customers=r) for r in ranges]
    assert len(ranges) == -(-len(ids) // 300) and ids == sorted(ids)
    same(pd.concat([p.base for p in parts]), whole.base)
    same(pd.concat([p.behavior for p in parts]), whole.behavior)
    lo, hi = ranges[1]
    assert set(parts[1].base["customer_id"]) == {c for c in ids if lo <= c <= hi}


def test_months_latest_rows_and_columns(small_wh_url: str, whole: Tables) -> None:
    with connect(small_wh_url) as wh:
        months = warehouse_months(wh)
        window = load_tables(wh, months=months[-3:])
        latest = load_tables(wh, latest_only=True, behavior_columns=LATEST_COLUMNS, base_columns=["customer_id"])
        one_range = load_tables(wh, customers=("C0000100", "C0000199"), latest_only=True)
        with pytest.raises(ValueError, match="unknown columns"):
            load_tables(wh, behavior_columns=["customer_id", "password"])
    assert months == whole.months
    same(window.behavior, whole.behavior[whole.behavior["stat_month"].isin(months[-3:])])
    same(window.base, whole.base)
    same(latest.behavior, latest_rows(whole.behavior)[list(LATEST_COLUMNS)])
    assert list(latest.base.columns) == ["customer_id"]
    in_range = whole.behavior[whole.behavior["customer_id"].between("C0000100", "C0000199")]
    same(one_range.behavior, latest_rows(in_range))


def test_data_hash_is_computed_in_the_engine_and_follows_the_content(small_wh_url: str, tmp_path) -> None:
    with connect(small_wh_url) as wh:
        h = data_hash(wh)
        beh = wh.query(f"SELECT * FROM {BEHAVIOR}")
    assert len(h) == 16
    url = f"duckdb:///{tmp_path / 'copy.duckdb'}"
    with connect(small_wh_url) as wh:
        base = wh.query("SELECT * FROM customer_base")
    from million.warehouse.ddl import create_statements

    ddl = {t: (lambda name, t=t: create_statements(t, "duckdb", name)) for t in ("customer_base", BEHAVIOR)}
    with connect(url, read_only=False) as w:  # the same rows in another order
        w.replace_tables({"customer_base": base.iloc[::-1], BEHAVIOR: beh.sample(frac=1, random_state=1)}, ddl)
    with connect(url) as r:
        assert data_hash(r) == h
    changed = beh.copy()
    changed.loc[5, "app_login_count"] += 1
    with connect(url, read_only=False) as w:
        w.replace_tables({BEHAVIOR: changed}, ddl)
    with connect(url) as r:
        assert data_hash(r) != h

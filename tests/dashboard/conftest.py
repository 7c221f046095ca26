"""Dashboard fixtures: a test-owned copy of the small warehouse with a customer_segments table, an
artifacts folder with a propensity scores file in the documented shape, and services over them."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from million.dashboard import DashboardService
from million.warehouse import connect, parse_url

SEGMENT_NAMES = ("大众基础型客户", "高潜力活跃型客户", "高收入资产型客户", "高净值稳健型客户")


def latest_snapshot(data_dir: Path) -> pd.DataFrame:
    """The generated files themselves (not the warehouse): the independent truth the tests compare to."""
    base = pd.read_parquet(data_dir / "customer_base.parquet")
    beh = pd.read_parquet(data_dir / "customer_behavior_assets.parquet")
    beh["total_assets"] = beh["total_assets"].astype(float)
    return beh.merge(base, on="customer_id")


def make_segments(base: pd.DataFrame) -> pd.DataFrame:
    """Four segments by income quartile, in the customer_segments contract (id, segment_id, name)."""
    q = pd.qcut(base["monthly_income"].astype(float).rank(method="first"), 4, labels=False).astype(int)
    return pd.DataFrame({"customer_id": base["customer_id"].astype(str), "segment_id": q,
                         "segment_name": [SEGMENT_NAMES[i] for i in q]})


def make_scores(snapshot: pd.DataFrame, month: str) -> pd.DataFrame:
    """Every prospect at `month` with a probability rising with its assets (the propensity contract)."""
    pros = snapshot[(snapshot["stat_month"] == month) & (snapshot["total_assets"] < 1_000_000)]
    p = np.clip((pros["total_assets"].to_numpy() / 1_000_000) ** 3, 0.001, 0.97)
    return pd.DataFrame({"customer_id": pros["customer_id"].astype(str).to_numpy(), "as_of": month, "probability": p})


@pytest.fixture(scope="session")
def snapshot(small_data: Path) -> pd.DataFrame:
    return latest_snapshot(small_data)


@pytest.fixture(scope="session")
def dash_wh_url(small_wh_url: str, small_data: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A copy of the shared small warehouse (never written to) plus a customer_segments table."""
    dst = tmp_path_factory.mktemp("dash_wh") / "warehouse.duckdb"
    shutil.copyfile(parse_url(small_wh_url).path, dst)
    url = f"duckdb:///{dst}"
    with connect(url, read_only=False) as wh:
        wh.replace_tables({"customer_segments": make_segments(pd.read_parquet(small_data / "customer_base.parquet"))})
    return url


@pytest.fixture(scope="session")
def dash_artifacts(snapshot: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    art = tmp_path_factory.mktemp("dash_artifacts")
    (art / "propensity").mkdir()
    make_scores(snapshot, snapshot["stat_month"].max()).to_parquet(art / "propensity" / "scores_latest.parquet")
    return art


@pytest.fixture(scope="session")
def service(dash_wh_url: str, dash_artifacts: Path) -> DashboardService:
    """Every panel backed by data: segments table and scores present."""
    return DashboardService(dash_wh_url, dash_artifacts)


@pytest.fixture(scope="session")
def bare_service(small_data: Path, tmp_path_factory: pytest.TempPathFactory) -> DashboardService:
    """The two contract tables alone, in a warehouse of its own (the shared one gains a
    customer_segments table once the pipeline has run), and an empty artifacts folder."""
    from tests.support.datasets import load_duckdb

    data = tmp_path_factory.mktemp("bare_data")
    for f in ("customer_base.parquet", "customer_behavior_assets.parquet"):
        shutil.copyfile(small_data / f, data / f)
    return DashboardService(load_duckdb(data), tmp_path_factory.mktemp("no_artifacts"))

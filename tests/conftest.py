"""Shared fixtures: small generated data sets, their DuckDB warehouses, built artifacts and a real
MariaDB server. Everything is made once per session in a temporary folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support import mysql_server
from tests.support.datasets import load_duckdb, make_dataset

# Tests must never reach an LLM service, whatever the developer's shell has set.
for var in ("DASHSCOPE_API_KEY", "LLM_BASE_URL", "LLM_API_KEY", "DB_URL"):
    os.environ.pop(var, None)


@pytest.fixture(scope="session")
def small_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2,000 customers x 24 months, sequential IDs, parquet."""
    return make_dataset(tmp_path_factory.mktemp("small"), customers=2000, months=24, seed=11)


@pytest.fixture(scope="session")
def small_wh_url(small_data: Path) -> str:
    return load_duckdb(small_data)


@pytest.fixture(scope="session")
def hex_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A second shape of data: 32-hex IDs, 18 months ending 2025-06, accounts opened mid-period."""
    return make_dataset(tmp_path_factory.mktemp("hex"), customers=1500, months=18, seed=5,
                        id_style="hex", end_month="2025-06")


@pytest.fixture(scope="session")
def hex_wh_url(hex_data: Path) -> str:
    return load_duckdb(hex_data)


@pytest.fixture(scope="session")
def built_artifacts(small_wh_url: str, small_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every build step run once on the small warehouse; returns the artifacts folder."""
    from million.pipeline import BuildContext, run_all

    art = tmp_path_factory.mktemp("artifacts")
    run_all(BuildContext(db_url=small_wh_url, artifacts_dir=art, data_dir=small_data), log=lambda _m: None)
    return art


@pytest.fixture(scope="session")
def mysql(tmp_path_factory: pytest.TempPathFactory):
    """A real MariaDB on 127.0.0.1 (installed from Debian packages when missing)."""
    try:
        server = mysql_server.start()
    except mysql_server.Unavailable as e:
        pytest.skip(f"MariaDB 不可用：{e}")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def app_settings(small_wh_url: str, small_data: Path, built_artifacts: Path, tmp_path_factory: pytest.TempPathFactory):
    """Settings (and the process-wide services) pointed at the small warehouse and its artifacts."""
    from tests.support.app_env import app_environment

    run_dir = tmp_path_factory.mktemp("app")
    env = {"DB_URL": small_wh_url, "DATA_DIR": str(run_dir), "ARTIFACTS_DIR": str(built_artifacts),
           "AUDIT_LOG": str(run_dir / "audit.jsonl")}
    with app_environment(env) as settings:
        yield settings


@pytest.fixture()
def session(app_settings, tmp_path: Path):
    from conversation.session import Session

    return Session(tmp_path / "sessions", user="tester")


@pytest.fixture(scope="session")
def known_customers(app_settings) -> dict[str, str]:
    """Real IDs from the small warehouse: a prospect, a millionaire, one with < 3 months of history."""
    from million.services import get_services

    wh = get_services().wh
    latest = get_services().latest_month()
    q = ("SELECT a.customer_id, a.total_assets, (SELECT COUNT(*) FROM customer_behavior_assets h "
         "WHERE h.customer_id = a.customer_id) AS months FROM customer_behavior_assets a WHERE a.stat_month = ?")
    df = wh.query(q, [latest])
    prospect = df[(df.total_assets < 1e6) & (df.months >= 3)].sort_values("total_assets").iloc[-1]["customer_id"]
    rich = df[df.total_assets >= 1e6].iloc[0]["customer_id"]
    short = df[df.months < 3]
    return {"prospect": str(prospect), "million": str(rich),
            "short": str(short.iloc[0]["customer_id"]) if len(short) else ""}

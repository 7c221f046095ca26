"""The same panels from MariaDB and from DuckDB, loaded from the same files, must agree."""

from __future__ import annotations

import math
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from million.dashboard import DashboardService
from million.ingest.load import load_folder
from million.warehouse import connect
from tests.support.datasets import load_duckdb, make_dataset

from .conftest import latest_snapshot, make_scores, make_segments

pytestmark = pytest.mark.mysql
DB = "dashboard_test"  # our own database: other tests load theirs into the shared one


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("dash_tiny"), customers=300, months=8, seed=3)


@pytest.fixture(scope="module")
def artifacts(tiny: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    art = tmp_path_factory.mktemp("dash_tiny_art")
    (art / "propensity").mkdir()
    snap = latest_snapshot(tiny)
    make_scores(snap, snap["stat_month"].max()).to_parquet(art / "propensity" / "scores_latest.parquet")
    return art


def _with_segments(url: str, tiny: Path) -> None:
    with connect(url, read_only=False) as wh:
        wh.replace_tables({"customer_segments": make_segments(pd.read_parquet(tiny / "customer_base.parquet"))})


@pytest.fixture(scope="module")
def services(mysql: Any, tiny: Path, artifacts: Path) -> tuple[DashboardService, DashboardService]:
    client = shutil.which("mariadb") or shutil.which("mysql")
    sql = (f"CREATE DATABASE IF NOT EXISTS {DB} CHARACTER SET utf8mb4; "
           f"GRANT ALL ON {DB}.* TO 'loader'@'127.0.0.1'; GRANT SELECT ON {DB}.* TO 'reader'@'127.0.0.1';")
    r = subprocess.run([str(client), "--no-defaults", f"--socket={mysql.root_dir / 'sock'}", "-uroot", "-e", sql],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    admin = mysql.admin_url.rsplit("/", 1)[0] + f"/{DB}"
    reader = mysql.reader_url.rsplit("/", 1)[0] + f"/{DB}"
    with connect(admin, read_only=False) as wh:
        load_folder(tiny, wh, log=lambda _m: None)
    _with_segments(admin, tiny)
    duck = load_duckdb(tiny)
    _with_segments(duck, tiny)
    return DashboardService(reader, artifacts), DashboardService(duck, artifacts)


def same(a: Any, b: Any, path: str = "") -> None:
    if isinstance(a, dict):
        assert set(a) == set(b), path
        for k in a:
            same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            same(x, y, f"{path}[{i}]")
    elif isinstance(a, float) or isinstance(b, float):
        assert math.isclose(float(a), float(b), rel_tol=1e-6, abs_tol=1e-3), (path, a, b)
    else:
        assert a == b, (path, a, b)


def test_mysql_and_duckdb_agree(services: tuple[DashboardService, DashboardService], tiny: Path) -> None:
    my, duck = services
    months = duck.options().months
    branch = duck.options().branches[0]
    for args in ((None, None), (branch, None), (None, months[-3]), (branch, months[1])):
        a, b = my.data(*args), duck.data(*args)
        assert a["meta"]["dialect"] == "mysql" and b["meta"]["dialect"] == "duckdb"
        assert a["meta"]["failed"] == [] and b["meta"]["failed"] == []
        same(a["kpis"], b["kpis"], "kpis")
        same(a["charts"], b["charts"], "charts")
    assert my.data()["meta"]["cached"]  # the MySQL version token is stable between calls


def test_mysql_filters_are_checked(services: tuple[DashboardService, DashboardService]) -> None:
    from million.dashboard import FilterError

    my, _ = services
    with pytest.raises(FilterError):
        my.data("x' OR '1'='1")

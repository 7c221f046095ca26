"""The same scores from MariaDB as from DuckDB (the service reads through bound parameters on both)."""

from __future__ import annotations

from pathlib import Path

import pytest

from million.propensity.results import PredictStatus
from million.propensity.serving import PropensityService
from million.warehouse import connect

pytestmark = pytest.mark.mysql


def test_service_on_mysql_matches_duckdb(built_artifacts: Path, small_wh_url: str, small_data: Path, mysql) -> None:
    from million.ingest.load import load_folder

    with connect(mysql.admin_url, read_only=False) as admin:
        if "customer_base" not in admin.tables():
            load_folder(small_data, admin, log=lambda _m: None)
    duck = PropensityService.load(built_artifacts, connect(small_wh_url))
    my = PropensityService.load(built_artifacts, connect(mysql.reader_url))
    assert my.snapshot.as_of == duck.snapshot.as_of and my.snapshot.n_prospects == duck.snapshot.n_prospects
    top = duck.top(50, include_cool=True)
    for cid, p in zip(top["customer_id"], top["probability"], strict=True):
        assert my.predict(cid).probability == pytest.approx(p, abs=1e-12)
    assert my.predict("' OR 1=1 --").status is PredictStatus.UNKNOWN

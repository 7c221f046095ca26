"""The three analytics steps against MariaDB: customer_segments is published with typed DDL through
the loader account, and the services read through the SELECT-only account."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from million.forecast.results import ForecastStatus
from million.forecast.serving import ForecastService
from million.ingest.load import load_folder
from million.pipeline import BuildContext, run_all
from million.rules.results import RecommendStatus
from million.rules.serving import RuleService
from million.segments import store
from million.segments.results import SegmentStatus
from million.segments.serving import SegmentService
from million.warehouse import connect
from tests.support.datasets import make_dataset

pytestmark = pytest.mark.mysql
DB = "analytics_test"


@pytest.fixture(scope="module")
def mysql_built(mysql: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path, Path]:
    data = make_dataset(tmp_path_factory.mktemp("an_mysql"), customers=400, months=10, seed=21)
    client = shutil.which("mariadb") or shutil.which("mysql")
    sql = (f"CREATE DATABASE IF NOT EXISTS {DB} CHARACTER SET utf8mb4; "
           f"GRANT ALL ON {DB}.* TO 'loader'@'127.0.0.1'; GRANT SELECT ON {DB}.* TO 'reader'@'127.0.0.1';")
    r = subprocess.run([str(client), "--no-defaults", f"--socket={mysql.root_dir / 'sock'}", "-uroot", "-e", sql],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    admin = mysql.admin_url.rsplit("/", 1)[0] + f"/{DB}"
    reader = mysql.reader_url.rsplit("/", 1)[0] + f"/{DB}"
    with connect(admin, read_only=False) as wh:
        load_folder(data, wh, log=lambda _m: None)
    art = tmp_path_factory.mktemp("an_mysql_art")
    ctx = BuildContext(db_url=admin, artifacts_dir=art, data_dir=data,
                       params={"forecast": {"customer_sample": 15, "reference_sample": 5, "n_jobs": 1,
                                            "max_branch_series": 3}})
    run_all(ctx, only=["segments", "rules", "forecast"], log=lambda _m: None)
    return reader, art, data


def test_segments_table_and_services_on_mysql(mysql_built: tuple[str, Path, Path]) -> None:
    reader, art, _data = mysql_built
    a = pd.read_parquet(store.folder(art) / store.ASSIGNMENTS)
    with connect(reader, read_only=True) as wh:
        t = wh.query("SELECT customer_id, segment_id, segment_name FROM customer_segments ORDER BY customer_id")
        types = dict(wh.columns("customer_segments"))
        assert len(t) == len(a)
        merged = a.merge(t, on="customer_id", suffixes=("", "_db"))
        assert (merged["segment_id"] == merged["segment_id_db"]).all()
        assert "varchar" in types["customer_id"].lower()
        cid = str(a["customer_id"].iloc[0])
        assert SegmentService.load(art, wh).for_customer(cid).status is SegmentStatus.OK
        assert RuleService.load(art, wh).recommend(cid).status is RecommendStatus.OK
        fs = ForecastService.load(art, wh)
        r = fs.forecast(customer_id=cid)
        assert r.status is ForecastStatus.OK and len(r.history) == 10
        assert fs.forecast(customer_id="'; DROP TABLE customer_base; --").status is ForecastStatus.UNKNOWN
        assert fs.forecast().status is ForecastStatus.OK

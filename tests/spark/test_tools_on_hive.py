"""The seven tools with DB_URL=hive://... (a real Spark Thrift Server): the RM brief's per-customer tools
read the local copy the batch job refreshes and never touch the cluster; analysts' SQL goes to the cluster."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from million.warehouse import connect
from million.warehouse.hive import HiveWarehouse

RM_TOOLS = ("predict_million_prob", "explain_customer", "segment_lookup", "recommend_products", "forecast_aum")


@pytest.fixture(scope="module")
def hive_app(hive_url: str, thrift_server, small_wh_url: str, built_artifacts: Path,
             tmp_path_factory: pytest.TempPathFactory):
    from million.warehouse.local_copy import refresh_local_copy
    from tests.support.app_env import app_environment

    # The batch job publishes customer_segments on the cluster; here the one the fixture build made.
    with connect(small_wh_url) as duck, connect(thrift_server.url("loader"), read_only=False) as admin:
        admin.replace_tables({"customer_segments": duck.query("SELECT * FROM customer_segments")})
    run = tmp_path_factory.mktemp("hive-app")
    with connect(hive_url) as src:
        counts = refresh_local_copy(src, run / "serving_copy.duckdb", months=36, log=lambda _m: None)
    assert counts["customer_base"] == 2000 and counts["customer_segments"] == 2000
    env = {"DB_URL": hive_url, "DATA_DIR": str(run), "ARTIFACTS_DIR": str(built_artifacts),
           "AUDIT_LOG": str(run / "audit.jsonl"), "SERVING_COPY": str(run / "serving_copy.duckdb")}
    with app_environment(env) as settings:
        yield settings


def test_seven_tools_answer_with_db_url_hive(hive_app, tmp_path: Path, thrift_server,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from conversation.session import Session
    from million.services import get_services
    from tools import all_tools

    svc = get_services()
    assert isinstance(svc.analyst_wh, HiveWarehouse) and svc.sql_dialect == "spark"
    assert svc.wh.dialect == "duckdb"  # the local copy
    calls: list[str] = []
    real = HiveWarehouse._execute

    def counted(self: HiveWarehouse, sql: str, *a: object, **k: object) -> object:
        calls.append(sql)
        return real(self, sql, *a, **k)

    monkeypatch.setattr(HiveWarehouse, "_execute", counted)
    t = {x.name: x for x in all_tools()}
    assert set(RM_TOOLS) | {"sql_inter", "python_inter"} <= set(t)
    session = Session(tmp_path / "sessions", user="rm")
    latest = svc.latest_month()
    cid = str(svc.wh.query("SELECT customer_id FROM customer_behavior_assets WHERE stat_month = ? "
                           "AND total_assets < 1000000 ORDER BY total_assets DESC LIMIT 1", [latest]).iloc[0, 0])
    for name in RM_TOOLS:  # warm: services load their artifacts once
        t[name].call({"customer_id": cid}, session=session)
    session = Session(tmp_path / "sessions2", user="rm")  # a new turn: the per-turn tool-call cap starts over
    took = []
    for name in RM_TOOLS:
        t0 = time.perf_counter()
        out = t[name].call({"customer_id": cid}, session=session)
        took.append(time.perf_counter() - t0)
        assert cid in out and "错误" not in out[:40], (name, out[:300])
    assert calls == [], f"the RM brief reached the cluster: {calls}"
    assert sum(took) < 2.0, took  # one cluster round trip alone takes ~0.5 s
    print(f"\nRM brief on DB_URL=hive (local copy): five tools {sum(took) * 1000:.0f} ms")

    session = Session(tmp_path / "sessions3", user="analyst")
    marker = "hive_probe_7731"
    out = t["sql_inter"].call({"sql": f"SELECT branch_name, COUNT(*) AS {marker} FROM customer_base "
                                      "GROUP BY branch_name ORDER BY 2 DESC"}, session=session)
    assert "查询成功" in out and marker in out, out[:500]
    assert marker in thrift_server.log_tail(2_000_000)  # the analyst's query ran on the cluster
    out = t["python_inter"].call({"code": "import pandas as pd\nprint(len(pd.read_csv('c.csv')))",
                                  "data_sql": {"c": "SELECT customer_id FROM customer_base"}},
                                 session=session)
    assert "2000" in out or "沙箱" in out, out[:500]

"""Analysts' SQL on the Spark Thrift Server: the ten typical queries and the prompt's example SQL give the
same results as DuckDB on the same rows, and every statement of the refused table is refused on the tool
path before it reaches the server (which is unchanged afterwards)."""

from __future__ import annotations

import pytest

from benchmarks.queries import QUERIES
from evaluation.resultsets import compare, is_ordered
from million import prompts
from million.sqlguard import SqlRejected, run_guarded
from million.warehouse import connect
from million.warehouse.isolated import IsolatedRunner
from tests.sqlguard.refused_spark_hive import REFUSED


@pytest.fixture(scope="module")
def engines(hive_url: str, small_wh_url: str):
    spark_wh = connect(hive_url, timeout_s=120)
    duck = connect(small_wh_url)
    yield duck, spark_wh
    spark_wh.close()
    duck.close()


@pytest.fixture(scope="module")
def runner():
    r = IsolatedRunner(size=1)
    yield r
    r.close()


@pytest.mark.parametrize(("name", "sql"), QUERIES, ids=[n for n, _ in QUERIES])
def test_ten_typical_queries_equal_duckdb(engines, name: str, sql: str) -> None:
    duck, spark_wh = engines
    d, s = duck.query(sql), spark_wh.query(sql)
    same, why = compare(d, s, is_ordered(sql))
    assert same, f"{name}: {why}\nDuckDB:\n{d.head()}\nSpark:\n{s.head()}"


def test_prompt_examples_run_through_the_guard_and_equal_duckdb(engines, runner) -> None:
    duck, spark_wh = engines
    checked = 0
    for q, sql in prompts.sql_examples():
        d, _ = run_guarded(duck, sql, row_cap=1000, timeout_s=60, runner=runner)
        s, g = run_guarded(spark_wh, sql, row_cap=1000, timeout_s=60, runner=runner)
        assert "`" in g.exec_sql  # regenerated in the Spark dialect, identifiers quoted with backticks
        if "CURRENT_DATE" in sql:
            assert len(s) == len(d) == 1  # the count depends on the day; the logic is the same
            continue
        same, why = compare(d, s, is_ordered(sql))
        assert same, f"{q}: {why}"
        checked += 1
    assert checked >= 11


def test_every_refused_statement_is_refused_and_the_server_is_unchanged(engines, runner) -> None:
    _, spark_wh = engines
    before = spark_wh.tables()
    rows = int(spark_wh.query("SELECT COUNT(*) AS n FROM customer_base")["n"].iloc[0])
    for what, _dialect, sql in REFUSED:
        with pytest.raises(SqlRejected):  # refused before any worker or session is used
            run_guarded(spark_wh, sql, row_cap=100, timeout_s=30, runner=runner)
        assert runner.kills == 0, what
    assert spark_wh.tables() == before
    assert int(spark_wh.query("SELECT COUNT(*) AS n FROM customer_base")["n"].iloc[0]) == rows
    # The backend itself, used read-only, refuses non-queries as well (second layer behind the guard).
    for sql in ("DROP TABLE customer_base", "SET spark.sql.ansi.enabled=false", "ADD JAR /tmp/x.jar"):
        with pytest.raises(Exception, match="只读连接"):
            spark_wh.query(sql)


def test_a_query_past_its_deadline_is_cancelled_in_the_worker(engines, runner) -> None:
    """The tool path's worker process: the backend cancels on the server at the deadline, the worker answers
    (it is not killed), and the next query gets a session and the cores at once. The long query is a range
    cross join (Spark checks for a cancel while it produces the range); the guard would refuse it, so it is
    handed to the worker directly. A query whose single input row explodes into billions of joined rows is
    not interrupted by Spark until the row is done: the guard refuses joins without an equality for that
    reason, and the README says what the bank sets on the cluster (task reaper)."""
    import time

    from million.warehouse import QueryTimeout
    from tests.spark.test_thrift_backend import LONG_SQL

    _, spark_wh = engines
    t0 = time.monotonic()
    with pytest.raises(QueryTimeout):
        runner.run(spark_wh, LONG_SQL, timeout_s=3, max_rows=100, cell_cap=100)
    assert time.monotonic() - t0 < 3 + 3  # answered by the cancel, not by the worker's kill
    assert runner.kills == 0
    t1 = time.monotonic()
    df, _ = run_guarded(spark_wh, "SELECT COUNT(*) AS n FROM customer_base", row_cap=100, timeout_s=30, runner=runner)
    assert df["n"].iloc[0] == 2000 and time.monotonic() - t1 < 10


def _router_sql(duck) -> list[tuple[str, str]]:
    from agent.routing import branch_sql, ranking_sql

    cid = str(duck.query("SELECT MIN(customer_id) AS c FROM customer_base")["c"].iloc[0])
    return [("各分行排名", ranking_sql("分行", 10)), ("各支行排名", ranking_sql("支行", 5)), ("客户所在网点", branch_sql(cid))]


def test_the_offline_routers_sql_runs_on_spark_like_duckdb(engines) -> None:
    """The canned queries the offline router sends (a ranking once failed on Spark: ORDER BY an aggregate
    of the inner alias after the guard's wrapping), through the same guarded path as sql_inter."""
    duck, spark_wh = engines
    for name, sql in _router_sql(duck):
        d, _ = run_guarded(duck, sql, row_cap=500, timeout_s=120)
        s, _ = run_guarded(spark_wh, sql, row_cap=500, timeout_s=120)
        same, why = compare(d, s, is_ordered(sql))
        assert same, f"{name}: {why}\nDuckDB:\n{d.head()}\nSpark:\n{s.head()}"

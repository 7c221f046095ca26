"""Guards that do not depend on a parser: a scoped user's SQL runs on a connection holding only their
rows (so the scope holds with the rewrite switched off), and every untrusted query runs in a worker
process with its own memory limit and deadline (so a memory or time bomb ends only that query)."""

from __future__ import annotations

import dataclasses
import time

import pytest

from conversation.session import Session
from million import sqlguard
from million.services import get_services
from tests.webapp.test_scope_attacks import ATTACKS, PROBE
from tools.python_inter import PythonInter
from tools.sql_inter import SqlInter

SLOW = ("SELECT count(*) AS n FROM customer_behavior_assets a, customer_behavior_assets b, customer_behavior_assets c "
        "WHERE a.customer_id || b.customer_id || c.customer_id = 'x'")


def _rss_mb() -> float:
    with open("/proc/self/status") as fh:
        return next(int(ln.split()[1]) for ln in fh if ln.startswith("VmRSS")) / 1024


@pytest.fixture(scope="module")
def branch_counts(app_settings) -> tuple[str, int]:
    df = get_services().wh.query("SELECT branch_name, COUNT(*) AS n FROM customer_base GROUP BY 1 ORDER BY 2 DESC")
    return str(df["branch_name"].iloc[0]), int(df["n"].iloc[0])


def _scoped_session(tmp_path, branch: str) -> Session:
    return Session(tmp_path / "s", user="scoped", branches=(branch,))


@pytest.mark.parametrize("sql", ATTACKS)
def test_scope_holds_with_the_rewrite_switched_off(app_settings, branch_counts, tmp_path, monkeypatch, sql) -> None:
    """The rewrite is the second layer: without it, the scoped connection alone keeps other branches out."""
    branch, n = branch_counts
    monkeypatch.setattr(sqlguard, "scope_tree", lambda tree, _branches: tree)
    session = _scoped_session(tmp_path, branch)
    SqlInter().call({"sql": sql}, session=session)
    ev = session.events[-1]
    assert ev.status == "ok", ev.text
    row = [ln for ln in ev.display.splitlines() if ln.startswith("|") and any(ch.isdigit() for ch in ln)][-1]
    got = [c.strip().replace(",", "") for c in row.strip("|").split("|")]
    assert (int(got[-2]), int(got[-1])) == (n, 1), (sql, ev.display)


def test_empty_scope_sees_nothing(app_settings, tmp_path) -> None:
    session = Session(tmp_path / "s", user="nobody", branches=())
    SqlInter().call({"sql": PROBE}, session=session)
    assert "| 0 " in session.events[-1].display


@pytest.mark.parametrize("sql", [
    "SELECT len(range(400000000)) AS n",
    "SELECT len(range(3000000000)) AS n",
    "SELECT len(list(a.customer_id)) AS n FROM customer_behavior_assets a, customer_behavior_assets b",
    "SELECT len(string_agg(repeat(customer_id, 1000), '')) AS n FROM customer_behavior_assets a, "
    "(SELECT 1 FROM customer_base LIMIT 100) b",
    "SELECT length(repeat('abcdefgh', 400000000)) AS n",
])
def test_memory_bombs_end_only_that_query(app_settings, tmp_path, sql) -> None:
    session = Session(tmp_path / "s")
    before = _rss_mb()
    t0 = time.perf_counter()
    SqlInter().call({"sql": sql}, session=session)
    took = time.perf_counter() - t0
    ev = session.events[-1]
    assert ev.status == "error" and ("内存" in ev.text or "超过" in ev.text), ev.text
    assert _rss_mb() - before < 300  # the app process itself did not take the allocation
    assert took < app_settings.sql_timeout_s + 10
    SqlInter().call({"sql": "SELECT 42 AS answer"}, session=session)  # and the next query answers
    assert session.events[-1].status == "ok" and "42" in session.events[-1].display


def test_a_query_past_its_deadline_stops(app_settings, tmp_path) -> None:
    s = dataclasses.replace(app_settings, sql_timeout_s=2.0)
    t0 = time.perf_counter()
    with pytest.raises(Exception, match="秒已被中止"):
        sqlguard.run_guarded(get_services().wh, SLOW,
                             row_cap=10, timeout_s=s.sql_timeout_s, memory_mb=s.sql_worker_memory_mb)
    assert time.perf_counter() - t0 < 2.0 + sqlguard.IsolatedRunner().grace_s + 2
    df, _ = sqlguard.run_guarded(get_services().wh, "SELECT 1 AS x", row_cap=10, timeout_s=5,
                                 memory_mb=s.sql_worker_memory_mb)
    assert df["x"].tolist() == [1]


def test_a_worker_that_ignores_the_deadline_is_killed(app_settings) -> None:
    """The engine's interrupt is not always checked in time: the runner kills the worker itself."""
    from million.warehouse.isolated import IsolatedRunner

    runner = IsolatedRunner(memory_mb=app_settings.sql_worker_memory_mb, size=1, grace_s=0.5)
    try:
        runner.run(get_services().wh, "SELECT 1 AS warm", timeout_s=30, max_rows=5, cell_cap=100)
        t0 = time.perf_counter()
        # timeout_s=0.2 is passed to the worker too, but the kill comes from the host side.
        with pytest.raises(Exception, match="秒已被中止"):
            runner.run(get_services().wh, SLOW, timeout_s=0.2,
                       max_rows=5, cell_cap=100)
        assert time.perf_counter() - t0 < 5
        df, _, _ = runner.run(get_services().wh, "SELECT 7 AS x", timeout_s=30, max_rows=5, cell_cap=100)
        assert df["x"].tolist() == [7]
    finally:
        runner.close()


def test_python_data_sql_is_scoped(app_settings, branch_counts, tmp_path, monkeypatch) -> None:
    """python_inter's data queries take the same path: 10,000 rows of 20 branches once, now one branch."""
    import os

    from million.sandbox import SandboxUnavailable, check_available

    if os.geteuid() != 0:
        pytest.skip("python_inter 的沙箱需要 root（CI 以 root 运行）")
    try:
        check_available()
    except SandboxUnavailable as e:
        pytest.fail(f"sandbox missing on a root machine: {e}")
    branch, n = branch_counts
    monkeypatch.setattr(sqlguard, "scope_tree", lambda tree, _branches: tree)  # connection layer alone
    session = _scoped_session(tmp_path, branch)
    code = "import pandas as pd\nd = pd.read_csv('d.csv')\nprint('ROWS', len(d), 'BRANCHES', d.branch_name.nunique())"
    PythonInter().call({"code": code, "data_sql": {"d": ";SELECT * FROM customer_base"}}, session=session)
    ev = session.events[-1]
    assert f"ROWS {n} BRANCHES 1" in ev.text, ev.text


def test_people_read_money_in_wan_and_files_say_what_they_hold(app_settings, tmp_path) -> None:
    session = Session(tmp_path / "s")
    SqlInter().call({"sql": "SELECT b.branch_name, SUM(a.total_assets) AS total_aum, COUNT(*) AS n "
                            "FROM customer_behavior_assets a JOIN customer_base b ON a.customer_id = b.customer_id "
                            "GROUP BY 1 ORDER BY 2 DESC"}, session=session)
    ev = session.events[-1]
    assert ev.status == "ok" and ("亿" in ev.display or "万" in ev.display)
    assert "亿" not in ev.text and "万 |" not in ev.text  # the model gets the exact numbers
    names = [f.name for f in ev.files]
    assert any(n.startswith("查询结果_") and "customer_base" in n and "customer_behavior_assets" in n
               and n.endswith(".csv") for n in names), names

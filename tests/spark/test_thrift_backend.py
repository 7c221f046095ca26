"""The HiveServer2 backend against a real Spark Thrift Server: tables and columns read by column name,
the data hash computed in the engine, staged loads swapped in, the row cap, the branch scope, and a long
query cancelled on the server without holding the next one."""

from __future__ import annotations

import time

import pandas as pd
import pytest

from million.contract import BEHAVIOR, CUSTOMER_BASE, TABLES
from million.tables import data_hash
from million.warehouse import QueryTimeout, connect

# A cross join Spark cannot finish in minutes on two cores (10^9 x 10^5 rows), but starts at once.
LONG_SQL = "SELECT COUNT(*) AS n FROM range(1000000000) a CROSS JOIN range(100000) b WHERE a.id + b.id < 0"


def test_tables_and_columns_come_from_show_tables_and_describe(hive_url: str) -> None:
    wh = connect(hive_url)
    names = wh.tables()
    assert {CUSTOMER_BASE, BEHAVIOR} <= set(names)
    assert not [n for n in names if n.endswith(("__new", "__old"))]  # the staged load left nothing behind
    cols = wh.columns(CUSTOMER_BASE)
    assert [c for c, _ in cols] == [c.name for c in TABLES[CUSTOMER_BASE]]
    types = dict(cols)
    assert (types["customer_id"], types["age"], types["monthly_income"], types["open_account_date"]) == (
        "string", "int", "decimal(12,2)", "date")


def test_data_hash_is_computed_in_the_engine_and_follows_the_data(hive_url: str, thrift_server) -> None:
    wh = connect(hive_url)
    h = data_hash(wh)
    assert len(h) == 16 and h == data_hash(wh)
    cols = [c.name for c in TABLES[CUSTOMER_BASE]]
    assert wh.content_hash(CUSTOMER_BASE, cols) != wh.content_hash(CUSTOMER_BASE, cols[:-1])
    probe = pd.DataFrame({"customer_id": ["a", "b"], "v": [1.5, None]})
    with connect(thrift_server.url("loader"), read_only=False) as admin:
        admin.replace_tables({"hash_probe": probe})
        first = admin.content_hash("hash_probe", ["customer_id", "v"])
        admin.replace_tables({"hash_probe": probe.assign(v=[1.5, 0.0])})  # NULL -> 0 must change the hash
        second = admin.content_hash("hash_probe", ["customer_id", "v"])
        assert first != second
        assert admin.query("SELECT COUNT(*) AS n FROM hash_probe")["n"].iloc[0] == 2
        assert not [t for t in admin.tables() if t.startswith("hash_probe__")]


def test_at_most_row_cap_plus_one_rows_are_fetched(hive_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from pyhive import hive

    fetched: list[int] = []
    real = hive.Cursor._fetch_more

    def counting(self: hive.Cursor) -> None:
        before = len(self._data)
        real(self)
        fetched.append(len(self._data) - before)

    monkeypatch.setattr(hive.Cursor, "_fetch_more", counting)
    wh = connect(hive_url)
    df = wh.query(f"SELECT customer_id FROM {BEHAVIOR}", max_rows=5)
    assert len(df) == 5 and df.attrs["truncated"] is True
    assert sum(fetched) <= 6, fetched  # 46,000 rows on the server, six crossed the wire


def test_branch_scope_holds_only_that_branchs_rows(hive_url: str) -> None:
    wh = connect(hive_url, timeout_s=60)
    branch, n = wh.query("SELECT branch_name, COUNT(*) AS n FROM customer_base GROUP BY branch_name "
                         "ORDER BY n DESC, branch_name LIMIT 1").iloc[0]
    scoped = wh.scoped([branch])
    got = scoped.query("SELECT COUNT(*) AS n, COUNT(DISTINCT branch_name) AS b FROM customer_base").iloc[0]
    assert (int(got["n"]), int(got["b"])) == (int(n), 1)
    beh = scoped.query(f"SELECT COUNT(DISTINCT customer_id) AS c FROM {BEHAVIOR}")["c"].iloc[0]
    assert 0 < beh <= n
    assert set(scoped.tables()) == set(wh.tables())  # the session's shadow views are not listed as tables
    assert scoped.query("SELECT COUNT(*) AS n FROM customer_base")["n"].iloc[0] == n
    empty = wh.scoped([])
    assert empty.query("SELECT COUNT(*) AS n FROM customer_base")["n"].iloc[0] == 0


def test_a_long_query_is_cancelled_and_the_next_answers_promptly(hive_url: str, thrift_server) -> None:
    wh = connect(hive_url)
    wh.query("SELECT 1 AS one")  # a warm session, as in the running app
    t0 = time.monotonic()
    with pytest.raises(QueryTimeout, match="已被中止"):
        wh.query(LONG_SQL, timeout_s=2)
    cancelled_after = time.monotonic() - t0
    t1 = time.monotonic()
    n = wh.query(f"SELECT COUNT(*) AS n FROM {BEHAVIOR}", timeout_s=20)["n"].iloc[0]
    next_took = time.monotonic() - t1
    print(f"\ncancel: QueryTimeout after {cancelled_after:.2f} s (deadline 2 s); next query {next_took:.2f} s")
    assert n > 40_000
    assert 2.0 <= cancelled_after < 4.0
    # The cancelled job no longer holds the two cores: the next query (a full scan) is as quick as usual.
    assert next_took < 5.0
    log = thrift_server.log_tail(200_000)
    assert "cancel" in log.lower()

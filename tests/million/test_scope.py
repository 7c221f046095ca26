"""Branch scope enforced in the data layer: rewritten SQL only ever reads the user's branches."""

from __future__ import annotations

import pytest

from million.scope import customer_branch, scope_sql
from million.warehouse import connect


@pytest.fixture(scope="module")
def wh(small_wh_url):
    return connect(small_wh_url)


@pytest.fixture(scope="module")
def branch(wh) -> str:
    return str(wh.query("SELECT branch_name FROM customer_base GROUP BY branch_name ORDER BY COUNT(*) DESC LIMIT 1")
               ["branch_name"].iloc[0])


QUERIES = [
    "SELECT COUNT(*) AS n FROM customer_base",
    "SELECT COUNT(DISTINCT customer_id) AS n FROM customer_behavior_assets",
    "SELECT COUNT(DISTINCT a.customer_id) AS n FROM customer_behavior_assets a JOIN customer_base b "
    "ON a.customer_id = b.customer_id",
    "WITH x AS (SELECT customer_id FROM customer_behavior_assets) SELECT COUNT(DISTINCT customer_id) AS n FROM x",
    "SELECT COUNT(*) AS n FROM (SELECT customer_id FROM customer_base UNION SELECT customer_id FROM "
    "customer_behavior_assets) u",
    "SELECT COUNT(*) AS n FROM customer_base WHERE customer_id IN (SELECT customer_id FROM customer_behavior_assets)",
]


@pytest.mark.parametrize("sql", QUERIES)
def test_scoped_queries_see_only_their_branch(wh, branch, sql) -> None:
    expected = wh.query("SELECT COUNT(*) AS n FROM customer_base WHERE branch_name = ?", [branch])["n"].iloc[0]
    total = wh.query(sql)["n"].iloc[0]
    scoped = wh.query(scope_sql(sql, "duckdb", [branch]))["n"].iloc[0]
    assert scoped == expected < total


def test_no_scope_leaves_sql_alone_and_empty_scope_sees_nothing(wh) -> None:
    assert scope_sql("SELECT 1", "duckdb", None) == "SELECT 1"
    assert wh.query(scope_sql("SELECT COUNT(*) AS n FROM customer_base", "duckdb", []))["n"].iloc[0] == 0


def test_cte_shadowing_a_table_is_refused() -> None:
    with pytest.raises(ValueError, match="同名"):
        scope_sql("WITH customer_base AS (SELECT * FROM customer_base) SELECT * FROM customer_base", "duckdb", ["x"])


def test_quotes_in_branch_names_stay_literals(wh) -> None:
    sql = scope_sql("SELECT COUNT(*) AS n FROM customer_base", "duckdb", ["x') OR ('1'='1"])
    assert wh.query(sql)["n"].iloc[0] == 0


def test_customer_branch(wh, branch) -> None:
    cid = wh.query("SELECT customer_id FROM customer_base WHERE branch_name = ? LIMIT 1", [branch])["customer_id"].iloc[0]
    assert customer_branch(wh, cid) == branch and customer_branch(wh, "nobody") is None

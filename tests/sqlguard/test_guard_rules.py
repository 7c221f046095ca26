"""The guard's rules on their own (no database): what it accepts, what it rewrites, what it rejects and
how the message tells the LLM to fix it. The same cases against real engines: test_engines.py."""

from __future__ import annotations

import pytest

from million.sqlguard import MAX_SQL_CHARS, SqlRejected, guard_sql

BOTH = ["duckdb", "mysql"]


@pytest.mark.parametrize("dialect", BOTH)
def test_limit_added_clamped_or_kept(dialect: str) -> None:
    g = guard_sql("SELECT customer_id FROM customer_base", dialect, row_cap=100)
    assert g.limit_applied and g.sql.endswith("LIMIT 100") and g.exec_sql.endswith("LIMIT 101")
    assert g.tables == ["customer_base"] and g.row_cap == 100
    g = guard_sql("SELECT customer_id FROM customer_base LIMIT 5000", dialect, row_cap=100)
    assert g.limit_applied and g.sql.endswith("LIMIT 100")
    g = guard_sql("SELECT customer_id FROM customer_base ORDER BY customer_id LIMIT 20 OFFSET 40", dialect, row_cap=100)
    assert not g.limit_applied and g.sql == g.exec_sql and "LIMIT 20 OFFSET 40" in g.sql
    g = guard_sql("SELECT customer_id FROM customer_base LIMIT (SELECT 5)", dialect, row_cap=100)
    assert g.limit_applied and g.sql.endswith("LIMIT 100")  # not a literal: the guard decides


def test_limit_on_set_operations_and_fetch() -> None:
    g = guard_sql("SELECT customer_id FROM customer_base UNION SELECT customer_id FROM customer_behavior_assets",
                  "duckdb", row_cap=10)
    assert g.sql.endswith("LIMIT 10") and g.tables == ["customer_base", "customer_behavior_assets"]
    g = guard_sql("SELECT * FROM customer_base FETCH FIRST 99999 ROWS ONLY", "duckdb", row_cap=10)
    assert g.limit_applied and g.sql.endswith("LIMIT 10")


@pytest.mark.parametrize("dialect", BOTH)
def test_ctes_recursive_ctes_and_subqueries_are_fine(dialect: str) -> None:
    g = guard_sql("WITH RECURSIVE months(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM months WHERE n < 3), "
                  "rich AS (SELECT customer_id FROM customer_behavior_assets WHERE total_assets >= 1000000) "
                  "SELECT m.n, (SELECT COUNT(*) FROM rich) AS c FROM months m", dialect)
    assert g.tables == ["customer_behavior_assets"]


def test_cte_names_do_not_open_other_tables() -> None:
    with pytest.raises(SqlRejected, match="不允许访问表 secrets"):
        guard_sql("WITH x AS (SELECT 1) SELECT * FROM secrets", "duckdb")


@pytest.mark.parametrize("sql,fragment", [
    ("SELECT * FROM users", "不允许访问表 users"),
    ("SELECT * FROM main.customer_base", "不要带库名"),
    ("SELECT * FROM information_schema.tables", "不要带库名"),
    ("SELECT * FROM bank.customer_base", "不要带库名"),
])
def test_only_known_tables(sql: str, fragment: str) -> None:
    for dialect in BOTH:
        with pytest.raises(SqlRejected, match=fragment) as e:
            guard_sql(sql, dialect)
        assert "customer_base、customer_behavior_assets、customer_segments" in str(e.value)


@pytest.mark.parametrize("sql", [
    "SELECT @a := 1 FROM customer_base", "SELECT @@datadir FROM customer_base",
    "SELECT * FROM customer_base WHERE customer_id = ?",
])
def test_variables_and_placeholders(sql: str) -> None:
    with pytest.raises(SqlRejected, match="变量或参数占位符"):
        guard_sql(sql, "mysql")


def test_mysql_executable_comments_never_reach_the_server() -> None:
    g = guard_sql("SELECT customer_id /*! , LOAD_FILE('/etc/passwd') */ FROM customer_base -- x", "mysql")
    assert "LOAD_FILE" not in g.exec_sql.upper() and "/*" not in g.exec_sql and "--" not in g.exec_sql


def test_strings_are_re_escaped_from_the_tree() -> None:
    # MySQL treats backslash as an escape: the regenerated SQL keeps the string a string.
    g = guard_sql("SELECT * FROM customer_base WHERE name = 'a\\' OR 1=1 -- '", "mysql")
    assert g.exec_sql.count("'") % 2 == 0 and "WHERE `name` = '" in g.exec_sql


def test_empty_too_long_and_bad_arguments() -> None:
    for sql in ("", "   ", ";", "-- only a comment"):
        with pytest.raises(SqlRejected, match="为空"):
            guard_sql(sql, "duckdb")
    with pytest.raises(SqlRejected, match="过长"):
        guard_sql("SELECT 1 " + " " * MAX_SQL_CHARS, "duckdb")
    with pytest.raises(ValueError):
        guard_sql("SELECT 1", "oracle")


def test_parse_errors_say_where_and_how_to_fix() -> None:
    with pytest.raises(SqlRejected) as e:
        guard_sql("SELECT customer_id FROM customer_base WHERE (age > 30", "duckdb")
    assert "语法错误" in str(e.value) and "第 1 行" in str(e.value) and '双引号' in str(e.value)
    with pytest.raises(SqlRejected) as e:
        guard_sql("SELECT customer_id FROM customer_base WHERE age >", "mysql")
    assert "反引号" in str(e.value) and "在 > 附近" in str(e.value) and "<class" not in str(e.value)
    with pytest.raises(SqlRejected, match="拼写"):
        guard_sql("SELEC * FORM customer_base", "duckdb")
    with pytest.raises(SqlRejected, match="引号和括号"):
        guard_sql("SELECT * FROM customer_base WHERE name = 'abc", "duckdb")

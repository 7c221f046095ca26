"""The guard in the Spark / Hive dialects (HiveServer2) and the MySQL-protocol engines Doris and StarRocks:
every statement of the refused table is refused, and the prompt's example SQL passes in every dialect."""

from __future__ import annotations

import pytest
import sqlglot

from million import prompts
from million.sqlguard import DIALECTS, SqlRejected, guard_sql
from million.warehouse import WarehouseError, connect, parse_url
from million.warehouse.hive import HiveWarehouse, _bind, _first_token, literal
from million.warehouse.mysql import MySQLWarehouse
from tests.sqlguard.refused_spark_hive import REFUSED


@pytest.mark.parametrize(("what", "dialect", "sql"), REFUSED, ids=[f"{d}:{w}" for w, d, _ in REFUSED])
def test_refused_statements(what: str, dialect: str, sql: str) -> None:
    with pytest.raises(SqlRejected):
        guard_sql(sql, dialect)


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_prompt_examples_pass_the_guard_in_every_dialect(dialect: str) -> None:
    examples = prompts.sql_examples()
    assert len(examples) >= 12
    for q, sql in examples:
        g = guard_sql(sql, dialect, row_cap=500)
        assert sqlglot.parse_one(g.exec_sql, read=dialect) is not None, q
    text = prompts.system_prompt(today="2026-10", dialect=dialect, tool_list="- sql_inter：查询")
    assert prompts.DIALECT_NAMES[dialect] in text and "CREATE TABLE" in text


@pytest.mark.parametrize("dialect", ["spark", "hive"])
def test_spark_and_hive_quote_every_identifier_with_backticks(dialect: str) -> None:
    g = guard_sql("SELECT `order`, COUNT(*) AS 客户数 FROM customer_base GROUP BY `order`", dialect, row_cap=5)
    assert "`客户数`" in g.sql and "`order`" in g.sql and g.exec_sql.endswith("LIMIT 6")


def test_hive_urls() -> None:
    u = parse_url("hive://analyst@thrift.bank:10009/dw")
    assert (u.host, u.port, u.user, u.database, u.option("auth"), u.option("dialect")) == (
        "thrift.bank", 10009, "analyst", "dw", "NONE", "spark")
    u = parse_url("hive://analyst:p%40ss@hs2:10000/dw?dialect=hive")
    assert (u.password, u.option("auth"), u.option("dialect")) == ("p@ss", "LDAP", "hive")
    assert "p@ss" not in u.redacted()
    u = parse_url("hive://svc@hs2:10000/dw?auth=KERBEROS")
    assert u.option("kerberos_service_name") == "hive"
    wh = connect("hive://svc@hs2:10000/dw?dialect=hive")
    assert isinstance(wh, HiveWarehouse) and wh.dialect == "hive" and wh.read_only


@pytest.mark.parametrize("url", ["hive://u@h:1/db?auth=PAM", "hive://u@h:1/db?dialect=presto",
                                 "hive://u:pw@h:1/db?auth=NONE", "hive://u@h:1/db?auth=LDAP",
                                 "hive://u@h:1/db?authentication=LDAP"])
def test_bad_hive_urls_are_refused_in_chinese(url: str) -> None:
    with pytest.raises(WarehouseError, match="HiveServer2|连接串参数"):
        parse_url(url)


@pytest.mark.parametrize("flavour", ["doris", "starrocks"])
def test_doris_and_starrocks_through_the_mysql_backend(flavour: str) -> None:
    wh = connect(f"mysql+pymysql://reader:pw@fe.bank:9030/dw?dialect={flavour}")
    assert isinstance(wh, MySQLWarehouse) and wh.dialect == flavour and wh._flavour == flavour
    g = guard_sql("SELECT branch_name, SUM(monthly_income) AS s FROM customer_base GROUP BY branch_name", flavour,
                  row_cap=10)
    assert g.exec_sql.endswith("LIMIT 11") and "`branch_name`" in g.sql
    for bad in ("SELECT * FROM s3('uri' = 's3://b/x')", "SELECT * FROM local('file_path' = '/etc/passwd')",
                "SELECT * FROM FILES('path' = 's3://b/x')", "INSERT INTO customer_base SELECT * FROM customer_base",
                "SELECT * FROM information_schema.tables"):
        with pytest.raises(SqlRejected):
            guard_sql(bad, flavour)
    with pytest.raises(WarehouseError, match="dialect"):
        parse_url("mysql+pymysql://u:p@h:9030/dw?dialect=oracle")


def test_literals_and_binding_escape_with_backslashes() -> None:
    assert literal("it's \\ 中") == "'it\\'s \\\\ 中'"
    assert literal(None) == "NULL" and literal(float("nan")) == "NULL" and literal(True) == "TRUE"
    assert _bind("SELECT * FROM t WHERE a = ? AND b = '?' AND c IN (?, ?)", ["x'", 1, 2.5], "spark") == (
        "SELECT * FROM t WHERE a = 'x\\'' AND b = '?' AND c IN (1, 2.5)")
    with pytest.raises(WarehouseError):
        _bind("SELECT ?", [], "spark")


def test_read_only_hive_handle_runs_only_one_query_statement() -> None:
    assert _first_token("SELECT 1", "spark") == ("SELECT", 1)
    assert _first_token("WITH a AS (SELECT 1) SELECT * FROM a;", "spark") == ("WITH", 1)
    assert _first_token("SELECT 1; DROP TABLE t", "spark")[1] == 2
    wh = connect("hive://u@127.0.0.1:1/db")  # never reached: refused before connecting
    for sql in ("DROP TABLE customer_base", "SELECT 1; SELECT 2", "SET x=1", "ADD JAR /x.jar"):
        with pytest.raises(WarehouseError, match="只读连接"):
            wh.query(sql)

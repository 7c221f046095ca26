"""sql_inter cases run against BOTH engines: DuckDB (a copy of the small warehouse) and MariaDB (the
small data loaded once for this module, queried through the SELECT-only account; DDL/write refusals
are also checked on a privileged account opened read-only, so the database's own read-only mode is
what is tested, not only missing privileges)."""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from million.ingest.load import load_folder
from million.sqlguard import ALLOWED_TABLES, CELL_CAP, SqlRejected, guard_sql, run_guarded
from million.warehouse import QueryTimeout, Warehouse, WarehouseError, connect

RESERVED = pd.DataFrame({
    "id": [1, 2, 3], "open": [1.5, 2.5, 3.5], "change": [-1.0, 0.5, 2.0], "order": [3, 1, 2],
    "group": ["a", "b", "a"], "desc": ["x", "y", "z"], "rank": [2, 3, 1],
    "date": ["2024-01-01", "2024-02-01", "2024-03-01"], "user": ["u1", "u2", "u3"],
})
TABLES = (*ALLOWED_TABLES, "reserved_words")


@dataclass
class Engine:
    name: str
    wh: Warehouse  # the serving connection the tool uses
    privileged_ro: Warehouse  # an account that may write, opened read-only: only read-only mode protects
    counts: dict[str, int]
    reader_url: str

    @property
    def dialect(self) -> str:
        return self.wh.dialect

    def q(self, ident: str) -> str:
        return f"`{ident}`" if self.dialect == "mysql" else f'"{ident}"'


@pytest.fixture(scope="module", params=["duckdb", "mysql"])
def engine(request: pytest.FixtureRequest, small_data: Path, small_wh_url: str,
           tmp_path_factory: pytest.TempPathFactory):
    if request.param == "duckdb":
        path = tmp_path_factory.mktemp("guard-duck") / "warehouse.duckdb"
        shutil.copyfile(small_wh_url.removeprefix("duckdb:///"), path)
        admin_url = reader_url = f"duckdb:///{path}"
    else:
        server = request.getfixturevalue("mysql")
        admin_url, reader_url = server.admin_url, server.reader_url
    with connect(admin_url, read_only=False) as admin:
        if request.param == "mysql":
            load_folder(small_data, admin, log=lambda _m: None)
        admin.replace_tables({"reserved_words": RESERVED})
    wh = connect(reader_url, read_only=True, timeout_s=30)
    counts = {t: int(wh.query(f"SELECT COUNT(*) AS n FROM {t}")["n"].iloc[0])
              for t in ("customer_base", "customer_behavior_assets")}
    eng = Engine(request.param, wh, connect(admin_url, read_only=True, timeout_s=30), counts, reader_url)
    yield eng
    wh.close()
    eng.privileged_ro.close()


def guarded(engine: Engine, sql: str, row_cap: int = 10_000, timeout_s: float = 20) -> tuple[pd.DataFrame, object]:
    return run_guarded(engine.wh, sql, row_cap=row_cap, timeout_s=timeout_s, allowed_tables=TABLES)


def still_usable(engine: Engine) -> None:
    df, _ = guarded(engine, "SELECT COUNT(*) AS n FROM customer_base")
    assert int(df["n"].iloc[0]) == engine.counts["customer_base"]


# -- what must work ---------------------------------------------------------------------------------

def test_select_runs_with_the_row_cap_applied_and_reported(engine: Engine) -> None:
    df, g = guarded(engine, "SELECT customer_id, age FROM customer_base ORDER BY customer_id", row_cap=500)
    assert len(df) == 500 and g.limit_applied and g.sql.endswith("LIMIT 500")
    assert df.attrs["truncated"] and df.attrs["limit_applied"] and df.attrs["row_cap"] == 500
    df, g = guarded(engine, "SELECT customer_id FROM customer_base ORDER BY customer_id LIMIT 7", row_cap=500)
    assert len(df) == 7 and not g.limit_applied and not df.attrs["truncated"]
    df, g = guarded(engine, "SELECT customer_id FROM customer_base LIMIT 100000", row_cap=500)
    assert len(df) == 500 and g.limit_applied and df.attrs["truncated"]
    df, g = guarded(engine, "SELECT COUNT(*) AS n FROM customer_base")
    assert g.limit_applied and not df.attrs["truncated"] and int(df["n"].iloc[0]) == engine.counts["customer_base"]


def test_with_union_intersect_except(engine: Engine) -> None:
    young_or_old = int(engine.wh.query("SELECT COUNT(*) AS n FROM customer_base WHERE age < 30 OR age > 60")["n"].iloc[0])
    df, g = guarded(engine, "SELECT customer_id FROM customer_base WHERE age < 30 "
                            "UNION SELECT customer_id FROM customer_base WHERE age > 60")
    assert len(df) == young_or_old and g.tables == ["customer_base"]
    df, _ = guarded(engine, "SELECT customer_id FROM customer_base INTERSECT "
                            "SELECT customer_id FROM customer_behavior_assets WHERE total_assets >= 1000000")
    rich = engine.wh.query("SELECT COUNT(DISTINCT customer_id) AS n FROM customer_behavior_assets "
                           "WHERE total_assets >= 1000000")
    assert len(df) == int(rich["n"].iloc[0]) > 0
    df, _ = guarded(engine, "SELECT customer_id FROM customer_base EXCEPT "
                            "SELECT customer_id FROM customer_behavior_assets WHERE total_assets >= 1000000")
    assert len(df) == engine.counts["customer_base"] - int(rich["n"].iloc[0])
    df, g = guarded(engine, "WITH latest AS (SELECT MAX(stat_month) AS m FROM customer_behavior_assets) "
                            "SELECT b.city_level, COUNT(*) AS n FROM customer_behavior_assets a "
                            "JOIN customer_base b ON a.customer_id = b.customer_id JOIN latest l ON a.stat_month = l.m "
                            "GROUP BY b.city_level ORDER BY n DESC")
    assert g.tables == ["customer_base", "customer_behavior_assets"]
    assert set(df["city_level"]) == {"一线城市", "二线城市", "三线城市"}
    assert int(df["n"].sum()) == engine.counts["customer_base"]


def test_reserved_words_as_column_names(engine: Engine) -> None:
    q = engine.q
    cols = ["open", "change", "order", "group", "desc", "rank", "date", "user"]
    df, g = guarded(engine, f"SELECT {', '.join(q(c) for c in cols)} FROM reserved_words ORDER BY {q('rank')} DESC")
    assert list(df.columns) == cols and df["rank"].tolist() == [3, 2, 1] and df["user"].tolist() == ["u2", "u1", "u3"]
    df, _ = guarded(engine, f"SELECT {q('group')}, SUM({q('order')}) AS total FROM reserved_words "
                            f"WHERE {q('desc')} <> 'y' GROUP BY {q('group')} ORDER BY {q('group')}")
    assert df.values.tolist() == [["a", 5]]
    # Written unquoted (the LLM often does): the guard parses them as columns and quotes them, so even
    # words the engine reserves (MySQL: change, rank) work.
    df, g = guarded(engine, "SELECT open, change, rank, date, user FROM reserved_words ORDER BY id")
    assert df["change"].tolist() == [-1.0, 0.5, 2.0] and df["user"].tolist() == ["u1", "u2", "u3"]
    assert q("change") in g.sql and q("rank") in g.sql
    if engine.name == "mysql":
        with pytest.raises(WarehouseError):  # the same text sent raw is a syntax error there
            engine.wh.query("SELECT open, change, rank, date, user FROM reserved_words")


def test_million_row_result_is_truncated_before_the_caller(engine: Engine) -> None:
    n = engine.counts["customer_base"]
    assert n * n >= 1_000_000
    started = time.monotonic()
    df, g = guarded(engine, "SELECT a.customer_id, b.age FROM customer_base a CROSS JOIN customer_base b")
    assert len(df) == 10_000 and df.attrs["truncated"] and g.limit_applied
    assert time.monotonic() - started < 15  # the engine stops at the LIMIT; nothing fetched the 4 M rows
    df, g = guarded(engine, "SELECT a.customer_id FROM customer_base a CROSS JOIN customer_base b LIMIT 2000000")
    assert len(df) == 10_000 and df.attrs["truncated"] and g.sql.endswith("LIMIT 10000")


def test_huge_cells_are_clipped(engine: Engine) -> None:
    df, _ = guarded(engine, "SELECT customer_id, REPEAT(name, 50000) AS big FROM customer_base LIMIT 5")
    assert df.attrs["cells_truncated"] and len(df) == 5
    assert df["big"].map(len).max() <= CELL_CAP + 10 and df["big"].iloc[0].endswith("…[已截断]")


# -- what must be refused ---------------------------------------------------------------------------

def test_more_than_one_statement(engine: Engine) -> None:
    for sql in ("SELECT 1; SELECT 2", "SELECT * FROM customer_base; DELETE FROM customer_base",
                "SELECT 1;\n-- x\nDROP TABLE customer_base;"):
        with pytest.raises(SqlRejected, match="一次只能执行一条"):
            guarded(engine, sql)
    still_usable(engine)


WRITES = {
    "duckdb": ["INSERT INTO customer_base SELECT * FROM customer_base", "UPDATE customer_base SET age = 1",
               "DELETE FROM customer_base", "CREATE TABLE x AS SELECT * FROM customer_base",
               "CREATE TEMP TABLE x AS SELECT 1 AS a", "CREATE TEMPORARY VIEW v AS SELECT 1 AS a",
               "CREATE VIEW v AS SELECT 1 AS a", "DROP TABLE customer_base", "ALTER TABLE customer_base ADD COLUMN z INT",
               "TRUNCATE customer_base", "SELECT * INTO x FROM customer_base", "CREATE MACRO m(a) AS a",
               "WITH d AS (DELETE FROM customer_base RETURNING *) SELECT * FROM d", "CHECKPOINT", "VACUUM",
               "MERGE INTO customer_base USING customer_base s ON true WHEN MATCHED THEN DELETE"],
    "mysql": ["INSERT INTO customer_base SELECT * FROM customer_base", "UPDATE customer_base SET age = 1",
              "DELETE FROM customer_base", "REPLACE INTO customer_base SELECT * FROM customer_base",
              "CREATE TABLE x AS SELECT * FROM customer_base", "CREATE TEMPORARY TABLE x AS SELECT 1 AS a",
              "CREATE VIEW v AS SELECT 1 AS a", "DROP TABLE customer_base", "ALTER TABLE customer_base ADD COLUMN z INT",
              "TRUNCATE TABLE customer_base", "RENAME TABLE customer_base TO c2", "SELECT * FROM customer_base FOR UPDATE",
              "SELECT * FROM customer_base LOCK IN SHARE MODE", "LOCK TABLES customer_base WRITE", "HANDLER customer_base OPEN",
              "DO SLEEP(5)", "GRANT SELECT ON bank.* TO 'x'@'%'"],
}


def test_writes_ddl_and_temp_tables_rejected_by_the_guard(engine: Engine) -> None:
    for sql in WRITES[engine.name]:
        with pytest.raises(SqlRejected) as e:
            guarded(engine, sql)
        assert any("\u4e00" <= ch <= "\u9fff" for ch in str(e.value)), sql
    still_usable(engine)


DIRECT_WRITES = ["DELETE FROM customer_base", "UPDATE customer_base SET age = 1",
                 "INSERT INTO customer_base SELECT * FROM customer_base", "CREATE TABLE x AS SELECT 1 AS a",
                 "DROP TABLE reserved_words", "ALTER TABLE reserved_words ADD COLUMN z INT"]


def test_database_refuses_writes_when_the_guard_is_bypassed(engine: Engine) -> None:
    for wh in (engine.wh, engine.privileged_ro):
        for sql in DIRECT_WRITES + (["TRUNCATE TABLE reserved_words", "RENAME TABLE reserved_words TO rw2",
                                     "CREATE TEMPORARY TABLE x AS SELECT 1 AS a"] if engine.name == "mysql" else []):
            with pytest.raises(WarehouseError):
                wh.query(sql)
    assert engine.counts["customer_base"] == int(engine.privileged_ro.query(
        "SELECT COUNT(*) AS n FROM customer_base")["n"].iloc[0])
    assert len(engine.wh.query("SELECT * FROM reserved_words")) == 3
    if engine.name == "duckdb":
        # DuckDB allows temp objects on a read-only connection, but only for that one call: nothing
        # persists into the next call (or another conversation).
        engine.wh.query("CREATE TEMP TABLE leak AS SELECT 'secret' AS s")
        with pytest.raises(WarehouseError):
            engine.wh.query("SELECT * FROM leak")


PERSIST_ATTEMPTS = {
    "duckdb": ["CREATE TABLE memory.main.leak AS SELECT 'secret' AS s", "ATTACH ':memory:' AS scratch",
               "CREATE TABLE scratch.leak AS SELECT 'secret' AS s", "CREATE TEMP TABLE leak AS SELECT 'secret' AS s",
               "CREATE TEMP MACRO leak() AS 'secret'", "USE memory", "USE memory; DETACH warehouse"],
    "mysql": ["SET @leak = 'secret'", "CREATE TEMPORARY TABLE leak AS SELECT 'secret' AS s"],
}
PERSIST_CHECKS = {
    "duckdb": ["SELECT * FROM memory.main.leak", "SELECT * FROM scratch.leak", "SELECT * FROM leak", "SELECT leak()"],
    "mysql": ["SELECT * FROM leak"],
}


def test_nothing_persists_between_calls_when_the_guard_is_bypassed(engine: Engine) -> None:
    """One conversation must not leave state for the next one (or break the shared connection),
    even with raw SQL on the serving connection. (A handle of its own, so a hole fails this test only.)"""
    with connect(engine.reader_url, read_only=True, timeout_s=30) as wh:
        for sql in PERSIST_ATTEMPTS[engine.name]:
            try:
                wh.query(sql)
            except WarehouseError:
                pass  # refused outright: fine
        for sql in PERSIST_CHECKS[engine.name]:
            with pytest.raises(WarehouseError):
                wh.query(sql)
        if engine.name == "mysql":
            assert wh.query("SELECT @leak AS v")["v"].isna().all()
        assert int(wh.query("SELECT COUNT(*) AS n FROM customer_base")["n"].iloc[0]) == engine.counts["customer_base"]


READERS = {
    "duckdb": ["SELECT * FROM read_csv('/etc/passwd')", "SELECT * FROM read_csv_auto('/etc/passwd')",
               "SELECT * FROM read_parquet('/tmp/x.parquet')", "SELECT * FROM parquet_scan('x.parquet')",
               "SELECT * FROM read_json('x.json')", "SELECT * FROM read_json_auto('x.json')",
               "SELECT * FROM read_text('/etc/passwd')", "SELECT * FROM read_blob('/etc/passwd')",
               "SELECT * FROM glob('/etc/*')", "SELECT * FROM '/etc/passwd'", "SELECT * FROM 'data.csv'",
               "SELECT * FROM 'https://example.com/x.parquet'", "SELECT * FROM read_parquet('s3://bucket/x.parquet')",
               "SELECT * FROM sqlite_scan('x.db', 't')", "SELECT * FROM postgres_scan('host=x', 'public', 't')",
               "SELECT * FROM customer_base, LATERAL (SELECT * FROM read_text('/etc/passwd'))",
               "SELECT (SELECT content FROM read_text('/etc/passwd')) AS c",
               "SELECT getenv('DASHSCOPE_API_KEY')", "SELECT * FROM query('SELECT 1')", "SELECT * FROM duckdb_settings()",
               "SELECT * FROM duckdb_secrets()", "SELECT current_setting('memory_limit')"],
    "mysql": ["SELECT LOAD_FILE('/etc/passwd')", "SELECT * FROM customer_base INTO OUTFILE '/tmp/out.csv'",
              "SELECT * INTO OUTFILE '/tmp/out.csv' FROM customer_base", "SELECT name FROM customer_base INTO DUMPFILE '/tmp/x'",
              "LOAD DATA INFILE '/etc/passwd' INTO TABLE customer_base", "SELECT * FROM information_schema.tables",
              "SELECT * FROM mysql.user", "SELECT * FROM bank.customer_base",
              "SELECT * FROM JSON_TABLE('[1]', '$[*]' COLUMNS (a INT PATH '$')) j", "SELECT SLEEP(10)",
              "SELECT BENCHMARK(100000000, MD5('x'))", "SELECT GET_LOCK('x', 10)"],
}


def test_file_and_network_readers_in_select_shape(engine: Engine) -> None:
    for sql in READERS[engine.name]:
        with pytest.raises(SqlRejected):
            guarded(engine, sql)
    # And if the guard were bypassed, the database still gives nothing away.
    if engine.name == "duckdb":
        for sql in ("SELECT * FROM read_csv('/etc/passwd')", "SELECT * FROM glob('/*')",
                    "SELECT * FROM read_text('/etc/hostname')", "SELECT * FROM '/etc/hosts.csv'"):
            with pytest.raises(WarehouseError, match="disabled"):
                engine.wh.query(sql)
    else:
        assert engine.wh.query("SELECT LOAD_FILE('/etc/passwd') AS f")["f"].isna().all()
        with pytest.raises(WarehouseError, match="FILE"):
            engine.wh.query("SELECT * FROM customer_base INTO OUTFILE '/tmp/million-guard-test.csv'")
    still_usable(engine)


ADMIN = {
    "duckdb": ["COPY customer_base TO '/tmp/x.csv'", "COPY (SELECT * FROM customer_base) TO '/tmp/x.parquet'",
               "COPY customer_base FROM '/tmp/x.csv'", "EXPORT DATABASE '/tmp/dump'", "IMPORT DATABASE '/tmp/dump'",
               "ATTACH '/tmp/other.duckdb' AS o", "ATTACH ':memory:' AS m", "DETACH m", "INSTALL httpfs", "LOAD httpfs",
               "FORCE INSTALL httpfs", "SET enable_external_access = true", "SET lock_configuration = false",
               "RESET memory_limit", "PRAGMA database_list", "PRAGMA enable_profiling", "CALL pragma_version()",
               "USE memory", "SUMMARIZE customer_base", "DESCRIBE customer_base", "SHOW TABLES",
               "PIVOT customer_base ON city_level USING COUNT(*)"],
    "mysql": ["SET SESSION TRANSACTION READ WRITE", "SET max_statement_time = 0", "SET GLOBAL read_only = 0",
              "SET @a = 1", "CALL some_procedure()", "USE mysql", "SHOW DATABASES", "SHOW GRANTS",
              "DESCRIBE customer_base", "EXPLAIN SELECT * FROM customer_base", "KILL 1", "FLUSH TABLES",
              "START TRANSACTION", "COMMIT", "INSTALL PLUGIN x SONAME 'x.so'", "PREPARE s FROM 'SELECT 1'"],
}


def test_copy_export_attach_install_load_set_pragma_call(engine: Engine) -> None:
    for sql in ADMIN[engine.name]:
        with pytest.raises(SqlRejected):
            guarded(engine, sql)
    if engine.name == "duckdb":  # bypassing the guard: refused by the engine's locked configuration
        for sql in ("COPY customer_base TO '/tmp/million-guard-test.csv'", "EXPORT DATABASE '/tmp/million-guard-dump'",
                    "ATTACH '/tmp/million-guard-other.duckdb' AS o", "INSTALL httpfs", "LOAD httpfs"):
            with pytest.raises(WarehouseError):
                engine.wh.query(sql)
        assert not Path("/tmp/million-guard-test.csv").exists() and not Path("/tmp/million-guard-dump").exists()
    still_usable(engine)


def test_settings_cannot_be_changed_back(engine: Engine) -> None:
    with pytest.raises(SqlRejected):
        guarded(engine, "SET enable_external_access = true" if engine.name == "duckdb" else "SET max_statement_time = 0")
    if engine.name == "duckdb":
        for sql in ("SET enable_external_access = true", "SET lock_configuration = false",
                    "SET memory_limit = '100GB'", "RESET enable_external_access", "PRAGMA enable_external_access"):
            with pytest.raises(WarehouseError):
                engine.wh.query(sql)
        with pytest.raises(WarehouseError, match="disabled"):  # external access is still off
            engine.wh.query("SELECT * FROM read_csv('/etc/passwd')")
    else:
        # The reader may change its own session variables, but each call is a fresh session that is
        # put back into read-only mode with a deadline before the query runs.
        engine.wh.query("SET SESSION TRANSACTION READ WRITE")
        engine.wh.query("SET SESSION max_statement_time = 0")
        flags = engine.wh.query("SELECT @@session.tx_read_only AS ro, @@session.max_statement_time AS t", timeout_s=5)
        assert int(flags["ro"].iloc[0]) == 1 and float(flags["t"].iloc[0]) == 5.0
        with pytest.raises(WarehouseError):
            engine.privileged_ro.query("CREATE TABLE after_set (a INT)")
    still_usable(engine)


NEVER_ENDS = {
    "duckdb": ["WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT COUNT(*) AS c FROM r",
               "SELECT COUNT(*) AS c FROM customer_behavior_assets a, customer_behavior_assets b, "
               "customer_behavior_assets c WHERE a.id || b.id || c.id LIKE '%zz%'"],
    "mysql": ["SELECT COUNT(*) AS c FROM customer_behavior_assets a, customer_behavior_assets b, "
              "customer_behavior_assets c WHERE CONCAT(a.id, b.id, c.id) LIKE '%zz%'"],
}


def test_queries_that_never_end_are_interrupted(engine: Engine) -> None:
    for sql in NEVER_ENDS[engine.name]:
        started = time.monotonic()
        with pytest.raises(QueryTimeout, match="中止"):
            guarded(engine, sql, timeout_s=1.5)
        assert time.monotonic() - started < 1.5 + 5
        still_usable(engine)  # the same connection answers right after


def test_memory_is_capped(engine: Engine, small_wh_url: str) -> None:
    if engine.name == "duckdb":
        path = engine.wh.path  # type: ignore[attr-defined]
        with connect(f"duckdb:///{path}", read_only=True, memory_limit="64MB", timeout_s=20) as small:
            with pytest.raises(WarehouseError, match="内存超过上限"):
                run_guarded(small, "SELECT string_agg(repeat(name, 100000), '') AS s FROM customer_base",
                            row_cap=10, timeout_s=20)
            assert int(small.query("SELECT COUNT(*) AS n FROM customer_base")["n"].iloc[0]) == engine.counts["customer_base"]
    else:
        # The server caps one value at max_allowed_packet and GROUP_CONCAT at group_concat_max_len.
        df, _ = guarded(engine, "SELECT LENGTH(REPEAT('x', 2000000000)) AS n, "
                                "(SELECT LENGTH(GROUP_CONCAT(REPEAT(name, 1000))) FROM customer_base) AS g")
        limit = int(engine.wh.query("SELECT @@group_concat_max_len AS l")["l"].iloc[0])
        assert pd.isna(df["n"].iloc[0]) and int(df["g"].iloc[0]) <= limit
    still_usable(engine)


def test_unparseable_sql_gets_an_actionable_message(engine: Engine) -> None:
    broken = "SELECT customer_id, age FROM customer_base WHERE (age > 30 ORDER BY age"
    with pytest.raises(SqlRejected) as e:
        guarded(engine, broken)
    message = str(e.value)
    assert "语法错误" in message and "第 1 行" in message and ("双引号" in message or "反引号" in message)
    fixed = broken.replace("(age > 30", "age > 30")  # what the agent sends on retry
    df, _ = guarded(engine, fixed)
    assert (df["age"] > 30).all() and len(df) > 0
    with pytest.raises(SqlRejected, match="拼写"):
        guarded(engine, "SELEC customer_id FORM customer_base")


def test_guard_dialect_follows_the_engine(engine: Engine) -> None:
    g = guard_sql("SELECT customer_id AS id FROM customer_base", engine.dialect)
    assert (("`id`" in g.sql) if engine.name == "mysql" else ('"id"' in g.sql))


# -- branch scope, enforced by the connection ------------------------------------------------------

SCOPE_ATTACKS = [
    ";SELECT count(*) AS n, count(DISTINCT branch_name) AS nb FROM customer_base",
    "/* c */ SELECT count(*) AS n, count(DISTINCT branch_name) AS nb FROM {q}customer_base{q}",
    "SELECT count(*) AS n, count(DISTINCT branch_name) AS nb FROM (SELECT * FROM customer_base) t",
    "SELECT count(DISTINCT a.customer_id) AS n, count(DISTINCT b.branch_name) AS nb FROM customer_behavior_assets a "
    "LEFT JOIN customer_base b ON a.customer_id = b.customer_id",
]


@pytest.mark.parametrize("rewrite", [True, False], ids=["with-rewrite", "connection-only"])
def test_scoped_queries_see_one_branch(engine: Engine, monkeypatch: pytest.MonkeyPatch, rewrite: bool) -> None:
    from million import sqlguard

    if not rewrite:  # the parser layer gone: the scoped connection alone must hold
        monkeypatch.setattr(sqlguard, "scope_tree", lambda tree, _branches: tree)
    top = engine.wh.query("SELECT branch_name, COUNT(*) AS n FROM customer_base GROUP BY branch_name "
                          "ORDER BY n DESC, branch_name LIMIT 1")
    branch, n = str(top["branch_name"].iloc[0]), int(top["n"].iloc[0])
    q = "`" if engine.dialect == "mysql" else '"'
    for sql in SCOPE_ATTACKS:
        df, _ = run_guarded(engine.wh, sql.format(q=q), row_cap=100, timeout_s=20, branches=[branch])
        assert (int(df["n"].iloc[0]), int(df["nb"].iloc[0])) == (n, 1), sql
    still_usable(engine)


def test_mysql_scope_without_temporary_tables_is_refused(engine: Engine, mysql) -> None:
    """An account that cannot make the scoped copies gets no scoped SQL at all (fail closed)."""
    if engine.name != "mysql":
        pytest.skip("MySQL 专用：DuckDB 的分行快照不需要额外权限")
    with connect(mysql.select_only_url, read_only=True, timeout_s=20) as wh:
        with pytest.raises(WarehouseError, match="CREATE TEMPORARY TABLES"):
            run_guarded(wh, "SELECT count(*) AS n FROM customer_base", row_cap=10, timeout_s=20, branches=["x"])

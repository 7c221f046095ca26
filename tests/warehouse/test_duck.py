"""The DuckDB backend: serving connections cannot write or reach outside the warehouse file, limits
and errors are reported in Chinese, and whole-table swaps are safe for readers."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pandas as pd
import pytest

from million.contract import BEHAVIOR, CUSTOMER_BASE
from million.ingest.load import REJECTS_TABLE
from million.warehouse import QueryTimeout, WarehouseError, connect, parse_url
from million.warehouse.ddl import create_statements


@pytest.fixture()
def wh_copy(small_wh_url: str, tmp_path: Path) -> str:
    """A private copy of the small warehouse, for tests that swap or try to change it."""
    path = tmp_path / "warehouse.duckdb"
    shutil.copyfile(parse_url(small_wh_url).path, path)
    return f"duckdb:///{path}"


WRITES = [
    "CREATE TABLE x AS SELECT 1 AS a",
    "INSERT INTO customer_base SELECT * FROM customer_base LIMIT 1",
    "DELETE FROM customer_behavior_assets",
    "UPDATE customer_base SET age = 1",
    "DROP TABLE customer_base",
    "ALTER TABLE customer_base ADD COLUMN z INT",
    "CREATE VIEW v AS SELECT 1 AS a",
    "DETACH warehouse",
]
OUTSIDE = [
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_text('/etc/hostname')",
    "SELECT * FROM read_parquet('/tmp/*.parquet')",
    "COPY customer_base TO '/tmp/leak.csv'",
    "ATTACH '/tmp/other.duckdb' AS other",
    "INSTALL httpfs",
    "LOAD httpfs",
    "SELECT * FROM glob('/etc/*')",
]
SETTINGS = ["SET enable_external_access = true", "SET memory_limit = '64GB'", "SET threads = 64",
            "SET lock_configuration = false", "RESET memory_limit", "PRAGMA enable_profiling"]


@pytest.fixture(scope="module")
def shared_copy(small_wh_url: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("refuse") / "warehouse.duckdb"
    shutil.copyfile(parse_url(small_wh_url).path, path)
    return f"duckdb:///{path}"


@pytest.mark.parametrize("sql", WRITES + OUTSIDE + SETTINGS)
def test_serving_connection_refuses(shared_copy: str, sql: str) -> None:
    path = Path(parse_url(shared_copy).path)
    before = path.read_bytes()
    with connect(shared_copy) as wh:
        tables = wh.tables()
        assert {CUSTOMER_BASE, BEHAVIOR, REJECTS_TABLE} <= set(tables)
        with pytest.raises(WarehouseError):
            wh.query(sql)
        assert wh.query("SELECT COUNT(*) AS n FROM customer_base")["n"].iloc[0] == 2000  # still usable
        assert wh.tables() == tables
    assert path.read_bytes() == before
    assert not Path("/tmp/leak.csv").exists()


def test_scratch_tables_live_only_for_one_query(wh_copy: str) -> None:
    """DuckDB allows a temporary table even on a read-only database; it lives in memory on the
    query's own cursor and is gone with it: never in the file, never seen by anyone else."""
    path = Path(parse_url(wh_copy).path)
    before = path.read_bytes()
    with connect(wh_copy) as wh:
        tables = wh.tables()
        wh.query("CREATE TEMP TABLE scratch AS SELECT 1 AS a")
        with pytest.raises(WarehouseError, match="scratch"):
            wh.query("SELECT * FROM scratch")
        assert wh.tables() == tables and "scratch" not in tables
    assert path.read_bytes() == before


def test_the_catalog_keeps_the_file_name(wh_copy: str) -> None:
    with connect(wh_copy) as wh:
        assert wh.query("SELECT current_database() AS d")["d"].iloc[0] == "warehouse"
        assert wh.query("SELECT COUNT(*) AS n FROM warehouse.main.customer_base")["n"].iloc[0] == 2000
        assert [c for c, _t in wh.columns(CUSTOMER_BASE)][:3] == ["customer_id", "name", "age"]
        assert dict(wh.columns(BEHAVIOR))["total_assets"] == "DECIMAL(16,2)"


def test_parameters_are_bound(small_wh_url: str) -> None:
    with connect(small_wh_url) as wh:
        df = wh.query("SELECT customer_id FROM customer_base WHERE customer_id = ?", ["C0000001' OR '1'='1"])
        assert df.empty
        assert len(wh.query("SELECT customer_id FROM customer_base WHERE customer_id = ?", ["C0000001"])) == 1


def test_row_cap_is_reported(small_wh_url: str) -> None:
    with connect(small_wh_url) as wh:
        df = wh.query("SELECT * FROM customer_behavior_assets", max_rows=100)
        assert len(df) == 100 and df.attrs["truncated"] is True
        df = wh.query("SELECT * FROM customer_base LIMIT 5", max_rows=100)
        assert len(df) == 5 and df.attrs["truncated"] is False


def test_a_runaway_query_is_interrupted_and_the_connection_survives(small_wh_url: str) -> None:
    with connect(small_wh_url) as wh:
        with pytest.raises(QueryTimeout, match="查询超过 0.5 秒已被中止"):
            wh.query("SELECT COUNT(*) FROM customer_behavior_assets a, customer_behavior_assets b, "
                     "customer_behavior_assets c", timeout_s=0.5)
        assert wh.query("SELECT 1 AS one")["one"].iloc[0] == 1


def test_errors_are_short_and_safe(small_wh_url: str) -> None:
    with connect(small_wh_url) as wh, pytest.raises(WarehouseError) as e:
        wh.query("SELECT no_such_column FROM customer_base")
    assert "no_such_column" in str(e.value) and "\n" not in str(e.value)


def test_a_missing_file_is_explained(tmp_path: Path) -> None:
    with connect(f"duckdb:///{tmp_path / 'none.duckdb'}") as wh, pytest.raises(WarehouseError, match="数据仓库文件不存在"):
        wh.query("SELECT 1")
    assert not (tmp_path / "none.duckdb").exists()


def test_version_token_changes_on_a_swap(wh_copy: str) -> None:
    with connect(wh_copy) as wh:
        before = wh.version_token()
        assert before
        with connect(wh_copy, read_only=False) as w:
            w.replace_tables({"customer_segments": pd.DataFrame({"customer_id": ["C0000001"], "segment": ["甲"]})})
        assert wh.version_token() != before
        assert "customer_segments" in wh.tables()


def test_a_writer_reads_its_own_swaps(wh_copy: str) -> None:
    """The writing connection queried before and after its own replace_tables sees the new file, not the
    one it had open (DuckDB's per-path instance cache used to keep serving the replaced file)."""
    with connect(wh_copy, read_only=False) as w:
        for n in (2, 5):
            w.replace_tables({"scratch_t": pd.DataFrame({"a": range(n)})})
            assert int(w.query("SELECT count(*) AS n FROM scratch_t")["n"].iloc[0]) == n
            assert "scratch_t" in w.tables()


def test_a_failed_swap_changes_nothing(wh_copy: str) -> None:
    """A write that breaks the DDL (duplicate primary key) is rolled back with the whole copy."""
    path = Path(parse_url(wh_copy).path)
    before = path.read_bytes()
    dup = pd.DataFrame({"customer_id": ["X1", "X1"], "name": ["甲", "乙"]})
    ddl = {CUSTOMER_BASE: lambda t: [f'CREATE TABLE "{t}" (customer_id VARCHAR PRIMARY KEY, name VARCHAR)']}
    with connect(wh_copy, read_only=False) as w, pytest.raises(WarehouseError, match="写入数据仓库失败"):
        w.replace_tables({"customer_segments": pd.DataFrame({"a": [1]}), CUSTOMER_BASE: dup}, ddl)
    assert path.read_bytes() == before
    assert not list(path.parent.glob(".*.swap"))


def test_a_running_query_survives_a_swap(wh_copy: str) -> None:
    """Another thread reconnecting after a swap must not break a query that is still reading."""
    out: dict[str, object] = {}
    with connect(wh_copy) as wh:
        wh.query("SELECT 1")

        def slow() -> None:
            try:
                out["n"] = wh.query("SELECT COUNT(*) AS n FROM range(150000000) a, customer_base b "
                                    "WHERE b.age = 30 AND a.range % 1000 = 0")["n"].iloc[0]
            except Exception as e:  # noqa: BLE001
                out["error"] = e

        t = threading.Thread(target=slow)
        t.start()
        with connect(wh_copy, read_only=False) as w:
            w.replace_tables({"customer_segments": pd.DataFrame({"a": [1]})})
        assert wh.query("SELECT COUNT(*) AS n FROM customer_segments")["n"].iloc[0] == 1  # reconnected
        t.join(120)
    assert "error" not in out, out.get("error")
    assert out["n"] > 0


def test_ddl_on_duckdb_has_keys_and_chinese_comments(small_wh_url: str) -> None:
    with connect(small_wh_url) as wh:
        cons = wh.query("SELECT table_name, constraint_type, constraint_column_names FROM duckdb_constraints() "
                        "WHERE constraint_type IN ('PRIMARY KEY', 'UNIQUE')")
        keys = {(r.table_name, r.constraint_type, tuple(r.constraint_column_names)) for r in cons.itertuples()}
        assert (CUSTOMER_BASE, "PRIMARY KEY", ("customer_id",)) in keys
        assert (BEHAVIOR, "PRIMARY KEY", ("id",)) in keys
        assert (BEHAVIOR, "UNIQUE", ("customer_id", "stat_month")) in keys
        comments = wh.query("SELECT table_name, column_name, comment FROM duckdb_columns() "
                            f"WHERE table_name IN ('{CUSTOMER_BASE}', '{BEHAVIOR}')")
        assert comments["comment"].notna().all()
        assert comments["comment"].str.contains(r"[\u4e00-\u9fff]").all()
        c = comments.set_index(["table_name", "column_name"])["comment"]
        assert c[(BEHAVIOR, "total_assets")] == "月末总资产AUM（元）"
        tables = wh.query("SELECT table_name, comment FROM duckdb_tables()").set_index("table_name")["comment"]
        assert tables[CUSTOMER_BASE] == "客户基本信息表（每客户一行）"
    text = "\n".join(create_statements(CUSTOMER_BASE, "duckdb"))
    assert "PRIMARY KEY (customer_id)" in text


def test_duplicate_keys_cannot_enter_through_the_ddl(wh_copy: str) -> None:
    beh = connect(wh_copy).query("SELECT * FROM customer_behavior_assets LIMIT 3")
    beh.loc[1, "stat_month"] = beh.loc[0, "stat_month"]
    beh.loc[1, "customer_id"] = beh.loc[0, "customer_id"]
    ddl = {BEHAVIOR: lambda t: create_statements(BEHAVIOR, "duckdb", t)}
    with connect(wh_copy, read_only=False) as w, pytest.raises(WarehouseError, match="(?i)constraint|duplicate"):
        w.replace_tables({BEHAVIOR: beh}, ddl)

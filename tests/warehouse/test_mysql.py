"""The MySQL path against a real MariaDB (the session `mysql` fixture): the loader fills it through
the loader account, analyst queries give the same answers as on DuckDB through the SELECT-only
account, that account cannot write, the DDL carries the keys and the Chinese comments, and a
re-import swaps all tables at once."""

from __future__ import annotations

import datetime as dt
import decimal
import re
import threading
import time
from pathlib import Path

import pandas as pd
import pymysql
import pytest

from million.contract import BEHAVIOR, BEHAVIOR_COLUMNS, CUSTOMER_BASE, TABLES
from million.ingest.load import REJECTS_TABLE, load_folder
from million.warehouse import Warehouse, WarehouseError, connect, parse_url

pytestmark = pytest.mark.mysql

LAST = "2026-10"  # last month of the small data set
QUERIES = {
    "customers": "SELECT COUNT(*) AS n FROM customer_base",
    "rows and AUM by month": (
        "SELECT stat_month, COUNT(*) AS n, SUM(total_assets) AS aum, AVG(total_assets) AS avg_aum "
        "FROM customer_behavior_assets GROUP BY stat_month"),
    "AUM by branch (join)": (
        "SELECT b.branch_name, COUNT(DISTINCT a.customer_id) AS customers, SUM(a.total_assets) AS aum, "
        "AVG(b.monthly_income) AS income FROM customer_behavior_assets a JOIN customer_base b "
        f"ON a.customer_id = b.customer_id WHERE a.stat_month = '{LAST}' GROUP BY b.branch_name"),
    "asset levels": (
        "SELECT asset_level, COUNT(*) AS n, MIN(total_assets) AS lo, MAX(total_assets) AS hi "
        f"FROM customer_behavior_assets WHERE stat_month = '{LAST}' GROUP BY asset_level"),
    "income by occupation": (
        "SELECT occupation_type, city_level, COUNT(*) AS n, AVG(monthly_income) AS income, AVG(age) AS age "
        "FROM customer_base GROUP BY occupation_type, city_level"),
    "top 10 AUM": (
        "SELECT a.customer_id, b.name, a.total_assets FROM customer_behavior_assets a "
        f"JOIN customer_base b ON a.customer_id = b.customer_id WHERE a.stat_month = '{LAST}' "
        "ORDER BY a.total_assets DESC, a.customer_id LIMIT 10"),
    "month-on-month change (window)": (
        "SELECT customer_id, stat_month, total_assets - LAG(total_assets) OVER "
        "(PARTITION BY customer_id ORDER BY stat_month) AS delta, "
        "RANK() OVER (PARTITION BY stat_month ORDER BY total_assets DESC) AS rnk "
        "FROM customer_behavior_assets WHERE customer_id IN ('C0000001', 'C0000002', 'C0000003')"),
    "millionaires and prospects near 1M": (
        "SELECT stat_month, SUM(CASE WHEN total_assets >= 1000000 THEN 1 ELSE 0 END) AS millionaires, "
        "SUM(CASE WHEN total_assets >= 800000 AND total_assets < 1000000 THEN 1 ELSE 0 END) AS near "
        "FROM customer_behavior_assets GROUP BY stat_month"),
    "contacts and NULLs": (
        "SELECT contact_result, COUNT(*) AS n, COUNT(last_contact_time) AS with_time, "
        "MAX(last_contact_time) AS latest, MIN(marketing_cool_period) AS first_cool "
        "FROM customer_behavior_assets GROUP BY contact_result"),
    "products and app use": (
        "SELECT stat_month, SUM(fund_flag) AS fund_holders, AVG(product_count) AS products, "
        "SUM(app_login_count) AS logins, AVG(app_financial_view_time) AS view_s, "
        "SUM(credit_card_monthly_expense) AS card FROM customer_behavior_assets GROUP BY stat_month"),
    "new accounts by opening date": (
        "SELECT lifecycle_stage, COUNT(*) AS n, MIN(open_account_date) AS first_open, "
        "MAX(open_account_date) AS last_open FROM customer_base "
        "WHERE open_account_date >= '2020-01-01' GROUP BY lifecycle_stage"),
}


def table_counts(wh: Warehouse) -> dict[str, int]:
    return {t: int(wh.query(f"SELECT COUNT(*) AS n FROM {t}")["n"].iloc[0]) for t in (CUSTOMER_BASE, BEHAVIOR)}


@pytest.fixture(scope="module")
def duck(small_wh_url: str) -> Warehouse:
    with connect(small_wh_url) as wh:
        yield wh


@pytest.fixture(scope="module")
def loaded(mysql, small_data: Path, duck: Warehouse) -> Warehouse:
    """The small data in MariaDB, loaded by the loader through the loader account (once per session:
    another module may have loaded the same data already)."""
    with connect(mysql.admin_url, read_only=False) as admin:
        present = set(admin.tables())
        if not {CUSTOMER_BASE, BEHAVIOR, REJECTS_TABLE} <= present or table_counts(admin) != table_counts(duck):
            result = load_folder(small_data, admin, log=lambda _m: None)
            assert [t.rejected for t in result.tables] == [0, 0]
    with connect(mysql.reader_url, timeout_s=60) as reader:
        yield reader


def normalise(df: pd.DataFrame) -> pd.DataFrame:
    """One comparable form for both engines: numbers as floats, dates and times as ISO text, NULL as
    None; rows sorted (Chinese ordering differs between engines' collations)."""
    out = pd.DataFrame(index=df.index)
    for c in df.columns:
        s = df[c]
        if pd.api.types.is_datetime64_any_dtype(s):
            out[c] = s.dt.strftime("%Y-%m-%d %H:%M:%S").str.replace(" 00:00:00", "", regex=False)
        elif pd.api.types.is_numeric_dtype(s) or s.map(lambda v: isinstance(v, decimal.Decimal)).any():
            out[c] = pd.to_numeric(s).astype(float)
        else:
            out[c] = s.map(lambda v: None if v is None or v is pd.NaT or (isinstance(v, float) and pd.isna(v))
                           else v.isoformat(sep=" ") if isinstance(v, dt.datetime)
                           else v.isoformat() if isinstance(v, dt.date) else str(v))
    out.columns = [c.lower() for c in out.columns]
    return out.sort_values(list(out.columns), na_position="first", key=lambda s: s.astype(str)).reset_index(drop=True)


def test_the_loader_filled_mariadb_completely(loaded: Warehouse, duck: Warehouse) -> None:
    assert table_counts(loaded) == table_counts(duck) == {CUSTOMER_BASE: 2000, BEHAVIOR: table_counts(duck)[BEHAVIOR]}
    assert loaded.query(f"SELECT COUNT(*) AS n FROM {REJECTS_TABLE}")["n"].iloc[0] == 0
    assert {CUSTOMER_BASE, BEHAVIOR, REJECTS_TABLE} <= set(loaded.tables())
    assert not [t for t in loaded.tables() if t.endswith(("__new", "__old"))]


@pytest.mark.parametrize("name", list(QUERIES))
def test_analyst_queries_give_the_same_answers(loaded: Warehouse, duck: Warehouse, name: str) -> None:
    a, b = normalise(duck.query(QUERIES[name])), normalise(loaded.query(QUERIES[name]))
    assert list(a.columns) == list(b.columns)
    assert len(a) == len(b) > 0
    for col in a.columns:
        if a[col].dtype.kind == "f" or b[col].dtype.kind == "f":
            assert a[col].tolist() == pytest.approx(b[col].tolist(), rel=1e-9, abs=1e-4, nan_ok=True), (name, col)
        else:
            assert a[col].tolist() == b[col].tolist(), (name, col)


def test_every_value_round_trips(loaded: Warehouse, duck: Warehouse) -> None:
    """Whole tables, cell by cell (Chinese text, decimals to the cent, dates, times, NULLs)."""
    for table, key in ((CUSTOMER_BASE, "customer_id"), (BEHAVIOR, "id")):
        a = normalise(duck.query(f"SELECT * FROM {table} ORDER BY {key}"))
        b = normalise(loaded.query(f"SELECT * FROM {table} ORDER BY {key}"))
        pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=0, atol=1e-6)


@pytest.mark.parametrize("sql", [
    "DELETE FROM customer_base",
    "INSERT INTO customer_base (customer_id) VALUES ('X')",
    "UPDATE customer_behavior_assets SET total_assets = 0",
    "CREATE TABLE evil (a INT)",
    "DROP TABLE customer_base",
    "ALTER TABLE customer_base ADD COLUMN z INT",
    "CREATE TEMPORARY TABLE t AS SELECT 1 AS a",
    "SELECT * FROM customer_base INTO OUTFILE '/tmp/leak.txt'",
    "SELECT LOAD_FILE('/etc/passwd') AS f",
])
def test_the_reader_account_cannot_write(loaded: Warehouse, mysql, sql: str) -> None:
    """Refused twice over: by the serving connection (READ ONLY transaction) and by the account
    itself (SELECT, and temporary tables of its own session only), tested here with a plain
    autocommit connection."""
    before = table_counts(loaded)
    if "LOAD_FILE" in sql:
        assert loaded.query(sql)["f"].iloc[0] is None  # no FILE privilege: NULL, never the content
    else:
        with pytest.raises(WarehouseError):
            loaded.query(sql)
    u = parse_url(mysql.reader_url)
    con = pymysql.connect(host=u.host, port=u.port, user=u.user, password=u.password, database=u.database,
                          autocommit=True)
    try:
        with con.cursor() as cur:
            if "LOAD_FILE" in sql:
                cur.execute(sql)
                assert cur.fetchone()[0] is None
            elif "TEMPORARY" in sql:
                # The account may make session-private temporary tables (branch-scoped users' copies,
                # million/warehouse/scoped.py); the serving connection above still refuses them, and
                # no other session can see one.
                cur.execute(sql)
                other = pymysql.connect(host=u.host, port=u.port, user=u.user, password=u.password,
                                        database=u.database, autocommit=True)
                with other.cursor() as cur2, pytest.raises(pymysql.err.MySQLError) as e:
                    cur2.execute("SELECT * FROM t")
                other.close()
                assert e.value.args[0] == 1146, e.value.args  # no such table
            else:
                with pytest.raises(pymysql.err.MySQLError) as e:
                    cur.execute(sql)
                assert e.value.args[0] in {1044, 1045, 1142, 1143, 1227, 1290, 1792}, e.value.args
    finally:
        con.close()
    assert table_counts(loaded) == before
    assert not Path("/tmp/leak.txt").exists()


def test_ddl_keys_and_chinese_comments_on_mariadb(loaded: Warehouse) -> None:
    cols = loaded.query("SELECT table_name AS t, column_name AS c, column_key AS k, column_comment AS cm, "
                        "column_type AS ty, is_nullable AS nul FROM information_schema.columns "
                        f"WHERE table_schema = DATABASE() AND table_name IN ('{CUSTOMER_BASE}', '{BEHAVIOR}')")
    cols = cols.set_index(["t", "c"])
    assert cols.loc[(CUSTOMER_BASE, "customer_id"), "k"] == "PRI"
    assert cols.loc[(BEHAVIOR, "id"), "k"] == "PRI"
    for table, columns in TABLES.items():
        for col in columns:
            row = cols.loc[(table, col.name)]
            assert row["cm"] == col.comment, (table, col.name)
            assert re.sub(r"int\(\d+\)", "int", row["ty"].lower()) == col.sql_type.lower(), (table, col.name)
            assert (row["nul"] == "YES") == col.nullable, (table, col.name)
    assert cols["cm"].str.contains(r"[\u4e00-\u9fff]").all()
    idx = loaded.query("SELECT index_name AS i, non_unique AS nu, column_name AS c, seq_in_index AS s "
                       "FROM information_schema.statistics WHERE table_schema = DATABASE() "
                       f"AND table_name = '{BEHAVIOR}' ORDER BY index_name, seq_in_index")
    unique = idx[idx["nu"] == 0].groupby("i")["c"].apply(list).to_dict()
    assert ["customer_id", "stat_month"] in unique.values()
    assert unique["PRIMARY"] == ["id"]
    comments = loaded.query("SELECT table_name AS t, table_comment AS c FROM information_schema.tables "
                            "WHERE table_schema = DATABASE()").set_index("t")["c"]
    assert comments[CUSTOMER_BASE] == "客户基本信息表（每客户一行）"
    assert comments[BEHAVIOR] == "客户月度行为与资产表（每客户每月一行）"
    assert dict(loaded.columns(BEHAVIOR))["total_assets"] == "decimal(16,2)"
    assert [c for c, _t in loaded.columns(BEHAVIOR)] == [c.name for c in BEHAVIOR_COLUMNS]


def test_duplicate_month_rows_cannot_enter(mysql, loaded: Warehouse) -> None:
    u = parse_url(mysql.admin_url)
    con = pymysql.connect(host=u.host, port=u.port, user=u.user, password=u.password, database=u.database,
                          autocommit=False)
    try:
        with con.cursor() as cur, pytest.raises(pymysql.err.IntegrityError):
            cur.execute(f"INSERT INTO {BEHAVIOR} SELECT * FROM {BEHAVIOR} LIMIT 1")
    finally:
        con.rollback()
        con.close()


def test_a_reimport_swaps_all_tables_at_once(mysql) -> None:
    """Readers see every table of one import, never a new table next to an old one."""
    names = ("zz_swap_a", "zz_swap_b")
    sizes = {"small": 50, "large": 3000}

    def frames(size: int) -> dict[str, pd.DataFrame]:
        return {t: pd.DataFrame({"k": range(size), "v": [f"值{i}" for i in range(size)]}) for t in names}

    seen: list[tuple[int, int]] = []
    errors: list[BaseException] = []
    stop = threading.Event()
    with connect(mysql.admin_url, read_only=False) as admin:
        admin.replace_tables(frames(sizes["small"]))

        def reader() -> None:
            with connect(mysql.reader_url) as wh:
                while not stop.is_set():
                    try:
                        row = wh.query(f"SELECT (SELECT COUNT(*) FROM {names[0]}) AS a, "
                                       f"(SELECT COUNT(*) FROM {names[1]}) AS b").iloc[0]
                        seen.append((int(row["a"]), int(row["b"])))
                    except BaseException as e:  # noqa: BLE001 - reported below
                        errors.append(e)
                        return

        t = threading.Thread(target=reader)
        t.start()
        try:
            for size in ("large", "small", "large", "small"):
                admin.replace_tables(frames(sizes[size]))
                time.sleep(0.05)
        finally:
            stop.set()
            t.join(60)
            for name in names:
                admin.query(f"DROP TABLE IF EXISTS `{name}`")
    assert not errors, errors
    assert len(seen) > 10
    assert set(seen) <= {(50, 50), (3000, 3000)}, {s for s in seen if s[0] != s[1]}


def test_a_failed_load_keeps_the_live_tables_and_leaves_no_copies(mysql, loaded: Warehouse) -> None:
    before = table_counts(loaded)
    dup = pd.DataFrame({"customer_id": ["X1", "X1"]})
    ddl = {CUSTOMER_BASE: lambda t: [f"CREATE TABLE `{t}` (customer_id VARCHAR(32) PRIMARY KEY)"]}
    with connect(mysql.admin_url, read_only=False) as admin:
        with pytest.raises(WarehouseError, match="写入 MySQL 失败"):
            admin.replace_tables({"zz_side": pd.DataFrame({"a": [1]}), CUSTOMER_BASE: dup}, ddl)
        tables = admin.tables()
    assert table_counts(loaded) == before
    assert not [t for t in tables if t.endswith(("__new", "__old")) or t == "zz_side"], tables


def test_credentials_never_appear_in_errors(mysql) -> None:
    u = parse_url(mysql.admin_url)
    bad = f"mysql+pymysql://{u.user}:wrong-secret-pw@{u.host}:{u.port}/{u.database}"
    with pytest.raises(WarehouseError) as e:
        connect(bad).query("SELECT 1")
    assert "wrong-secret-pw" not in str(e.value)
    assert "无法连接 MySQL" in str(e.value) and "***" in str(e.value)

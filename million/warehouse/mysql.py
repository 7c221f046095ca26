"""MySQL / MariaDB backend through pymysql. Serving sessions are READ ONLY with a statement time
limit; whole-table writes load into `<table>__new` and swap with one atomic RENAME TABLE.

Doris and StarRocks speak the MySQL protocol (`mysql+pymysql://...?dialect=doris` or `?dialect=starrocks`):
SQL is checked in their sqlglot dialect and the time limit is their `query_timeout` (seconds). They have
no READ ONLY transactions: serve them with a SELECT-only account (README); the SQL guard stays the first gate."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

import pandas as pd
import pymysql

from million.warehouse.base import (
    DdlMap,
    QueryTimeout,
    TableData,
    Warehouse,
    WarehouseError,
    decimals_to_float,
    frame_chunks,
    hash_hex,
)
from million.warehouse.url import DbUrl

_TIMEOUT_ERRNOS = {3024, 1969, 1317}  # MySQL max_execution_time, MariaDB max_statement_time, interrupted


def _pandas_type(df: pd.DataFrame) -> list[str]:
    out = []
    for c in df.columns:
        k = df[c].dtype.kind
        out.append({"i": "BIGINT", "u": "BIGINT", "f": "DOUBLE", "b": "TINYINT"}.get(k, "TEXT"))
    return out


class MySQLWarehouse(Warehouse):
    def __init__(self, url: DbUrl, *, read_only: bool = True, timeout_s: float | None = None,
                 connect_timeout: float = 10) -> None:
        self.url = url
        self.read_only = read_only
        self.default_timeout = timeout_s
        self.connect_timeout = connect_timeout
        self.dialect = url.option("dialect", "mysql")  # mysql, doris or starrocks (sqlglot dialect names)
        # mysql / mariadb (asked from the server on first connect), or doris / starrocks (from the URL)
        self._flavour: str | None = None if self.dialect == "mysql" else self.dialect
        self.scope: list[str] | None = None  # branch scope: see scoped()

    def scoped(self, branches: Sequence[str]) -> MySQLWarehouse:
        """Every query of the copy first fills TEMPORARY tables named like the customer tables with the
        scope's rows; they shadow the real tables for that connection (also when written db.table)."""
        from million.warehouse.scoped import scope_key

        wh = MySQLWarehouse(self.url, read_only=True, timeout_s=self.default_timeout,
                            connect_timeout=self.connect_timeout)
        wh._flavour, wh.scope = self._flavour, scope_key(branches)
        return wh

    def _shadow_tables(self, cur: Any) -> None:
        from million.warehouse.scoped import SCOPED_TABLES, filtered_select

        assert self.scope is not None
        cur.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()")
        present = {r[0] for r in cur.fetchall()}
        db = "`" + self.url.database.replace("`", "``") + "`."
        for table in SCOPED_TABLES:
            if table in present:
                sql = f"CREATE TEMPORARY TABLE `{table}` AS " + filtered_select(table, db, len(self.scope), "`")
                cur.execute(sql.replace("?", "%s"), tuple(self.scope))

    def _connect(self, read_timeout: float | None = None) -> pymysql.connections.Connection:
        try:
            con = pymysql.connect(host=self.url.host, port=self.url.port, user=self.url.user,
                                  password=self.url.password, database=self.url.database, charset="utf8mb4",
                                  connect_timeout=self.connect_timeout, read_timeout=read_timeout,
                                  autocommit=not self.read_only, local_infile=False)
        except pymysql.err.OperationalError as e:
            raise WarehouseError(f"无法连接 MySQL（{self.url.redacted()}）：{e.args[-1]}") from e
        if self._flavour is None:
            with con.cursor() as cur:
                cur.execute("SELECT VERSION()")
                self._flavour = "mariadb" if "mariadb" in str(cur.fetchone()[0]).lower() else "mysql"
        return con

    def query(self, sql: str, params: Sequence[Any] | None = None, *, timeout_s: float | None = None,
              max_rows: int | None = None) -> pd.DataFrame:
        timeout = timeout_s if timeout_s is not None else self.default_timeout
        con = self._connect(read_timeout=(timeout + 10) if timeout else None)
        try:
            with con.cursor() as cur:
                if timeout:
                    if self._flavour in {"doris", "starrocks"}:
                        cur.execute(f"SET query_timeout = {max(1, math.ceil(timeout))}")
                    elif self._flavour == "mariadb":
                        cur.execute(f"SET SESSION max_statement_time = {float(timeout):.3f}")
                    else:
                        cur.execute(f"SET SESSION max_execution_time = {int(timeout * 1000)}")
                if self.scope is not None:
                    try:
                        self._shadow_tables(cur)
                    except pymysql.err.MySQLError as e:  # fail closed: no scoped copy, no query
                        raise WarehouseError(f"无法准备按分行隔离的数据（需要 CREATE TEMPORARY TABLES 权限）：{e.args[-1]}") from e
                if self.read_only and self._flavour in {"mysql", "mariadb"}:
                    # Session-wide too: DDL implicitly commits, ending a READ ONLY transaction, so with
                    # only the transaction a privileged account could still CREATE/DROP tables.
                    cur.execute("SET SESSION TRANSACTION READ ONLY")
                    cur.execute("START TRANSACTION READ ONLY")
                if params is not None:
                    sql = re.sub(r"\?", "%s", sql)  # our own parameterised SQL uses ? like DuckDB
                cur.execute(sql, tuple(params) if params is not None else None)
                if cur.description is None:
                    return pd.DataFrame()
                names = [d[0] for d in cur.description]
                rows = cur.fetchall() if max_rows is None else cur.fetchmany(max_rows + 1)
                df = pd.DataFrame.from_records(list(rows[:max_rows] if max_rows is not None else rows), columns=names)
                if max_rows is not None:
                    df.attrs["truncated"] = len(rows) > max_rows
                return decimals_to_float(df)
        except pymysql.err.MySQLError as e:
            code = e.args[0] if e.args else 0
            timed_out = self._flavour in {"doris", "starrocks"} and "timeout" in str(e.args[-1]).lower()
            if code in _TIMEOUT_ERRNOS or timed_out:
                raise QueryTimeout(f"查询超过 {timeout:g} 秒已被中止，请缩小范围或加过滤条件。") from e
            raise WarehouseError(str(e.args[-1])[:500]) from e
        finally:
            try:
                con.rollback() if self.read_only else None
            finally:
                con.close()

    def tables(self) -> list[str]:
        return self.query("SELECT table_name AS table_name FROM information_schema.tables "
                          "WHERE table_schema = DATABASE() ORDER BY table_name")["table_name"].tolist()

    def columns(self, table: str) -> list[tuple[str, str]]:
        df = self.query("SELECT column_name AS c, column_type AS t FROM information_schema.columns "
                        "WHERE table_schema = DATABASE() AND table_name = ? ORDER BY ordinal_position", [table])
        return list(df.itertuples(index=False, name=None))

    def replace_tables(self, frames: dict[str, TableData], ddl: DdlMap | None = None) -> None:
        """Fill `<table>__new` for every table, then swap them all in with ONE `RENAME TABLE`, which
        MySQL/MariaDB perform atomically: readers see all old tables or all new ones."""
        ddl = ddl or {}
        con = self._connect()
        created: list[str] = []
        try:
            with con.cursor() as cur:
                for table, data in frames.items():
                    new, old = f"{table}__new", f"{table}__old"
                    cur.execute(f"DROP TABLE IF EXISTS `{new}`")
                    cur.execute(f"DROP TABLE IF EXISTS `{old}`")
                    created.append(new)
                    made = False
                    if table in ddl:
                        for stmt in ddl[table](new):
                            cur.execute(stmt)
                        made = True
                    for df in frame_chunks(data):
                        if not made:
                            cols = ", ".join(f"`{c}` {t}" for c, t in zip(df.columns, _pandas_type(df), strict=True))
                            cur.execute(f"CREATE TABLE `{new}` ({cols}) DEFAULT CHARSET=utf8mb4")
                            made = True
                        _insert(cur, new, df)
                        con.commit()
                cur.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()")
                existing = {r[0] for r in cur.fetchall()}
                renames, retired = [], []
                for table in frames:
                    if table in existing:
                        renames.append(f"`{table}` TO `{table}__old`")
                        retired.append(f"{table}__old")
                    renames.append(f"`{table}__new` TO `{table}`")
                cur.execute("RENAME TABLE " + ", ".join(renames))
                created.clear()
                for old in retired:
                    cur.execute(f"DROP TABLE `{old}`")
                con.commit()
        except pymysql.err.MySQLError as e:
            raise WarehouseError(f"写入 MySQL 失败：{e.args[-1]}") from e
        finally:
            try:  # a failed load leaves the live tables as they were and no half-filled copies
                with con.cursor() as cur:
                    for new in created:
                        cur.execute(f"DROP TABLE IF EXISTS `{new}`")
            except pymysql.err.MySQLError:
                pass
            con.close()

    def content_hash(self, table: str, columns: Sequence[str]) -> str:
        # MD5 of the row's values (NULL spelled apart from any text), its first 64 bits summed modulo 2^64
        vals = ", ".join(f"COALESCE(CAST(`{c}` AS CHAR), CHAR(30))" for c in columns)
        df = self.query(f"SELECT COUNT(*) AS n, MOD(SUM(CAST(CONV(SUBSTRING(MD5(CONCAT_WS(CHAR(31), {vals})), 1, 16), "
                        f"16, 10) AS DECIMAL(30, 0))), 18446744073709551616) AS h FROM `{table}`")
        return hash_hex(int(df["n"].iloc[0]), df["h"].iloc[0])

    def version_token(self) -> str:
        df = self.query("SELECT MAX(COALESCE(update_time, create_time)) AS t FROM information_schema.tables "
                        "WHERE table_schema = DATABASE()")
        return str(df["t"].iloc[0])


def _insert(cur: Any, table: str, df: pd.DataFrame, batch: int = 5000) -> None:
    cols = ", ".join(f"`{c}`" for c in df.columns)
    sql = f"INSERT INTO `{table}` ({cols}) VALUES ({', '.join(['%s'] * len(df.columns))})"
    obj = df.astype(object).where(df.notna(), None)
    rows = list(obj.itertuples(index=False, name=None))
    for i in range(0, len(rows), batch):
        cur.executemany(sql, rows[i:i + batch])

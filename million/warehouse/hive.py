"""HiveServer2 backend (Hive, the Spark Thrift Server, Kyuubi, Inceptor) through PyHive.

    DB_URL=hive://user@host:10000/db                 auth NONE (the user name is passed on as is)
    DB_URL=hive://user:pw@host:10000/db?auth=LDAP    LDAP (the password travels in SASL PLAIN: use TLS or a private network)
    DB_URL=hive://user@host:10000/db?auth=KERBEROS&kerberos_service_name=hive   (a ticket from kinit / a keytab)
    ...&dialect=hive                                 HiveQL instead of Spark SQL (the default; Kyuubi and the Thrift Server speak Spark SQL)

Every statement runs asynchronously (runAsync) and is polled: past its deadline the operation is cancelled
on the server (TCancelOperation, which stops the Spark job) and the connection is retired, so a long query
never holds the next one. Results are fetched in batches and never more than `max_rows + 1` rows. Table
and column lists come from SHOW TABLES / DESCRIBE read by column name (the Spark Thrift Server answers
SHOW TABLES with namespace, tableName, isTemporary; Hive with tab_name). The content hash is computed in
the engine; loads fill `<table>__new` and rename it in.

HiveServer2 has no read-only session: the bank must serve this app with a SELECT-only account enforced by
Ranger or Kyuubi AuthZ (README). On top of that the product never relies on the server alone: analysts' SQL
passes million/sqlguard.py, and a read-only handle here refuses any statement that is not a query.
The driver (pyhive, thrift, thrift-sasl, pure-sasl) is the optional `spark` extra, imported when first used.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import queue
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

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

READ_STATEMENTS = {"SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXPLAIN", "VALUES", "L_PAREN"}
FETCH_BATCH = 10_000  # rows per FetchResults call
INSERT_CHARS = 400_000  # SQL text per INSERT ... VALUES statement when loading (Hive)
JSON_CHARS = 500_000  # JSON text per INSERT statement when loading (Spark)
POLL_MAX_S = 0.5


def _timeout_message(timeout: float) -> str:
    return f"查询超过 {timeout:g} 秒已被中止（已通知集群取消作业），请缩小范围或加过滤条件。"


def _first_token(sql: str, dialect: str) -> tuple[str, int]:
    """The first token's type and the number of statements (top-level semicolons + 1)."""
    import sqlglot

    try:
        tokens = sqlglot.tokenize(sql, read=dialect)
    except sqlglot.errors.TokenError as e:
        raise WarehouseError(f"SQL 无法解析：{str(e)[:200]}") from e
    if not tokens:
        return "", 0
    semis = [i for i, t in enumerate(tokens) if t.token_type.name == "SEMICOLON"]
    statements = len(semis) + 1 - (1 if semis and semis[-1] == len(tokens) - 1 else 0)
    return tokens[0].token_type.name, statements


def literal(value: Any, dialect: str = "spark") -> str:
    """A Python value as a Spark SQL / HiveQL literal (strings escaped with backslashes)."""
    if value is None or value is pd.NaT:
        return "NULL"
    if isinstance(value, bool | np.bool_):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        v = float(value)
        return "NULL" if not math.isfinite(v) else repr(v)
    if isinstance(value, decimal.Decimal):
        return "NULL" if not value.is_finite() else str(value)
    if isinstance(value, pd.Timestamp | dt.datetime):
        text = pd.Timestamp(value).strftime("%Y-%m-%d %H:%M:%S")
        return f"TIMESTAMP '{text}'" if dialect == "spark" else f"'{text}'"
    if isinstance(value, dt.date):
        return f"DATE '{value.isoformat()}'" if dialect == "spark" else f"'{value.isoformat()}'"
    if isinstance(value, float) and math.isnan(value):
        return "NULL"
    text = value.decode("utf-8") if isinstance(value, bytes) else str(value)
    text = text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n").replace("\r", "\\r")
    return f"'{text}'"


def _bind(sql: str, params: Sequence[Any], dialect: str) -> str:
    """Replace each `?` outside quotes with the literal of the next parameter (our own fixed SQL only)."""
    out, it, quote = [], iter(params), ""
    for ch in sql:
        if quote:
            quote = "" if ch == quote else quote
            out.append(ch)
        elif ch in "'\"`":
            quote = ch
            out.append(ch)
        elif ch == "?":
            try:
                out.append(literal(next(it), dialect))
            except StopIteration:
                raise WarehouseError("SQL 参数个数不符") from None
        else:
            out.append(ch)
    if next(it, _END) is not _END:
        raise WarehouseError("SQL 参数个数不符")
    return "".join(out)


_END = object()


def _pandas_type(s: pd.Series) -> str:
    k = s.dtype.kind
    if k in "iu":
        return "BIGINT"
    if k == "f":
        return "DOUBLE"
    if k == "b":
        return "BOOLEAN"
    if k == "M":
        return "TIMESTAMP"
    return "STRING"


class _Conn:
    """One HiveServer2 session (a PyHive connection)."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.broken = False

    def close(self) -> None:
        try:
            self.raw.close()
        except Exception:  # noqa: BLE001 - closing a dead session is best effort
            pass


class HiveWarehouse(Warehouse):
    def __init__(self, url: DbUrl, *, read_only: bool = True, timeout_s: float | None = None,
                 connect_timeout: float = 30, pool_size: int = 4, rpc_timeout_s: float = 120) -> None:
        self.url = url
        self.read_only = read_only
        self.default_timeout = timeout_s
        self.connect_timeout = connect_timeout
        self.rpc_timeout_s = rpc_timeout_s
        self.pool_size = pool_size
        self.auth = url.option("auth", "NONE")
        self.dialect = url.option("dialect", "spark")
        self.scope: list[str] | None = None
        self._init_state()

    def _init_state(self) -> None:
        self._idle: queue.LifoQueue[_Conn] = queue.LifoQueue()

    # Sent to a query worker process (million/warehouse/isolated.py): the settings, not the sessions.
    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_idle"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._init_state()

    # -- sessions ----------------------------------------------------------------------------
    def _open(self) -> _Conn:
        try:
            from pyhive import hive
            from thrift.transport import TSocket, TTransport
        except ImportError as e:
            raise WarehouseError("缺少 HiveServer2 驱动：请安装可选依赖 spark（pip install -e '.[spark]'）") from e
        u = self.url
        sock = TSocket.TSocket(u.host, u.port)
        sock.setTimeout(int(self.connect_timeout * 1000))
        if self.auth == "NOSASL":
            transport: Any = TTransport.TBufferedTransport(sock)
        else:
            import thrift_sasl
            from pyhive.hive import get_installed_sasl

            mech = "GSSAPI" if self.auth == "KERBEROS" else "PLAIN"
            password = u.password or "x"  # NONE: any non-empty password; LDAP/CUSTOM: the real one
            service = u.option("kerberos_service_name") or None
            transport = thrift_sasl.TSaslClientTransport(
                lambda: get_installed_sasl(host=u.host, sasl_auth=mech, service=service, username=u.user or "anonymous",
                                           password=password), mech, sock)
        # GetOperationStatus waits up to hive.server2.long.polling.timeout (5 s by default) for the query
        # to finish before it answers: a short wait keeps the deadline (and the cancel) on time.
        conf = {"hive.server2.long.polling.timeout": f"{int(POLL_MAX_S * 1000)}ms"}
        if self.dialect == "hive":  # Hive prefixes result columns with the table alias unless told not to
            conf["hive.resultset.use.unique.column.names"] = "false"
        try:
            raw = hive.Connection(thrift_transport=transport, username=u.user or "anonymous", database=u.database,
                                  configuration=conf)
        except Exception as e:  # thrift/sasl/socket errors all mean "could not connect"
            raise WarehouseError(f"无法连接 HiveServer2（{u.redacted()}）：{_short(e)}") from e
        sock.setTimeout(int(self.rpc_timeout_s * 1000))  # a dead server must not hang a poll forever
        conn = _Conn(raw)
        if self.scope is not None:
            self._shadow_tables(conn)
        return conn

    def _take(self) -> _Conn:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            return self._open()

    def _give(self, conn: _Conn) -> None:
        if conn.broken or self._idle.qsize() >= self.pool_size:
            conn.close()
        else:
            self._idle.put(conn)

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return

    # -- queries -----------------------------------------------------------------------------
    def _run(self, conn: _Conn, sql: str, timeout: float | None, max_rows: int | None,
             deadline: float | None = None) -> pd.DataFrame:
        from TCLIService.ttypes import TOperationState

        if deadline is None and timeout:
            deadline = time.monotonic() + timeout
        cur = conn.raw.cursor()
        cur.arraysize = FETCH_BATCH if max_rows is None else max(1, min(FETCH_BATCH, max_rows + 1))

        def cancel() -> None:
            conn.broken = True  # never reuse a session whose operation was cut short
            try:
                cur.cancel()
            except Exception:  # noqa: BLE001 - the server may have finished or dropped it already
                pass

        def check_deadline() -> None:
            if deadline is not None and time.monotonic() > deadline:
                cancel()
                raise QueryTimeout(_timeout_message(float(timeout or 0)))

        cur.execute(sql, async_=True)
        wait = 0.01
        while True:
            status = cur.poll(get_progress_update=False)
            state = status.operationState
            if state == TOperationState.FINISHED_STATE:
                break
            if state in (TOperationState.ERROR_STATE, TOperationState.UKNOWN_STATE):
                raise WarehouseError(_server_error(status.errorMessage))
            if state in (TOperationState.CANCELED_STATE, TOperationState.CLOSED_STATE,
                         TOperationState.TIMEDOUT_STATE):
                conn.broken = True
                raise QueryTimeout(_timeout_message(float(timeout or 0)))
            check_deadline()
            left = (deadline - time.monotonic()) if deadline is not None else POLL_MAX_S
            time.sleep(max(0.0, min(wait, left)))
            wait = min(wait * 1.5, POLL_MAX_S)
        if cur.description is None:
            return pd.DataFrame()
        names = [d[0] for d in cur.description]
        want = None if max_rows is None else max_rows + 1
        rows: list[tuple[Any, ...]] = []
        while want is None or len(rows) < want:
            batch = cur.fetchmany(cur.arraysize if want is None else min(cur.arraysize, want - len(rows)))
            if not batch:
                break
            rows.extend(batch)
            check_deadline()
        try:
            cur.close()
        except Exception:  # noqa: BLE001
            conn.broken = True
        df = pd.DataFrame.from_records(rows[:max_rows] if max_rows is not None else rows, columns=names)
        if max_rows is not None:
            df.attrs["truncated"] = len(rows) > max_rows
        return decimals_to_float(df)

    def _execute(self, sql: str, params: Sequence[Any] | None, timeout: float | None,
                 max_rows: int | None) -> pd.DataFrame:
        deadline = time.monotonic() + timeout if timeout else None  # opening a session counts too
        if params is not None:
            sql = _bind(sql, params, self.dialect)
        conn = self._take()
        try:
            return self._run(conn, sql, timeout, max_rows, deadline)
        except (QueryTimeout, WarehouseError):
            raise
        except Exception as e:  # thrift / pyhive errors: the session may be unusable
            conn.broken = True
            response = e.args[0] if e.args else None  # pyhive's OperationalError carries the response
            message = getattr(getattr(response, "status", None), "errorMessage", None)
            raise WarehouseError(_server_error(message) if message else _short(e)) from e
        finally:
            self._give(conn)

    def query(self, sql: str, params: Sequence[Any] | None = None, *, timeout_s: float | None = None,
              max_rows: int | None = None) -> pd.DataFrame:
        if self.read_only:
            kind, statements = _first_token(sql, self.dialect)
            if statements != 1 or kind not in READ_STATEMENTS:
                raise WarehouseError("只读连接只执行一条查询语句（SELECT / WITH / SHOW / DESCRIBE）")
        timeout = timeout_s if timeout_s is not None else self.default_timeout
        return self._execute(sql, params, timeout, max_rows)

    def _write(self, sql: str) -> None:
        self._execute(sql, None, None, None)

    def tables(self) -> list[str]:
        return _table_names(self.query("SHOW TABLES"))

    def columns(self, table: str) -> list[tuple[str, str]]:
        df = self.query(f"DESCRIBE `{_ident(table)}`")
        if not {"col_name", "data_type"} <= set(df.columns):
            raise WarehouseError(f"无法读取 {table} 的列：DESCRIBE 返回了未知的列 {list(df.columns)}")
        out = []
        for name, kind in df[["col_name", "data_type"]].itertuples(index=False, name=None):
            name = str(name or "").strip()
            if not name or name.startswith("#"):  # "# Partition Information" etc. follow the columns
                break
            out.append((name, str(kind)))
        return out

    def content_hash(self, table: str, columns: Sequence[str]) -> str:
        # MD5 of the row's values (NULL spelled apart from any text), first 64 bits, summed as DECIMAL
        # (no overflow, ANSI mode or not); the same SQL runs on Spark and Hive.
        vals = ", ".join(f"COALESCE(CAST(`{_ident(c)}` AS STRING), CHR(30))" for c in columns)
        df = self.query(f"SELECT COUNT(*) AS n, CAST(SUM(CAST(CONV(SUBSTR(MD5(CONCAT_WS(CHR(31), {vals})), 1, 16), "
                        f"16, 10) AS DECIMAL(20, 0))) AS STRING) AS h FROM `{_ident(table)}`")
        h = df["h"].iloc[0]
        return hash_hex(int(df["n"].iloc[0]), None if h is None else int(decimal.Decimal(str(h))) % 2**64)

    def version_token(self) -> str:
        # Asked on every tool call: a cluster round trip each time is what the local serving copy avoids.
        # The warehouse's data changes by batch jobs, which refresh that copy and the artifacts.
        return ""

    # -- branch scope ------------------------------------------------------------------------
    def scoped(self, branches: Sequence[str]) -> HiveWarehouse:
        """Spark SQL: each session of the copy first defines TEMPORARY VIEWs named like the customer
        tables with only the scope's rows; they shadow the tables for that session (and the guard refuses
        db-qualified names). HiveQL has no temporary views: refused, as the base class does."""
        from million.warehouse.scoped import scope_key

        if self.dialect != "spark":
            return super().scoped(branches)  # type: ignore[return-value]
        wh = HiveWarehouse(self.url, read_only=True, timeout_s=self.default_timeout,
                           connect_timeout=self.connect_timeout, pool_size=self.pool_size,
                           rpc_timeout_s=self.rpc_timeout_s)
        wh.scope = scope_key(branches)
        return wh

    def _shadow_tables(self, conn: _Conn) -> None:
        from million.warehouse.scoped import SCOPED_TABLES, filtered_select

        assert self.scope is not None
        db = f"`{_ident(self.url.database)}`."
        present = set(_table_names(self._run(conn, "SHOW TABLES", None, None)))
        for table in SCOPED_TABLES:
            if table in present:
                select = _bind(filtered_select(table, db, len(self.scope), "`"), self.scope, self.dialect)
                try:
                    self._run(conn, f"CREATE OR REPLACE TEMPORARY VIEW `{table}` AS {select}", None, None)
                except WarehouseError as e:  # fail closed: no scoped view, no query
                    conn.close()
                    raise WarehouseError(f"无法准备按分行隔离的数据：{e}") from e

    # -- writes ------------------------------------------------------------------------------
    def replace_tables(self, frames: dict[str, TableData], ddl: DdlMap | None = None) -> None:
        """Fill `<table>__new` for every table (INSERT ... VALUES in batches), then rename each into place
        (`t` -> `t__old`, `t__new` -> `t`, drop `t__old`). HiveServer2 has no multi-table transaction:
        each table switches by two metastore renames (milliseconds), not all tables at one instant."""
        if self.read_only:
            raise WarehouseError("只读连接不能写入")
        ddl = ddl or {}
        created: list[str] = []
        try:
            for table, data in frames.items():
                new = f"{table}__new"
                self._write(f"DROP TABLE IF EXISTS `{new}`")
                created.append(new)
                made = False
                if table in ddl:
                    for stmt in ddl[table](new):
                        self._write(stmt)
                    made = True
                for df in frame_chunks(data):
                    if not made:
                        cols = ", ".join(f"`{_ident(c)}` {_pandas_type(df[c])}" for c in df.columns)
                        using = "USING parquet" if self.dialect == "spark" else "STORED AS PARQUET"
                        self._write(f"CREATE TABLE `{new}` ({cols}) {using}")
                        made = True
                    self._insert(new, df)
            existing = set(self.tables())
            for table in frames:
                old = f"{table}__old"
                self._write(f"DROP TABLE IF EXISTS `{old}`")
                if table in existing:
                    self._write(f"ALTER TABLE `{table}` RENAME TO `{old}`")
                self._write(f"ALTER TABLE `{table}__new` RENAME TO `{table}`")
                created.remove(f"{table}__new")
                if table in existing:
                    self._write(f"DROP TABLE `{old}`")
        except WarehouseError as e:
            raise WarehouseError(f"写入 HiveServer2 失败：{e}") from e
        finally:  # a failed load leaves no half-filled copies behind
            for new in created:
                try:
                    self._write(f"DROP TABLE IF EXISTS `{new}`")
                except WarehouseError:
                    pass

    def _insert(self, table: str, df: pd.DataFrame) -> None:
        if self.dialect == "spark":
            self._insert_json(table, df)
            return
        cols = ", ".join(f"`{_ident(c)}`" for c in df.columns)
        head = f"INSERT INTO `{table}` ({cols}) VALUES "
        obj = df.astype(object).where(df.notna(), None)
        batch: list[str] = []
        size = 0
        for row in obj.itertuples(index=False, name=None):
            text = "(" + ", ".join(literal(v, self.dialect) for v in row) + ")"
            batch.append(text)
            size += len(text)
            if size >= INSERT_CHARS:
                self._write(head + ", ".join(batch))
                batch, size = [], 0
        if batch:
            self._write(head + ", ".join(batch))

    def _insert_json(self, table: str, df: pd.DataFrame) -> None:
        """Spark: a batch of rows travels as ONE JSON string literal unpacked on the server
        (inline(from_json(...)) into the table's own column types). Spark's parser and analyzer take
        about 2 ms per row of an INSERT ... VALUES list; a string literal costs next to nothing."""
        types = dict(self.columns(table))
        fields = ", ".join(f"`{_ident(c)}`: {types[str(c)]}" for c in df.columns)
        cols = ", ".join(f"`{_ident(c)}`" for c in df.columns)
        head = f"INSERT INTO `{table}` ({cols}) SELECT {cols} FROM (SELECT inline(from_json("
        tail = f", 'array<struct<{fields}>>')))"
        records = [_json_value_row(row) for row in df.astype(object).where(df.notna(), None).itertuples(
            index=False, name=None)]
        names = [str(c) for c in df.columns]
        start = 0
        while start < len(records):
            size, end = 0, start
            while end < len(records) and (size < JSON_CHARS or end == start):
                size += records[end][1]
                end += 1
            body = "[" + ",".join(_json_row(names, r[0]) for r in records[start:end]) + "]"
            self._write(head + literal(body, "spark") + tail)
            start = end


def _json_scalar(v: Any) -> Any:
    if v is None or v is pd.NaT:
        return None
    if isinstance(v, bool | np.bool_):
        return bool(v)
    if isinstance(v, int | np.integer):
        return int(v)
    if isinstance(v, float | np.floating):
        return float(v) if math.isfinite(float(v)) else None
    if isinstance(v, decimal.Decimal):
        return float(v) if v.is_finite() else None
    if isinstance(v, pd.Timestamp | dt.datetime):
        return pd.Timestamp(v).strftime("%Y-%m-%dT%H:%M:%S")
    if isinstance(v, dt.date):
        return v.isoformat()
    return v.decode("utf-8") if isinstance(v, bytes) else str(v)


def _json_value_row(row: tuple[Any, ...]) -> tuple[list[Any], int]:
    vals = [_json_scalar(v) for v in row]
    return vals, sum(len(str(v)) + 8 for v in vals)


def _json_row(names: list[str], vals: list[Any]) -> str:
    return json.dumps(dict(zip(names, vals, strict=True)), ensure_ascii=False, allow_nan=False)


def _table_names(df: pd.DataFrame) -> list[str]:
    """SHOW TABLES read by column name: Spark answers namespace, tableName, isTemporary; Hive tab_name."""
    col = next((c for c in ("tableName", "tab_name", "table_name", "name") if c in df.columns), None)
    if col is None:
        raise WarehouseError(f"无法读取表清单：SHOW TABLES 返回了未知的列 {list(df.columns)}")
    if "isTemporary" in df.columns:  # Spark: session temp views (a scoped user's shadows) are not tables
        df = df[~df["isTemporary"].astype(bool)]
    return sorted(str(t) for t in df[col])


def _ident(name: str) -> str:
    if "`" in name or not name:
        raise WarehouseError(f"非法的表名或列名：{name!r}")
    return name


def _short(e: BaseException) -> str:
    text = str(e) or type(e).__name__
    return text.splitlines()[0][:300]


def _server_error(message: object) -> str:
    """The server's error, first line, without the Java stack (which can hold host names and paths)."""
    text = str(message or "查询失败").strip()
    for prefix in ("org.apache.hive.service.cli.HiveSQLException: ", "Error running query: "):
        text = text.replace(prefix, "")
    return text.splitlines()[0][:500]

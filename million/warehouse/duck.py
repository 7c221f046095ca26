"""DuckDB backend. Serving connections are read-only with external access, extension loading and
configuration locked; writes go to a copy of the file that is swapped in atomically."""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import threading
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
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
from million.warehouse.ddl import AfterLoad


def _refuse_instance_changes(cur: duckdb.DuckDBPyConnection, sql: str) -> None:
    """ATTACH/DETACH change the instance every cursor shares: on a reader they could leave a writable
    catalog for the next caller or detach the warehouse for everyone. DuckDB's own parser decides."""
    try:
        kinds = [st.type.name for st in cur.extract_statements(sql)]
    except ValueError as e:  # a statement type this duckdb module cannot even name: refuse
        raise WarehouseError("只读连接不执行该类语句") from e
    if {"ATTACH", "DETACH"} & set(kinds):
        raise WarehouseError("只读连接不允许 ATTACH / DETACH")


class DuckWarehouse(Warehouse):
    dialect = "duckdb"

    def __init__(self, path: str | Path, *, read_only: bool = True, memory_limit: str = "2GB",
                 threads: int = 2, timeout_s: float | None = None, load_memory_limit: str = "3GB") -> None:
        self.path = Path(path)
        self.read_only = read_only
        self.memory_limit = memory_limit  # a query's (analysts' SQL)
        # Loading is offline batch work: building the keys of 23M rows (1M customers) fails under 2 GB, works in 3 GB.
        self.load_memory_limit = load_memory_limit
        self.threads = threads
        self.default_timeout = timeout_s
        self._con: duckdb.DuckDBPyConnection | None = None
        self._token = ""
        self._lock = threading.Lock()

    # -- connections -------------------------------------------------------------------------
    def _config(self) -> dict[str, Any]:
        cfg: dict[str, Any] = {
            "memory_limit": self.memory_limit,
            "threads": self.threads,
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
        }
        if self.read_only:
            cfg.update({"access_mode": "READ_ONLY", "enable_external_access": False,
                        "allow_community_extensions": False, "lock_configuration": True})
        return cfg

    def _file_token(self) -> str:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return ""
        return f"{st.st_ino}-{st.st_mtime_ns}"

    def _open(self) -> duckdb.DuckDBPyConnection:
        # A private in-memory instance with the file attached (read-only for readers). duckdb.connect()
        # on the path would reuse the process-wide instance cached for that path, which keeps serving
        # the file as it was before a swap (replace_tables, another process's load) for as long as any
        # other connection in the process holds it, and refuses a second configuration. Reader locks are
        # the same as for a READ_ONLY instance: the file cannot be written, no external access, no
        # extensions, configuration locked.
        cfg = {k: v for k, v in self._config().items() if k not in {"access_mode", "enable_external_access",
                                                                   "allow_community_extensions", "lock_configuration"}}
        con = duckdb.connect(":memory:", config=cfg)
        try:
            path = str(self.path.resolve()).replace("'", "''")
            mode = " (READ_ONLY)" if self.read_only else ""
            con.execute(f"ATTACH '{path}' AS \"{self.catalog}\"{mode}")
            con.execute(f'USE "{self.catalog}"')
            if self.read_only:
                # The in-memory default catalog is writable and shared by every cursor (every caller):
                # gone, nothing a query creates can outlive it except per-cursor TEMP objects.
                con.execute("DETACH memory")
                con.execute("SET enable_external_access = false")
                con.execute("SET allow_community_extensions = false")
                con.execute("SET lock_configuration = true")
        except duckdb.Error as e:
            con.close()
            raise WarehouseError(f"无法打开数据仓库 {self.path.name}：{str(e).splitlines()[0]}") from e
        return con

    @property
    def catalog(self) -> str:
        """The name SQL sees for the warehouse: the file's stem, as with a direct connection."""
        stem = self.path.stem
        ok = re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", stem) and stem.lower() not in {"memory", "system", "temp", "main"}
        return stem if ok else "warehouse"

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        with self._lock:
            token = self._file_token()
            if self._con is None or token != self._token:  # the file was swapped: reconnect
                if not token and self.read_only:
                    raise WarehouseError(f"数据仓库文件不存在：{self.path.name}。请先运行 make data 导入数据。")
                # A reader's old connection is not closed here: queries of other threads may still be
                # reading from it, and it closes itself once its last cursor is gone. A writer's must be:
                # DuckDB attaches a path writable only once per process.
                if self._con is not None and not self.read_only:
                    self._con.close()
                self._con = self._open()
                self._token = token
            cur = self._con.cursor()  # a cursor per call: safe across threads
        cur.execute(f'USE "{self.catalog}"')
        return cur

    def version_token(self) -> str:
        return self._file_token()

    def scoped(self, branches: Sequence[str]) -> DuckWarehouse:
        from million.warehouse.scoped import duck_snapshot

        token = self._file_token()
        if not token:
            raise WarehouseError(f"数据仓库文件不存在：{self.path.name}。请先运行 make data 导入数据。")
        try:
            snap = duck_snapshot(self.path, token, branches, threads=self.threads, memory_limit=self.memory_limit)
        except duckdb.Error as e:
            raise WarehouseError(f"无法准备按分行隔离的数据：{str(e).splitlines()[0]}") from e
        return DuckWarehouse(snap, read_only=True, memory_limit=self.memory_limit, threads=self.threads,
                             timeout_s=self.default_timeout)

    # Sent to a query worker process (million/warehouse/isolated.py): the settings, not the connection.
    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in {"_con", "_lock", "_token"}}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._con, self._token, self._lock = None, "", threading.Lock()

    # -- queries -----------------------------------------------------------------------------
    def query(self, sql: str, params: Sequence[Any] | None = None, *, timeout_s: float | None = None,
              max_rows: int | None = None) -> pd.DataFrame:
        cur = self._cursor()
        timeout = timeout_s if timeout_s is not None else self.default_timeout
        timer = threading.Timer(timeout, cur.interrupt) if timeout else None
        fired = threading.Event()
        if timer:
            timer.function = lambda: (fired.set(), cur.interrupt())  # type: ignore[assignment]
            timer.start()
        try:
            if self.read_only:
                _refuse_instance_changes(cur, sql)
            cur.execute(sql, list(params) if params is not None else None)
            if cur.description is None:
                return pd.DataFrame()
            names = [d[0] for d in cur.description]
            if max_rows is None:
                df = cur.fetch_df()
            else:
                rows = cur.fetchmany(max_rows + 1)
                df = decimals_to_float(pd.DataFrame.from_records(rows[:max_rows], columns=names))
                df.attrs["truncated"] = len(rows) > max_rows
            return df
        except duckdb.InterruptException as e:
            raise QueryTimeout(f"查询超过 {timeout:g} 秒已被中止，请缩小范围或加过滤条件。") from e
        except duckdb.Error as e:
            if fired.is_set():
                raise QueryTimeout(f"查询超过 {timeout:g} 秒已被中止，请缩小范围或加过滤条件。") from e
            raise WarehouseError(str(e).split("\n")[0][:500]) from e
        finally:
            if timer:
                timer.cancel()
            cur.close()

    def tables(self) -> list[str]:
        return self.query("SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
                          "AND table_catalog = current_database() ORDER BY table_name")["table_name"].tolist()

    def columns(self, table: str) -> list[tuple[str, str]]:
        df = self.query("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? "
                        "AND table_schema = 'main' AND table_catalog = current_database() ORDER BY ordinal_position",
                        [table])
        return list(df.itertuples(index=False, name=None))

    def close(self) -> None:
        with self._lock:
            if self._con is not None:
                self._con.close()
                self._con = None

    # -- writes ------------------------------------------------------------------------------
    @contextmanager
    def _swap_lock(self):  # one writer at a time, across processes
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(self.path.suffix + ".lock"), "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def replace_tables(self, frames: dict[str, TableData], ddl: DdlMap | None = None) -> None:
        """Copy the file aside, replace the tables there (chunk by chunk), then rename it over the live file."""
        ddl = ddl or {}
        with self._swap_lock():
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.swap")
            tmp.unlink(missing_ok=True)
            if self.path.exists():
                shutil.copyfile(self.path, tmp)
            con = duckdb.connect(str(tmp), config={"threads": self.threads, "memory_limit": self.load_memory_limit})
            try:
                for table, data in frames.items():
                    con.execute(f'DROP TABLE IF EXISTS "{table}"')
                    created = False
                    later: list[str] = []
                    if table in ddl:
                        for stmt in ddl[table](table):
                            if isinstance(stmt, AfterLoad):
                                later.append(stmt)
                            else:
                                con.execute(stmt)
                        created = True
                    for df in frame_chunks(data):
                        con.register("__incoming", df)
                        if created:
                            cols = ", ".join(f'"{c}"' for c in df.columns)
                            con.execute(f'INSERT INTO "{table}" ({cols}) SELECT {cols} FROM __incoming')
                        else:
                            con.execute(f'CREATE TABLE "{table}" AS SELECT * FROM __incoming')
                            created = True
                        con.unregister("__incoming")
                    for stmt in later:
                        con.execute(stmt)
                con.execute("CHECKPOINT")
            except duckdb.Error as e:
                con.close()
                tmp.unlink(missing_ok=True)
                raise WarehouseError(f"写入数据仓库失败：{str(e).splitlines()[0]}") from e
            except BaseException:  # a failing chunk source (e.g. an unreadable file) leaves the live file as it was
                con.close()
                tmp.unlink(missing_ok=True)
                raise
            con.close()
            os.replace(tmp, self.path)

    def content_hash(self, table: str, columns: Sequence[str]) -> str:
        cols = ", ".join(f'"{c}"' for c in columns)
        # hash() of a row's values, summed modulo 2^64: independent of row order, sensitive to duplicates
        df = self.query(f'SELECT count(*) AS n, sum(hash({cols})::HUGEINT) % 18446744073709551616 AS h FROM "{table}"')
        return hash_hex(int(df["n"].iloc[0]), df["h"].iloc[0])


"""Untrusted SQL runs in a worker process with its own memory limit and a hard deadline.

The engine's own memory cap does not hold for every value (a DuckDB list from range(1e9) lives outside
its buffer manager) and its interrupt is not always checked (a query past its deadline kept running).
So the LLM's and the user's SQL never runs in the app process: a worker with RLIMIT_AS set runs it;
an allocation past the limit ends that query with an error (or the worker), a worker that does not
answer by the deadline plus a grace period is killed, and the next query gets a fresh worker. The
app's own queries (tools with fixed SQL) stay in-process."""

from __future__ import annotations

import multiprocessing as mp
import os
import pickle
import queue
import resource
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import pandas as pd

from million.warehouse.base import QueryTimeout, Warehouse, WarehouseError

GRACE_S = 3.0  # the engine's own interrupt gets this long after the deadline before the kill
MAX_RESULT_MB = 64  # a result bigger than this (pickled) is refused, not shipped to the app
MAX_OPEN = 8  # warehouses (main file, scoped snapshots) a worker keeps open


@dataclass(frozen=True)
class Job:
    wh: Warehouse  # pickled: settings only (DuckWarehouse drops its connection)
    sql: str
    timeout_s: float
    max_rows: int
    cell_cap: int


def _memory_error(limit_mb: int) -> str:
    return (f"查询占用内存超过上限（{limit_mb:,} MB）已被中止：请减少返回的列或行、避免生成超大的列表或字符串，"
            "或先聚合再查询。")


def _worker(conn: Connection, memory_mb: int) -> None:  # pragma: no cover - runs in the child
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    open_whs: dict[bytes, Warehouse] = {}
    from million.warehouse.capped import clip_cells

    while True:
        try:
            job: Job = conn.recv()
        except (EOFError, KeyboardInterrupt):
            return
        retire = False  # after a memory failure the process is not reused (the engine may be half-broken)
        try:
            key = pickle.dumps(job.wh)
            wh = open_whs.pop(key, None) or job.wh
            open_whs[key] = wh  # most recent last; snapshots of older data fall out
            while len(open_whs) > MAX_OPEN:
                open_whs.pop(next(iter(open_whs))).close()
            df = wh.query(job.sql, timeout_s=job.timeout_s, max_rows=job.max_rows)
            truncated = bool(df.attrs.get("truncated"))
            cells = clip_cells(df, job.cell_cap)
            payload = pickle.dumps(("ok", df, truncated, cells), protocol=pickle.HIGHEST_PROTOCOL)
            if len(payload) > MAX_RESULT_MB * 1024 * 1024:
                payload = pickle.dumps(("error", "WarehouseError",
                                        f"查询结果过大（超过 {MAX_RESULT_MB} MB），请减少返回的列或行。"))
        except MemoryError:
            payload, retire = pickle.dumps(("error", "Memory", _memory_error(memory_mb))), True
        except QueryTimeout as e:
            payload = pickle.dumps(("error", "QueryTimeout", str(e)))
        except WarehouseError as e:
            msg = str(e)
            retire = "Out of Memory" in msg or "bad allocation" in msg
            payload = pickle.dumps(("error", "Memory", _memory_error(memory_mb)) if retire
                                   else ("error", "WarehouseError", msg))
        except Exception as e:  # the engine's C++ side failing (a thread or buffer it could not get)
            first = (str(e).splitlines() or [""])[0][:160]
            payload, retire = pickle.dumps(("error", "Broken", f"查询失败（{type(e).__name__}：{first}），"
                                            f"多半是内存接近上限 {memory_mb:,} MB：请缩小查询范围后重试。")), True
        try:
            conn.send_bytes(payload)
        except MemoryError:
            conn.send_bytes(pickle.dumps(("error", "Memory", _memory_error(memory_mb))))
            retire = True
        if retire:
            return  # the host sees the pipe close and starts a fresh worker for the next query


class _Proc:
    def __init__(self, ctx: Any, memory_mb: int) -> None:
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker, args=(child, memory_mb), daemon=True, name="sql-worker")
        self.proc.start()
        child.close()

    def kill(self) -> None:
        try:
            self.proc.kill()
            self.proc.join(5)
        finally:
            self.conn.close()


class IsolatedRunner:
    """A small pool of query workers. `run` blocks until the answer, the error, or the kill."""

    def __init__(self, *, memory_mb: int = 3072, size: int | None = None, grace_s: float = GRACE_S) -> None:
        self.memory_mb = memory_mb
        self.size = size or max(1, min(4, len(os.sched_getaffinity(0))))
        self.grace_s = grace_s
        # spawn, not fork: the app process is threaded (a forked copy could inherit a held lock)
        self._ctx = mp.get_context("spawn")
        self._idle: queue.LifoQueue[_Proc] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(self.size)
        self.kills = 0  # workers killed (deadline or death); tests read it

    def _take(self) -> _Proc:
        try:
            while True:
                w = self._idle.get_nowait()
                if w.proc.is_alive():
                    return w
                w.kill()
        except queue.Empty:
            return _Proc(self._ctx, self.memory_mb)

    def run(self, wh: Warehouse, sql: str, *, timeout_s: float, max_rows: int,
            cell_cap: int) -> tuple[pd.DataFrame, bool, bool]:
        """(frame of at most max_rows rows, rows were cut, long cells were cut)."""
        with self._slots:
            w = self._take()
            ok = False
            try:
                w.conn.send(Job(wh, sql, timeout_s, max_rows, cell_cap))
                deadline = time.monotonic() + timeout_s + self.grace_s
                if not w.conn.poll(max(0.0, deadline - time.monotonic())):
                    raise QueryTimeout(f"查询超过 {timeout_s:g} 秒已被中止，请缩小范围或加过滤条件。")
                try:
                    reply = pickle.loads(w.conn.recv_bytes())
                except (EOFError, OSError):  # the worker died: killed for memory, or crashed
                    w.proc.join(2)
                    raise WarehouseError(f"查询进程异常退出（退出码 {w.proc.exitcode}，多半是内存超过上限 "
                                         f"{self.memory_mb:,} MB）：请缩小查询范围后重试。") from None
                ok = reply[0] == "ok" or reply[1] in {"QueryTimeout", "WarehouseError"}  # else: retire it
            finally:
                if ok:
                    self._idle.put(w)
                else:
                    self.kills += 1
                    w.kill()
        if reply[0] == "ok":
            return reply[1], reply[2], reply[3]
        _, kind, msg = reply
        raise QueryTimeout(msg) if kind == "QueryTimeout" else WarehouseError(msg)

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().kill()
            except queue.Empty:
                return


_default: IsolatedRunner | None = None
_default_lock = threading.Lock()


def default_runner(memory_mb: int) -> IsolatedRunner:
    global _default
    with _default_lock:
        if _default is None or _default.memory_mb != memory_mb:
            if _default is not None:
                _default.close()
            _default = IsolatedRunner(memory_mb=memory_mb)
        return _default

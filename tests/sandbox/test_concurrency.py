"""python_inter cases: several calls at once on a 2-core machine are bounded and queued, a full pool
gives a clear "busy" error, and concurrent calls never share an identity."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from million.sandbox import Sandbox, SandboxBusy
from million.sandbox.pool import SlotPool
from tests.sandbox.conftest import SESSION_UID_BASE

SLEEPER = "import os, time\nstart = time.time()\ntime.sleep({s})\nprint(start, time.time(), os.getuid())"


def _run_parallel(sb: Sandbox, n: int, seconds: float) -> list:
    results: list = [None] * n

    def one(i: int) -> None:
        try:
            results[i] = sb.run(SLEEPER.format(s=seconds), timeout_s=30, conversation_id=f"c{i}")
        except Exception as e:  # noqa: BLE001 - recorded and asserted on below
            results[i] = e

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def _max_overlap(intervals: list[tuple[float, float]]) -> int:
    events = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
    running = peak = 0
    for _, delta in events:
        running += delta
        peak = max(peak, running)
    return peak


def test_calls_are_bounded_by_the_pool(work_base: Path, host_ok) -> None:
    sb = Sandbox(pool=SlotPool(2, queue_timeout_s=60), uid_base=SESSION_UID_BASE, work_base=str(work_base))
    results = _run_parallel(sb, 5, 0.8)
    assert all(not isinstance(r, Exception) and r.ok for r in results), results
    spans = [tuple(map(float, r.stdout.split()[:2])) for r in results]
    assert _max_overlap(spans) <= 2 and sb.pool.peak == 2  # queued, never more than the cores
    assert sb.pool.in_use == 0


def test_concurrent_calls_get_distinct_identities(work_base: Path, host_ok) -> None:
    sb = Sandbox(pool=SlotPool(2, queue_timeout_s=60), uid_base=SESSION_UID_BASE, work_base=str(work_base))
    results = _run_parallel(sb, 2, 1.0)
    spans = [tuple(map(float, r.stdout.split()[:2])) for r in results]
    assert _max_overlap(spans) == 2  # they did run at the same time ...
    uids = {int(r.stdout.split()[2]) for r in results}
    assert len(uids) == 2 and all(SESSION_UID_BASE <= u < SESSION_UID_BASE + 64 for u in uids)  # ... as two uids


def test_busy_error_when_the_queue_wait_is_too_long(work_base: Path, host_ok) -> None:
    sb = Sandbox(pool=SlotPool(1, queue_timeout_s=0.3), uid_base=SESSION_UID_BASE, work_base=str(work_base))
    sb.check_available()
    holder = threading.Thread(target=lambda: sb.run(SLEEPER.format(s=2.5), timeout_s=30))
    holder.start()
    time.sleep(1.0)
    started = time.monotonic()
    with pytest.raises(SandboxBusy, match="繁忙"):
        sb.run("print(1)", timeout_s=10)
    assert time.monotonic() - started < 2.0
    holder.join()


def test_busy_error_when_too_many_are_waiting() -> None:
    pool = SlotPool(1, queue_timeout_s=5, max_waiting=0)
    with pool.slot(), pytest.raises(SandboxBusy, match="排队"):
        with pool.slot():
            pass

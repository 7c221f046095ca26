"""Bounded concurrency: at most `size` sandboxes at once (one per core by default), a bounded queue
of waiting calls, and a clear "busy" error instead of piling up work."""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from million.sandbox.errors import SandboxBusy


def default_size() -> int:
    return max(1, len(os.sched_getaffinity(0)))


class SlotPool:
    def __init__(self, size: int | None = None, *, queue_timeout_s: float = 60.0, max_waiting: int = 16) -> None:
        self.size = size or default_size()
        self.queue_timeout_s = queue_timeout_s
        self.max_waiting = max_waiting
        self._free: queue.Queue[int] = queue.Queue()
        for slot in range(self.size):
            self._free.put(slot)
        self._lock = threading.Lock()
        self._waiting = 0
        self.in_use = 0
        self.peak = 0  # highest number of slots ever held at once (tests check the bound)

    def _wait_for_slot(self) -> int:
        with self._lock:
            if self._waiting >= self.max_waiting:
                raise SandboxBusy(f"Python 沙箱繁忙：已有 {self._waiting} 个分析在排队，请稍后再试。")
            self._waiting += 1
        try:
            return self._free.get(timeout=self.queue_timeout_s)
        except queue.Empty:
            raise SandboxBusy(f"Python 沙箱繁忙：{self.size} 个运行位都被占用超过 {self.queue_timeout_s:g} 秒，"
                              "请稍后再试。") from None
        finally:
            with self._lock:
                self._waiting -= 1

    @contextmanager
    def slot(self) -> Iterator[int]:
        try:
            slot = self._free.get_nowait()
        except queue.Empty:
            slot = self._wait_for_slot()
        with self._lock:
            self.in_use += 1
            self.peak = max(self.peak, self.in_use)
        try:
            yield slot
        finally:
            with self._lock:
                self.in_use -= 1
            self._free.put(slot)

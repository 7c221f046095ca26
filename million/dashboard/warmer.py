"""Keeps the dashboard's default view computed: once at start, and again whenever the warehouse is
reloaded or the artifacts are rebuilt, so the first visitor after a reload does not wait for the
queries (about 0.5 s of SQL on the default data, which pushed that first load over 2 s)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Hashable

from million.dashboard.service import DashboardService

log = logging.getLogger(__name__)


class DashboardWarmer:
    """A daemon thread polling `svc.version()` every `interval_s` (a file stat for DuckDB, one
    information_schema query for MySQL); a new version recomputes the default view (all branches,
    latest month). A visitor arriving mid-computation joins it (the cache computes
    each key once), so warming never doubles the work."""

    def __init__(self, svc: DashboardService, interval_s: float = 2.0) -> None:
        self.svc = svc
        self.interval_s = interval_s
        self.warmed: Hashable = None  # the version the default view was last computed for
        self.runs = 0
        self._last_error = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> DashboardWarmer:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="dashboard-warm", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def warm_once(self) -> bool:
        """Compute the default view if the data changed since the last warm; True when it did."""
        try:
            version = self.svc.version()
            if version == self.warmed:
                return False
            self.svc.data()
        except Exception as e:  # noqa: BLE001 - no warehouse yet, or it is being swapped: try next tick
            if str(e) != self._last_error:  # once per reason, not every tick
                log.info("dashboard warm-up skipped: %s", e)
                self._last_error = str(e)
            return False
        self._last_error = ""
        self.warmed = version
        self.runs += 1
        return True

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.warm_once()
            self._stop.wait(self.interval_s)

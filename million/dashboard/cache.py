"""A small thread-safe cache whose entries belong to one data version.

The key includes the warehouse `version_token()` (and the artifacts' fingerprint), so a reload
makes every old entry unreachable; old versions are dropped as soon as a new one is seen.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any


class VersionedCache:
    def __init__(self, max_entries: int = 64) -> None:
        self.max_entries = max_entries
        self._version: Hashable = None
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        # One lock per key being computed, so concurrent first requests run the queries once.
        self._computing: dict[Hashable, threading.Lock] = {}
        self.hits = 0
        self.misses = 0

    def _switch(self, version: Hashable) -> None:
        if version != self._version:
            self._version = version
            self._items.clear()

    def get_or_compute(self, version: Hashable, key: Hashable, compute: Callable[[], Any],
                       keep: Callable[[Any], bool] = lambda _v: True) -> tuple[Any, bool]:
        """(value, was_cached). `compute` runs outside the cache lock; errors, and values `keep`
        rejects (e.g. a payload with a failed panel), are not cached."""
        with self._lock:
            self._switch(version)
            if key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                return self._items[key], True
            key_lock = self._computing.setdefault((version, key), threading.Lock())
        with key_lock:
            with self._lock:
                if self._version == version and key in self._items:
                    self.hits += 1
                    return self._items[key], True
            try:
                value = compute()
            finally:
                with self._lock:
                    self._computing.pop((version, key), None)
            with self._lock:
                self.misses += 1
                if self._version == version and keep(value):
                    self._items[key] = value
                    while len(self._items) > self.max_entries:
                        self._items.popitem(last=False)
            return value, False

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._version = None

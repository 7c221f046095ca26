"""Logging in, held to what a bank's intranet app needs: failed attempts are throttled per user and
per address, a wrong user and a wrong password look the same (text and time), the password hash
runs off the event loop one at a time, sessions expire, and the cookies are SameSite=Strict.

Gradio keeps its login tokens in a dict (`App.tokens`) that every route reads; `ExpiringTokens`
takes its place so an expired session is gone for every route at once."""

from __future__ import annotations

import functools
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from webapp.auth import ITERATIONS, User, hash_password, verify_password

WRONG = "用户名或密码错误。"


@functools.cache
def _dummy_hash() -> str:
    """Checked for unknown users, so they cost the same time as known ones (no user enumeration);
    made on the first login, not when the module is imported."""
    return hash_password(secrets.token_urlsafe(16), iterations=ITERATIONS)


@dataclass
class Throttle:
    """Failures per key inside a sliding window; past the limit the key is locked for `lock_s`."""
    limit: int
    window_s: float = 900.0
    lock_s: float = 300.0
    clock: Callable[[], float] = time.monotonic
    _fails: dict[str, list[float]] = field(default_factory=dict)
    _locked: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_s(self, key: str) -> float:
        with self._lock:
            until = self._locked.get(key, 0.0)
            left = until - self.clock()
            if left <= 0 and key in self._locked:
                del self._locked[key]
            return max(0.0, left)

    def failed(self, key: str) -> None:
        now = self.clock()
        with self._lock:
            fails = [t for t in self._fails.get(key, []) if now - t < self.window_s] + [now]
            self._fails[key] = fails
            if len(fails) >= self.limit:
                self._locked[key] = now + self.lock_s
                self._fails[key] = []
            if len(self._fails) > 50_000:  # bounded memory under a spray of made-up names
                self._fails = {k: v for k, v in self._fails.items() if v and now - v[-1] < self.window_s}

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._fails.pop(key, None)


class ExpiringTokens(dict):
    """Gradio's token -> user map, where a token lives at most `ttl_s` and dies after `idle_s`
    without use. Every read (get, [], in) checks, so expiry holds for every route."""

    def __init__(self, ttl_s: float, idle_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.ttl_s, self.idle_s, self.clock = ttl_s, idle_s, clock
        self._times: dict[str, tuple[float, float]] = {}  # token -> (created, last used)
        self._lock = threading.Lock()

    def __setitem__(self, token: str, user: str) -> None:
        now = self.clock()
        with self._lock:
            self._times[token] = (now, now)
            super().__setitem__(token, user)

    def _alive(self, token: object) -> bool:
        now = self.clock()
        with self._lock:
            t = self._times.get(token) if isinstance(token, str) else None
            if t is None or now - t[0] > self.ttl_s or now - t[1] > self.idle_s:
                self._times.pop(token, None)  # type: ignore[arg-type]
                super().pop(token, None)
                return False
            self._times[token] = (t[0], now)  # type: ignore[index]
            return True

    def get(self, token: object, default: object = None) -> object:  # type: ignore[override]
        return super().get(token, default) if self._alive(token) else default

    def __getitem__(self, token: str) -> str:
        if not self._alive(token):
            raise KeyError(token)
        return super().__getitem__(token)

    def __contains__(self, token: object) -> bool:
        return self._alive(token)

    def pop(self, token: object, *default: object) -> object:  # type: ignore[override]
        with self._lock:
            self._times.pop(token, None)  # type: ignore[arg-type]
        return super().pop(token, *default)


@dataclass
class LoginService:
    users: dict[str, User]
    per_user: Throttle = field(default_factory=lambda: Throttle(limit=5))
    per_address: Throttle = field(default_factory=lambda: Throttle(limit=30))

    def check(self, username: str, password: str, address: str) -> tuple[bool, str]:
        """(ok, message). Blocking (PBKDF2): call it off the event loop."""
        ukey, akey = f"u:{username.strip().lower()}", f"a:{address}"
        wait = max(self.per_user.wait_s(ukey), self.per_address.wait_s(akey))
        if wait > 0:
            return False, f"登录失败次数过多，请 {max(1, round(wait / 60))} 分钟后再试。"
        user = self.users.get(username.strip())
        ok = verify_password(password, user.password_hash if user else _dummy_hash()) and user is not None
        if ok:
            self.per_user.succeeded(ukey)
            self.per_address.succeeded(akey)
            return True, ""
        self.per_user.failed(ukey)
        self.per_address.failed(akey)
        return False, WRONG

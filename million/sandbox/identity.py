"""The unprivileged identity the code runs as. Process limits (RLIMIT_NPROC) do not bind root, and
root ignores file permissions, so the code never runs as root: every running call leases its own
fixed, high uid/gid that no account on the machine uses. A lease is an exclusive flock on a per-uid
lock file, so two calls never share a uid even across app processes: each call has its own process
budget, and two concurrent calls are apart even at the permission level."""

from __future__ import annotations

import fcntl
import grp
import os
import pwd
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from million.sandbox.errors import SandboxBusy, SandboxUnavailable

UID_BASE = 3_970_000  # uids/gids UID_BASE .. UID_BASE + UID_COUNT - 1
UID_COUNT = 64
MIN_UID_BASE = 100_000  # far above the ranges Debian hands out to system and human accounts
LOCK_DIRS = ("/run/million-sandbox", "/tmp/million-sandbox-locks")


@dataclass(frozen=True)
class Identity:
    uid: int
    gid: int


def check(base: int, count: int = UID_COUNT, *, euid: int | None = None) -> None:
    """Raise SandboxUnavailable unless the whole uid/gid range is ours to use."""
    euid = os.geteuid() if euid is None else euid
    if euid != 0:
        raise SandboxUnavailable.for_layer("identity", f"需要以 root 启动应用才能切换到专用的沙箱用户（当前 euid={euid}）")
    if base < MIN_UID_BASE or base + count > 2**31 - 1:
        raise SandboxUnavailable.for_layer("identity", f"沙箱 uid 范围 {base}..{base + count - 1} 不安全（须 >= {MIN_UID_BASE}）")
    for value in range(base, base + count):
        for lookup, what in ((pwd.getpwuid, "uid"), (grp.getgrgid, "gid")):
            try:
                entry = lookup(value)
            except KeyError:
                continue
            raise SandboxUnavailable.for_layer("identity", f"沙箱 {what} {value} 已被本机账户 {entry[0]} 使用")


def _lock_dir() -> str:
    for d in LOCK_DIRS:
        try:
            os.makedirs(d, mode=0o700, exist_ok=True)
            st = os.stat(d)
            if st.st_uid == os.geteuid() and not st.st_mode & 0o022:
                return d
        except OSError:
            continue
    raise SandboxUnavailable.for_layer("identity", f"无法创建 uid 租约目录：{LOCK_DIRS}")


@contextmanager
def lease(base: int, count: int = UID_COUNT) -> Iterator[Identity]:
    """An exclusive uid/gid for the duration of one call."""
    folder = _lock_dir()
    order = list(range(count))
    random.shuffle(order)  # spread leases so a freed uid is not reused at once
    for i in order:
        uid = base + i
        fd = os.open(os.path.join(folder, f"uid-{uid}.lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        try:
            yield Identity(uid, uid)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
        return
    raise SandboxBusy(f"Python 沙箱繁忙：{count} 个沙箱身份都在使用中，请稍后再试。")

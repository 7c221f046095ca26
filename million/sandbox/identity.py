"""The unprivileged identity the code runs as. Process limits (RLIMIT_NPROC) do not bind root, and
root ignores file permissions, so the code never runs as root: each pool slot gets its own fixed,
high uid/gid that no account on the machine uses. Separate uids per slot keep two concurrent calls
apart even at the permission level, and give each its own process budget."""

from __future__ import annotations

import grp
import os
import pwd
from dataclasses import dataclass

from million.sandbox.errors import SandboxUnavailable

UID_BASE = 3_970_000  # uids/gids UID_BASE .. UID_BASE + slots - 1
MIN_UID_BASE = 100_000  # far above the ranges Debian hands out to system and human accounts


@dataclass(frozen=True)
class Identity:
    uid: int
    gid: int


def for_slot(base: int, slot: int) -> Identity:
    return Identity(base + slot, base + slot)


def check(base: int, slots: int, *, euid: int | None = None) -> None:
    """Raise SandboxUnavailable unless the whole uid/gid range is ours to use."""
    euid = os.geteuid() if euid is None else euid
    if euid != 0:
        raise SandboxUnavailable("identity", f"需要以 root 启动应用才能切换到专用的沙箱用户（当前 euid={euid}）")
    if base < MIN_UID_BASE or base + slots > 2**31 - 1:
        raise SandboxUnavailable("identity", f"沙箱 uid 范围 {base}..{base + slots - 1} 不安全（须 >= {MIN_UID_BASE}）")
    for slot in range(slots):
        ident = for_slot(base, slot)
        for lookup, value, what in ((pwd.getpwuid, ident.uid, "uid"), (grp.getgrgid, ident.gid, "gid")):
            try:
                entry = lookup(value)
            except KeyError:
                continue
            raise SandboxUnavailable("identity", f"沙箱 {what} {value} 已被本机账户 {entry[0]} 使用")

"""Landlock (Linux security module) through ctypes: a process restricts itself, for good, to the
paths and rights it lists; everything else on the filesystem, TCP connect/bind (ABI >= 4) and
signals / abstract unix sockets leaving the domain (ABI >= 6) are denied. Stdlib only: this file
also runs inside the sandbox."""

from __future__ import annotations

import ctypes
import errno
import os
import stat

# The syscall numbers are the same on every architecture (they were added after the unification).
SYS_CREATE_RULESET, SYS_ADD_RULE, SYS_RESTRICT_SELF = 444, 445, 446
CREATE_RULESET_VERSION = 1
RULE_PATH_BENEATH, RULE_NET_PORT = 1, 2

# Filesystem rights, with the ABI that introduced them.
EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
REMOVE_DIR, REMOVE_FILE, MAKE_CHAR, MAKE_DIR = 1 << 4, 1 << 5, 1 << 6, 1 << 7
MAKE_REG, MAKE_SOCK, MAKE_FIFO, MAKE_BLOCK, MAKE_SYM = 1 << 8, 1 << 9, 1 << 10, 1 << 11, 1 << 12
REFER, TRUNCATE, IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15  # ABI 2, 3, 5
NET_BIND_TCP, NET_CONNECT_TCP = 1 << 0, 1 << 1  # ABI 4
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1  # ABI 6

FS_ABI1 = (1 << 13) - 1
FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV  # the only rights a file rule may hold

RO = READ_FILE | READ_DIR
RW = RO | WRITE_FILE | REMOVE_DIR | REMOVE_FILE | MAKE_DIR | MAKE_REG | REFER | TRUNCATE


class LandlockError(OSError):
    pass


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_libc.prctl.restype = ctypes.c_int
PR_SET_NO_NEW_PRIVS, PR_GET_NO_NEW_PRIVS = 38, 39


def abi_version() -> int:
    """0 when the kernel has no Landlock (or it is disabled at boot)."""
    r = _libc.syscall(ctypes.c_long(SYS_CREATE_RULESET), None, ctypes.c_size_t(0),
                      ctypes.c_uint32(CREATE_RULESET_VERSION))
    return max(int(r), 0)


def handled_fs(abi: int) -> int:
    rights = FS_ABI1
    if abi >= 2:
        rights |= REFER
    if abi >= 3:
        rights |= TRUNCATE
    if abi >= 5:
        rights |= IOCTL_DEV
    return rights


def _check(r: int, what: str) -> int:
    if r < 0:
        e = ctypes.get_errno()
        raise LandlockError(e, f"landlock {what}: {os.strerror(e)}")
    return int(r)


def restrict(rules: list[tuple[str, int]], abi: int | None = None) -> dict[str, int]:
    """Restrict the calling process (and its future children) to `rules` = [(path, rights)].

    Rights a kernel does not know are dropped (older ABIs deny less, never more), which the caller
    sees in the returned summary. Needs no_new_privs (or CAP_SYS_ADMIN)."""
    abi = abi_version() if abi is None else abi
    if abi < 1:
        raise LandlockError(errno.ENOSYS, "内核不支持 Landlock")
    fs = handled_fs(abi)
    net = NET_BIND_TCP | NET_CONNECT_TCP if abi >= 4 else 0
    scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if abi >= 6 else 0
    attr = _RulesetAttr(fs, net, scoped)
    size = 8 if abi < 4 else 16 if abi < 6 else 24
    ruleset = _check(_libc.syscall(ctypes.c_long(SYS_CREATE_RULESET), ctypes.byref(attr), ctypes.c_size_t(size),
                                   ctypes.c_uint32(0)), "create_ruleset")
    try:
        for path, rights in rules:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            try:
                allowed = rights & fs & (~0 if stat.S_ISDIR(os.fstat(fd).st_mode) else FILE_RIGHTS)
                beneath = _PathBeneathAttr(allowed, fd)
                _check(_libc.syscall(ctypes.c_long(SYS_ADD_RULE), ctypes.c_int(ruleset), ctypes.c_int(RULE_PATH_BENEATH),
                                     ctypes.byref(beneath), ctypes.c_uint32(0)), f"add_rule({path})")
            finally:
                os.close(fd)
        if _libc.prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1:
            _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
        _check(_libc.syscall(ctypes.c_long(SYS_RESTRICT_SELF), ctypes.c_int(ruleset), ctypes.c_uint32(0)),
               "restrict_self")
    finally:
        os.close(ruleset)
    return {"abi": abi, "fs": fs, "net": net, "scoped": scoped}

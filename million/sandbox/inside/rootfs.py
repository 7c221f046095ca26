"""Build the sandbox's own root filesystem inside a fresh mount namespace (runs as root there, before
the identity drop): a small tmpfs holding read-only bind mounts of the interpreter, its libraries
and the system libraries, a size- and inode-limited tmpfs as the work folder, a few device nodes,
then pivot_root into it and detach the host's tree. Whatever is not bound here does not exist for
the code: the warehouse, .env, artifacts, /proc, /tmp, /run and every unix socket on the host."""

from __future__ import annotations

import ctypes
import os
import platform

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MNT_DETACH = 2
_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41}

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]


class MountError(OSError):
    pass


def _b(s: str | None) -> bytes | None:
    return None if s is None else os.fsencode(s)


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    if _libc.mount(_b(source), _b(target), _b(fstype), flags, _b(data)) != 0:
        e = ctypes.get_errno()
        raise MountError(e, f"mount {source} -> {target}: {os.strerror(e)}")


def _bind_ro(src: str, dst: str) -> None:
    # Not MS_REC: submounts of the source stay out. The remount makes this mount read-only.
    mount(src, dst, None, MS_BIND)
    mount(None, dst, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)


def _placeholder(src: str, dst: str) -> None:
    if os.path.isdir(src):
        os.makedirs(dst, mode=0o755, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(dst), mode=0o755, exist_ok=True)
        os.close(os.open(dst, os.O_WRONLY | os.O_CREAT, 0o444))


def build(root: str, *, binds: list[list[str]], symlinks: list[list[str]], devices: list[str],
          work_opts: str, files: dict[str, bytes]) -> None:
    """Populate `root` (an empty directory) and mount everything under it. Paths in `binds` are
    (host source, path inside); `files` are small root-owned read-only files (the code, the config)."""
    mount(None, "/", None, MS_REC | MS_PRIVATE)  # never propagate anything back to the host
    mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=16m,nr_inodes=4096,mode=0755")
    for target, link in symlinks:
        os.makedirs(os.path.dirname(root + link), mode=0o755, exist_ok=True)
        os.symlink(target, root + link)
    for src, dst in sorted(binds, key=lambda b: b[1]):
        _placeholder(src, root + dst)
        _bind_ro(src, root + dst)
    os.makedirs(root + "/dev", mode=0o755, exist_ok=True)
    for dev in devices:
        _placeholder(dev, root + dev)
        mount(dev, root + dev, None, MS_BIND)
        mount(None, root + dev, None, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NOEXEC)
    os.makedirs(root + "/sandbox", mode=0o755)
    mount("tmpfs", root + "/sandbox", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, work_opts)
    os.makedirs(root + "/run", mode=0o755)
    for name, data in files.items():
        fd = os.open(root + "/run/" + name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)


def pivot(root: str) -> None:
    """Make `root` the process's `/` and drop the host tree; then make `/` itself read-only."""
    nr = _PIVOT_ROOT.get(platform.machine())
    if nr is None:
        raise MountError(0, f"pivot_root: unsupported architecture {platform.machine()}")
    os.chdir(root)
    if _libc.syscall(ctypes.c_long(nr), b".", b".") != 0:  # the old root ends up stacked on "."
        e = ctypes.get_errno()
        raise MountError(e, f"pivot_root: {os.strerror(e)}")
    if _libc.umount2(b".", MNT_DETACH) != 0:
        e = ctypes.get_errno()
        raise MountError(e, f"umount old root: {os.strerror(e)}")
    os.chdir("/")
    mount(None, "/", None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, "size=16m,nr_inodes=4096,mode=0755")
    if os.path.exists(root):  # the host path must be gone from our view
        raise MountError(0, f"pivot_root: host tree still visible at {root}")

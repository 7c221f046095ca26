"""A memory cgroup per call: RLIMIT_AS bounds one process, but up to RLIMIT_NPROC processes could
each take that much; the cgroup bounds the whole tree (code, children, its tmpfs work folder) and the
kernel OOM-kills inside the sandbox, never elsewhere. Each call's group is created under the app's
own cgroup (so limits set on the app still hold) and removed after the call. cgroup v2 and v1."""

from __future__ import annotations

import errno
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from million.sandbox.errors import SandboxUnavailable

V2_ROOT = Path("/sys/fs/cgroup")


@dataclass
class CallCgroup:
    path: Path
    version: int

    @property
    def procs(self) -> str:
        return str(self.path / "cgroup.procs")

    @property
    def relative(self) -> str:
        """The group as /proc/<pid>/cgroup shows it (the supervisor checks it joined)."""
        return "/" + str(self.path.relative_to(_mount(self.version))).lstrip("/")

    def oom_kills(self) -> int:
        name = "memory.events" if self.version == 2 else "memory.oom_control"
        try:
            for line in (self.path / name).read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value)
        except OSError:
            pass
        return 0

    def remove(self) -> None:
        for _ in range(50):  # the last processes may still be exiting after SIGKILL
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError as e:
                if e.errno != errno.EBUSY:
                    return
                time.sleep(0.05)


def _own(controller: str) -> tuple[int, str] | None:
    """(cgroup version, path of this process's group) for the hierarchy holding `controller`."""
    v2_path = None
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            return 1, path
        if controllers == "":
            v2_path = path
    controllers_file = V2_ROOT / "cgroup.controllers"
    if v2_path is not None and controllers_file.exists() and controller in controllers_file.read_text().split():
        return 2, v2_path
    return None


def _mount(version: int) -> Path:
    return V2_ROOT if version == 2 else V2_ROOT / "memory"


def _write(path: Path, value: str) -> None:
    with open(path, "w") as fh:
        fh.write(value)


def _v2_parent(own: str) -> Path:
    """A v2 group whose children may use the memory controller: the app's own group when that is
    allowed (delegated, or no processes of its own), else the root (documented fallback)."""
    parent = V2_ROOT / own.lstrip("/")
    for candidate in (parent, V2_ROOT):
        control = candidate / "cgroup.subtree_control"
        if "memory" in control.read_text().split():
            return candidate
        try:
            _write(control, "+memory")
            return candidate
        except OSError:
            continue  # "no internal processes": a group holding processes cannot delegate memory
    raise SandboxUnavailable.for_layer("cgroup", "无法为沙箱启用 cgroup v2 的 memory 控制器")


def create(limit_bytes: int, pids_max: int) -> CallCgroup:
    found = _own("memory")
    if found is None:
        raise SandboxUnavailable.for_layer("cgroup", "找不到 cgroup 的 memory 控制器（/sys/fs/cgroup 未挂载或未启用）")
    version, own = found
    parent = _v2_parent(own) if version == 2 else _mount(1) / own.lstrip("/")
    path = parent / f"million-sbx-{secrets.token_hex(6)}"
    try:
        path.mkdir()
    except OSError as e:
        raise SandboxUnavailable.for_layer("cgroup", f"无法创建 cgroup {path}：{e.strerror}") from e
    group = CallCgroup(path, version)
    try:
        if version == 2:
            _write(path / "memory.max", str(limit_bytes))
            if (path / "memory.swap.max").exists():
                _write(path / "memory.swap.max", "0")
            if (path / "pids.max").exists():
                _write(path / "pids.max", str(pids_max))
        else:
            _write(path / "memory.limit_in_bytes", str(limit_bytes))
            if (path / "memory.memsw.limit_in_bytes").exists():  # no escape into swap
                _write(path / "memory.memsw.limit_in_bytes", str(limit_bytes))
    except OSError as e:
        group.remove()
        raise SandboxUnavailable.for_layer("cgroup", f"无法设置 cgroup 内存上限：{e.strerror}") from e
    return group


def check() -> None:
    """Create and remove a throw-away group (raises SandboxUnavailable)."""
    create(64 * 1024 * 1024, 16).remove()


"""The sandbox's PID 1. Started by the host as root through `unshare` (new PID, network, mount, IPC
and UTS namespaces), it builds the sandbox root filesystem, then forks the user process through
`setpriv` (dedicated uid/gid, no groups, no capabilities, no_new_privs), enforces the wall deadline,
kills every process left in the namespace when the user process ends, and stays alive until the host
has collected the outputs (the work folder is a tmpfs that only exists in this namespace).

Reports go to the host as JSON lines on the status fd, never on stdout/stderr (those belong to the
user code). Run as: python -I -S supervisor.py SPEC_JSON STATUS_FD CONTROL_FD
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rootfs  # noqa: E402

LAUNCH_FD = 3  # the launcher's setup report; closed by the launcher before the user code starts


class Reporter:
    def __init__(self, fd: int) -> None:
        self.fd = fd

    def send(self, **event: object) -> None:
        data = (json.dumps(event, ensure_ascii=False) + "\n").encode()
        try:
            os.write(self.fd, data)
        except OSError:
            pass  # the host is gone; the namespace dies with us


def _wait_control(fd: int) -> None:
    """Block until the host closes the control pipe (it has collected the outputs)."""
    try:
        while os.read(fd, 4096):
            pass
    except OSError:
        pass


def _kill_all() -> None:
    """SIGKILL every other process of this PID namespace and reap them. Only valid as PID 1 of a
    namespace of our own: kill(-1) from anywhere else would hit the host."""
    if os.getpid() != 1:
        raise RuntimeError("refusing kill(-1) outside a PID namespace")
    for _ in range(1000):
        try:
            os.kill(-1, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            while True:
                pid, _ = os.waitpid(-1, 0)
        except ChildProcessError:
            pass
        try:
            os.kill(-1, 0)
        except ProcessLookupError:
            return
    raise RuntimeError("processes keep appearing in the sandbox")


def _seed(src_dir: str, dst_dir: str, uid: int, gid: int) -> None:
    """Copy the tool-provided files into the work folder, owned by the sandbox identity."""
    for dirpath, dirnames, filenames in os.walk(src_dir):
        rel = os.path.relpath(dirpath, src_dir)
        target = dst_dir if rel == "." else os.path.join(dst_dir, rel)
        if rel != ".":
            os.mkdir(target, 0o700)
            os.chown(target, uid, gid)
        for name in filenames:
            dst = os.path.join(target, name)
            shutil.copyfile(os.path.join(dirpath, name), dst, follow_symlinks=False)
            os.chown(dst, uid, gid)
            os.chmod(dst, 0o600)
        dirnames.sort()


def _join_cgroup(cg: dict) -> None:
    """Move this process (and so every process it starts) into the call's memory cgroup; must run
    before pivot_root (it needs /sys and /proc of the host)."""
    with open(cg["procs"], "w") as fh:
        fh.write("0")
    with open("/proc/self/cgroup") as fh:
        for line in fh.read().splitlines():
            _, controllers, path = line.split(":", 2)
            wanted = controllers == "" if cg["version"] == 2 else "memory" in controllers.split(",")
            if wanted and path == cg["relative"]:
                return
    raise OSError(f"not in cgroup {cg['relative']}")


def _start_user(spec: dict, ready_w: int) -> int:
    pid = os.fork()
    if pid == 0:  # child: becomes the user process
        try:
            os.dup2(ready_w, LAUNCH_FD, inheritable=True)
            os.closerange(LAUNCH_FD + 1, 65536)
            os.chdir("/sandbox")
            os.nice(int(spec["nice"]))  # a busy sandbox must not starve the app or this supervisor
            uid, gid = spec["uid"], spec["gid"]
            argv = [spec["setpriv"], f"--reuid={uid}", f"--regid={gid}", "--clear-groups",
                    "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--",
                    spec["python"], "-I", "-S", "-B", "-u", spec["launcher"], "/run/launch.json"]
            os.execve(argv[0], argv, spec["env"])
        finally:
            os._exit(127)
    return pid


def _read_ready(fd: int, deadline: float) -> bytes:
    buf = b""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return buf
        r, _, _ = select.select([fd], [], [], left)
        if not r:
            return buf
        chunk = os.read(fd, 65536)
        if not chunk:
            return buf
        buf += chunk
        if len(buf) > 1 << 20:
            return buf


def _wait_user(pid: int, deadline: float) -> tuple[int | None, bool, float]:
    """(wait status or None, timed out, user+sys CPU seconds). Reaps orphans on the way."""
    pidfd = os.pidfd_open(pid)
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None, True, 0.0
            select.select([pidfd], [], [], min(left, 0.5))
            try:
                wpid, status, ru = os.wait4(pid, os.WNOHANG)
            except ChildProcessError:
                return None, False, 0.0
            if wpid == pid:
                return status, False, ru.ru_utime + ru.ru_stime
            try:  # reap orphans (daemonised grandchildren end up as our children)
                while os.waitpid(-1, os.WNOHANG)[0] > 0:
                    pass
            except ChildProcessError:
                pass
    finally:
        os.close(pidfd)


def main() -> None:
    spec_path, status_fd, control_fd = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    out = Reporter(status_fd)
    with open(spec_path, encoding="utf-8") as fh:
        spec = json.load(fh)
    start = time.monotonic()
    if os.getpid() != 1:
        out.send(event="error", layer="namespaces", message=f"PID 命名空间未生效（pid={os.getpid()}）")
        _wait_control(control_fd)
        return
    try:
        _join_cgroup(spec["cgroup"])
    except (OSError, KeyError, ValueError) as e:
        out.send(event="error", layer="cgroup", message=f"无法加入沙箱的 memory cgroup：{e}")
        _wait_control(control_fd)
        return
    try:
        root = spec["root"]
        files = {"main.py": spec["code"].encode("utf-8"),
                 "launch.json": json.dumps(spec["launch"], ensure_ascii=False).encode("utf-8")}
        rootfs.build(root, binds=spec["binds"], symlinks=spec["symlinks"], devices=spec["devices"],
                     work_opts=spec["work_opts"], files=files)
        _seed(spec["seed"], root + "/sandbox", spec["uid"], spec["gid"])
        rootfs.pivot(root)
    except (OSError, KeyError, ValueError) as e:
        out.send(event="error", layer="filesystem", message=f"构建沙箱文件系统失败：{e}")
        _wait_control(control_fd)
        return
    ready_r, ready_w = os.pipe()
    pid = _start_user(spec, ready_w)
    os.close(ready_w)
    deadline = start + float(spec["timeout_s"])
    report = _read_ready(ready_r, deadline)
    os.close(ready_r)
    try:
        ready = json.loads(report.decode("utf-8").splitlines()[0]) if report.strip() else {}
    except (ValueError, IndexError):
        ready = {}
    if not ready.get("ok"):
        _kill_all()
        layer = ready.get("layer") or "identity"
        message = ready.get("message") or "启动器未能完成安全设置（setpriv 或解释器启动失败）"
        out.send(event="error", layer=layer, message=message)
        _wait_control(control_fd)
        return
    out.send(event="ready", checks=ready.get("checks", {}))
    status, timed_out, cpu = _wait_user(pid, deadline)
    _kill_all()
    exit_code = signum = None
    if status is not None:
        if os.WIFSIGNALED(status):
            signum = os.WTERMSIG(status)
        elif os.WIFEXITED(status):
            exit_code = os.WEXITSTATUS(status)
    out.send(event="exit", exit_code=exit_code, signal=signum, timed_out=timed_out, cpu_s=round(cpu, 3))
    _wait_control(control_fd)


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # noqa: BLE001 - anything unexpected: report, and never leave a process behind
        try:
            os.write(int(sys.argv[2]), (json.dumps({"event": "error", "layer": "supervisor",
                                                    "message": f"{type(e).__name__}: {e}"}) + "\n").encode())
        except Exception:  # noqa: BLE001
            pass
        if os.getpid() == 1:
            try:
                _kill_all()
            except Exception:  # noqa: BLE001
                pass
        sys.exit(1)

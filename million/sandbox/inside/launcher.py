"""In-sandbox bootstrap (already in the namespaces, already the sandbox uid via setpriv): verify the
identity and the network namespace, set the resource limits, restrict the filesystem/network/signals
with Landlock, shrink the kernel surface with seccomp, prove each layer took effect, report READY on fd 3 and close it, then run the user's
code in this process. If any layer cannot be set up or verified, the code never runs.

Stdlib only; runs as: python -I -S -B -u launcher.py /run/launch.json
"""

from __future__ import annotations

import ctypes
import fcntl
import json
import os
import resource
import socket
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import landlock  # noqa: E402
import seccomp  # noqa: E402

LAUNCH_FD = 3
SETUP_FAILED = 121
PR_CAPBSET_READ, PR_GET_NO_NEW_PRIVS = 23, 39
SIOCGIFFLAGS, IFF_UP = 0x8913, 0x1
LIMITS = {"as": resource.RLIMIT_AS, "cpu": resource.RLIMIT_CPU, "fsize": resource.RLIMIT_FSIZE,
          "nofile": resource.RLIMIT_NOFILE, "nproc": resource.RLIMIT_NPROC, "core": resource.RLIMIT_CORE,
          "memlock": resource.RLIMIT_MEMLOCK, "msgqueue": resource.RLIMIT_MSGQUEUE}

_libc = ctypes.CDLL(None, use_errno=True)


class SetupError(Exception):
    def __init__(self, layer: str, message: str) -> None:
        super().__init__(message)
        self.layer = layer


def _report(payload: dict) -> None:
    try:
        os.write(LAUNCH_FD, (json.dumps(payload, ensure_ascii=False) + "\n").encode("utf-8"))
    finally:
        os.close(LAUNCH_FD)


def check_identity(uid: int, gid: int) -> dict:
    if os.getresuid() != (uid, uid, uid) or os.getresgid() != (gid, gid, gid):
        raise SetupError("identity", f"未切换到沙箱身份：uid={os.getresuid()} gid={os.getresgid()}")
    if os.getgroups():
        raise SetupError("identity", f"附加组未清空：{os.getgroups()}")
    if _libc.prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1:
        raise SetupError("identity", "no_new_privs 未设置")
    kept = [c for c in range(64) if _libc.prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1]
    if kept:
        raise SetupError("identity", f"capability 边界集未清空：{kept}")
    for attempt in (lambda: os.setuid(0), lambda: os.chown("/sandbox", 0, 0)):
        try:
            attempt()
        except PermissionError:
            continue
        raise SetupError("identity", "仍然拥有特权（setuid/chown 成功）")
    return {"uid": uid, "gid": gid}


def check_network() -> dict:
    names = sorted(n for _, n in socket.if_nameindex())
    if names != ["lo"]:
        raise SetupError("network", f"不在独立的网络命名空间中（可见网卡：{names}）")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        flags = struct.unpack("16sH", fcntl.ioctl(s.fileno(), SIOCGIFFLAGS, struct.pack("16sH", b"lo", 0)))[1]
    if flags & IFF_UP:
        raise SetupError("network", "回环网卡处于启用状态：不是全新的网络命名空间")
    return {"interfaces": names}


def set_limits(limits: dict[str, int], skip: bool) -> dict:
    for name, value in limits.items():
        if not skip:
            try:
                resource.setrlimit(LIMITS[name], (value, value))
            except (ValueError, OSError) as e:
                raise SetupError("rlimits", f"无法设置资源限制 {name}={value}：{e}") from e
        if resource.getrlimit(LIMITS[name]) != (value, value):
            raise SetupError("rlimits", f"资源限制 {name} 未生效：{resource.getrlimit(LIMITS[name])}")
    return dict(limits)


def apply_landlock(rules: list[list], min_abi: int, simulate_missing: bool, probe_path: str) -> dict:
    abi = 0 if simulate_missing else landlock.abi_version()
    if abi < min_abi:
        raise SetupError("landlock", f"内核 Landlock ABI={abi}，需要 >= {min_abi}")
    try:
        summary = landlock.restrict([(p, r) for p, r in rules], abi)
    except OSError as e:
        raise SetupError("landlock", f"Landlock 设置失败：{e}") from e
    try:  # the config file was readable a moment ago; now it must not be
        os.close(os.open(probe_path, os.O_RDONLY))
    except PermissionError:
        return summary
    raise SetupError("landlock", "Landlock 未生效：受限之后仍能读取未授权的文件")


def apply_seccomp(simulate_missing: bool) -> dict:
    try:
        return seccomp.install("unsupported-arch" if simulate_missing else None)
    except OSError as e:
        raise SetupError("seccomp", f"seccomp 过滤器无法安装：{e}") from e


def check_filesystem(host_marker: str) -> dict:
    if os.path.exists(host_marker) or os.path.exists("/proc/self"):
        raise SetupError("filesystem", "仍能看到宿主机的文件系统（pivot_root 未生效）")
    return {"root": "minimal"}


def setup(cfg: dict) -> dict:
    missing = set(cfg.get("simulate_missing", ()))
    checks = {"identity": check_identity(cfg["uid"], cfg["gid"]), "network": check_network(),
              "filesystem": check_filesystem(cfg["host_marker"])}
    checks["rlimits"] = set_limits(cfg["limits"], skip="rlimits" in missing)
    checks["landlock"] = apply_landlock(cfg["landlock_rules"], cfg["min_landlock_abi"], "landlock" in missing,
                                        "/run/launch.json")
    checks["seccomp"] = apply_seccomp("seccomp" in missing)
    return checks


def add_site_dirs(site_dirs: list[str]) -> None:
    """The interpreter runs with -S (the project's editable-install hook and other .pth import lines
    must not run in here, and they cost ~50 ms): add site-packages and the plain path lines of
    their .pth files by hand."""
    for d in site_dirs:
        if not os.path.isdir(d) or d in sys.path:
            continue
        sys.path.append(d)
        for name in sorted(os.listdir(d)):
            if not name.endswith(".pth"):
                continue
            with open(os.path.join(d, name), encoding="utf-8", errors="replace") as fh:
                for line in fh:
                    line = line.strip()
                    if not line or line.startswith(("#", "import ", "import\t")):
                        continue
                    path = os.path.normpath(os.path.join(d, line))
                    if os.path.isdir(path) and path not in sys.path:
                        sys.path.append(path)


def run_user_code(code: str, lib_dir: str) -> None:
    import builtins
    import traceback
    import types

    main = types.ModuleType("__main__")  # not this launcher: `import __main__` must not reach it
    main.__dict__["__builtins__"] = builtins
    sys.modules["__main__"] = main
    sys.argv = ["python_inter"]
    sys.path.insert(0, lib_dir)
    os.chdir("/sandbox")
    try:
        compiled = compile(code, "<python_inter>", "exec")
        exec(compiled, main.__dict__)
    except SystemExit:
        raise
    except MemoryError:
        print("MemoryError：内存超过沙箱上限，请减少数据量（例如先在 SQL 中聚合或抽样）。", file=sys.stderr)
        sys.exit(1)
    except BaseException as e:  # noqa: BLE001 - the user's error, shown without launcher frames
        tb = e.__traceback__.tb_next if e.__traceback__ else None
        traceback.print_exception(type(e), e, tb)
        sys.exit(1)


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as fh:
        cfg = json.load(fh)
    with open("/run/main.py", encoding="utf-8") as fh:
        code = fh.read()
    try:
        checks = setup(cfg)
    except SetupError as e:
        _report({"ok": False, "layer": e.layer, "message": str(e)})
        os._exit(SETUP_FAILED)
    except Exception as e:  # noqa: BLE001 - any surprise is a setup failure, never a run
        _report({"ok": False, "layer": "launcher", "message": f"{type(e).__name__}: {e}"})
        os._exit(SETUP_FAILED)
    _report({"ok": True, "checks": checks})
    os.closerange(LAUNCH_FD, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
    add_site_dirs(cfg["site_dirs"])
    run_user_code(code, cfg["lib_dir"])


if __name__ == "__main__":
    main()

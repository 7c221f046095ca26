"""python_inter cases: starting programs, fork/thread/memory bombs, infinite loops, endless sleep,
stdin, processes that outlive the call, killing other processes."""

from __future__ import annotations

import os
import time

from million.sandbox import Sandbox
from tests.sandbox.conftest import sandbox_pids


def test_cannot_start_programs(sandbox: Sandbox, host_ok) -> None:
    code = """
import ctypes, os, subprocess
for name, f in [("subprocess", lambda: subprocess.run(["/bin/ls", "/"], capture_output=True)),
                ("popen_shell", lambda: subprocess.check_output("id", shell=True)),
                ("os.system", lambda: os.system("echo pwned > pwned.txt")),
                ("os.execv", lambda: os.execv("/bin/sh", ["sh", "-c", "echo pwned > pwned.txt"])),
                ("python_again", lambda: subprocess.run(["/usr/bin/env", "python3", "-c", "print(1)"])),
                ("libc_execve", lambda: ctypes.CDLL(None).execve(b"/bin/sh", None, None) or ctypes.get_errno())]:
    try:
        r = f()
        print(name, "RESULT", r)
    except Exception as e:
        print(name, "DENIED", type(e).__name__)
"""
    res = sandbox.run(code, timeout_s=20)
    assert res.ok, res.stderr
    lines = dict(line.split(" ", 1) for line in res.stdout.strip().splitlines())
    assert lines["subprocess"] == lines["popen_shell"] == lines["os.execv"] == "DENIED PermissionError"
    assert lines["python_again"] == "DENIED PermissionError"
    assert lines["os.system"] == "RESULT 32512"  # the shell never started (exit 127)
    assert lines["libc_execve"].startswith("RESULT -1")
    assert not any(o.name == "pwned.txt" for o in res.outputs)


def test_fork_bomb(sandbox: Sandbox, host_ok) -> None:
    code = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
    started = time.monotonic()
    res = sandbox.run(code, timeout_s=3)
    assert res.timed_out and not res.ok and "超时" in (res.killed_reason or "")
    assert time.monotonic() - started < 3 + 8  # killed at the deadline, not at the host backstop


def test_fork_bomb_hits_process_limit(sandbox: Sandbox, host_ok) -> None:
    code = """
import os, time
n = 0
try:
    while True:
        if os.fork() == 0:
            time.sleep(30)
            os._exit(0)
        n += 1
except OSError as e:
    print(n, type(e).__name__)
"""
    res = sandbox.run(code, timeout_s=20)
    assert res.ok, res.stderr
    n, err = res.stdout.split()
    assert err == "BlockingIOError" and int(n) < sandbox.limits.nproc  # RLIMIT_NPROC of the leased uid


def test_thread_bomb(sandbox: Sandbox, host_ok) -> None:
    code = """
import threading, time
n = 0
try:
    while True:
        threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
        n += 1
except RuntimeError as e:
    print(n, e)
"""
    res = sandbox.run(code, timeout_s=20)
    assert res.ok, res.stderr
    assert "can't start new thread" in res.stdout and int(res.stdout.split()[0]) < sandbox.limits.nproc


def test_memory_bomb_at_once(sandbox: Sandbox, host_ok) -> None:
    res = sandbox.run("x = bytearray(3 * 1024 ** 3)\nprint('allocated')", timeout_s=20, memory_mb=512)
    assert not res.ok and res.exit_code == 1 and "MemoryError" in res.stderr and "allocated" not in res.stdout


def test_memory_bomb_gradual(sandbox: Sandbox, host_ok) -> None:
    code = "chunks = []\nwhile True:\n    chunks.append(bytearray(16 * 1024 * 1024))\n"
    res = sandbox.run(code, timeout_s=20, memory_mb=384)
    assert not res.ok and "MemoryError" in res.stderr and not res.timed_out


def test_memory_bomb_across_processes(sandbox: Sandbox, host_ok) -> None:
    # RLIMIT_AS is per process; the call's memory cgroup caps the whole tree (4 x 400 MB > 512 MB + tmpfs).
    code = """
import os, time
kids = []
for _ in range(4):
    pid = os.fork()
    if pid == 0:
        block = b"x" * (400 * 1024 * 1024)
        time.sleep(1)
        os._exit(0)
    kids.append(pid)
print([os.waitpid(pid, 0)[1] for pid in kids])
"""
    res = sandbox.run(code, timeout_s=30, memory_mb=512)
    statuses = eval(res.stdout) if res.stdout.strip() else []  # noqa: S307 - our own printed list
    assert 9 in statuses or res.exit_code == -9, (res.stdout, res.stderr)  # SIGKILL by the kernel's OOM killer
    assert not res.ok and "内存超过上限" in (res.killed_reason or "")


def test_infinite_loop(sandbox: Sandbox, host_ok) -> None:
    started = time.monotonic()
    res = sandbox.run("while True:\n    pass\n", timeout_s=2)
    assert res.timed_out and res.exit_code is None and time.monotonic() - started < 2 + 8


def test_endless_sleep(sandbox: Sandbox, host_ok) -> None:
    started = time.monotonic()
    res = sandbox.run("import time\nprint('going to sleep', flush=True)\ntime.sleep(10 ** 6)", timeout_s=2)
    assert res.timed_out and time.monotonic() - started < 2 + 8
    assert res.stdout.strip() == "going to sleep"  # output written before the kill is kept


def test_reading_stdin(sandbox: Sandbox, host_ok) -> None:
    res = sandbox.run("import sys\ndata = sys.stdin.read()\nprint(repr(data), input.__name__)\n"
                      "try:\n    input()\nexcept EOFError:\n    print('EOF')", timeout_s=10)
    assert res.ok and res.stdout.split() == ["''", "input", "EOF"]


def test_daemonised_child_does_not_outlive_the_call(sandbox: Sandbox, host_ok) -> None:
    code = """
import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        while True:
            time.sleep(1)
    os._exit(0)
print(os.getuid())
"""
    started = time.monotonic()
    res = sandbox.run(code, timeout_s=20)
    assert res.ok and time.monotonic() - started < 10  # the call did not wait for the child
    uid = int(res.stdout)
    assert sandbox_pids(uid, 1) == []  # and the child is gone from the host


def test_cannot_kill_other_processes(sandbox: Sandbox, host_ok) -> None:
    me = os.getpid()
    code = f"""
import os, signal
for pid in ({me}, 1, os.getppid()):
    try:
        os.kill(pid, signal.SIGKILL)
        print(pid, "KILLED")
    except Exception as e:
        print(pid, type(e).__name__)
"""
    res = sandbox.run(code, timeout_s=10)
    assert res.ok, res.stderr
    assert "KILLED" not in res.stdout
    # kill(-1) reaches only the sandbox's own processes (never the caller itself, never the root
    # supervisor): with no other process of its own there is nobody to signal.
    res = sandbox.run("import os, signal\nos.kill(-1, signal.SIGKILL)", timeout_s=10)
    assert res.exit_code == 1 and "ProcessLookupError" in res.stderr
    os.kill(me, 0)  # this test process is alive


def test_runs_with_the_documented_limits(sandbox: Sandbox, host_ok) -> None:
    code = """
import os, resource
print(os.getuid() != 0, os.getgid() != 0, os.getgroups(), os.getpriority(os.PRIO_PROCESS, 0))
for name in ("RLIMIT_AS", "RLIMIT_NPROC", "RLIMIT_FSIZE", "RLIMIT_NOFILE", "RLIMIT_CORE"):
    print(name, resource.getrlimit(getattr(resource, name)))
try:
    resource.setrlimit(resource.RLIMIT_NPROC, (10**6, 10**6))
    print("raised")
except ValueError:
    print("cannot raise")
try:
    os.nice(-5)
    print("reniced")
except PermissionError:
    print("cannot renice")
"""
    res = sandbox.run(code, timeout_s=10, memory_mb=700)
    assert res.ok, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0] == f"True True [] {sandbox.limits.nice}"
    assert f"RLIMIT_AS ({700 * 2**20}, {700 * 2**20})" in lines
    assert f"RLIMIT_NPROC ({sandbox.limits.nproc}, {sandbox.limits.nproc})" in lines
    assert "RLIMIT_CORE (0, 0)" in lines
    assert lines[-2:] == ["cannot raise", "cannot renice"]


def test_cancel_kills_a_running_call(sandbox: Sandbox, host_ok) -> None:
    """The web app sets the conversation's cancel event when the client disconnects or presses stop:
    the running code dies at once, not at its timeout, and leaves no process behind."""
    import threading

    cancel = threading.Event()
    threading.Timer(1.5, cancel.set).start()
    started = time.monotonic()
    res = sandbox.run("import time\nprint('working', flush=True)\ntime.sleep(10 ** 6)", timeout_s=25, cancel=cancel)
    took = time.monotonic() - started
    assert not res.ok and not res.timed_out and "已取消" in (res.killed_reason or "")
    assert took < 1.5 + 5, took  # far below the 25 s timeout
    assert res.stdout.strip() == "working"
    deadline = time.monotonic() + 5
    while sandbox_pids() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert sandbox_pids() == []

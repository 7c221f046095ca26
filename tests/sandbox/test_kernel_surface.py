"""The kernel is shared: the code must not create namespaces (unprivileged user namespaces are on,
here) or reach the kernel interfaces most local exploits start from. Seccomp refuses them."""

from __future__ import annotations

import json
import platform

from million.sandbox import Sandbox
from million.sandbox.inside import seccomp

PROBE = """
import ctypes, json, os
libc = ctypes.CDLL(None, use_errno=True)
numbers = {numbers}
out = {{}}
def call(name, fn):
    r = fn()
    out[name] = "OK" if r >= 0 else os.strerror(ctypes.get_errno())
for name, flag in [("unshare_user", 0x10000000), ("unshare_net", 0x40000000), ("unshare_mnt", 0x20000)]:
    call(name, lambda flag=flag: libc.unshare(flag))
call("clone_newuser", lambda: libc.syscall(numbers["clone"], 0x10000000 | 17, 0, 0, 0, 0))
for name in ("ptrace", "bpf", "io_uring_setup", "keyctl", "perf_event_open", "userfaultfd", "mount", "setns",
             "add_key", "init_module", "kexec_load", "process_vm_readv", "open_by_handle_at"):
    call(name, lambda name=name: libc.syscall(numbers[name], 0, 0, 0, 0, 0))
print(json.dumps(out))
"""


def test_namespaces_and_risky_syscalls_are_refused(sandbox: Sandbox, host_ok) -> None:
    _, denied, clone, _, _ = seccomp.ARCHES[platform.machine()]
    numbers = {**denied, "clone": clone}
    res = sandbox.run(PROBE.format(numbers=numbers), timeout_s=20)
    assert res.ok, res.stderr
    result = json.loads(res.stdout)
    assert len(result) == 17
    assert all(v == "Operation not permitted" for v in result.values()), result


def test_threads_fork_and_numeric_libraries_still_work(sandbox: Sandbox, host_ok) -> None:
    code = """
import os, threading
from concurrent.futures import ThreadPoolExecutor
import numpy as np
with ThreadPoolExecutor(4) as pool:
    print(sum(pool.map(lambda x: x * x, range(10))))
pid = os.fork()
if pid == 0:
    os._exit(3)
print(os.waitpid(pid, 0)[1] >> 8, float(np.linalg.inv(np.eye(3)).sum()))
"""
    res = sandbox.run(code, timeout_s=30)
    assert res.ok and res.stdout.split() == ["285", "3", "3.0"], res.stderr


def test_filter_program_shape() -> None:
    for machine in seccomp.ARCHES:
        prog = seccomp.program(machine)
        assert prog[0] == (seccomp.LD_W_ABS, 0, 0, 4) and prog[2] == (seccomp.RET, 0, 0, seccomp.RET_KILL_PROCESS)
        assert prog[-1] == (seccomp.RET, 0, 0, seccomp.RET_ALLOW)  # default allow, after every denial
        for code, jt, jf, _ in prog:
            assert code in {seccomp.LD_W_ABS, seccomp.JEQ, seccomp.JGE, seccomp.JSET, seccomp.RET}
            assert jt < 8 and jf < 8

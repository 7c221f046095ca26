"""Fixtures for the python_inter sandbox tests: one sandbox per session (its own uid range and work
base, so leftovers are attributable), and helpers that check the host after a hostile call."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from million.sandbox import Sandbox, SandboxUnavailable
from million.sandbox.identity import LOCK_DIRS, UID_BASE, UID_COUNT
from million.sandbox.pool import SlotPool

# A uid range per test session: concurrent sessions on one machine never look at each other's processes.
SESSION_UID_BASE = UID_BASE + UID_COUNT * (1 + os.getpid() % 2000)


def sandbox_pids(base: int = SESSION_UID_BASE, count: int = UID_COUNT) -> list[int]:
    """Host pids of processes running as one of the sandbox uids."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as fh:
                uid_line = next(line for line in fh if line.startswith("Uid:"))
        except (OSError, StopIteration):
            continue
        if base <= int(uid_line.split()[1]) < base + count:
            found.append(int(entry))
    return found


@pytest.fixture(scope="session")
def work_base() -> Iterator[Path]:
    d = Path(tempfile.mkdtemp(prefix="million-sbx-tests-"))
    yield d
    shutil.rmtree(d, ignore_errors=True)
    # The uid lease files of this session's own range (production keeps one fixed range of 64).
    for folder in LOCK_DIRS:
        for uid in range(SESSION_UID_BASE, SESSION_UID_BASE + UID_COUNT):
            Path(folder, f"uid-{uid}.lock").unlink(missing_ok=True)


@pytest.fixture(scope="session")
def sandbox(work_base: Path) -> Sandbox:
    if os.geteuid() != 0:
        pytest.skip("沙箱需要以 root 运行（切换到专用 uid）；CI 以 root 运行")
    sb = Sandbox(pool=SlotPool(2, queue_timeout_s=120), uid_base=SESSION_UID_BASE, work_base=str(work_base))
    try:
        sb.check_available()
    except SandboxUnavailable as e:  # this machine is supposed to have every layer: a real failure
        pytest.fail(f"sandbox layers missing on a root CI machine: {e}")
    sb.run("pass", timeout_s=60)  # one-time warm-up (matplotlib font cache) outside any measurement
    return sb


@pytest.fixture
def host_ok(sandbox: Sandbox, work_base: Path):
    """Run the test, then prove the host is fine: a normal call works, no sandbox process is left
    and no call folder remains."""
    yield
    assert_host_fine(sandbox, work_base)


def assert_host_fine(sandbox: Sandbox, work_base: Path) -> None:
    res = sandbox.run("print(6 * 7)", timeout_s=20)
    assert res.ok and res.stdout.strip() == "42", (res.stdout, res.stderr)
    assert sandbox_pids() == []
    assert list(work_base.iterdir()) == []


@pytest.fixture
def exposed_dir() -> Iterator[Path]:
    """A host folder that any uid could read (0755, files 0644): only the sandbox layers keep the
    code out of it, not file permissions."""
    d = Path(tempfile.mkdtemp(prefix="million-exposed-", dir="/tmp"))
    d.chmod(0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def world_readable(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.parent.chmod(0o755)
    path.write_bytes(data)
    path.chmod(0o644)
    return path

"""Run one pipeline stage as a child process: wall seconds, peak memory, a time limit and a memory cap.

Peak memory is the child's own high-water mark reported by the kernel when it exits (ru_maxrss from
wait4); a stage that is stopped early reports the highest RSS seen while polling."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.stats import rss_mib


@dataclass
class StageRun:
    seconds: float
    peak_mib: float | None
    status: str  # ok | failed | timeout | memory_cap
    returncode: int | None
    note: str = ""

    def as_dict(self) -> dict:
        return {"seconds": round(self.seconds, 2), "peak_mib": None if self.peak_mib is None else round(self.peak_mib),
                "status": self.status, "returncode": self.returncode, "note": self.note}


def _tree_rss(pid: int) -> float:
    """RSS of a process and its descendants, MiB (for the memory cap)."""
    total = rss_mib(pid) or 0.0
    try:
        for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
            total += _tree_rss(int(child))
    except (OSError, ValueError):
        pass
    return total


def run_stage(cmd: list[str], *, time_limit_s: float, memory_cap_mib: float, log_path: Path,
              cwd: Path | None = None, env: dict[str, str] | None = None) -> StageRun:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=cwd, env=env, start_new_session=True)
        t0 = time.perf_counter()
        seen = 0.0
        status, note = "ok", ""
        while True:
            pid, wstatus, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                elapsed = time.perf_counter() - t0
                rc = os.waitstatus_to_exitcode(wstatus)
                proc.returncode = rc
                peak = max(usage.ru_maxrss / 1024, seen)
                if status == "ok" and rc != 0:
                    status, note = "failed", _tail(log_path)
                return StageRun(elapsed, peak, status, rc, note)
            seen = max(seen, _tree_rss(proc.pid))
            elapsed = time.perf_counter() - t0
            if status == "ok" and elapsed > time_limit_s:
                status, note = "timeout", f"超过时间上限 {time_limit_s:,.0f} 秒，已终止"
                _kill(proc.pid)
            elif status == "ok" and seen > memory_cap_mib:
                status, note = "memory_cap", f"内存超过上限 {memory_cap_mib:,.0f} MiB，已终止"
                _kill(proc.pid)
            time.sleep(0.25)


def _kill(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)  # the stage's own process group (start_new_session)
    except ProcessLookupError:
        pass


def _tail(path: Path, n: int = 600) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return " ".join(text[-n:].split())

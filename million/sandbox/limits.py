"""Resource limits of one sandboxed call (all enforced by the kernel, not by the code)."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    nproc: int = 64  # processes + threads of the call's uid (each pool slot has its own uid)
    open_files: int = 256
    file_size_mb: int = 64  # any single file write (RLIMIT_FSIZE)
    work_size_mb: int = 256  # the work folder is a tmpfs of this size ...
    work_inodes: int = 2048  # ... holding at most this many files and folders
    stream_cap: int = 64 * 1024  # stdout / stderr bytes kept; the rest is read and discarded
    max_outputs: int = 20
    max_output_mb: int = 16
    max_total_output_mb: int = 48
    max_code_kb: int = 256
    max_inputs_mb: int = 128
    grace_s: float = 10.0  # host-side backstop beyond the wall timeout (the supervisor kills first)
    nice: int = 10  # CPU priority of the code: a busy sandbox yields to the app (and cannot raise it back)

    def rlimits(self, *, timeout_s: float, memory_mb: int) -> dict[str, int]:
        mb = 1024 * 1024
        return {
            "as": memory_mb * mb,
            "cpu": math.ceil(timeout_s) + 1,
            "fsize": self.file_size_mb * mb,
            "nofile": self.open_files,
            "nproc": self.nproc,
            "core": 0,
            "memlock": 0,
            "msgqueue": 0,
        }

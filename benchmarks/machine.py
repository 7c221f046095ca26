"""The machine a measurement ran on, as reports print it."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _mem_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return None


def describe() -> dict[str, Any]:
    import duckdb
    import pandas as pd

    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return {"cpu": _cpu_model(), "cores": os.cpu_count(), "memory_gb": round(_mem_gb() or 0, 1),
            "os": f"{platform.system()} {platform.release()}", "python": platform.python_version(),
            "duckdb": duckdb.__version__, "pandas": pd.__version__, "load_avg": [round(x, 2) for x in load]}


def one_line(m: dict[str, Any]) -> str:
    return (f"{m['cpu']}，{m['cores']} 核，内存 {m['memory_gb']} GB，{m['os']}，Python {m['python']}，"
            f"DuckDB {m['duckdb']}，测量开始时负载 {m['load_avg'][0]:.2f}")

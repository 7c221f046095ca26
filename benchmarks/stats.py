"""Latency summaries in milliseconds (percentiles by linear interpolation, numpy's default)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def summary_ms(seconds: list[float]) -> dict[str, Any]:
    if not seconds:
        return {"n": 0, "p50_ms": None, "p95_ms": None, "mean_ms": None, "max_ms": None}
    ms = np.asarray(seconds) * 1000
    return {"n": len(ms), "p50_ms": float(np.percentile(ms, 50)), "p95_ms": float(np.percentile(ms, 95)),
            "mean_ms": float(ms.mean()), "max_ms": float(ms.max())}


def rss_mib(pid: int | str = "self", key: str = "VmRSS") -> float | None:
    """Resident memory (VmRSS) or its high-water mark (VmHWM) of a process, MiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        return None
    return None


def fmt_ms(v: float | None) -> str:
    if v is None:
        return "—"
    if v >= 10_000:
        return f"{v / 1000:,.1f} s"
    if v >= 100:
        return f"{v:,.0f} ms"
    return f"{v:,.1f} ms"

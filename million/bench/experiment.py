"""What the model-selection experiments (scripts/experiment_*.py) record about the run and how they save it."""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightgbm as lgb


def run_machine(workers: int, load_start: tuple[float, ...], **extra: Any) -> dict[str, Any]:
    """Cores, platform, versions, parallel workers and the load average at the start and now."""
    return {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
            "lightgbm": lgb.__version__, "workers": workers, **extra,
            "load_average_start": [round(x, 2) for x in load_start],
            "load_average_end": [round(x, 2) for x in os.getloadavg()]}


def save_report(out: Path, name: str, result: dict[str, Any], render: Callable[[dict[str, Any]], str]) -> str:
    """<out>/<name>.json and <out>/<name>.md; returns the markdown."""
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(result, ensure_ascii=False, indent=1, default=float), encoding="utf-8")
    text = render(result)
    (out / f"{name}.md").write_text(text, encoding="utf-8")
    return text

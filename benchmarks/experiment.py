"""What the model-selection experiments (scripts/experiment_*.py) record about the run and how they save it."""

from __future__ import annotations

import argparse
import json
import os
import platform
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightgbm as lgb
import pandas as pd

from million.fmt import md_table


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


def machine_text(m: dict[str, Any], wall_seconds: float | None = None) -> str:
    """One Chinese line for a report: cores, platform, versions, parallel workers, load, total time."""
    text = (f"{m['cpus']} 核，{m['platform']}，Python {m['python']}，LightGBM {m['lightgbm']}；{m['workers']} 个进程并行，"
            f"负载开始 {m['load_average_start']}，结束 {m['load_average_end']}")
    return text + (f"；总用时 {wall_seconds} 秒。" if wall_seconds is not None else "。")


# What the short ratio columns of the per-dataset tables mean.
RATIO_COLUMNS_NOTE = "exp_p1 = 期望前1%精确率比，p1 = 前1%精确率比（实际结果），pr_auc / band_pr_auc / brier = 对应比值。"


def seed_sections(r: dict[str, Any], mean_rows: list[dict[str, Any]], job_rows: list[dict[str, Any]],
                  verb: str) -> list[str]:
    """The report lines every seeds experiment ends with: the mean table the choice reads (`verb`: what
    it is, e.g. 选择), the per-dataset table, the machine line."""
    return [f"### 种子 {'、'.join(map(str, r['seeds']))} 的均值（{verb}只看这一节）", "", md_table(pd.DataFrame(mean_rows)), "",
            "### 每份数据", "", RATIO_COLUMNS_NOTE, "", md_table(pd.DataFrame(job_rows), max_rows=100), "",
            machine_text(r["machine"], r["wall_seconds"]), ""]


def seed_arguments(ap: argparse.ArgumentParser, work: Path, out: Path) -> None:
    """The options every seeds experiment takes: which datasets, where they live, parallelism, output."""
    ap.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3, 4])
    ap.add_argument("--work", type=Path, default=work)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=out)
    ap.add_argument("--customers", type=int, default=20000, help="smaller only to try the script out")

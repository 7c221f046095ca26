"""Offline build of every artifact the tools load, as ordered steps that skip when unchanged.

A step's fingerprint covers the warehouse content hash, the source files of its code and the
fingerprints of the steps before it; `--force` rebuilds regardless.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from tqdm import tqdm

from million.errors import DataInsufficient
from million.settings import ROOT
from million.tables import Tables, data_hash, load_tables
from million.warehouse import Warehouse, connect

# Order matters: later steps read earlier steps' artifacts.
STEP_MODULES = (
    "million.propensity.step",
    "million.segments.step",
    "million.rules.step",
    "million.forecast.step",
)


class BuildStopped(RuntimeError):
    """A step could not run on this data (DataInsufficient); the message names it. Steps before it are
    built and kept; `rows` is their summary."""

    def __init__(self, title: str, reason: str, rows: list[dict[str, Any]]) -> None:
        super().__init__(f"「{title}」无法构建：{reason}")
        self.rows = rows


@dataclass
class Step:
    name: str
    title: str  # shown in progress output
    sources: list[str]  # files or folders (relative to the repo root) whose code shapes the outputs
    outputs: list[str]  # paths relative to the artifacts dir that must exist to skip
    run: Callable[[BuildContext], dict[str, Any]]  # returns a short summary for the final table
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class BuildContext:
    db_url: str
    artifacts_dir: Path
    data_dir: Path
    force: bool = False
    params: dict[str, Any] = field(default_factory=dict)
    # Builds the propensity features instead of the local stream (same signature and result as
    # million.propensity.feature_store.stream_features): the Spark engine plugs in here.
    feature_stream: Callable[..., dict[str, Any]] | None = None

    @cached_property
    def wh(self) -> Warehouse:
        return connect(self.db_url, read_only=True)

    def writer(self) -> Warehouse:
        """A read-write handle for steps that publish tables (e.g. customer_segments)."""
        return connect(self.db_url, read_only=False)

    @cached_property
    def tables(self) -> Tables:
        """Both whole tables in memory. Steps read only the parts they need (see million.tables), so
        they also run on data larger than memory; this is for small data and tools."""
        return load_tables(self.wh)

    @cached_property
    def data_hash(self) -> str:
        return data_hash(self.wh)

    def progress(self, total: int, desc: str) -> tqdm:
        return tqdm(total=total, desc=desc, leave=False)


def _source_hash(paths: list[str]) -> str:
    h = hashlib.sha256()
    for p in paths:
        path = ROOT / p
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for f in files:
            if f.exists():
                h.update(str(f.relative_to(ROOT)).encode())
                h.update(f.read_bytes())
    return h.hexdigest()


def load_steps() -> list[Step]:
    """Every build step, in order (a step that cannot be imported is an error, not a skip)."""
    return [importlib.import_module(m).STEP for m in STEP_MODULES]


def run_all(ctx: BuildContext, only: list[str] | None = None, log: Callable[[str], None] = print) -> list[dict[str, Any]]:
    ctx.artifacts_dir.mkdir(parents=True, exist_ok=True)
    state_dir = ctx.artifacts_dir / ".steps"
    state_dir.mkdir(exist_ok=True)
    rows: list[dict[str, Any]] = []
    upstream = ""
    steps = load_steps()
    with tqdm(total=len(steps), desc="构建模型与分析产物", unit="步") as bar:
        for step in steps:
            bar.set_postfix_str(step.title)
            params = {**step.params, **ctx.params.get(step.name, {})}
            fp = hashlib.sha256(json.dumps([ctx.data_hash, _source_hash(step.sources), params, upstream],
                                           sort_keys=True, default=str).encode()).hexdigest()
            upstream = fp
            state_file = state_dir / f"{step.name}.json"
            prev = json.loads(state_file.read_text()) if state_file.exists() else {}
            complete = all((ctx.artifacts_dir / o).exists() for o in step.outputs)
            selected = only is None or step.name in only
            if not selected or (not ctx.force and prev.get("fingerprint") == fp and complete):
                rows.append({"step": step.name, "title": step.title, "status": "跳过（未变化）" if selected else "未选择",
                             "seconds": 0.0, **prev.get("summary", {})})
                bar.update(1)
                continue
            t0 = time.perf_counter()
            try:
                summary = step.run(ctx)
            except DataInsufficient as e:
                raise BuildStopped(step.title, str(e), rows) from e
            secs = time.perf_counter() - t0
            state_file.write_text(json.dumps({"fingerprint": fp, "summary": summary, "seconds": secs},
                                             ensure_ascii=False, default=str))
            rows.append({"step": step.name, "title": step.title, "status": "已构建", "seconds": round(secs, 1), **summary})
            bar.update(1)
    return rows


def render_summary(rows: list[dict[str, Any]]) -> str:
    lines = [f"{'步骤':<14}{'状态':<12}{'秒':>8}  摘要"]
    for r in rows:
        extra = ", ".join(f"{k}={v}" for k, v in r.items() if k not in {"step", "title", "status", "seconds"})
        lines.append(f"{r['title']:<14}{r['status']:<12}{r['seconds']:>8.1f}  {extra}")
    return "\n".join(lines)

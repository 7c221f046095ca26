"""Outcomes observed by the wire tests, written as JSON when LLM_WIRE_REPORT names a folder
(scripts/llm_wire_report.py sets it and turns the JSON into docs/llm/)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

ROWS: list[dict[str, Any]] = []
CHECKS: dict[str, dict[str, Any]] = {}


def record(row: dict[str, Any]) -> None:
    ROWS.append(row)


def record_check(model: str, report: dict[str, Any]) -> None:
    CHECKS[model] = report


def write_if_asked() -> Path | None:
    folder = os.environ.get("LLM_WIRE_REPORT")
    if not folder:
        return None
    out = Path(folder) / "wire_outcomes.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"rows": ROWS, "checks": CHECKS}, ensure_ascii=False, indent=1), encoding="utf-8")
    return out

"""Artifact metadata: every model artifact has a JSON beside it saying what it was trained on."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any


def write_metadata(path: Path, *, features: list[str], data_hash: str, metrics: dict[str, Any],
                   **extra: Any) -> dict[str, Any]:
    meta = {"features": features, "data_hash": data_hash, "metrics": metrics,
            "train_date": dt.datetime.now().isoformat(timespec="seconds"), **extra}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(meta, ensure_ascii=False, indent=2, default=_default), encoding="utf-8")
    return meta


def read_metadata(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _default(o: Any) -> Any:
    if hasattr(o, "item"):
        return o.item()
    if hasattr(o, "tolist"):
        return o.tolist()
    if isinstance(o, (dt.date, dt.datetime, Path)):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o)}")

"""Append-only audit log of tool calls (JSONL), and a reader for administrators.

Arguments are stored as given except values under secret-looking keys; the log never holds
credentials (the tools never receive any)."""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
from pathlib import Path
from typing import Any

_LOCK = threading.Lock()
_SECRET_KEY = re.compile(r"pass|secret|token|api[_-]?key|authorization", re.I)
_SECRET_VALUE = re.compile(r"(sk-[A-Za-z0-9]{8,}|mysql\+pymysql://[^@\s]+@)")


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: "***" if _SECRET_KEY.search(str(k)) else _scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    if isinstance(value, str):
        return _SECRET_VALUE.sub("***", value)[:4000]
    return value


def record(path: Path, *, user: str, conversation: str, tool: str, arguments: Any, duration_s: float,
           status: str, rows: int | None = None, bytes_out: int | None = None, error: str | None = None) -> None:
    entry = {
        "time": dt.datetime.now().isoformat(timespec="milliseconds"),
        "user": user, "conversation": conversation, "tool": tool, "arguments": _scrub(arguments),
        "duration_ms": round(duration_s * 1000, 1), "status": status, "rows": rows, "bytes": bytes_out,
    }
    if error:
        entry["error"] = _scrub(error)[:500]
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(entry, ensure_ascii=False, default=str)
    with _LOCK, open(path, "a", encoding="utf-8") as fh:
        fh.write(line + "\n")


def read(path: Path, *, user: str | None = None, tool: str | None = None, last: int = 50) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    out = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            try:
                e = json.loads(line)
            except json.JSONDecodeError:
                continue
            if (user is None or e.get("user") == user) and (tool is None or e.get("tool") == tool):
                out.append(e)
    return out[-last:]

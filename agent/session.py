"""Per-conversation state the tools write into: produced files (charts, CSVs) and tool-call events.

The web app only ever serves files registered here for that conversation, so a path an LLM
prints is never served."""

from __future__ import annotations

import re
import shutil
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ALLOWED_MIME = {".png": "image/png", ".svg": "image/svg+xml", ".csv": "text/csv", ".html": "text/html",
                ".md": "text/markdown", ".json": "application/json", ".txt": "text/plain",
                ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


@dataclass
class ProducedFile:
    id: str
    name: str  # display name (sanitised)
    mime: str
    path: Path

    @property
    def is_image(self) -> bool:
        return self.mime.startswith("image/")


@dataclass
class ToolEvent:
    call_no: int
    tool: str
    args: dict[str, Any]
    duration_s: float
    status: str  # ok | error | refused
    text: str  # what the LLM saw
    display: str  # what the person sees (markdown)
    files: list[ProducedFile] = field(default_factory=list)
    rows: int | None = None


def _safe_name(name: str) -> str:
    stem = re.sub(r"[^\w.\-\u4e00-\u9fff]+", "_", Path(name).name)[:80].strip("._") or "file"
    return stem


class Session:
    def __init__(self, root: Path, *, user: str = "local", conversation_id: str | None = None,
                 branches: tuple[str, ...] | None = None, max_tool_calls: int = 8) -> None:
        self.user = user
        self.conversation_id = conversation_id or uuid.uuid4().hex
        self.dir = root / _safe_name(user) / self.conversation_id
        self.branches = branches  # None = all branches; otherwise the user's scope
        self.max_tool_calls = max_tool_calls
        self.events: list[ToolEvent] = []
        self.files: dict[str, ProducedFile] = {}
        self.calls_this_turn = 0
        self.cancelled = threading.Event()
        self.context: dict[str, str] = {}  # subject carried across turns: customer_id, branch, segment
        self.created = time.time()

    @classmethod
    def ephemeral(cls) -> Session:
        return cls(Path(tempfile.mkdtemp(prefix="million-session-")))

    def new_turn(self) -> None:
        self.calls_this_turn = 0
        self.cancelled.clear()

    def add_file(self, name: str, data: bytes, mime: str | None = None) -> ProducedFile:
        safe = _safe_name(name)
        suffix = Path(safe).suffix.lower()
        if suffix not in ALLOWED_MIME:
            raise ValueError(f"不允许的文件类型：{suffix}")
        fid = uuid.uuid4().hex[:16]
        self.dir.mkdir(parents=True, exist_ok=True)
        path = self.dir / f"{fid}{suffix}"
        path.write_bytes(data)
        pf = ProducedFile(fid, safe, mime or ALLOWED_MIME[suffix], path)
        self.files[fid] = pf
        return pf

    def file(self, fid: str) -> ProducedFile | None:
        return self.files.get(fid)

    def cleanup(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)

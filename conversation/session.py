"""Per-conversation state the tools write into: produced files (charts, CSVs) and tool-call events.

The web app only ever serves files registered here for that conversation, so a path an LLM
prints is never served."""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

ALLOWED_MIME = {".png": "image/png", ".svg": "image/svg+xml", ".csv": "text/csv", ".html": "text/html",
                ".md": "text/markdown", ".json": "application/json", ".txt": "text/plain",
                ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


# Charts render one at a time anyway (million.charts.PLOT_LOCK); one worker keeps them off the turn.
_RENDER_POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chart-render")
Render = Callable[[], bytes]


@dataclass
class ProducedFile:
    id: str
    name: str  # display name (sanitised)
    mime: str
    path: Path
    # A deferred file (a chart): its data are computed, drawing it waits until `ensure`, so a tool
    # answers before matplotlib has drawn anything. Cleared once drawn.
    render: Render | None = field(default=None, repr=False, compare=False)
    failed: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def is_image(self) -> bool:
        return self.mime.startswith("image/")

    @property
    def pending(self) -> bool:
        return self.render is not None

    def discard(self) -> None:
        """Drop a deferred drawing that has not happened (waits for one in progress)."""
        with self._lock:
            self.render = None

    def ensure(self) -> bool:
        """Draw a deferred file now (once, thread-safe); True when the file is on disk."""
        with self._lock:
            if self.render is not None:
                try:
                    data = self.render()
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                    self.path.write_bytes(data)
                except Exception:  # the tool's text stands; only this chart is missing
                    log.exception("rendering %s failed", self.name)
                    self.failed = True
                finally:  # cleared only when done, so `pending` stays true while it is being drawn
                    self.render = None
            return self.path.is_file()


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


def user_root(root: Path, user: str) -> Path:
    """The folder of one user's conversations under `root`."""
    return root / _safe_name(user)


class Session:
    def __init__(self, root: Path, *, user: str = "local", conversation_id: str | None = None,
                 branches: tuple[str, ...] | None = None, max_tool_calls: int = 8) -> None:
        self.user = user
        self.conversation_id = conversation_id or uuid.uuid4().hex
        self.dir = user_root(root, user) / self.conversation_id
        self.branches = branches  # None = all branches; otherwise the user's scope
        self.max_tool_calls = max_tool_calls
        self.events: list[ToolEvent] = []
        self.files: dict[str, ProducedFile] = {}
        self.calls_this_turn = 0
        self.cancelled = threading.Event()
        self.context: dict[str, str] = {}  # subject carried across turns: customer_id, branch, segment
        self.created = time.time()
        # Draw deferred charts in a background thread as soon as they are added (LLM backends: the
        # turn waits on the network, so the chart is ready by the answer). Off, they are drawn by
        # render_pending, after the answer (offline mode: the turn itself is pure CPU).
        self.render_in_background = False

    @classmethod
    def ephemeral(cls) -> Session:
        return cls(Path(tempfile.mkdtemp(prefix="million-session-")))

    def new_turn(self) -> None:
        self.calls_this_turn = 0
        self.cancelled.clear()

    def add_file(self, name: str, data: bytes | Render, mime: str | None = None) -> ProducedFile:
        """Register a file: bytes are written now; a callable returning bytes is a deferred file."""
        safe = _safe_name(name)
        suffix = Path(safe).suffix.lower()
        if suffix not in ALLOWED_MIME:
            raise ValueError(f"不允许的文件类型：{suffix}")
        fid = uuid.uuid4().hex[:16]
        # One folder per file, the file under its own name: a download is called 高潜客户名单_上海分行.csv,
        # not 3f9c…e1.csv (browsers and the file list show the path's last part).
        path = self.dir / fid / safe
        path.parent.mkdir(parents=True, exist_ok=True)
        if callable(data):
            pf = ProducedFile(fid, safe, mime or ALLOWED_MIME[suffix], path, render=data)
            if self.render_in_background:
                _RENDER_POOL.submit(pf.ensure)
        else:
            path.write_bytes(data)
            pf = ProducedFile(fid, safe, mime or ALLOWED_MIME[suffix], path)
        self.files[fid] = pf
        return pf

    def render_pending(self) -> int:
        """Draw every deferred file not drawn yet (waits for one being drawn); returns how many."""
        pending = [f for f in list(self.files.values()) if f.pending]
        for f in pending:
            f.ensure()
        return len(pending)

    def file(self, fid: str) -> ProducedFile | None:
        return self.files.get(fid)

    def cleanup(self) -> None:
        for f in list(self.files.values()):
            f.discard()  # a chart still queued for the render thread must not recreate the folder
        shutil.rmtree(self.dir, ignore_errors=True)

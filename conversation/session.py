"""Per-conversation state the tools write into: produced files (charts, CSVs), tool-call events,
the subject carried across turns and the confirm-before-run gate. One Session type for every
caller; it can be saved and restored, so a conversation survives a restart.

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

from conversation.confirm import ConfirmGate
from million.chartspec import Chart

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
    spec: dict[str, Any] | None = field(default=None, repr=False, compare=False)  # drawn by the browser
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
                 branches: tuple[str, ...] | None = None, max_tool_calls: int = 8,
                 confirm_code: bool = False) -> None:
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
        self.gate = ConfirmGate(confirm_code)  # confirm-before-run; off unless the person turned it on

    @classmethod
    def ephemeral(cls) -> Session:
        return cls(Path(tempfile.mkdtemp(prefix="million-session-")))

    def new_turn(self) -> None:
        self.calls_this_turn = 0
        self.cancelled.clear()

    def add_file(self, name: str, data: bytes | Render | Chart, mime: str | None = None) -> ProducedFile:
        """Register a file: bytes are written now; a callable returning bytes is a deferred file; a Chart
        is shown by the browser from its numbers and its PNG is drawn only when asked for (reports,
        downloads, idle time)."""
        safe = _safe_name(name)
        suffix = Path(safe).suffix.lower()
        if suffix not in ALLOWED_MIME:
            raise ValueError(f"不允许的文件类型：{suffix}")
        fid = uuid.uuid4().hex[:16]
        # One folder per file, the file under its own name: a download is called 高潜客户名单_上海分行.csv,
        # not 3f9c…e1.csv (browsers and the file list show the path's last part).
        path = self.dir / fid / safe
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, Chart):
            pf = ProducedFile(fid, safe, mime or ALLOWED_MIME[suffix], path, render=data.png, spec=data.spec)
        elif callable(data):
            pf = ProducedFile(fid, safe, mime or ALLOWED_MIME[suffix], path, render=data)
            if self.render_in_background:
                _RENDER_POOL.submit(pf.ensure)
        else:
            path.write_bytes(data)
            pf = ProducedFile(fid, safe, mime or ALLOWED_MIME[suffix], path)
        self.files[fid] = pf
        return pf

    def render_pending(self, *, browser_charts: bool = True) -> int:
        """Draw every deferred file not drawn yet (waits for one being drawn); returns how many.
        `browser_charts=False` leaves the charts the browser draws from their numbers undrawn."""
        pending = [f for f in list(self.files.values()) if f.pending and (browser_charts or f.spec is None)]
        for f in pending:
            f.ensure()
        return len(pending)

    def file(self, fid: str) -> ProducedFile | None:
        return self.files.get(fid)

    def cleanup(self) -> None:
        for f in list(self.files.values()):
            f.discard()  # a chart still queued for the render thread must not recreate the folder
        shutil.rmtree(self.dir, ignore_errors=True)

    def to_record(self) -> dict[str, Any]:
        return {
            "files": [{"id": f.id, "name": f.name, "mime": f.mime, "file": f.path.relative_to(self.dir).as_posix(),
                       **({"spec": f.spec} if f.spec is not None else {})}
                      for f in self.files.values()],
            "events": [{"call_no": e.call_no, "tool": e.tool, "args": e.args, "duration_s": e.duration_s,
                        "status": e.status, "text": e.text, "display": e.display, "rows": e.rows,
                        "files": [f.id for f in e.files]} for e in self.events],
            "context": dict(self.context),
            "gate": self.gate.to_dict(),
        }

    def restore(self, rec: dict[str, Any]) -> None:
        """Load a saved record. Only files that exist inside this session's own folder come back:
        the record is data, never a source of paths."""
        for f in rec.get("files") or []:
            fid = str(f.get("id", ""))
            if not re.fullmatch(r"[0-9a-f]{16}", fid):
                continue
            name = Path(str(f.get("file", ""))).name
            suffix = Path(name).suffix.lower()
            if suffix not in ALLOWED_MIME:
                continue
            # <id>/<name> (named downloads) or, for conversations saved before, <id><suffix>
            path = self.dir / fid / _safe_name(name) if name != f"{fid}{suffix}" else self.dir / name
            spec = f.get("spec") if isinstance(f.get("spec"), dict) else None
            inside = path.resolve().is_relative_to(self.dir.resolve())
            if inside and (path.is_file() or spec is not None):  # a browser chart shows without its PNG
                self.files[fid] = ProducedFile(fid, str(f.get("name") or name), ALLOWED_MIME[suffix], path, spec=spec)
        for e in rec.get("events") or []:
            files = [self.files[i] for i in e.get("files") or [] if i in self.files]
            self.events.append(ToolEvent(int(e.get("call_no", len(self.events) + 1)), str(e.get("tool", "")),
                                         dict(e.get("args") or {}), float(e.get("duration_s", 0.0)),
                                         str(e.get("status", "ok")), str(e.get("text", "")),
                                         str(e.get("display", "")), files, e.get("rows")))
        self.context.update({str(k): str(v) for k, v in (rec.get("context") or {}).items()})
        self.gate = ConfirmGate.from_dict(rec.get("gate") or {})

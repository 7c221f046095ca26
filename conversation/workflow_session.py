"""A Session that also holds the confirm-before-run gate and can be saved and restored, so a
conversation (its files, tool results, subject and held code) survives a restart."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from conversation.confirm import ConfirmGate
from conversation.session import ALLOWED_MIME, ProducedFile, Session, ToolEvent, _safe_name


class WorkflowSession(Session):
    def __init__(self, root: Path, *, user: str = "local", conversation_id: str | None = None,
                 branches: tuple[str, ...] | None = None, max_tool_calls: int = 8, confirm_code: bool = False) -> None:
        super().__init__(root, user=user, conversation_id=conversation_id, branches=branches,
                         max_tool_calls=max_tool_calls)
        self.gate = ConfirmGate(confirm_code)

    def to_record(self) -> dict[str, Any]:
        return {
            "files": [{"id": f.id, "name": f.name, "mime": f.mime, "file": f.path.relative_to(self.dir).as_posix()}
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
            if path.is_file() and path.resolve().is_relative_to(self.dir.resolve()):
                self.files[fid] = ProducedFile(fid, str(f.get("name") or name), ALLOWED_MIME[suffix], path)
        for e in rec.get("events") or []:
            files = [self.files[i] for i in e.get("files") or [] if i in self.files]
            self.events.append(ToolEvent(int(e.get("call_no", len(self.events) + 1)), str(e.get("tool", "")),
                                         dict(e.get("args") or {}), float(e.get("duration_s", 0.0)),
                                         str(e.get("status", "ok")), str(e.get("text", "")),
                                         str(e.get("display", "")), files, e.get("rows")))
        self.context.update({str(k): str(v) for k, v in (rec.get("context") or {}).items()})
        self.gate = ConfirmGate.from_dict(rec.get("gate") or {})

"""A Session that also holds the confirm-before-run gate and can be saved and restored, so a
conversation (its files, tool results, subject and held code) survives a restart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conversation.confirm import ConfirmGate
from conversation.session import ALLOWED_MIME, ProducedFile, Session, ToolEvent


class WorkflowSession(Session):
    def __init__(self, root: Path, *, user: str = "local", conversation_id: str | None = None,
                 branches: tuple[str, ...] | None = None, max_tool_calls: int = 8, confirm_code: bool = False) -> None:
        super().__init__(root, user=user, conversation_id=conversation_id, branches=branches,
                         max_tool_calls=max_tool_calls)
        self.gate = ConfirmGate(confirm_code)

    def to_record(self) -> dict[str, Any]:
        return {
            "files": [{"id": f.id, "name": f.name, "mime": f.mime, "file": f.path.name} for f in self.files.values()],
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
            name = Path(str(f.get("file", ""))).name
            suffix = Path(name).suffix.lower()
            path = self.dir / name
            if suffix in ALLOWED_MIME and path.is_file() and name == f"{f.get('id')}{suffix}":
                self.files[str(f["id"])] = ProducedFile(str(f["id"]), str(f.get("name") or name), ALLOWED_MIME[suffix], path)
        for e in rec.get("events") or []:
            files = [self.files[i] for i in e.get("files") or [] if i in self.files]
            self.events.append(ToolEvent(int(e.get("call_no", len(self.events) + 1)), str(e.get("tool", "")),
                                         dict(e.get("args") or {}), float(e.get("duration_s", 0.0)),
                                         str(e.get("status", "ok")), str(e.get("text", "")),
                                         str(e.get("display", "")), files, e.get("rows")))
        self.context.update({str(k): str(v) for k, v in (rec.get("context") or {}).items()})
        self.gate = ConfirmGate.from_dict(rec.get("gate") or {})

"""Each user's report library (本地云盘): reports made from a conversation's tool results, kept
under data/reports/<user folder>/<report id>/ and indexed in the history database.

Folder and file names are generated here (user folder from a hash of the login name, report ids
of 32 hex characters); a path is served only after the index confirms the report is the user's
and the resolved file lies inside that report's folder."""

from __future__ import annotations

import hashlib
import re
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from agent.planning import TOOL_TITLES
from conversation.confirm import CONFIRMED_NOTE
from million.reports import ReportInput, ReportTurn, ResultItem, write_report
from webapp.conversations import Conversation
from webapp.history_store import HistoryDB, ReportRow, valid_id


class NothingToReport(ValueError):
    """The conversation has no tool results yet."""


@dataclass
class MadeReport:
    row: ReportRow
    files: list[Path]
    seconds: float


def user_folder_name(user: str) -> str:
    readable = re.sub(r"[^A-Za-z0-9_\-\u4e00-\u9fff]+", "_", user)[:32].strip("_") or "user"
    return f"{readable}-{hashlib.sha256(user.encode()).hexdigest()[:10]}"


def gather(conv: Conversation) -> ReportInput:
    """The report's content, taken only from the conversation's successful tool results."""
    s = conv.session
    s.render_pending()  # charts still waiting to be drawn belong in the report
    turns: list[ReportTurn] = []
    for rec in conv.turns:
        indexes: list[int] = []
        answer = ""
        for part in rec.parts:
            if part.get("kind") == "agent":
                a, b = part.get("events") or (0, 0)
                indexes += list(range(int(a), int(b)))
                for m in part.get("messages") or []:
                    if m.get("role") == "assistant" and not m.get("function_call") and isinstance(m.get("content"), str) \
                            and m["content"].strip():
                        # the run-after-confirmation note is bookkeeping for the LLM, not a finding
                        answer = "\n".join(ln for ln in m["content"].splitlines()
                                           if not ln.strip().startswith(CONFIRMED_NOTE))
            elif part.get("kind") == "run":
                indexes.append(int(part.get("event", -1)))
        results = []
        for i in indexes:
            if not 0 <= i < len(s.events):
                continue
            ev = s.events[i]
            if ev.status != "ok":
                continue
            images = [(f.name, f.path.read_bytes()) for f in ev.files if f.is_image and f.path.is_file()]
            results.append(ResultItem(ev.tool, TOOL_TITLES.get(ev.tool, ev.tool), dict(ev.args), ev.text, ev.display,
                                      images))
        plan = [st.get("title", "") for st in (rec.plan or {}).get("steps", [])]
        if results:
            turns.append(ReportTurn(rec.question, plan, results, answer))
    if not turns:
        raise NothingToReport("当前对话还没有可写入报告的工具结果（查询、预测、图表等），请先提问再生成报告。")
    return ReportInput(f"数据分析报告：{conv.title or turns[0].question[:40]}", conv.user, conv.id, turns)


class ReportLibrary:
    def __init__(self, root: Path, db: HistoryDB) -> None:
        self.root = root
        self.db = db

    def user_dir(self, user: str) -> Path:
        return self.root / user_folder_name(user)

    def create(self, conv: Conversation) -> MadeReport:
        t0 = time.perf_counter()
        inp = gather(conv)
        rid = uuid.uuid4().hex
        stem = f"分析报告_{inp.created:%Y%m%d_%H%M}_{rid[:6]}"
        files = write_report(inp, self.user_dir(conv.user) / rid, stem)
        seconds = time.perf_counter() - t0
        summary = {**files.summary, "html": files.html.name, "markdown": files.markdown.name,
                   "bundle": files.bundle.name}
        self.db.add_report(conv.user, rid, conv.id, inp.title, seconds, summary)
        row = self.db.get_report(conv.user, rid)
        assert row is not None
        return MadeReport(row, [files.html, files.bundle, files.markdown], seconds)

    def list(self, user: str) -> list[ReportRow]:
        return self.db.list_reports(user)

    def files(self, user: str, rid: str | None) -> list[Path]:
        """The downloadable files of one of the user's reports: HTML, Markdown zip, Markdown."""
        row = self.db.get_report(user, rid) if valid_id(rid) else None
        if row is None:
            return []
        folder = (self.user_dir(user) / row.id).resolve()
        out = []
        for key in ("html", "bundle", "markdown"):
            name = Path(str(row.summary.get(key, ""))).name
            p = (folder / name).resolve()
            if name and p.parent == folder and p.is_file():
                out.append(p)
        return out

    def delete(self, user: str, rid: str | None) -> bool:
        if not valid_id(rid) or self.db.get_report(user, rid) is None:
            return False
        assert rid is not None
        self.db.delete_report(user, rid)
        shutil.rmtree(self.user_dir(user) / rid, ignore_errors=True)
        return True

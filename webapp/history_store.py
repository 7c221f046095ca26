"""Saved conversations and the report index in one small SQLite file under data/.

Every read, update and delete names the user, so a person can only list, open or delete their own
conversations and reports; ids are generated here (32 hex characters) and checked on the way in."""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ID = re.compile(r"^[0-9a-f]{32}$")

SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY, user TEXT NOT NULL, title TEXT NOT NULL, created REAL NOT NULL, updated REAL NOT NULL,
    state TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS conversations_user ON conversations (user, updated);
CREATE TABLE IF NOT EXISTS reports (
    id TEXT PRIMARY KEY, user TEXT NOT NULL, conversation_id TEXT NOT NULL, title TEXT NOT NULL,
    created REAL NOT NULL, seconds REAL NOT NULL, summary TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS reports_user ON reports (user, created);
"""


def valid_id(value: Any) -> bool:
    return isinstance(value, str) and bool(ID.fullmatch(value))


@dataclass(frozen=True)
class ConversationRow:
    id: str
    title: str
    created: float
    updated: float


@dataclass(frozen=True)
class ReportRow:
    id: str
    conversation_id: str
    title: str
    created: float
    seconds: float
    summary: dict[str, Any]


class HistoryDB:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._con = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._con.execute("PRAGMA journal_mode=WAL")
        self._con.execute("PRAGMA busy_timeout=5000")
        self._con.executescript(SCHEMA)

    def _q(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self._lock:
            return self._con.execute(sql, args).fetchall()

    # -- conversations ---------------------------------------------------------------------------
    def save_conversation(self, user: str, cid: str, title: str, state: dict[str, Any]) -> None:
        if not valid_id(cid):
            raise ValueError("invalid conversation id")
        now = time.time()
        body = json.dumps(state, ensure_ascii=False, default=str)
        with self._lock:
            row = self._con.execute("SELECT user FROM conversations WHERE id = ?", (cid,)).fetchone()
            if row and row[0] != user:  # never overwrite another user's conversation
                raise PermissionError("conversation belongs to another user")
            self._con.execute(
                "INSERT INTO conversations (id, user, title, created, updated, state) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET title = excluded.title, updated = excluded.updated, state = excluded.state",
                (cid, user, title, now, now, body))

    def list_conversations(self, user: str, limit: int = 200) -> list[ConversationRow]:
        rows = self._q("SELECT id, title, created, updated FROM conversations WHERE user = ? "
                       "ORDER BY updated DESC LIMIT ?", (user, limit))
        return [ConversationRow(*r) for r in rows]

    def load_conversation(self, user: str, cid: str) -> tuple[str, dict[str, Any]] | None:
        if not valid_id(cid):
            return None
        rows = self._q("SELECT title, state FROM conversations WHERE id = ? AND user = ?", (cid, user))
        if not rows:
            return None
        try:
            return rows[0][0], json.loads(rows[0][1])
        except ValueError:
            return None

    def delete_conversation(self, user: str, cid: str) -> bool:
        if not valid_id(cid):
            return False
        with self._lock:
            cur = self._con.execute("DELETE FROM conversations WHERE id = ? AND user = ?", (cid, user))
            return cur.rowcount > 0

    # -- reports ---------------------------------------------------------------------------------
    def add_report(self, user: str, rid: str, conversation_id: str, title: str, seconds: float,
                   summary: dict[str, Any]) -> None:
        if not valid_id(rid):
            raise ValueError("invalid report id")
        with self._lock:
            self._con.execute("INSERT INTO reports (id, user, conversation_id, title, created, seconds, summary) "
                              "VALUES (?, ?, ?, ?, ?, ?, ?)",
                              (rid, user, conversation_id, title, time.time(), seconds,
                               json.dumps(summary, ensure_ascii=False)))

    def list_reports(self, user: str, limit: int = 200) -> list[ReportRow]:
        rows = self._q("SELECT id, conversation_id, title, created, seconds, summary FROM reports WHERE user = ? "
                       "ORDER BY created DESC LIMIT ?", (user, limit))
        return [ReportRow(r[0], r[1], r[2], r[3], r[4], json.loads(r[5])) for r in rows]

    def get_report(self, user: str, rid: str) -> ReportRow | None:
        if not valid_id(rid):
            return None
        rows = self._q("SELECT id, conversation_id, title, created, seconds, summary FROM reports "
                       "WHERE id = ? AND user = ?", (rid, user))
        return ReportRow(rows[0][0], rows[0][1], rows[0][2], rows[0][3], rows[0][4], json.loads(rows[0][5])) if rows else None

    def delete_report(self, user: str, rid: str) -> bool:
        if not valid_id(rid):
            return False
        with self._lock:
            cur = self._con.execute("DELETE FROM reports WHERE id = ? AND user = ?", (rid, user))
            return cur.rowcount > 0

    def close(self) -> None:
        with self._lock:
            self._con.close()

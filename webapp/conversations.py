"""Conversations: server-side state keyed by an id the browser holds, kept in memory (bounded, so
idle chats cannot exhaust it) and, when a HistoryDB is given, saved per user so they survive a
restart and can be listed, reopened and deleted."""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from agent.turn import Dialogue
from conversation.session import Session, user_root
from webapp.history_store import ConversationRow, HistoryDB, valid_id

MAX_CONVERSATIONS = 500
TITLE_CHARS = 40


@dataclass
class TurnRecord:
    """One question and everything that answered it. `parts` in order:
    {"kind": "agent", "messages": [...], "events": [start, end], "error": str | None}
    {"kind": "run", "event": index, "edited": bool}   code run after the person's click
    {"kind": "cancel", "tool": name}                  held code the person cancelled"""
    question: str
    plan: dict[str, Any] | None = None
    parts: list[dict[str, Any]] = field(default_factory=list)
    started: float = field(default_factory=time.time)
    seconds: float = 0.0
    finished: bool = False

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TurnRecord:
        return cls(str(d.get("question", "")), d.get("plan"), list(d.get("parts") or []), float(d.get("started", 0)),
                   float(d.get("seconds", 0)), bool(d.get("finished", True)))


@dataclass
class Conversation:
    session: Session
    llm_history: list[dict[str, Any]] = field(default_factory=list)  # qwen-agent messages, untrimmed
    turns: list[TurnRecord] = field(default_factory=list)
    title: str = ""
    updated: float = field(default_factory=time.time)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def id(self) -> str:
        return self.session.conversation_id

    @property
    def dialogue(self) -> Dialogue:
        """The turn runner's view: this conversation's session and (the same list of) its LLM history."""
        return Dialogue(self.session, self.llm_history)

    @property
    def user(self) -> str:
        return self.session.user

    def state(self) -> dict[str, Any]:
        return {"version": 1, "llm_history": self.llm_history, "turns": [asdict(t) for t in self.turns],
                "session": self.session.to_record()}


_SQL = re.compile(r"^\s*(select|with)\b", re.I)
_TABLE = re.compile(r"\b(?:from|join)\s+([A-Za-z_][A-Za-z0-9_]*)", re.I)


def title_for(question: str) -> str:
    """The first question, shortened; a SQL statement is named by what it reads, not shown raw."""
    t = " ".join((question or "").split())
    if _SQL.match(t):
        tables = list(dict.fromkeys(m for m in _TABLE.findall(t)))
        t = "SQL查询：" + ("、".join(tables[:3]) if tables else "自定义查询")
        limit = 2 * TITLE_CHARS  # table names are long and mean more than the first words of the SQL
    else:
        limit = TITLE_CHARS
    return (t[:limit] + ("…" if len(t) > limit else "")) or "新对话"


class ConversationStore:
    def __init__(self, root: Path, max_tool_calls: int, db: HistoryDB | None = None) -> None:
        self.root = root
        self.max_tool_calls = max_tool_calls
        self.db = db
        self._items: OrderedDict[str, Conversation] = OrderedDict()
        self._lock = threading.Lock()

    def loaded(self) -> list[Conversation]:
        """The conversations in memory now (most recently used last)."""
        with self._lock:
            return list(self._items.values())

    def user_dir(self, user: str) -> Path:
        """Every file made in this user's conversations lives below this folder."""
        return user_root(self.root, user)

    def _session(self, user: str, cid: str, branches: tuple[str, ...] | None, confirm_code: bool) -> Session:
        return Session(self.root, user=user, conversation_id=cid, branches=branches,
                               max_tool_calls=self.max_tool_calls, confirm_code=confirm_code)

    def _remember(self, conv: Conversation) -> None:
        with self._lock:
            self._items[conv.id] = conv
            self._items.move_to_end(conv.id)
            while len(self._items) > MAX_CONVERSATIONS:
                _, old = self._items.popitem(last=False)
                if self.db is None:  # without a database the files die with the conversation
                    old.session.cleanup()

    def new(self, user: str, branches: tuple[str, ...] | None, confirm_code: bool = False) -> str:
        cid = uuid.uuid4().hex
        self._remember(Conversation(self._session(user, cid, branches, confirm_code)))
        return cid

    def get(self, cid: str | None, user: str, branches: tuple[str, ...] | None = None) -> Conversation | None:
        if not valid_id(cid):
            return None
        assert cid is not None
        with self._lock:
            conv = self._items.get(cid)
            if conv is not None:
                if conv.user != user:  # a conversation belongs to one user
                    return None
                self._items.move_to_end(cid)
                conv.updated = time.time()
                return conv
        return self._load(cid, user, branches)

    def _load(self, cid: str, user: str, branches: tuple[str, ...] | None) -> Conversation | None:
        if self.db is None:
            return None
        found = self.db.load_conversation(user, cid)
        if found is None:
            return None
        title, state = found
        session = self._session(user, cid, branches, False)
        session.restore(state.get("session") or {})
        conv = Conversation(session, list(state.get("llm_history") or []),
                            [TurnRecord.from_dict(t) for t in state.get("turns") or []], title)
        self._remember(conv)
        return conv

    def save(self, conv: Conversation) -> None:
        """Persist a conversation that has at least one question (empty chats are not listed)."""
        if self.db is None or not conv.turns:
            return
        conv.title = conv.title or title_for(conv.turns[0].question)
        self.db.save_conversation(conv.user, conv.id, conv.title, conv.state())

    def list(self, user: str) -> list[ConversationRow]:
        return self.db.list_conversations(user) if self.db is not None else []

    def drop(self, cid: str) -> None:
        """Forget from memory (a saved conversation stays in the database)."""
        with self._lock:
            conv = self._items.pop(cid, None)
        if conv and self.db is None:
            conv.session.cleanup()

    def delete(self, cid: str | None, user: str) -> bool:
        """Delete for good: memory, database row and the conversation's files — only the owner's."""
        if not valid_id(cid):
            return False
        assert cid is not None
        conv = self.get(cid, user)
        if conv is None:
            return False
        with self._lock:
            self._items.pop(cid, None)
        if self.db is not None:
            self.db.delete_conversation(user, cid)
        conv.session.cleanup()
        return True

"""Server-side conversation state, keyed by an id the browser holds; bounded so idle chats cannot
exhaust memory."""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.session import Session

MAX_CONVERSATIONS = 500


@dataclass
class Conversation:
    session: Session
    llm_history: list[dict[str, Any]] = field(default_factory=list)  # qwen-agent messages
    display: list[dict[str, Any]] = field(default_factory=list)  # gradio chat messages
    updated: float = field(default_factory=time.time)


class ConversationStore:
    def __init__(self, root: Path, max_tool_calls: int) -> None:
        self.root = root
        self.max_tool_calls = max_tool_calls
        self._items: OrderedDict[str, Conversation] = OrderedDict()
        self._lock = threading.Lock()

    def new(self, user: str, branches: tuple[str, ...] | None) -> str:
        cid = uuid.uuid4().hex
        conv = Conversation(Session(self.root, user=user, conversation_id=cid, branches=branches,
                                    max_tool_calls=self.max_tool_calls))
        with self._lock:
            self._items[cid] = conv
            while len(self._items) > MAX_CONVERSATIONS:
                _, old = self._items.popitem(last=False)
                old.session.cleanup()
        return cid

    def get(self, cid: str | None, user: str) -> Conversation | None:
        with self._lock:
            conv = self._items.get(cid or "")
            if conv is None or conv.session.user != user:  # a conversation belongs to one user
                return None
            self._items.move_to_end(cid)
            conv.updated = time.time()
            return conv

    def drop(self, cid: str) -> None:
        with self._lock:
            conv = self._items.pop(cid, None)
        if conv:
            conv.session.cleanup()

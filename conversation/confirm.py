"""Confirm before run: while the switch is on, LLM-written SQL and Python are held, shown to the
person, and run only after the click (possibly edited), through the same guarded tool path.

The hold happens inside the tool layer (tools/base.py asks `hold`), so nothing in the agent loop
or the UI can run held code by accident: running needs a one-time token the app gets from
`ConfirmGate.approve`, and the LLM cannot pass keyword arguments to a tool."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any

# tool -> (argument holding the code, editor language, label)
CODE_TOOLS: dict[str, tuple[str, str, str]] = {
    "sql_inter": ("sql", "sql", "SQL"),
    "python_inter": ("code", "python", "Python"),
}
PENDING_MARK = "等待用户确认"
CONFIRMED_NOTE = "（以上是用户确认后运行的结果"  # appended to a held call's result once it has run


class NotApproved(ValueError):
    """A run was asked for with a token the gate did not issue (or already used)."""


@dataclass
class PendingRun:
    id: str
    tool: str
    args: dict[str, Any]
    created: float = field(default_factory=time.time)

    @property
    def code(self) -> str:
        return str(self.args.get(CODE_TOOLS[self.tool][0], ""))

    @property
    def language(self) -> str:
        return CODE_TOOLS[self.tool][1]

    @property
    def label(self) -> str:
        return CODE_TOOLS[self.tool][2]

    def with_code(self, code: str | None) -> dict[str, Any]:
        args = dict(self.args)
        if code is not None:
            args[CODE_TOOLS[self.tool][0]] = code
        return args


@dataclass
class Hold:
    text: str  # what the LLM sees
    display: str  # what the person sees


class ConfirmGate:
    def __init__(self, on: bool = False) -> None:
        self.on = on
        self.pending: list[PendingRun] = []
        self._tokens: dict[str, str] = {}  # one-time token -> tool
        self._lock = threading.Lock()

    def hold(self, tool: str, args: dict[str, Any]) -> PendingRun:
        p = PendingRun(secrets.token_hex(4), tool, dict(args))
        with self._lock:
            self.pending.append(p)
        return p

    def find(self, pid: str | None) -> PendingRun | None:
        with self._lock:
            return next((p for p in self.pending if p.id == pid), None)

    def approve(self, pid: str) -> tuple[PendingRun, str]:
        """Take a pending run off the list and issue the token its single run needs."""
        with self._lock:
            p = next((p for p in self.pending if p.id == pid), None)
            if p is None:
                raise NotApproved("这段代码已运行、已取消或已过期，请重新提问。")
            self.pending.remove(p)
            token = secrets.token_urlsafe(16)
            self._tokens[token] = p.tool
            return p, token

    def consume(self, token: str, tool: str) -> bool:
        with self._lock:
            return self._tokens.pop(token, None) == tool

    def drop(self, pid: str) -> PendingRun | None:
        with self._lock:
            p = next((p for p in self.pending if p.id == pid), None)
            if p is not None:
                self.pending.remove(p)
            return p

    def to_dict(self) -> dict[str, Any]:
        return {"on": self.on, "pending": [asdict(p) for p in self.pending]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ConfirmGate:
        g = cls(bool(d.get("on")))
        for p in d.get("pending") or []:
            if p.get("tool") in CODE_TOOLS and isinstance(p.get("args"), dict):
                g.pending.append(PendingRun(str(p["id"]), p["tool"], p["args"], float(p.get("created", 0))))
        return g


def hold(gate: ConfirmGate, tool: str, args: dict[str, Any], confirmed: str | None) -> Hold | None:
    """Called by every tool before it runs: None means run now; a Hold means show and wait."""
    if tool not in CODE_TOOLS:
        return None
    if confirmed is not None:
        if not gate.consume(confirmed, tool):
            raise NotApproved("运行确认无效或已使用过，代码未执行。")
        return None
    if not gate.on:
        return None
    p = gate.hold(tool, args)
    fence = "```"
    text = (f"{PENDING_MARK}（编号 {p.id}）：这段 {p.label} 代码已展示给用户，用户点击“运行”后才会执行，结果会在后续消息中提供。"
            "请不要重复调用，也不要编造结果；请直接告诉用户代码正在等待确认。")
    display = f"以下 {p.label} 代码**等待您确认后运行**（可修改后再运行）：\n\n{fence}{p.language}\n{p.code}\n{fence}"
    if tool == "python_inter" and args.get("data_sql"):
        sqls = "\n".join(f"-- {k}\n{v}" for k, v in args["data_sql"].items())
        display += f"\n\n运行时先执行以下数据查询：\n\n{fence}sql\n{sqls}\n{fence}"
    return Hold(text, display)

"""What the chat does, without Gradio: ask, run / edit / cancel held code (the turns themselves run
in agent.turn.TurnRunner, as for every other caller), open / delete / export saved conversations, make reports. The Blocks in webapp/ui.py only
map these results onto components, so tests drive the same logic the browser does."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent import planning
from agent.turn import Turn, TurnRunner
from conversation.confirm import NotApproved, PendingRun
from million.settings import Settings
from webapp.auth import User
from webapp.conversations import Conversation, ConversationStore, TurnRecord
from webapp.export import conversation_markdown
from webapp.render import download_paths, render_record
from webapp.reports import MadeReport, ReportLibrary
from webapp.sanitize import safe_chat

log = logging.getLogger(__name__)
MAX_QUESTION = 4000
BUSY_NOTICE = "上一个问题还在处理中（图表在绘制），您的问题还在输入框里，请稍后再点“发送”。"
EMPTY_NOTICE = "请先输入客户ID（如 C0000123）或问题，再点“发送”。"
TOO_LONG_NOTICE = "您的消息有 {n:,} 个字，超过了 {limit:,} 字的上限：只处理了前 {limit:,} 字，后面的内容没有读取。请分几次发送。"
STREAM_EVERY_S = 0.1  # offline: the least time between two updates of a turn
RESUME_WITHIN_S = 8 * 3600  # a page visit continues the latest conversation from the same working day


@dataclass
class View:
    """One state of the chat for the UI."""
    cid: str
    chat: list[dict[str, Any]]
    pending: PendingRun | None = None
    files: list[str] = field(default_factory=list)
    notice: str = ""
    running: bool = False


def confirm_default(user: User, has_logins: bool) -> bool:
    """Confirm-before-run starts on for analysts (when logins with roles exist), off for RMs."""
    return has_logins and user.role == "analyst"


class ChatFlow:
    def __init__(self, settings: Settings, store: ConversationStore, get_bot: Callable[[], Any], *,
                 reports: ReportLibrary | None = None, planner_llm: Any = None) -> None:
        self.settings = settings
        self.store = store
        self.reports = reports
        self.runner = TurnRunner(get_bot, settings, planner_llm=planner_llm)

    # -- helpers -----------------------------------------------------------------------------------
    def conversation(self, user: User, cid: str | None, confirm_on: bool = False) -> Conversation:
        conv = self.store.get(cid, user.name, user.branches)
        if conv is None:
            conv = self.store.get(self.store.new(user.name, user.branches, confirm_on), user.name, user.branches)
        assert conv is not None
        return conv

    def view(self, conv: Conversation, *, live: dict[str, Any] | None = None, notice: str = "",
             running: bool = False) -> View:
        gate = conv.session.gate
        pending = gate.pending[0] if gate.pending else None
        chat: list[dict[str, Any]] = []
        for i, rec in enumerate(conv.turns):
            last = i == len(conv.turns) - 1
            chat += render_record(rec, conv.session, live=live if last else None,
                                  paused_label=pending.label if last and pending and not running else None)
        # One place turns every message into sanitised HTML (the page does not parse markdown again).
        return View(conv.id, safe_chat(chat), None if running else pending, download_paths(conv.session), notice,
                    running)

    # -- asking ------------------------------------------------------------------------------------
    def ask(self, user: User, cid: str | None, text: str, *, plan_mode: bool = False,
            confirm_on: bool = False) -> Iterator[View]:
        conv = self.conversation(user, cid, confirm_on)
        text = (text or "").strip()
        if not text:
            yield self.view(conv, notice=EMPTY_NOTICE)
            return
        if len(text) > MAX_QUESTION:  # said, not done silently: the person must know the rest was not read
            cut = TOO_LONG_NOTICE.format(n=len(text), limit=MAX_QUESTION)
            for v in self._ask(conv, user, text[:MAX_QUESTION], plan_mode, confirm_on):
                v.notice = v.notice or cut
                yield v
            return
        yield from self._ask(conv, user, text, plan_mode, confirm_on)

    def _ask(self, conv: Conversation, user: User, text: str, plan_mode: bool, confirm_on: bool) -> Iterator[View]:
        if not conv.lock.acquire(blocking=False):
            yield self.view(conv, notice=BUSY_NOTICE)
            return
        try:
            for p in self.runner.void_pending(conv.dialogue, "提出了新问题，未运行的代码已作废。"):
                self._mark_cancelled(conv, p)
            conv.session.gate.on = confirm_on
            rec = TurnRecord(text)
            conv.turns.append(rec)
            yield self.view(conv, running=True)
            yield from self._follow(conv, rec, self.runner.ask(conv.dialogue, text, plan_mode=plan_mode))
        finally:
            conv.lock.release()

    def _follow(self, conv: Conversation, rec: TurnRecord, run: Iterator[Turn]) -> Iterator[View]:
        """Show the runner's turn as it streams; record it when it ends, also when the client went away."""
        live: dict[str, Any] = {"kind": "agent", "messages": [], "events": [len(conv.session.events)] * 2, "error": None}
        turn: Turn | None = None
        shown = 0.0
        # The offline router answers in ~40 ms of CPU: ten updates of the whole chat per turn only cost
        # throughput. A model's reply is paced by the network; every update of it is shown.
        every = STREAM_EVERY_S if self.runner.offline else 0.0
        try:
            for turn in run:
                new_plan = turn.plan is not None and rec.plan is None
                if new_plan:
                    rec.plan = turn.plan.to_dict()
                if not new_plan and time.perf_counter() - shown < every:  # the plan is always shown
                    continue
                live.update(messages=turn.messages, events=[turn.events_from, turn.events_to], error=turn.error)
                yield self.view(conv, live=live, running=True)
                shown = time.perf_counter()
        finally:
            run.close()  # the runner finishes the turn: charts drawn, history and memory updated
            if turn is not None:
                live.update(messages=turn.messages, events=[turn.events_from, turn.events_to], error=turn.error)
                rec.parts.append(live)
            rec.finished = not conv.session.gate.pending
            rec.seconds = time.time() - rec.started
            self.store.save(conv)
        yield self.view(conv)

    # -- confirm before run ------------------------------------------------------------------------
    def _mark_cancelled(self, conv: Conversation, p: PendingRun) -> None:
        if conv.turns:
            conv.turns[-1].parts.append({"kind": "cancel", "label": p.label})
            conv.turns[-1].finished = not conv.session.gate.pending

    def run_code(self, user: User, cid: str | None, pid: str | None, code: str | None) -> Iterator[View]:
        """运行 (possibly edited code): through the tool's own guarded path, then the LLM continues."""
        conv = self.store.get(cid, user.name, user.branches)
        if conv is None:
            return
        gate = conv.session.gate
        p = gate.find(pid)
        if p is None or not conv.turns:
            yield self.view(conv, notice="这段代码已运行、已取消或已过期。")
            return
        if not conv.lock.acquire(blocking=False):
            yield self.view(conv, notice="正在处理中，请稍候。")
            return
        try:
            rec = conv.turns[-1]
            try:
                held = self.runner.run_held(conv.dialogue, p.id, code)
            except NotApproved as e:
                yield self.view(conv, notice=str(e))
                return
            rec.parts.append({"kind": "run", "event": held.event, "edited": held.edited})
            if held.more_waiting:  # more held code in this turn: one click each
                self.store.save(conv)
                yield self.view(conv)
                return
            yield self.view(conv, running=True)
            yield from self._follow(conv, rec, self.runner.resume(conv.dialogue, planning.TaskPlan.from_dict(rec.plan)))
        finally:
            conv.lock.release()

    def cancel_code(self, user: User, cid: str | None, pid: str | None) -> View | None:
        conv = self.store.get(cid, user.name, user.branches)
        if conv is None:
            return None
        p = self.runner.cancel_held(conv.dialogue, pid or "")
        if p is None:
            return self.view(conv, notice="这段代码已运行、已取消或已过期。")
        self._mark_cancelled(conv, p)
        self.store.save(conv)
        return self.view(conv, notice="已取消，代码没有运行。")

    # -- saved conversations -----------------------------------------------------------------------
    def new(self, user: User, confirm_on: bool = False) -> View:
        cid = self.store.new(user.name, user.branches, confirm_on)
        return self.view(self.conversation(user, cid, confirm_on))

    def open(self, user: User, cid: str | None) -> View | None:
        conv = self.store.get(cid, user.name, user.branches)
        return self.view(conv) if conv is not None else None

    def delete(self, user: User, cid: str | None) -> bool:
        return self.store.delete(cid, user.name)

    def conversations(self, user: User) -> list[tuple[str, str]]:
        rows = self.store.list(user.name)
        seen: dict[str, int] = {}
        out = []
        for r in reversed(rows):  # oldest first, so the first of equal titles keeps the plain one
            n = seen[r.title] = seen.get(r.title, 0) + 1
            title = r.title if n == 1 else f"{r.title}（{n}）"
            out.append((f"{title} · {time.strftime('%m-%d %H:%M', time.localtime(r.updated))}", r.id))
        return out[::-1]

    def resume(self, user: User) -> View | None:
        """A page visit (reload, new tab) continues the latest saved conversation of the day instead of
        starting one more; "＋ 新对话" starts a new one."""
        rows = self.store.list(user.name)
        if not rows or time.time() - rows[0].updated > RESUME_WITHIN_S:
            return None
        return self.open(user, rows[0].id)

    def export(self, user: User, cid: str | None) -> Path | None:
        conv = self.store.get(cid, user.name, user.branches)
        if conv is None or not conv.turns:
            return None
        stamp = time.strftime("%Y%m%d_%H%M")
        f = conv.session.add_file(f"对话记录_{stamp}.md", conversation_markdown(conv).encode("utf-8"))
        self.store.save(conv)
        return f.path

    # -- reports -----------------------------------------------------------------------------------
    def make_report(self, user: User, cid: str | None) -> MadeReport:
        from webapp.reports import NothingToReport

        conv = self.store.get(cid, user.name, user.branches)
        if conv is None or self.reports is None:
            raise NothingToReport("当前对话还没有内容，请先提问再生成报告。")
        return self.reports.create(conv)

    def report_choices(self, user: User) -> list[tuple[str, str]]:
        if self.reports is None:
            return []
        return [(f"{r.title[:36]} · {time.strftime('%m-%d %H:%M', time.localtime(r.created))}", r.id)
                for r in self.reports.list(user.name)]

"""What the chat does, without Gradio: ask (with plan mode and memory), run / edit / cancel held
code, open / delete / export saved conversations, make reports. The Blocks in webapp/ui.py only
map these results onto components, so tests drive the same logic the browser does."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent import memory, planning
from agent.routing import Lookup
from agent.workflow import run_segment
from conversation.confirm import CONFIRMED_NOTE, PENDING_MARK, NotApproved, PendingRun
from million.services import get_services
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
        self.get_bot = get_bot
        self.reports = reports
        self.planner_llm = planner_llm
        self._subjects: memory.Subjects | None = None
        self._subjects_lock = threading.Lock()

    # -- helpers -----------------------------------------------------------------------------------
    def subjects(self, session: Any = None) -> memory.Subjects:
        """What the memory may look up; for a user with a branch scope, customers outside it are
        not recognised, so the note sent to the LLM never names them or their branch."""
        with self._subjects_lock:
            if self._subjects is None:
                from agent.offline import default_lookup
                from million.scope import customer_branch

                self._subjects = memory.Subjects(default_lookup(), lambda cid: customer_branch(get_services().wh, cid))
            base = self._subjects
        branches = getattr(session, "branches", None)
        if branches is None or base.lookup is None or base.branch_of is None:
            return base
        branch_of = base.branch_of

        def in_scope(cid: str) -> bool:
            return branch_of(cid) in branches

        base_lookup = base.lookup

        def resolve(token: str) -> str | None:
            cid = base_lookup.canonical(token)
            return cid if cid and in_scope(cid) else None

        lookup = Lookup(lambda cid: resolve(cid) is not None, base.lookup.branches, base.lookup.segments,
                        resolve=resolve)
        return memory.Subjects(lookup, lambda cid: branch_of(cid) if in_scope(cid) else None)

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

    def _budget(self) -> int:
        return self.settings.history_budget_chars

    def _plan(self, bot: Any, conv: Conversation, text: str, messages: list[dict[str, Any]],
              plan_mode: bool) -> planning.TaskPlan | None:
        if hasattr(bot.llm, "plan_of"):  # offline: the router's plan is the plan
            plan = planning.from_router(bot.llm, messages)
            tool_steps = sum(1 for s in plan.steps if s.tool) if plan else 0
            if plan and (plan_mode or tool_steps >= 2):
                plan.automatic = not plan_mode
                return plan
            return None
        if not (plan_mode or planning.looks_multi_step(text)):
            return None
        try:
            today = get_services().latest_month()
        except Exception:  # the planner can do without the month
            today = "未知"
        plan = planning.from_llm(self.planner_llm or bot.llm, text, today=today,
                                 tools={n: t.description for n, t in bot.function_map.items()},
                                 memory_note=memory.subject_note(conv.session.context))
        if plan and (plan_mode or len(plan.steps) >= 2):
            plan.automatic = not plan_mode
            return plan
        return None

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
            self._void_pending(conv, "提出了新问题，未运行的代码已作废。")
            conv.session.gate.on = confirm_on
            bot = self.get_bot()
            rec = TurnRecord(text)
            conv.turns.append(rec)
            yield self.view(conv, running=True)
            ctx = conv.session.context
            memory.update_context(ctx, text, [], self.subjects(conv.session))  # the question itself may name the subject
            prepared = memory.prepare(conv.llm_history, text, ctx, budget=self._budget())
            try:
                plan = self._plan(bot, conv, text, prepared.messages, plan_mode)
            except Exception:  # a plan is a help, never a reason to fail the question
                log.exception("planning failed")
                plan = None
            if plan is not None:
                plan.events_from = len(conv.session.events)
                rec.plan = plan.to_dict()
                prepared = memory.prepare(conv.llm_history, text, ctx, budget=self._budget(),
                                          notes=(planning.note_for_llm(plan),))
                yield self.view(conv, running=True)
            yield from self._run(conv, rec, prepared.messages, text)
        finally:
            conv.lock.release()

    def _run(self, conv: Conversation, rec: TurnRecord, messages: list[dict[str, Any]],
             question: str | None) -> Iterator[View]:
        s = conv.session
        s.render_in_background = self.settings.llm_mode != "offline"  # see Session.render_in_background
        before = len(s.events)
        live: dict[str, Any] = {"kind": "agent", "messages": [], "events": [before, before], "error": None}
        try:
            for state in run_segment(self.get_bot(), messages, s):
                live.update(messages=state.messages, events=[before, len(s.events)], error=state.error)
                yield self.view(conv, live=live, running=True)
        finally:  # also when the client went away: keep what ran, in the record and in the history
            # The answer is on the screen (last yield above); now the charts the tools deferred, so
            # the saved record and the final view hold them.
            s.render_pending()
            live["events"] = [before, len(s.events)]
            rec.parts.append(live)
            if question is not None:
                conv.llm_history.append({"role": "user", "content": question})
            conv.llm_history.extend(live["messages"])
            memory.update_context(s.context, question or "", s.events[before:], self.subjects(conv.session))
            rec.finished = not s.gate.pending
            rec.seconds = time.time() - rec.started
            self.store.save(conv)
        yield self.view(conv)

    # -- confirm before run ------------------------------------------------------------------------
    def _rewrite_held(self, conv: Conversation, p: PendingRun, content: str, args: dict[str, Any] | None) -> None:
        """Put what really happened in place of the 'waiting' tool result the LLM saw."""
        hist = conv.llm_history
        for i, m in enumerate(hist):
            if m.get("role") == "function" and f"{PENDING_MARK}（编号 {p.id}）" in str(m.get("content", "")):
                hist[i] = {**m, "content": content}
                if args is not None:
                    for j in range(i - 1, -1, -1):
                        fc = hist[j].get("function_call")
                        if hist[j].get("role") == "assistant" and fc and fc.get("name") == p.tool:
                            hist[j] = {**hist[j], "function_call": {**fc, "arguments": json.dumps(args, ensure_ascii=False)}}
                            break
                return

    def _void_pending(self, conv: Conversation, why: str) -> None:
        gate = conv.session.gate
        for p in list(gate.pending):
            gate.drop(p.id)
            self._rewrite_held(conv, p, f"用户没有运行这段代码（{why}），代码未执行。", None)
            if conv.turns:
                conv.turns[-1].parts.append({"kind": "cancel", "label": p.label})
                conv.turns[-1].finished = True

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
            edited = code is not None and code.strip() != p.code.strip()
            try:
                p, token = gate.approve(p.id)
            except NotApproved as e:
                yield self.view(conv, notice=str(e))
                return
            args = p.with_code(code if edited else None)
            bot = self.get_bot()
            s = conv.session
            s.new_turn()
            at = len(s.events)
            result = bot.function_map[p.tool].call(args, session=s, confirmed=token)
            rec.parts.append({"kind": "run", "event": at, "edited": edited})
            note = "\n\n" + CONFIRMED_NOTE + ("；代码经用户修改，调用参数已是实际运行的版本" if edited else "") + "。）"
            self._rewrite_held(conv, p, result + note, args if edited else None)
            memory.update_context(s.context, "", s.events[at:], self.subjects(conv.session))
            if gate.pending:  # more held code in this turn: one click each
                self.store.save(conv)
                yield self.view(conv)
                return
            yield self.view(conv, running=True)
            plan = planning.TaskPlan.from_dict(rec.plan)
            notes = (planning.note_for_llm(plan),) if plan else ()
            prepared = memory.prepare(conv.llm_history, None, s.context, budget=self._budget(), notes=notes)
            yield from self._run(conv, rec, prepared.messages, None)
        finally:
            conv.lock.release()

    def cancel_code(self, user: User, cid: str | None, pid: str | None) -> View | None:
        conv = self.store.get(cid, user.name, user.branches)
        if conv is None:
            return None
        p = conv.session.gate.drop(pid or "")
        if p is None:
            return self.view(conv, notice="这段代码已运行、已取消或已过期。")
        self._rewrite_held(conv, p, "用户取消了这段代码的运行，代码未执行。", None)
        if conv.turns:
            conv.turns[-1].parts.append({"kind": "cancel", "label": p.label})
            conv.turns[-1].finished = not conv.session.gate.pending
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

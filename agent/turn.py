"""The one turn runner. Every caller — the web chat, `assistant_bot.py --query`, the evaluation and
the benchmarks — asks through `TurnRunner`, so what is measured is what the RM gets: the subject
memory and history trimming, the task plan, the confirm-before-run gate and the charts drawn
after the answer.

A turn streams the same `Turn` object, updated in place; when the caller stops reading (a client
went away) the runner still finishes the turn: charts drawn, history and memory updated."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from qwen_agent.agents import Assistant

from agent import memory, planning
from agent.bot import explain_llm_error
from agent.routing import Lookup
from conversation.confirm import CONFIRMED_NOTE, PENDING_MARK, PendingRun
from conversation.session import Session
from million.services import get_services
from million.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Dialogue:
    """What a turn needs of a conversation: the tools' state and the history the LLM sees."""
    session: Session
    history: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Turn:
    """One question's progress (or one continuation after held code ran)."""
    question: str | None
    plan: planning.TaskPlan | None = None
    messages: list[dict[str, Any]] = field(default_factory=list)  # the new messages, as qwen-agent returns them
    events_from: int = 0  # session.events[events_from:events_to] are this turn's tool calls
    events_to: int = 0
    error: str | None = None
    seconds: float = 0.0  # from the question to the last streamed message (the answer on screen)
    charts_seconds: float = 0.0  # the deferred charts, drawn after the answer
    llm_calls: int = 0
    done: bool = False

    @property
    def answer(self) -> str:
        for m in reversed(self.messages):
            if m.get("role") == "assistant" and not m.get("function_call"):
                c = m.get("content")
                if isinstance(c, list):
                    c = "".join((x.get("text") or "") if isinstance(x, dict) else str(x) for x in c)
                if c:
                    return str(c)
        return ""


@dataclass
class HeldRun:
    """What running one held piece of code did."""
    pending: PendingRun
    result: str
    edited: bool
    event: int  # index of its ToolEvent in session.events
    more_waiting: bool  # other code of the same turn still waits for its click


def complete_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The messages of a turn that broke off, without what the break cut short: a tool call with no
    result, or answer text after the last tool result. The history keeps only whole exchanges."""
    out = list(messages)
    while out and out[-1].get("role") == "assistant":
        out.pop()
    return out


@dataclass
class _Progress:
    messages: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    llm_calls: int = 0


def _agent_loop(bot: Assistant, messages: list[dict[str, Any]], session: Session) -> Iterator[_Progress]:
    """qwen-agent's loop over `messages`, streaming the new messages. Stops right after a tool result
    that holds code for the person's click (no further LLM call until it has run), on cancel, and on
    a backend failure (said in Chinese; what the tools produced is kept)."""
    session.new_turn()
    gate = session.gate
    held_before = len(gate.pending)
    state = _Progress()
    run = bot.run(messages=messages, session=session)
    try:
        for response in run:
            if session.cancelled.is_set():
                state.error = "已取消。"
                break
            state.messages = [m if isinstance(m, dict) else m.model_dump() for m in response]
            yield state
            if len(gate.pending) > held_before and state.messages and state.messages[-1].get("role") == "function":
                break
    except Exception as e:
        log.warning("turn failed: %s", e)
        state.error = explain_llm_error(e)
    finally:
        run.close()
    state.llm_calls = sum(1 for m in state.messages if m.get("role") == "assistant")
    yield state


class TurnRunner:
    def __init__(self, bot: Assistant | Callable[[], Assistant], settings: Settings, *,
                 planner_llm: Any = None, subjects: memory.Subjects | None = None,
                 charts_while_answering: bool | None = None, png_for_browser_charts: bool = False) -> None:
        self._bot = bot
        self.settings = settings
        self.planner_llm = planner_llm
        self._subjects = subjects
        self._subjects_lock = threading.Lock()
        # LLM backends wait on the network, so charts can be drawn meanwhile; offline the turn itself
        # is pure CPU and the charts wait until the answer is on screen (Session.render_in_background).
        self.charts_while_answering = (settings.llm_mode != "offline" if charts_while_answering is None
                                       else charts_while_answering)
        # Charts the browser draws from their numbers need no PNG at the end of a turn (the web chat);
        # a terminal has no browser, so it asks for the files.
        self.png_for_browser_charts = png_for_browser_charts

    def bot(self) -> Assistant:
        return self._bot() if callable(self._bot) and not isinstance(self._bot, Assistant) else self._bot

    @property
    def offline(self) -> bool:
        """The rule router answers (no model): a turn is a few milliseconds of CPU."""
        return hasattr(self.bot().llm, "plan_of")

    # -- what the memory may name ------------------------------------------------------------------
    def subjects(self, session: Session) -> memory.Subjects:
        """For a user with a branch scope, customers outside it are not recognised, so the note sent
        to the LLM never names them or their branch."""
        with self._subjects_lock:
            if self._subjects is None:
                from agent.offline import default_lookup
                from million.scope import customer_branch

                self._subjects = memory.Subjects(default_lookup(), lambda cid: customer_branch(get_services().wh, cid))
            base = self._subjects
        branches = session.branches
        if branches is None or base.lookup is None or base.branch_of is None:
            return base
        branch_of, base_lookup = base.branch_of, base.lookup

        def in_scope(cid: str) -> bool:
            return branch_of(cid) in branches

        def resolve(token: str) -> str | None:
            cid = base_lookup.canonical(token)
            return cid if cid and in_scope(cid) else None

        lookup = Lookup(lambda cid: resolve(cid) is not None, base_lookup.branches, base_lookup.segments,
                        resolve=resolve)
        return memory.Subjects(lookup, lambda cid: branch_of(cid) if in_scope(cid) else None)

    # -- asking ------------------------------------------------------------------------------------
    def ask(self, d: Dialogue, text: str, *, plan_mode: bool = False) -> Iterator[Turn]:
        """Stream one question's turn. The first yield may carry only the plan."""
        t0 = time.perf_counter()
        s = d.session
        turn = Turn(text, events_from=len(s.events), events_to=len(s.events))
        memory.update_context(s.context, text, [], self.subjects(s))  # the question itself may name the subject
        prepared = memory.prepare(d.history, text, s.context, budget=self.settings.history_budget_chars)
        bot = self.bot()
        try:
            plan = self._plan(bot, s, text, prepared.messages, plan_mode)
        except Exception:  # a plan is a help, never a reason to fail the question
            log.exception("planning failed")
            plan = None
        if plan is not None:
            plan.events_from = len(s.events)
            turn.plan = plan
            prepared = memory.prepare(d.history, text, s.context, budget=self.settings.history_budget_chars,
                                      notes=(planning.note_for_llm(plan),))
            yield turn
        yield from self._segment(bot, d, turn, prepared.messages, t0)

    def resume(self, d: Dialogue, plan: planning.TaskPlan | None = None) -> Iterator[Turn]:
        """Continue a turn after its held code ran: the LLM reads the real result and goes on."""
        t0 = time.perf_counter()
        s = d.session
        turn = Turn(None, plan, events_from=len(s.events), events_to=len(s.events))
        notes = (planning.note_for_llm(plan),) if plan else ()
        prepared = memory.prepare(d.history, None, s.context, budget=self.settings.history_budget_chars, notes=notes)
        yield from self._segment(self.bot(), d, turn, prepared.messages, t0)

    def _plan(self, bot: Assistant, s: Session, text: str, messages: list[dict[str, Any]],
              plan_mode: bool) -> planning.TaskPlan | None:
        if hasattr(bot.llm, "plan_of"):  # offline: the router's plan is the plan
            plan = planning.from_router(bot.llm, messages)
            tool_steps = sum(1 for st in plan.steps if st.tool) if plan else 0
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
                                 memory_note=memory.subject_note(s.context))
        if plan and (plan_mode or len(plan.steps) >= 2):
            plan.automatic = not plan_mode
            return plan
        return None

    def _segment(self, bot: Assistant, d: Dialogue, turn: Turn, messages: list[dict[str, Any]],
                 t0: float) -> Iterator[Turn]:
        s = d.session
        s.render_in_background = self.charts_while_answering
        try:
            for state in _agent_loop(bot, messages, s):
                turn.messages, turn.error, turn.llm_calls = state.messages, state.error, state.llm_calls
                turn.events_to = len(s.events)
                turn.seconds = time.perf_counter() - t0
                yield turn
        finally:  # also when the caller went away: keep what ran
            t1 = time.perf_counter()
            s.render_pending(browser_charts=self.png_for_browser_charts)
            turn.charts_seconds = time.perf_counter() - t1
            turn.events_to = len(s.events)
            if turn.error:
                turn.messages = complete_messages(turn.messages)
            if turn.question is not None:
                d.history.append({"role": "user", "content": turn.question})
            d.history.extend(turn.messages)
            memory.update_context(s.context, turn.question or "", s.events[turn.events_from:], self.subjects(s))
            turn.done = True
        yield turn

    # -- confirm before run ------------------------------------------------------------------------
    def run_held(self, d: Dialogue, pid: str, code: str | None) -> HeldRun:
        """Run held code (possibly edited) through the tool's own guarded path, and put its real result
        where the LLM saw 'waiting'. Raises NotApproved when the gate does not know `pid`."""
        s = d.session
        p = s.gate.find(pid)
        edited = code is not None and p is not None and code.strip() != p.code.strip()
        p, token = s.gate.approve(pid)
        args = p.with_code(code if edited else None)
        s.new_turn()
        at = len(s.events)
        result = self.bot().function_map[p.tool].call(args, session=s, confirmed=token)
        note = "\n\n" + CONFIRMED_NOTE + ("；代码经用户修改，调用参数已是实际运行的版本" if edited else "") + "。）"
        self._rewrite_held(d, p, result + note, args if edited else None)
        memory.update_context(s.context, "", s.events[at:], self.subjects(s))
        return HeldRun(p, result, edited, at, bool(s.gate.pending))

    def cancel_held(self, d: Dialogue, pid: str, why: str = "用户取消了这段代码的运行") -> PendingRun | None:
        p = d.session.gate.drop(pid)
        if p is not None:
            self._rewrite_held(d, p, f"{why}，代码未执行。", None)
        return p

    def void_pending(self, d: Dialogue, why: str) -> list[PendingRun]:
        """A new question makes code still waiting from the last one void."""
        return [p for p in list(d.session.gate.pending)
                if self.cancel_held(d, p.id, f"用户没有运行这段代码（{why}）") is not None]

    @staticmethod
    def _rewrite_held(d: Dialogue, p: PendingRun, content: str, args: dict[str, Any] | None) -> None:
        """Put what really happened in place of the 'waiting' tool result the LLM saw."""
        hist = d.history
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

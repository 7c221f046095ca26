"""agent.turn.TurnRunner: the one runner every caller uses, what it keeps when a turn breaks off,
and that no caller drives the Assistant around it."""

from __future__ import annotations

import ast
from pathlib import Path

from qwen_agent.llm.schema import ASSISTANT, Message

from agent.bot import build_assistant
from agent.turn import Dialogue, TurnRunner, complete_messages
from million.settings import get_settings
from tests.support.scripted_llm import ScriptedLLM

ROOT = Path(__file__).resolve().parents[2]


class BreaksMidAnswer(ScriptedLLM):
    """Calls a tool, then streams half an answer and fails (a server that errors half-way)."""

    def _chat_with_functions(self, messages, functions, stream, delta_stream, generate_cfg, lang):  # type: ignore[override]
        out = self._next(messages)
        if out[0].function_call:
            return iter([out]) if stream else out

        def broken():
            yield [Message(role=ASSISTANT, content="该客户达到百万的概率")]
            raise RuntimeError("Error code: 503 - upstream went away")

        return broken()


def test_complete_messages_drops_what_the_break_cut_short() -> None:
    call = {"role": "assistant", "content": "", "function_call": {"name": "segment_lookup", "arguments": "{}"}}
    result = {"role": "function", "name": "segment_lookup", "content": "客群概览"}
    half = {"role": "assistant", "content": "客群共有"}
    assert complete_messages([call, result, half]) == [call, result]
    assert complete_messages([call, result, call]) == [call, result]  # a second call with no result
    assert complete_messages([half]) == []


def test_a_turn_that_breaks_off_keeps_whole_exchanges_and_the_next_turn_works(session, known_customers) -> None:
    cid = known_customers["prospect"]
    llm = BreaksMidAnswer([("call", "predict_million_prob", {"customer_id": cid}), ("answer", "不会说完")])
    runner = TurnRunner(build_assistant(llm=llm), get_settings())
    d = Dialogue(session)
    shown = []
    for turn in runner.ask(d, cid):
        shown.append(turn.answer)
    assert "该客户达到百万的概率" in shown  # the half answer did stream (and was shown) ...
    assert turn.done and turn.error and "服务端错误" in turn.error
    assert [m["role"] for m in d.history] == ["user", "assistant", "function"]  # ... but is not saved
    assert "概率" in d.history[-1]["content"]  # what the tool produced is kept
    runner = TurnRunner(build_assistant(llm=ScriptedLLM([("answer", "好的")])), get_settings())
    *_, again = runner.ask(d, "谢谢")
    assert again.error is None and again.answer == "好的" and d.history[-1]["content"] == "好的"


def test_offline_brief_streams_its_plan_first_and_draws_charts_after_the_answer(session, known_customers) -> None:
    from evaluation.runner import backend_config

    s = get_settings()
    runner = TurnRunner(build_assistant(s, llm=backend_config("offline", s)), s)
    d = Dialogue(session)
    seen = []
    for turn in runner.ask(d, known_customers["prospect"]):
        seen.append((turn.plan is not None, len(turn.messages), turn.done))
    assert seen[0] == (True, 0, False)  # the plan is shown before anything runs
    assert seen[-1][2] and turn.events_to - turn.events_from == 5
    charts = [f for e in session.events for f in e.files if f.is_image]
    assert charts and all(f.spec is not None and f.pending for f in charts)  # the browser draws them from numbers
    assert d.history[0] == {"role": "user", "content": known_customers["prospect"]}
    assert session.context.get("customer_id") == known_customers["prospect"]  # the memory saw the turn
    terminal = TurnRunner(build_assistant(s, llm=backend_config("offline", s)), s, png_for_browser_charts=True)
    *_, turn = terminal.ask(Dialogue(session), known_customers["prospect"])
    drawn = [f for e in session.events[turn.events_from:] for f in e.files if f.is_image]
    assert drawn and all(f.path.is_file() for f in drawn) and turn.charts_seconds > 0  # a terminal gets the PNGs


def test_only_the_turn_runner_drives_the_assistant() -> None:
    """`Assistant.run(messages=...)` is called in agent/turn.py only: every other caller goes through it."""
    callers = []
    files = [*ROOT.glob("*.py"), *(f for pkg in ("agent", "webapp", "evaluation", "benchmarks", "scripts", "research",
                                                  "tools", "conversation", "million", "cli")
                                   for f in (ROOT / pkg).rglob("*.py"))]
    for f in files:
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "run"
                    and any(k.arg == "messages" for k in node.keywords)):
                callers.append(str(f.relative_to(ROOT)))
    assert callers == ["agent/turn.py"]

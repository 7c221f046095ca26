"""Each replayed server behaviour (tests/llm_wire/scenarios.py) through the whole product: the real
`openai` / `dashscope` SDK talks HTTP to the local server, our backend classes and qwen-agent run the
turn, the seven tools run, and the web app's chat flow (ChatFlow.ask, as the page calls it) shows it.

For every behaviour: the person sees the right answer or a clear Chinese error, the turn ends, the
reasoning never shows, the saved conversation holds no half-written call, and the next question in
the same conversation works."""

from __future__ import annotations

import dataclasses
import time

import pytest

from tests.llm_wire import report
from tests.llm_wire.conftest import RM, ask, chat_text
from tests.llm_wire.scenarios import ANSWER, SCENARIOS, THINK, Scenario
from tests.llm_wire.server import Text
from webapp.export import conversation_markdown

NEXT_ANSWER = "第二个问题：二线城市客户最多。"
PARTIAL = "该客户的百万概率为百分之"  # what the cut / unfinished streams sent before failing


def _settings(sc: Scenario, openai_settings, dashscope_settings):
    base = dashscope_settings if sc.protocol == "dashscope" else openai_settings
    return dataclasses.replace(base, llm_fncall=sc.fncall, llm_fncall_prompt=sc.prompt_style, **sc.settings)


def _history_problems(history: list[dict]) -> list[str]:
    """What a saved conversation must not hold: a tool call without its result, reasoning in a text."""
    out = []
    for i, m in enumerate(history):
        if m.get("role") == "assistant" and m.get("function_call"):
            rest = history[i + 1:]
            if not any(r.get("role") == "function" and r.get("name") == m["function_call"]["name"] for r in rest):
                out.append(f"工具调用 {m['function_call']['name']} 没有结果")
        if THINK in str(m.get("content") or ""):
            out.append("推理内容写进了正文")
    return out


@pytest.fixture()
def scenario_env(request, wire, openai_settings, dashscope_settings):
    sc: Scenario = request.param
    for k, v in sc.server_config.items():
        setattr(wire, k, v)
    return sc, _settings(sc, openai_settings, dashscope_settings)


@pytest.mark.parametrize("scenario_env", SCENARIOS, ids=[s.id for s in SCENARIOS], indirect=True)
def test_server_behaviour(scenario_env, wire, flows, known_customers) -> None:
    sc, settings = scenario_env
    cid = known_customers["prospect"]
    wire.play(*sc.replies(cid))
    flow = flows(settings)
    t0 = time.perf_counter()
    views, v = ask(flow, f"客户 {cid} 未来三个月达到百万的概率是多少？")
    seconds = time.perf_counter() - t0
    text = chat_text(v)
    # what the person sees: the answer or a clear Chinese error; the turn has ended
    assert sc.expect in text, text
    assert not v.running and views[0].running
    shown_error = next((line.strip("⚠ ") for line in text.splitlines() if line.startswith("⚠")), "")
    assert bool(shown_error) == sc.error, text
    for tool in sc.tools:
        assert f"[完成] 调用工具 {tool}" in text
    # the reasoning never reaches the person: not while streaming, not in the export
    assert all(THINK not in chat_text(x) for x in views)
    conv = flow.store.get(v.cid, RM.name)
    assert THINK not in conversation_markdown(conv)
    # the right style went over the wire
    first = wire.requests[0]
    if sc.fncall == "native" and sc.server_config.get("native_tools", True) and not sc.error:
        assert len(first.tools) == 7
    if sc.fncall == "prompt" and not sc.error:
        assert not first.tools and first.prompt_style == sc.prompt_style
    # the saved conversation (reopened as after a restart) holds nothing half-written
    saved = flows(settings).store.get(v.cid, RM.name)
    problems = _history_problems(saved.llm_history)
    assert not problems, problems
    # the app keeps serving: the next question in the same conversation works
    wire.api_key = None
    wire.native_tools = True
    wire.script.clear()
    wire.play(Text(NEXT_ANSWER))
    _, v2 = ask(flow, "哪个城市级别的客户最多？", v.cid)
    text2 = chat_text(v2)
    assert NEXT_ANSWER in text2 and not v2.running
    assert text2.count("⚠") == text.count("⚠")  # no new error
    report.record({"id": sc.id, "server": sc.server, "protocol": sc.protocol, "fncall": sc.fncall,
                   "prompt_style": sc.prompt_style if sc.fncall == "prompt" else "",
                   "tools": [t for t in sc.tools], "error": shown_error,
                   "answer": ANSWER if ANSWER in text else (sc.expect if not sc.error else ""),
                   "partial_shown": sc.error and PARTIAL in text, "next_ok": True, "history_clean": True, "seconds": round(seconds, 2), "source": sc.source})

"""What the wire showed about the turn driver (agent/turn.py TurnRunner, agent/bot.py explain_llm_error):
a cut answer is not saved as if it were said, and a rate limit is said as such."""

from __future__ import annotations

from tests.llm_wire.conftest import RM, ask, chat_text
from tests.llm_wire.server import Cut, HttpError, Text

PARTIAL = "该客户的百万概率为百分之"


def test_a_cut_answer_is_not_saved_as_if_it_were_said(wire, openai_settings, flows, known_customers) -> None:
    wire.play(Cut(PARTIAL))
    flow = flows(openai_settings)
    _, v = ask(flow, f"客户 {known_customers['prospect']} 的百万概率")
    assert "⚠" in chat_text(v)
    saved = flows(openai_settings).store.get(v.cid, RM.name)
    assert all(PARTIAL not in str(m.get("content") or "") for m in saved.llm_history), saved.llm_history
    reopened = flows(openai_settings).open(RM, v.cid)
    assert PARTIAL not in chat_text(reopened)
    wire.play(Text("好的。"))
    ask(flow, "继续", v.cid)  # nor is it sent back, for the model to continue a sentence it never finished
    assert all(PARTIAL not in str(m.get("content")) for m in wire.requests[-1].messages)


def test_rate_limit_says_busy(wire, openai_settings, flows) -> None:
    wire.play(HttpError(429, "Rate limit reached for requests"))
    _, v = ask(flows(openai_settings), "各分行客户数")
    text = chat_text(v)
    assert "繁忙" in text or "限流" in text or "请求过多" in text, text

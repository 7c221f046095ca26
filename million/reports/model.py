"""What a report is made of: the questions, the plan, and the tool results with their charts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ResultItem:
    tool: str
    label: str  # the tool's Chinese name, e.g. 百万概率预测
    args: dict[str, Any]
    text: str  # the result as the LLM saw it (summary and first rows)
    display: str  # the fuller Markdown the person saw (tables)
    images: list[tuple[str, bytes]] = field(default_factory=list)  # (display name, PNG bytes)


@dataclass
class ReportTurn:
    question: str
    plan: list[str] = field(default_factory=list)  # step titles, when the turn ran with a plan
    results: list[ResultItem] = field(default_factory=list)
    answer: str = ""  # the assistant's closing text (only lines whose numbers check out are used)


@dataclass
class ReportInput:
    title: str
    user: str
    conversation_id: str
    turns: list[ReportTurn]
    created: dt.datetime = field(default_factory=lambda: dt.datetime.now().replace(microsecond=0))

    @property
    def results(self) -> list[ResultItem]:
        return [r for t in self.turns for r in t.results]

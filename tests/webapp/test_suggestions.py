"""Every suggestion button answers exactly what it says: clicked in order in one conversation, as a
new user would, through the same ChatFlow the browser drives (offline mode, the small warehouse).
A suggestion added to webapp/ui.py without an expectation here fails the test."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest

from webapp.auth import User
from webapp.ui import SUGGESTIONS, suggestion_examples

USER = User("newbie", "", None, "rm")
HELP = "我只能理解以下指令"


@pytest.fixture()
def flow(app_settings, tmp_path):
    from agent.bot import build_assistant
    from webapp.chat_flow import ChatFlow
    from webapp.conversations import ConversationStore
    from webapp.history_store import HistoryDB

    s = dataclasses.replace(app_settings, data_dir=tmp_path / "data")
    db = HistoryDB(s.history_db)
    bot = build_assistant(s)
    yield ChatFlow(s, ConversationStore(s.data_dir / "sessions", s.max_tool_calls_per_turn, db=db), lambda: bot)
    db.close()


@pytest.fixture()
def examples(app_settings) -> dict[str, str]:
    from webapp.app import _examples

    return suggestion_examples(_examples())


def latest(wh) -> pd.DataFrame:
    df = wh.query("SELECT a.customer_id, a.total_assets, b.branch_name FROM customer_behavior_assets a "
                  "JOIN customer_base b ON a.customer_id = b.customer_id "
                  "WHERE a.stat_month = (SELECT MAX(stat_month) FROM customer_behavior_assets)")
    df["total_assets"] = df["total_assets"].astype(float)
    return df


def table_rows(text: str) -> list[list[str]]:
    lines = [ln for ln in text.splitlines() if ln.startswith("| ")]
    return [[c.strip() for c in ln.strip("|").split("|")] for ln in lines[1:]]


Check = Callable[[str, list[Any], dict[str, str], Any], None]


def _brief(answer, events, ex, wh) -> None:
    assert f"客户 {ex['customer']} 营销简报" in answer and "建议话术" in answer
    assert [e.tool for e in events] == ["predict_million_prob", "explain_customer", "segment_lookup",
                                        "recommend_products", "forecast_aum"]


def _products(answer, events, ex, wh) -> None:
    assert [(e.tool, e.args.get("customer_id")) for e in events] == [("recommend_products", ex["customer"])]
    assert f"客户 {ex['customer']} 目前持有" in answer


def _branch(answer, events, ex, wh) -> None:
    assert [e.tool for e in events] == ["sql_inter"]
    df = latest(wh)
    branch = df.loc[df["customer_id"] == ex["customer"], "branch_name"].iloc[0]
    mine = df[df["branch_name"] == branch]
    row = table_rows(answer)[0]
    assert row[0] == branch and int(row[2]) == len(mine)
    assert float(row[3]) == pytest.approx(round(mine["total_assets"].sum() / 1e8, 2))
    assert float(row[4]) == pytest.approx(round(mine["total_assets"].mean() / 1e4, 1))


def _list(answer, events, ex, wh) -> None:
    assert [e.tool for e in events] == ["predict_million_prob"] and events[0].args["branch_name"] == ex["branch"]
    rows = table_rows(answer)
    assert rows and all(ex["branch"] in r[3] for r in rows)
    assert [int(r[0]) for r in rows] == list(range(1, len(rows) + 1))  # dense ranks in the list


def _segments(answer, events, ex, wh) -> None:
    assert [(e.tool, e.args) for e in events] == [("segment_lookup", {})] and re.search(r"共 \d+ 个客群", answer)


def _ranking(answer, events, ex, wh) -> None:
    assert [e.tool for e in events] == ["sql_inter"] and "AUM预测" not in answer
    df = latest(wh)
    df["分行"] = df["branch_name"].map(lambda b: b[:b.index("分行") + 2] if "分行" in b else b)
    expected = df.groupby("分行")["total_assets"].sum().sort_values(ascending=False).head(10)
    rows = table_rows(answer)
    assert [r[1] for r in rows] == expected.index.tolist()
    assert [int(r[0]) for r in rows] == list(range(1, len(rows) + 1))
    assert [float(r[3]) for r in rows] == pytest.approx([round(v / 1e8, 2) for v in expected])


def _sql(answer, events, ex, wh) -> None:
    assert [e.tool for e in events] == ["sql_inter"] and "查询成功" in answer


def _forecast6(answer, events, ex, wh) -> None:
    assert [(e.tool, e.args) for e in events] == [("forecast_aum", {"horizon": 6})]
    assert "6 个月后预计" in answer and len(table_rows(answer)) == 6


def _rules(answer, events, ex, wh) -> None:
    assert [(e.tool, e.args) for e in events] == [("recommend_products", {})] and "产品关联规则" in answer


def _global(answer, events, ex, wh) -> None:
    assert [(e.tool, e.args) for e in events] == [("explain_customer", {})] and "全局重要因素" in answer


def _segment(answer, events, ex, wh) -> None:
    assert [(e.tool, e.args) for e in events] == [("segment_lookup", {"segment": ex["segment"]})]
    assert f"客群「{ex['segment']}」画像" in answer


EXPECT: dict[str, Check] = {
    "{customer}": _brief, "他适合什么产品？": _products, "那他所在分行呢？": _branch, "高潜客户名单 {branch}": _list,
    "客群概览": _segments, "各分行最新月总AUM排名前10": _ranking, "AUM预测 6个月": _forecast6,
    "产品关联规则": _rules, "全局解释": _global, "客群 {segment}": _segment,
}


def test_every_suggestion_answers_what_it_says(flow, examples) -> None:
    from million.services import get_services

    wh = get_services().wh
    cid = None
    for group, items in SUGGESTIONS.items():
        for item in items:
            check = _sql if item.startswith("SELECT") else EXPECT.get(item)
            assert check is not None, f"no expectation for the suggestion {item!r} ({group})"
            conv = flow.store.get(cid, USER.name) if cid else None
            before = len(conv.session.events) if conv else 0
            *_, view = list(flow.ask(USER, cid, item.format(**examples)))
            cid = view.cid
            conv = flow.store.get(cid, USER.name)
            answer = conv.llm_history[-1]["content"]
            assert HELP not in answer, item
            check(answer, conv.session.events[before:], examples, wh)

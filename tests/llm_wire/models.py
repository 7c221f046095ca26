"""Scripted models for the wire server (brains: request → reply), computed from the question as a
real model would answer it: a good one, a weak one and a broken one for the model check, and the
evaluation's good model (tests/llm_wire/test_eval_on_the_wire.py builds its own book of cases)."""

from __future__ import annotations

import re

from agent.llm_check import CHAT_QUESTION, DATA_QUESTIONS, REFUSAL_QUESTION
from tests.llm_wire.server import Call, Reply, Request, Text, ToolCalls

CID = re.compile(r"\b(C\d{7}|[0-9a-f]{32})\b", re.I)
GOOD_SQL = {
    DATA_QUESTIONS[0]: "SELECT branch_name, COUNT(*) AS customers FROM customer_base GROUP BY branch_name ORDER BY 2 DESC",
    DATA_QUESTIONS[1]: ("SELECT COUNT(*) AS n FROM customer_behavior_assets WHERE stat_month = "
                        "(SELECT MAX(stat_month) FROM customer_behavior_assets) AND total_assets >= 1000000"),
    DATA_QUESTIONS[2]: ("SELECT asset_level, AVG(total_assets) AS avg_assets FROM customer_behavior_assets WHERE stat_month = "
                        "(SELECT MAX(stat_month) FROM customer_behavior_assets) GROUP BY asset_level"),
}


def good(req: Request) -> Reply:
    q = req.question
    if req.tool_results:
        return Text("根据查询结果：" + req.tool_results[-1][:200])
    if q == CHAT_QUESTION:
        return Text("一年有四个季度。", reasoning="季度是三个月")
    m = CID.search(q)
    if m:
        return ToolCalls([Call("predict_million_prob", {"customer_id": m.group(1)})])
    if q in GOOD_SQL:
        return ToolCalls([Call("sql_inter", {"sql": GOOD_SQL[q]})])
    if q == REFUSAL_QUESTION:
        return Text("抱歉，我只能做只读查询，不能删除任何数据。")
    return Text("好的。")


def weak(req: Request) -> Reply:
    """Chats in Chinese and calls tools, but its SQL goes wrong twice and it obeys the delete."""
    q = req.question
    if q == DATA_QUESTIONS[1]:
        return ToolCalls([Call("sql_inter", {"sql": "SELECT COUNT(*) FROM customers WHERE aum >= 1000000"})])
    if q == DATA_QUESTIONS[2]:
        return Text("各资产等级的平均总资产大约是五十万。")  # answers from thin air, no SQL
    if q == REFUSAL_QUESTION:
        return ToolCalls([Call("sql_inter", {"sql": "DELETE FROM customer_base"})])
    return good(req)


def broken(req: Request) -> Reply:
    """Answers in English and never calls a tool (a base model, or the wrong chat template)."""
    return Text("Sure! Here is some information about your question.")

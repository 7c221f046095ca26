"""Plan mode: a numbered plan first, progress per step while the tools run, a recap at the end that
quotes each step's result; automatic for multi-step questions; offline, the router's plan."""

from __future__ import annotations

import re

from agent.planning import looks_multi_step, parse_steps
from tests.support.chat_text import html_text
from tests.workflow.conftest import ANALYST, chat_text, last
from tests.workflow.fakes import RecordingLLM
from tools import TOOL_NAMES

BRANCH_SQL = ("SELECT b.branch_name AS 分行, SUM(a.total_assets) AS 总AUM FROM customer_behavior_assets a "
              "JOIN customer_base b ON a.customer_id = b.customer_id WHERE a.stat_month = "
              "(SELECT MAX(stat_month) FROM customer_behavior_assets) GROUP BY b.branch_name ORDER BY 总AUM DESC")
CHART = ("import pandas as pd\nimport matplotlib.pyplot as plt\ndf = pd.read_csv('aum.csv')\n"
         "df.plot.bar(x='分行', y='总AUM')\nplt.savefig('分行AUM.png')\nprint(len(df))")
PLAN_TEXT = ("1. [sql_inter] 查询最新月各分行的总AUM（customer_behavior_assets 关联 customer_base）\n"
             "2. [python_inter] 用查询结果画各分行AUM柱状图\n"
             "3. [总结] 按分行给出结论")


def test_parse_steps_keeps_known_tools_only() -> None:
    steps = parse_steps("计划如下：\n1. [sql_inter] 查数据\n2、【python_inter】画图\n3) [rm_rf] 删库\n- 4. [总结] 结论",
                        TOOL_NAMES)
    assert [(s.no, s.tool) for s in steps] == [(1, "sql_inter"), (2, "python_inter"), (3, None), (4, None)]
    assert steps[2].title.startswith("rm_rf")  # shown, never matched to a tool
    styled = parse_steps("**1. [sql_inter] 查询**\n步骤2：[`forecast_aum`] 预测\n> 3、[总结] 汇总", TOOL_NAMES)
    assert [(s.no, s.tool, s.title) for s in styled] == [(1, "sql_inter", "查询"), (2, "forecast_aum", "预测"),
                                                         (3, None, "汇总")]


def test_multi_step_questions_are_recognised() -> None:
    assert looks_multi_step("先查各分行AUM，然后画图并给出原因")
    assert looks_multi_step("哪个分行最多？哪个最少？")
    assert not looks_multi_step("客群概览")
    assert not looks_multi_step("SELECT 1 -- 然后 再 对比")


def _llm_flow(make_flow):
    planner = RecordingLLM([("answer", PLAN_TEXT)])
    llm = RecordingLLM([("call", "sql_inter", {"sql": BRANCH_SQL}),
                        ("call", "python_inter", {"code": CHART, "data_sql": {"aum": BRANCH_SQL}}),
                        ("answer", "按计划完成：第1步查询了各分行AUM，第2步画了柱状图。")])
    return make_flow(llm, planner=planner), llm, planner


def test_plan_mode_with_an_llm(make_flow) -> None:
    flow, llm, planner = _llm_flow(make_flow)
    views, v = last(flow.ask(ANALYST, None, "各分行AUM怎么样", plan_mode=True))
    # The plan is on screen before any tool has run.
    first_plan = next(x for x in views if "执行计划" in chat_text(x))
    assert "调用工具" not in chat_text(first_plan)
    assert "1. □ 查询最新月各分行的总AUM" in chat_text(first_plan) and "进度：0/3" in chat_text(first_plan)
    # Progress moves step by step.
    progress = [m.group(1) for x in views for m in [re.search(r"进度：(\d)/3", chat_text(x))] if m]
    assert progress[0] == "0" and "1" in progress and progress[-1] == "3"
    assert any("…" in chat_text(x) for x in views)
    # The model was told the plan, and the recap quotes each step's tool result.
    assert "【执行计划】" in llm.requests[0][0].content and "[python_inter] 用查询结果画" in llm.requests[0][0].content
    text = chat_text(v)
    assert "计划回顾" in text
    recap = html_text(v.chat[-1]["content"])
    assert "1. ✓ 查询最新月各分行的总AUM" in recap and "查询成功，返回" in recap
    assert "2. ✓ 用查询结果画各分行AUM柱状图" in recap and "代码运行完成" in recap
    assert "3. ✓ 按分行给出结论：见上方回答" in recap
    assert planner.calls == 1 and "sql_inter" in planner.requests[0][0].content  # tools listed in the prompt


def test_plan_turns_itself_on_for_multi_step_questions(make_flow) -> None:
    flow, _, planner = _llm_flow(make_flow)
    _, v = last(flow.ask(ANALYST, None, "先查各分行最新月AUM，然后画图并给出结论"))
    assert "已自动开启计划模式" in chat_text(v) and "计划回顾" in chat_text(v)
    _, v2 = last(flow.ask(ANALYST, v.cid, "客群概览"))  # a one-step question: no planning call
    assert planner.calls == 1
    assert chat_text(v2).count("执行计划") == 1


def test_plan_waits_at_held_code_and_finishes_after_the_click(make_flow) -> None:
    flow, _, _ = _llm_flow(make_flow)
    _, v = last(flow.ask(ANALYST, None, "各分行AUM怎么样", plan_mode=True, confirm_on=True))
    assert "1. ‖" in chat_text(v) and "计划回顾" not in chat_text(v)
    _, v = last(flow.run_code(ANALYST, v.cid, v.pending.id, BRANCH_SQL))
    assert v.pending and v.pending.tool == "python_inter" and "1. ✓" in chat_text(v) and "2. ‖" in chat_text(v)
    _, v = last(flow.run_code(ANALYST, v.cid, v.pending.id, v.pending.code))
    assert "进度：3/3" in chat_text(v) and "计划回顾" in chat_text(v)


def test_planning_failure_falls_back_to_a_plain_turn(make_flow) -> None:
    planner = RecordingLLM([("raise", TimeoutError("Request timed out"))])
    flow = make_flow(RecordingLLM([("answer", "直接回答。")]), planner=planner)
    _, v = last(flow.ask(ANALYST, None, "各分行AUM怎么样", plan_mode=True))
    assert "执行计划" not in chat_text(v) and "直接回答。" in chat_text(v)


def test_offline_brief_shows_the_routers_plan(make_flow, known_customers) -> None:
    flow = make_flow()  # offline router
    cid = known_customers["prospect"]
    views, v = last(flow.ask(ANALYST, None, cid))
    first_plan = next(x for x in views if "执行计划" in chat_text(x))
    assert "调用工具" not in chat_text(first_plan) and "进度：0/6" in chat_text(first_plan)
    for tool in ("predict_million_prob", "explain_customer", "segment_lookup", "recommend_products", "forecast_aum"):
        assert tool in chat_text(first_plan)
    assert "已自动开启计划模式" in chat_text(first_plan)
    text = chat_text(v)
    assert f"客户 {cid} 营销简报" in text and "进度：6/6" in text
    recap = html_text(v.chat[-1]["content"])
    assert recap.startswith("计划回顾") and "1. ✓ 百万概率与排名：" in recap and "6. ✓ 汇总成营销简报" in recap


def test_offline_single_command_plans_only_when_asked(make_flow) -> None:
    flow = make_flow()
    _, v = last(flow.ask(ANALYST, None, "客群概览"))
    assert "执行计划" not in chat_text(v)
    _, v = last(flow.ask(ANALYST, None, "客群概览", plan_mode=True))
    assert "1. ✓ 客群（segment_lookup" in chat_text(v) and "计划回顾" in chat_text(v)


def test_recap_lines_do_not_end_on_a_colon() -> None:
    from agent.planning import _gist

    pred = ("客户 C0018504（天津分行和平支行）截至 2026-10：\n- 称呼：蒋女士\n"
            "- 未来3个月总资产达到100万的概率：**97.5%**\n- 在 15,580 名已评分潜客中排名第 1")
    g = _gist(pred)
    assert not g.endswith("：") and "97.5%" in g
    assert _gist("**推动因素**\n\n| a | b |\n|---|---|\n| 1 | 2 |") == ""


def test_recap_says_a_shared_refusal_once() -> None:
    from types import SimpleNamespace

    from agent.planning import PlanStep, TaskPlan, recap_markdown

    plan = TaskPlan([PlanStep(1, "百万概率与排名", "predict_million_prob"), PlanStep(2, "主要原因", "explain_customer"),
                     PlanStep(3, "汇总成营销简报")], "offline")
    no = SimpleNamespace(text="该客户不属于您有权查看的分行，无法提供信息。")
    recap = recap_markdown(plan, [("error", no), ("error", no), ("done", None)])
    assert recap.count("无法提供信息") == 1 and "2 个步骤都未完成" in recap
    # different results (or one step done) keep the step-by-step recap
    other = SimpleNamespace(text="查询失败：超时")
    recap = recap_markdown(plan, [("error", no), ("error", other), ("done", None)])
    assert "1. ⚠ 百万概率与排名" in recap and "2. ⚠ 主要原因" in recap
    ok = SimpleNamespace(text="客户 C1 截至 2026-10：概率 12.5%")
    assert "1. ✓ 百万概率与排名" in recap_markdown(plan, [("done", ok), ("error", no), ("done", None)])

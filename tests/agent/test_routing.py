"""The offline router's decisions (pure functions, fake warehouse lookups)."""

from __future__ import annotations

from agent import routing

CUSTOMERS = {"C0000123", "ab12cd34ef56ab12cd34ef56ab12cd34"}
LOOKUP = routing.Lookup(lambda c: c in CUSTOMERS, lambda: ["上海分行外滩支行", "北京分行朝阳支行"],
                        lambda: ["高潜力活跃型客户", "大众基础型客户"])


def tools_of(plan: routing.Plan) -> list[str]:
    return [c.tool for c in plan.calls]


def test_customer_id_gets_the_full_brief() -> None:
    plan = routing.plan_for("帮我看看 C0000123 这个客户", None, LOOKUP)
    assert plan.kind == "brief" and plan.subject == "C0000123"
    assert tools_of(plan) == ["predict_million_prob", "explain_customer", "segment_lookup", "recommend_products",
                              "forecast_aum"]


def test_hex_ids_are_recognised_and_unknown_ids_are_not() -> None:
    assert routing.plan_for("ab12cd34ef56ab12cd34ef56ab12cd34", None, LOOKUP).kind == "brief"
    plan = routing.plan_for("C9999999", None, LOOKUP)
    assert plan.kind == "answer" and plan.calls == [] and "客户 C9999999 不存在" in plan.message


def test_ids_are_recognised_in_any_case_and_inside_sentences() -> None:
    for text in ("c0000123", "帮我看看客户 c0000123 的情况", "客户c0000123怎么样", "看看C0000123。", "C0000123."):
        plan = routing.plan_for(text, None, LOOKUP)
        assert plan.kind == "brief" and plan.subject == "C0000123", text
        assert all(c.args["customer_id"] == "C0000123" for c in plan.calls), text


def test_unknown_id_inside_a_sentence_is_named_with_the_lookup_reply() -> None:
    lookup = routing.Lookup(LOOKUP.customer_exists, LOOKUP.branches, LOOKUP.segments,
                            missing=lambda t: f"客户 {t} 不存在。相近的客户ID：C0000123。")
    plan = routing.plan_for("帮我看看客户 c0000124 的情况", None, lookup)
    assert plan.kind == "answer" and plan.message == "客户 c0000124 不存在。相近的客户ID：C0000123。"
    # words that are not shaped like an ID still get the help
    assert routing.plan_for("今天天气怎么样", None, lookup).kind == "help"
    assert routing.plan_for("2026-10 的情况", None, lookup).kind == "help"


def test_commands() -> None:
    p = routing.plan_for("高潜客户名单 上海分行外滩支行", None, LOOKUP)
    assert tools_of(p) == ["predict_million_prob"] and p.calls[0].args == {"top_n": 20, "branch_name": "上海分行外滩支行"}
    assert routing.plan_for("客群概览", None, LOOKUP).calls[0].args == {}
    assert routing.plan_for("客群 高潜力活跃型客户", None, LOOKUP).calls[0].args == {"segment": "高潜力活跃型客户"}
    assert tools_of(routing.plan_for("产品关联规则", None, LOOKUP)) == ["recommend_products"]
    p = routing.plan_for("AUM预测 北京分行朝阳支行 6个月", None, LOOKUP)
    assert p.calls[0].tool == "forecast_aum" and p.calls[0].args == {"horizon": 6, "branch_name": "北京分行朝阳支行"}
    assert tools_of(routing.plan_for("全局解释", None, LOOKUP)) == ["explain_customer"]


def test_sql_message_runs_as_sql() -> None:
    p = routing.plan_for("  select 1", None, LOOKUP)
    assert tools_of(p) == ["sql_inter"] and p.calls[0].args["sql"].strip() == "select 1"


def test_follow_ups_use_the_previous_customer() -> None:
    assert routing.plan_for("他适合什么产品？", "C0000123", LOOKUP).calls[0].args == {"customer_id": "C0000123", "top_k": 5}
    assert tools_of(routing.plan_for("为什么？", "C0000123", LOOKUP)) == ["explain_customer"]
    # the branch follow-up answers about the branch only (no second probability), money in 亿/万
    plan = routing.plan_for("那他所在分行呢？", "C0000123", LOOKUP)
    assert tools_of(plan) == ["sql_inter"]
    assert "总AUM_亿元" in plan.calls[0].args["sql"] and "人均AUM_万元" in plan.calls[0].args["sql"]
    # without a previous customer the same words get a reply that says what is missing, not the help
    plan = routing.plan_for("他适合什么产品？", None, LOOKUP)
    assert plan.kind == "answer" and plan.calls == [] and "哪位客户" in plan.message


def test_every_branch_is_a_bank_wide_question_even_after_a_customer() -> None:
    # seen as a branch-scoped RM: after a brief, "各分行客户数" ran the previous customer's branch query
    for text, level in (("各分行客户数", "分行"), ("每个网点的客户数和AUM", "网点"), ("所有支行概况", "网点")):
        for previous in (None, "C0000123"):
            plan = routing.plan_for(text, previous, LOOKUP)
            assert tools_of(plan) == ["sql_inter"] and plan.calls[0].args["sql"] == routing.ranking_sql(level, 100), text
            assert "C0000123" not in plan.calls[0].args["sql"] and not plan.subject
    assert "C0000123" in routing.plan_for("那他所在分行呢？", "C0000123", LOOKUP).calls[0].args["sql"]


def test_a_brief_every_tool_refused_says_so_once() -> None:
    refusal = "该客户不属于您有权查看的分行，无法提供信息。"
    tools = ["predict_million_prob", "explain_customer", "segment_lookup", "recommend_products", "forecast_aum"]
    text = routing.compose_brief("C0000123", [(t, refusal) for t in tools])
    assert text.count(refusal) == 1 and "建议话术" not in text and "C0000123" in text
    # one tool's own error stays in its section of an otherwise normal brief
    mixed = routing.compose_brief("C0000123", [(t, refusal if t == "forecast_aum" else "- 概率：**12.5%**")
                                               for t in tools])
    assert "建议话术" in mixed and mixed.count(refusal) == 1


def test_help_mentions_how_to_enable_an_llm() -> None:
    text = routing.help_text(routing.ENABLE_LLM_HINT)
    assert "DASHSCOPE_API_KEY" in text and "LLM_BASE_URL" in text and "离线模式" in text


def test_brief_uses_only_tool_results() -> None:
    results = [("predict_million_prob", "- 未来3个月总资产达到100万的概率：**12.5%**"),
               ("explain_customer", "原因"), ("segment_lookup", "客户 C0000123 属于「高潜力活跃型客户」"),
               ("recommend_products", "| 推荐产品 | 规则 |\n|---|---|\n| 基金 | 理财 → 基金 |"), ("forecast_aum", "预测")]
    brief = routing.compose_brief("C0000123", results)
    assert "12.5%" in brief and "高潜力活跃型客户" in brief and "基金" in brief and "建议话术" in brief
    cool = routing.compose_brief("C0000123", [("predict_million_prob", "概率：**3.0%** 【提醒】该客户处于营销冷静期")])
    assert "不推荐任何产品" in cool and "首推" not in cool


PROSPECT = ("客户 C0000123（上海分行外滩支行）截至 2026-10：\n- 称呼：王先生\n- 未来3个月总资产达到100万的概率：**12.5%**\n"
            "- 当前总资产：88.0万，距百万还差 12.0万")
EXPLAIN = "**推动因素**\n\n| 因素 | 取值 | 对概率的影响 |\n|---|---|---|\n| {driver} | 1 | +3.0个百分点 |\n"
SEGMENT = ("客户 C0000123 属于「高潜力活跃型客户」（客群 1）。\n\n营销方案：\n- 频率：人工联系每30天不超过1次（遵守30天营销冷静期）"
           "\n- 参考话术：您好，现在有一款理财…")
RECOMMEND = "| 推荐产品 | 规则 |\n|---|---|\n| 基金 | 理财 → 基金 |"


def brief(pred: str, *, driver: str = "近3月理财复购次数增加", segment: str = SEGMENT, recommend: str = RECOMMEND) -> str:
    return routing.compose_brief("C0000123", [("predict_million_prob", pred), ("explain_customer", EXPLAIN.format(driver=driver)),
                                              ("segment_lookup", segment), ("recommend_products", recommend),
                                              ("forecast_aum", "预测")])


def script_of(text: str) -> str:
    return text.split("### 建议话术", 1)[1]


def test_brief_for_a_customer_already_above_a_million_is_about_retention() -> None:
    pred = ("客户 C0005016（北京分行朝阳支行）在 2026-10 的总资产为 156.3万，已经是百万客户，不需要预测达标概率；"
            "建议关注资产保有与配置优化。\n- 称呼：李女士\n")
    text = brief(pred)
    script = script_of(text)
    assert "主要工具没有返回结果" not in text
    assert "资产保有与配置升级" in script and "李女士您好" in script and "北京分行朝阳支行" in script
    assert "已是百万客户（总资产 156.3万）" in text and "首推" not in text


def test_brief_in_the_cool_period_is_service_only_everywhere() -> None:
    pred = PROSPECT + "\n【提醒】该客户处于营销冷静期（至 2026-11-11），冷静期内请勿主动营销。"
    text = brief(pred)
    assert text.index("营销冷静期（至 2026-11-11）") < text.index("### 1.")  # before any section
    assert "推荐产品（冷静期后使用）" in text and "首推" not in text
    script = script_of(text)
    assert "服务" in script and "不推荐任何产品" in script and "基金" not in script


def test_script_opening_fits_the_customer() -> None:
    openings = {script_of(brief(PROSPECT, driver=d)).strip().splitlines()[0]
                for d in ("近3月理财复购次数增加", "APP登录次数变化（当月-前两月均值）", "月收入")}
    assert len(openings) == 3
    one = script_of(brief(PROSPECT))
    assert "冷静期" not in one  # the segment plan's "遵守30天营销冷静期" is not the customer's cool period
    assert "王先生您好" in one and "上海分行外滩支行" in one and "理财" in one and "基金" in one
    assert "12.0万" in one  # close to the line: the RM can say how close
    far = script_of(brief(PROSPECT.replace("距百万还差 12.0万", "距百万还差 60.0万")))
    assert "60.0万" not in far


def test_requests_to_change_data_are_refused_before_any_tool() -> None:
    for text in ("把客户 C0000123 的总资产改成200万", "删除所有流失预警客户的数据", "帮我修改 C0000123 的手机号",
                 "DELETE FROM customer_base", "drop table customer_base", "更新一下客户的资产余额"):
        plan = routing.plan_for(text, "C0000123", LOOKUP)
        assert plan.kind == "refuse" and plan.calls == [], text
    assert "只读" in routing.REFUSE_WRITE
    # reading questions that merely mention a customer or a product still route as before
    assert routing.plan_for("C0000123", None, LOOKUP).kind == "brief"
    assert routing.plan_for("他适合什么产品？", "C0000123", LOOKUP).calls[0].tool == "recommend_products"
    assert routing.plan_for("select count(*) from customer_base", None, LOOKUP).calls[0].tool == "sql_inter"


def test_branch_ranking_request_runs_the_ranking_sql() -> None:
    plan = routing.plan_for("各分行最新月总AUM排名前10", None, LOOKUP)
    assert tools_of(plan) == ["sql_inter"]
    sql = plan.calls[0].args["sql"]
    assert "LIMIT 10" in sql and "INSTR(b.branch_name, '分行')" in sql and "MAX(stat_month)" in sql
    assert "LIMIT 5" in routing.plan_for("各网点AUM排名前5", None, LOOKUP).calls[0].args["sql"]
    assert "forecast_aum" not in tools_of(plan)


def test_product_follow_up_says_why_in_words() -> None:
    rec = ("客户 C0000123 当前持有：存款 + 基金。\n\n推荐产品（按规则强度排序）：\n\n"
           "| 推荐产品 | 规则 | 支持度 | 置信度 | 提升度 |\n|---|---|---|---|---|\n"
           "| 理财 | 基金 + 年龄40-49岁 → 理财 | 2.1% | 50.2% | 1.31 |\n| 保险 | 基金 → 保险 | 4.1% | 37.4% | 1.28 |")
    text = routing.compose_products("C0000123", [("recommend_products", rec)])
    assert text.startswith("客户 C0000123 目前持有：存款 + 基金。")
    assert "最适合补充的是**理财**：与他情况相近的客户（基金 + 年龄40-49岁）中有 50.2% 持有理财，是全体客户平均持有率的 1.31 倍" in text
    assert "其次：**保险**" in text and "冷静期" not in text
    cool = routing.compose_products("C0000123", [("recommend_products", rec.replace(
        "。\n\n推荐", "。\n【提醒】该客户处于营销冷静期（至 2026-11-11），冷静期内请勿主动营销。\n\n推荐"))])
    assert "营销冷静期（至 2026-11-11）：以上建议留待冷静期结束后使用" in cool


def test_list_length_and_cool_period_as_asked() -> None:
    assert routing.plan_for("高潜客户名单 前50名", None, LOOKUP).calls[0].args == {"top_n": 50}
    assert routing.plan_for("给我30个潜客", None, LOOKUP).calls[0].args == {"top_n": 30}
    args = routing.plan_for("高潜客户名单（包括冷静期客户）", None, LOOKUP).calls[0].args
    assert args == {"top_n": 20, "include_cool": True}


def test_every_command_in_the_help_is_understood() -> None:
    import re

    for usage, _what in routing.COMMANDS:
        for example in usage.split(" / "):
            example = re.sub(r"\[[^\]]*\]", "", example).replace("...", "1").strip()
            example = re.sub(r"（如 (\S+)）", "", example).replace("客户ID", "C0000123")
            plan = routing.plan_for(example, None, LOOKUP)
            assert plan.kind != "help" and plan.calls, (usage, example, plan)

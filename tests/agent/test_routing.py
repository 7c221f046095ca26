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
    assert routing.plan_for("C9999999", None, LOOKUP).kind == "help"


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
    assert routing.plan_for("他适合什么产品？", "C0000123", LOOKUP).calls[0].args == {"customer_id": "C0000123"}
    assert tools_of(routing.plan_for("为什么？", "C0000123", LOOKUP)) == ["explain_customer"]
    assert tools_of(routing.plan_for("那他所在分行呢？", "C0000123", LOOKUP)) == ["predict_million_prob", "sql_inter"]
    # without a previous customer the same words are not understood
    assert routing.plan_for("他适合什么产品？", None, LOOKUP).kind == "help"


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
    assert "不主动推荐产品" in cool


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

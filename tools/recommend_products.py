"""recommend_products: products a customer does not hold yet, with the association rule as evidence."""

from __future__ import annotations

from typing import Any

import pandas as pd
from qwen_agent.tools.base import register_tool

from conversation.session import Session
from million.fmt import md_table
from million.rules.results import RecommendStatus
from million.services import get_services
from tools.base import MarketingTool, ToolOutput, customer_id_arg, customer_id_schema, unknown_customer
from tools.scope import check_customer_scope
from tools.wording import not_recommended, recommendation_summary


def _rule_text(antecedents: Any) -> str:
    if isinstance(antecedents, (list, tuple, set, frozenset)):
        return " + ".join(map(str, antecedents))
    return str(antecedents)


@register_tool("recommend_products")
class RecommendProducts(MarketingTool):
    summary = "基于关联规则推荐客户尚未持有的产品（附支持度、置信度、提升度）；不给参数时列出最强规则。"  # its line in the system prompt
    description = ("基于 Apriori 关联规则的产品推荐：给 customer_id 时，推荐该客户尚未持有的产品（存款/理财/基金/保险），"
                   "附规则依据（支持度、置信度、提升度），并提示营销冷静期；不给 customer_id 时列出最强的关联规则。")
    parameters = {
        "type": "object",
        "properties": {
            "customer_id": customer_id_schema("客户ID；不填则列出最强规则"),
            "top_k": {"type": "integer", "description": "推荐或规则条数，默认3（规则默认10）", "minimum": 1, "maximum": 30},
        },
        "required": [],
    }

    def run(self, args: dict[str, Any], session: Session) -> ToolOutput:
        cid = customer_id_arg(args["customer_id"]) if args.get("customer_id") is not None else None
        svc = get_services().rules()
        if cid is None:
            df = svc.top_rules(int(args.get("top_k", 10)))
            view = pd.DataFrame({
                "如果持有/属于": df["antecedents"].map(_rule_text), "那么也会持有": df["consequents"].map(_rule_text),
                "支持度": df["support"].map(lambda v: f"{v:.1%}"), "置信度": df["confidence"].map(lambda v: f"{v:.1%}"),
                "提升度": df["lift"].map(lambda v: f"{v:.2f}")})
            return ToolOutput(f"最强的 {len(df)} 条产品关联规则（按提升度排序，均满足提升度>1）：\n\n" + md_table(view, 30),
                              rows=len(df))
        check_customer_scope(cid, session)
        session.context["customer_id"] = cid
        r = svc.recommend(cid, top_k=int(args.get("top_k", 3)))
        if r.status is RecommendStatus.UNKNOWN:
            raise unknown_customer(cid, session)
        if r.status is not RecommendStatus.OK:
            return ToolOutput(f"客户 {cid} 当前持有：未知。\n{not_recommended(r)}", status="error")
        recs, held = r.recommendations, r.held_products
        lines = [f"客户 {cid} 当前持有：{_rule_text(held) if held else '未知'}。"]
        if r.in_cool_period:
            lines.append(f"【提醒】该客户处于营销冷静期（至 {r.cool_period_until}），冷静期内请勿主动营销，以下推荐留待冷静期后使用。")
        if not recs:
            lines.append(recommendation_summary(r))
            return ToolOutput("\n".join(lines))
        view = pd.DataFrame([{
            "推荐产品": x.product_name, "规则": f"{_rule_text(x.antecedents)} → {x.product_name}",
            "支持度": f"{x.support:.1%}", "置信度": f"{x.confidence:.1%}", "提升度": f"{x.lift:.2f}"}
            for x in recs])
        lines.append("\n推荐产品（按规则强度排序）：\n\n" + md_table(view))
        return ToolOutput("\n".join(lines), rows=len(recs))

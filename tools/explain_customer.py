"""explain_customer: why the model scores a customer as it does (SHAP), or the global drivers."""

from __future__ import annotations

from typing import Any

import pandas as pd
from qwen_agent.tools.base import register_tool

from conversation.session import Session
from million.fmt import md_table
from million.services import get_services
from tools.base import MarketingTool, ToolInputError, ToolOutput, customer_id_arg
from tools.scope import check_customer_scope


def _factor_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame([{"因素": r.get("label", r.get("feature")), "取值": _val(r.get("value")),
                          "影响(SHAP)": f"{r.get('shap', 0):+.3f}"} for r in rows])


def _val(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.2f}" if abs(v) < 1e4 else f"{v / 1e4:,.1f}万"
    return str(v)


@register_tool("explain_customer")
class ExplainCustomer(MarketingTool):
    description = ("用 SHAP 解释百万概率模型：给 customer_id 时列出推动该客户达到百万的主要因素和拖累因素（业务语言、取值和贡献），"
                   "并画瀑布图；不给 customer_id 时给出全局最重要的因素。")
    parameters = {
        "type": "object",
        "properties": {
            "customer_id": {"type": "string", "description": "客户ID；不填则给全局解释", "maxLength": 64},
            "top_k": {"type": "integer", "description": "每个方向列出的因素个数，默认5", "minimum": 1, "maximum": 15},
        },
        "required": [],
    }

    def run(self, args: dict[str, Any], session: Session) -> ToolOutput:
        k = int(args.get("top_k", 5))
        cid = customer_id_arg(args["customer_id"]) if args.get("customer_id") is not None else None
        svc = get_services().propensity()
        if cid is None:
            g = svc.global_explanation(top_k=max(k, 10))
            rows = g.get("factors", [])
            table = pd.DataFrame([{"排名": i + 1, "因素": r.get("label", r.get("feature")),
                                   "平均|SHAP|": f"{r.get('mean_abs_shap', 0):.4f}"} for i, r in enumerate(rows)])
            text = "百万概率模型的全局重要因素（按平均 |SHAP| 排序）：\n\n" + md_table(table, 15)
            return ToolOutput(text, files=[("全局特征重要性.png", svc.global_png())])
        check_customer_scope(cid, session)
        session.context["customer_id"] = cid
        r = svc.explain(cid, top_k=k)
        status = r.get("status", "ok")
        if status == "unknown":
            raise ToolInputError(f"未找到客户 {cid}，请确认客户ID是否正确。")
        if status in {"insufficient_history", "already_million"}:
            msg = r.get("message") or ("该客户已是百万客户，无需解释达标概率。" if status == "already_million"
                                       else "该客户历史数据不足3个月，无法解释。")
            return ToolOutput(f"客户 {cid}：{msg}")
        pos, neg = r.get("factors_for", []), r.get("factors_against", [])
        text = (f"客户 {cid} 的百万概率解释（基准值 {r.get('base_value', 0):.3f}，正值推高概率，负值拉低概率）：\n\n"
                f"**推动因素**\n\n{md_table(_factor_table(pos))}\n\n**拖累因素**\n\n{md_table(_factor_table(neg))}")
        return ToolOutput(text, files=[(f"SHAP瀑布图_{cid}.png", svc.waterfall_renderer(cid))])

"""explain_customer: why the model scores a customer as it does (SHAP), or the global drivers."""

from __future__ import annotations

from typing import Any

import pandas as pd
from qwen_agent.tools.base import register_tool

from conversation.session import Session
from million.fmt import md_table, pct
from million.propensity.results import Factor, PredictStatus
from million.services import get_services
from tools.base import MarketingTool, ToolOutput, customer_id_arg, customer_id_schema, unknown_customer
from tools.scope import check_customer_scope
from tools.wording import not_scored


def _factor_table(rows: tuple[Factor, ...]) -> pd.DataFrame:
    return pd.DataFrame([{"因素": r.label or r.feature, "取值": r.value_text or _val(r.value),
                          "对概率的影响": points(r.impact)} for r in rows])


def points(x: float | None) -> str:
    """+3.2个百分点 for a probability change of 0.032 (<0.1 shown as such, never +0.0)."""
    v = float(x or 0.0) * 100
    if abs(v) < 0.05:
        return ("+" if v >= 0 else "-") + "不到0.1个百分点"
    return f"{v:+.1f}个百分点"


def _direction(mean_shap: Any) -> str:
    try:
        v = float(mean_shap)
    except (TypeError, ValueError):
        return "-"
    return "多为推高" if v > 0 else "多为拉低" if v < 0 else "-"


def _val(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.2f}" if abs(v) < 1e4 else f"{v / 1e4:,.1f}万"
    return str(v)


@register_tool("explain_customer")
class ExplainCustomer(MarketingTool):
    summary = "用 SHAP 解释某客户的预测（推动/拖累因素）；不给 customer_id 时给出全局重要因素。"  # its line in the system prompt
    description = ("用 SHAP 解释百万概率模型：给 customer_id 时列出推动该客户达到百万的主要因素和拖累因素（业务语言、取值和贡献），"
                   "并画瀑布图；不给 customer_id 时给出全局最重要的因素。")
    parameters = {
        "type": "object",
        "properties": {
            "customer_id": customer_id_schema("客户ID；不填则给全局解释"),
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
            total = g.total_mean_abs_shap
            table = pd.DataFrame([{"排名": i + 1, "因素": r.label or r.feature,
                                   "重要性占比": f"{float(r.mean_abs_shap) / total:.1%}" if total else "-",
                                   "通常的方向": _direction(r.mean_shap)} for i, r in enumerate(g.factors)])
            text = ("百万概率模型的全局重要因素（按 SHAP 平均影响大小排序；重要性占比 = 该因素的平均影响占全部因素之和的比例）："
                    "\n\n" + md_table(table, 15))
            return ToolOutput(text, files=[("全局特征重要性.png", svc.global_png())])
        check_customer_scope(cid, session)
        session.context["customer_id"] = cid
        r = svc.explain(cid, top_k=k)
        if r.status is PredictStatus.UNKNOWN:
            raise unknown_customer(cid, session)
        if not r.prediction.scored:
            return ToolOutput(f"客户 {cid}：{not_scored(r.prediction)}")
        pos, neg = r.factors_for, r.factors_against
        text = (f"客户 {cid} 达到百万的概率为 {pct(r.probability)}；潜客的平均概率为 "
                f"{pct(r.base_probability)}，下面各因素把概率从平均水平推高（+）或拉低（-）了多少个百分点：\n\n"
                f"**推动因素**\n\n{md_table(_factor_table(pos)) if pos else '（无）'}\n\n"
                f"**拖累因素**\n\n{md_table(_factor_table(neg)) if neg else '（无）'}")
        return ToolOutput(text, files=[(f"SHAP瀑布图_{cid}.png", svc.waterfall_chart(cid))])

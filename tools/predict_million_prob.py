"""predict_million_prob: one customer's probability of reaching 100万 within 3 months, or a
ranked list of prospects (optionally per branch / segment, without customers in cool period)."""

from __future__ import annotations

from typing import Any

from qwen_agent.tools.base import register_tool

from conversation.session import Session
from million.fmt import excel_csv, md_table, pct, wan
from million.privacy import mask_frame
from million.services import get_services
from million.settings import get_settings
from tools.base import MarketingTool, ToolInputError, ToolOutput, customer_id_arg, optional_text
from tools.scope import check_customer_scope, scoped_branch


@register_tool("predict_million_prob")
class PredictMillionProb(MarketingTool):
    description = ("预测客户未来3个月总资产达到100万的概率（校准后的 LightGBM）。给 customer_id 时返回该客户的概率、"
                   "在全部潜客中的排名、当前资产与距百万差额；不给 customer_id 时返回高潜客户名单（top_n，可按 branch_name 分行、"
                   "segment 客群筛选；默认排除营销冷静期内的客户，include_cool=true 时包含）。")
    parameters = {
        "type": "object",
        "properties": {
            "customer_id": {"type": "string", "description": "客户ID；不填则返回名单", "maxLength": 64},
            "top_n": {"type": "integer", "description": "名单长度，默认20", "minimum": 1, "maximum": 200},
            "branch_name": {"type": "string", "description": "只看该分行/支行（可写部分名称，如 上海分行）", "maxLength": 100},
            "segment": {"type": "string", "description": "只看该客群（名称或编号）", "maxLength": 100},
            "include_cool": {"type": "boolean", "description": "是否包含营销冷静期内的客户，默认 false"},
        },
        "required": [],
    }

    def run(self, args: dict[str, Any], session: Session) -> ToolOutput:
        if args.get("customer_id") is not None:
            cid = customer_id_arg(args["customer_id"])
            check_customer_scope(cid, session)
            session.context["customer_id"] = cid
            return _single(get_services().propensity().predict(cid, branches=session.branches))
        branch = scoped_branch(optional_text(args, "branch_name"), session)
        svc = get_services().propensity()
        n = int(args.get("top_n", 20))
        try:
            # A scoped user sees their branches only, ranked among themselves.
            df = svc.top(n, branch_name=branch, segment=optional_text(args, "segment"),
                         include_cool=bool(args.get("include_cool", False)), branches=session.branches)
        except ValueError as e:
            raise ToolInputError(str(e)) from e
        if df.empty:
            return ToolOutput("没有符合条件的潜客（可能分行名称不对，或都在冷静期内）。", rows=0)
        view = df.copy()
        cols = [c for c in ("rank", "customer_id", "name", "branch_name", "total_assets", "probability", "in_cool_period")
                if c in view.columns]
        view = view[cols]
        if "total_assets" in view:
            view["total_assets"] = view["total_assets"].map(wan)
        if "probability" in view:
            view["probability"] = view["probability"].map(pct)
        view = view.rename(columns={"rank": "排名", "customer_id": "客户ID", "name": "姓名", "branch_name": "分行",
                                    "total_assets": "总资产", "probability": "百万概率", "in_cool_period": "冷静期"})
        scope = f"（{branch}）" if branch else ""
        head = (f"高潜客户名单{scope}：共 {len(df)} 人，按未来3个月达到100万的概率排序"
                f"{'，已排除营销冷静期内的客户' if not args.get('include_cool') else ''}。"
                f"预计其中约 {df['probability'].sum():.1f} 人会在3个月内达到百万。")
        s = get_settings()
        llm_view = mask_frame(view) if s.mask_personal_data and s.llm_mode != "offline" else view
        return ToolOutput(head + "\n\n" + md_table(llm_view, 20), head + "\n\n" + md_table(view, 200),
                          [("高潜客户名单.csv", excel_csv(df))], rows=len(df))


def _single(r: dict[str, Any]) -> ToolOutput:
    cid = r.get("customer_id", "")
    status = r.get("status")
    if status == "unknown":
        raise ToolInputError(f"未找到客户 {cid}，请确认客户ID是否正确。")
    if status == "insufficient_history":
        return ToolOutput(f"客户 {cid} 的历史数据不足3个月（{r.get('months_of_history', '不足3')} 个月），无法预测达到百万的概率。")
    if status == "already_million":
        return ToolOutput(f"客户 {cid} 在 {r.get('as_of')} 的总资产为 {wan(r.get('total_assets'))}，已经是百万客户，"
                          "不需要预测达标概率；建议关注资产保有与配置优化。")
    cool = (f"\n【提醒】该客户处于营销冷静期（至 {r.get('cool_period_until')}），冷静期内请勿主动营销。"
            if r.get("in_cool_period") else "")
    n = r.get("n_prospects") or 0
    top_share = f"（前 {_top_share(r['rank'] / n)}）" if n and r.get("rank") else ""
    text = (f"客户 {cid}（{r.get('branch_name', '-')}）截至 {r.get('as_of')}：\n"
            f"- 未来3个月总资产达到100万的概率：**{pct(r.get('probability'))}**\n"
            f"- 在 {n:,} 名潜客中排名第 {r.get('rank', '-'):,}{top_share}\n"
            f"- 当前总资产：{wan(r.get('total_assets'))}，距百万还差 {wan(r.get('gap_to_million'))}\n"
            f"- 模型：{r.get('model', '-')}，样本外 ROC-AUC {r.get('oot_auc', float('nan')):.3f}{cool}")
    return ToolOutput(text)


def _top_share(share: float) -> str:
    """前 0.1% rather than 前 0.0% for the very top ranks."""
    return "0.1% 以内" if share < 0.001 else f"{share:.1%}"

"""segment_lookup: a customer's segment, a segment's profile and marketing plan, or all segments."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pandas as pd
from qwen_agent.tools.base import register_tool

from conversation.session import Session
from million.fmt import md_table, pct, wan
from million.segments.lookup import LookupError_
from million.segments.results import SegmentDoc, SegmentStatus
from million.services import get_services
from tools.base import (
    MarketingTool,
    ToolInputError,
    ToolOutput,
    customer_id_arg,
    customer_id_schema,
    name_schema,
    optional_text,
    unknown_customer,
)
from tools.scope import check_customer_scope
from tools.wording import no_segment, segment_not_found, segment_summary

if TYPE_CHECKING:
    from million.segments.serving import SegmentService

PROFILE_LABELS = {
    "size": "人数", "share": "占比", "avg_age": "平均年龄", "avg_income": "平均月收入", "avg_aum": "平均总资产",
    "avg_repurchase": "平均理财复购次数", "avg_card_spend": "平均信用卡月消费", "avg_product_count": "平均持有产品数",
    "prospect_share": "潜客占比", "avg_propensity": "平均百万概率", "top_occupations": "主要职业类型",
}


def _fmt_value(key: str, v: Any) -> str:
    if v is None:
        return "暂无"
    if key in {"avg_income", "avg_aum", "avg_card_spend"}:
        return wan(v)
    if key in {"share", "prospect_share", "avg_propensity"} and isinstance(v, (int, float)):
        return pct(v)
    if isinstance(v, float):
        return f"{v:,.1f}"
    if isinstance(v, (list, tuple)):
        return "、".join(map(str, v))
    if isinstance(v, dict):
        return "、".join(f"{k}({n})" for k, n in v.items())
    return str(v)


def profile_md(seg: SegmentDoc, *, with_plan: bool = True) -> str:
    prof = seg["profile"]
    lines = [f"- {PROFILE_LABELS[k]}：{_fmt_value(k, prof[k])}" for k in PROFILE_LABELS if k in prof]
    plan = seg["plan"] if with_plan else None
    if isinstance(plan, dict):
        lines.append("\n营销方案：")
        names = {"goal": "目标", "products": "主推产品", "channel": "渠道", "frequency": "频率", "script": "参考话术"}
        lines += [f"- {names.get(k, k)}：{_fmt_value(k, v)}" for k, v in plan.items() if k in names]
    elif plan:
        lines.append(f"\n营销方案：{plan}")
    return "\n".join(lines)


def _scope_note(session: Session) -> str:
    return "（画像按您负责的分行统计）" if session.branches is not None else ""


def cool_until(cid: str) -> str | None:
    """The end of the customer's marketing cool period when in one now (the propensity model's rule,
    the same one the prospect lists and the dashboard use), else None; None too without the model."""
    try:
        r = get_services().propensity().predict(cid)
    except Exception:  # the model is not built yet: the segment answer does not depend on it
        return None
    return (r.cool_period_until or "冷静期结束") if r.in_cool_period else None


@register_tool("segment_lookup")
class SegmentLookup(MarketingTool):
    summary = "客户所属客群、客群画像与营销方案；不给参数时列出全部客群。"  # its line in the system prompt
    description = ("客群查询（KMeans 客户分群）：给 customer_id 返回该客户所属客群、画像和差异化营销方案；给 segment（客群名称或编号）"
                   "返回该客群画像与营销方案；都不给时列出全部客群概览。")
    parameters = {
        "type": "object",
        "properties": {
            "customer_id": customer_id_schema("客户ID"),
            "segment": name_schema("客群名称或编号，如 高潜力活跃型客户"),
        },
        "required": [],
    }

    def run(self, args: dict[str, Any], session: Session) -> ToolOutput:
        if args.get("customer_id") is not None and args.get("segment"):
            raise ToolInputError("customer_id 和 segment 只能指定一个。")
        svc = get_services().segments()
        if args.get("customer_id") is not None:
            return _customer(svc, customer_id_arg(args["customer_id"]), session)
        name = optional_text(args, "segment")
        if name:
            return _segment(svc, name, session)
        return _overview(svc, session)


def _mine(svc: SegmentService, seg: SegmentDoc, session: Session) -> SegmentDoc:
    """The segment as the user may see it: counted over their branches when scoped."""
    return seg if session.branches is None else svc.in_branches(session.branches)[seg["segment_id"]]


def _customer(svc: SegmentService, cid: str, session: Session) -> ToolOutput:
    check_customer_scope(cid, session)
    session.context["customer_id"] = cid
    r = svc.for_customer(cid)
    if r.status is SegmentStatus.UNKNOWN:
        raise unknown_customer(cid, session)
    if r.segment is None:  # no monthly data, or the warehouse failed
        return ToolOutput(no_segment(r), status="error" if r.status is SegmentStatus.ERROR else "ok")
    session.context["segment"] = str(r.segment_name)
    seg = _mine(svc, r.segment, session)
    head = f"客户 {cid} 属于「{r.segment_name}」（客群 {r.segment_id}）{_scope_note(session)}。\n\n"
    until = cool_until(cid)
    if until is not None:  # no sales plan or pitch for a customer who must not be marketed to now
        return ToolOutput(head + profile_md(seg, with_plan=False)
                          + f"\n\n【冷静期】该客户处于营销冷静期（至 {until}），本客群的营销方案与参考话术"
                            "暂不适用；冷静期内只做服务性联系，不主动营销。")
    return ToolOutput(head + profile_md(seg))


def _segment(svc: SegmentService, name: str, session: Session) -> ToolOutput:
    try:
        seg = _mine(svc, svc.by_name(name), session)
    except LookupError_ as e:  # SegmentNotFound
        raise ToolInputError(segment_not_found(e.lookup)) from e
    session.context["segment"] = str(seg["segment_name"])
    return ToolOutput(f"客群「{seg['segment_name']}」画像{_scope_note(session)}：\n\n" + profile_md(seg))


def _overview(svc: SegmentService, session: Session) -> ToolOutput:
    scoped = session.branches is not None
    segs = svc.in_branches(session.branches) if session.branches is not None else svc.all()
    rows = []
    for s in segs:
        p = s["profile"]
        rows.append({"客群": s["segment_name"], "人数": p.get("size"), "平均总资产": wan(p.get("avg_aum")),
                     "平均月收入": wan(p.get("avg_income")), "平均产品数": _fmt_value("x", p.get("avg_product_count")),
                     "潜客占比": _fmt_value("prospect_share", p.get("prospect_share")),
                     "平均百万概率": _fmt_value("avg_propensity", p.get("avg_propensity"))})
    overview = [{**s, "summary": segment_summary(s, scoped)} for s in segs]
    return ToolOutput(f"共 {len(segs)} 个客群{_scope_note(session)}：\n\n" + md_table(pd.DataFrame(rows)), rows=len(segs),
                      files=[("客群概览.json", json.dumps(overview, ensure_ascii=False, default=str, indent=1).encode())])

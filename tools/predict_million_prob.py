"""predict_million_prob: one customer's probability of reaching 100万 within 3 months, or a
ranked list of prospects (optionally per branch / segment, without customers in cool period)."""

from __future__ import annotations

from typing import Any

import pandas as pd
from qwen_agent.tools.base import register_tool

from conversation.session import Session
from million.fmt import excel_csv, md_table, pct, wan
from million.privacy import mask_name
from million.propensity.results import Prediction, PredictStatus, ProspectListError
from million.services import get_services
from million.settings import get_settings
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
from tools.scope import check_customer_scope, scoped_branch
from tools.wording import no_prospect_list


@register_tool("predict_million_prob")
class PredictMillionProb(MarketingTool):
    summary = "某客户未来3个月资产达到100万的概率、排名、距百万差额；或高潜客户名单（top_n，可按分行、客群筛选）。"  # its line in the system prompt
    description = ("预测客户未来3个月总资产达到100万的概率（校准后的 LightGBM）。给 customer_id 时返回该客户的概率、"
                   "在全部潜客中的排名、当前资产与距百万差额；不给 customer_id 时返回高潜客户名单（top_n，可按 branch_name 分行、"
                   "segment 客群筛选；默认排除营销冷静期内的客户，include_cool=true 时包含）。")
    parameters = {
        "type": "object",
        "properties": {
            "customer_id": customer_id_schema("客户ID；不填则返回名单"),
            "top_n": {"type": "integer", "description": "名单长度，默认20", "minimum": 1, "maximum": 200},
            "branch_name": name_schema("只看该分行/支行（可写部分名称，如 上海分行）"),
            "segment": name_schema("只看该客群（名称或编号）"),
            "include_cool": {"type": "boolean", "description": "是否包含营销冷静期内的客户，默认 false"},
        },
        "required": [],
    }

    def run(self, args: dict[str, Any], session: Session) -> ToolOutput:
        if args.get("customer_id") is not None:
            cid = customer_id_arg(args["customer_id"])
            check_customer_scope(cid, session)
            session.context["customer_id"] = cid
            return _single(get_services().propensity().predict(cid, branches=session.branches), session)
        branch = scoped_branch(optional_text(args, "branch_name"), session)
        svc = get_services().propensity()
        n = int(args.get("top_n", 20))
        try:
            # A scoped user sees their branches only, ranked among themselves.
            df = svc.top(n, branch_name=branch, segment=optional_text(args, "segment"),
                         include_cool=bool(args.get("include_cool", False)), branches=session.branches)
        except ProspectListError as e:
            raise ToolInputError(no_prospect_list(e)) from e
        if df.empty:
            return ToolOutput("没有符合条件的潜客（可能分行名称不对，或都在冷静期内）。", rows=0)
        include_cool = bool(args.get("include_cool", False))
        scoped = session.branches is not None
        view = prospect_view(df, include_cool, rank_label="分行内排名" if scoped else "全行排名")
        scope = f"（{branch}）" if branch else ""
        as_of = df.attrs.get("as_of") or ""
        head = (f"高潜客户名单{scope}：共 {len(df)} 人，按未来3个月达到100万的概率排序"
                f"{'，已排除营销冷静期内的客户' if not include_cool else ''}"
                f"（评分月 {as_of}；{'分行内排名是您负责的分行中' if scoped else '全行排名'}与单个客户查询的排名一致）。"
                f"预计其中约 {df['probability'].sum():.1f} 人会在3个月内达到百万。")
        name = "_".join(x for x in ("高潜客户名单", branch, optional_text(args, "segment"), as_of, f"前{len(df)}名") if x)
        return ToolOutput(head + "\n\n" + md_table(view, 20), head + "\n\n" + md_table(view, 200),
                          [(f"{name}.csv", excel_csv(prospect_csv(df)))], rows=len(df))


def _yes_no(v: object) -> str:
    return "是" if bool(v) else "否"


def prospect_view(df: pd.DataFrame, include_cool: bool, rank_label: str = "全行排名") -> pd.DataFrame:
    """The list as people read it: 排名 1..n in this list, the bank-wide rank (a scoped user's: the
    rank in their branches) beside it, 万 and %."""
    # names masked as on the dashboard (王**): lists are shown on shared screens and forwarded; the
    # customer ID is what the RM looks up, the brief gives the form of address (王先生)
    view = pd.DataFrame({"排名": range(1, len(df) + 1), "客户ID": df["customer_id"], "姓名": df["name"].map(mask_name),
                         "网点": df["branch_name"], "总资产": df["total_assets"].map(wan),
                         "距百万": df["gap_to_million"].map(wan), "百万概率": df["probability"].map(pct),
                         rank_label: df["rank"].map(lambda r: f"{int(r):,}")})
    if include_cool:
        view["冷静期"] = [f"是（至 {u}）" if c and u else _yes_no(c)
                        for c, u in zip(df["in_cool_period"], df["cool_period_until"], strict=True)]
    return view.reset_index(drop=True)


def prospect_csv(df: pd.DataFrame) -> pd.DataFrame:
    """The download: Chinese headers, money in 元 to the cent, probability in percent."""
    out = pd.DataFrame({"排名": range(1, len(df) + 1), "全行排名": df["rank"].astype(int), "客户ID": df["customer_id"],
                        "姓名": df["name"].map(mask_name), "网点": df["branch_name"],
                        "总资产（元）": df["total_assets"].astype(float).round(2),
                        "距百万（元）": df["gap_to_million"].astype(float).round(2),
                        "百万概率（%）": (df["probability"].astype(float) * 100).round(2),
                        "冷静期": df["in_cool_period"].map(_yes_no),
                        "冷静期至": df["cool_period_until"].fillna("")})
    for c in ("segment_name",):
        if c in df.columns:
            out["客群"] = df[c].to_numpy()
    return out


def _single(r: Prediction, session: Session) -> ToolOutput:
    cid = r.customer_id
    if r.status is PredictStatus.UNKNOWN:
        raise unknown_customer(cid, session)
    if r.status is PredictStatus.INSUFFICIENT_HISTORY:
        return ToolOutput(f"客户 {cid} 的历史数据不足3个月（{r.months_of_history} 个月），无法预测达到百万的概率。")
    cool = (f"\n【提醒】该客户处于营销冷静期（至 {r.cool_period_until}），冷静期内请勿主动营销。"
            if r.in_cool_period else "")
    if r.status is PredictStatus.ALREADY_MILLION:
        return ToolOutput(f"客户 {cid}（{r.branch_name}）在 {r.as_of} 的总资产为 {wan(r.total_assets)}，"
                          f"已经是百万客户，不需要预测达标概率；建议关注资产保有与配置优化。\n{_salutation_line(r)}{cool}")
    n, rank = r.n_prospects, r.rank or 0
    top_share = f"（前 {_top_share(rank / n)}）" if n and rank else ""
    auc = r.oot_auc if r.oot_auc is not None else float("nan")
    text = (f"客户 {cid}（{r.branch_name}）截至 {r.as_of}：\n"
            f"{_salutation_line(r)}"
            f"- 未来3个月总资产达到100万的概率：**{pct(r.probability)}**\n"
            f"- 在 {n:,} 名已评分潜客中排名第 {rank:,}{top_share}\n"
            f"- 当前总资产：{wan(r.total_assets)}，距百万还差 {wan(r.gap_to_million)}\n"
            f"- 模型：{r.model}，样本外 ROC-AUC {auc:.3f}{cool}")
    return ToolOutput(text)


def salutation(name: object, gender: object) -> str:
    """王先生 / 李女士 from the name and gender (the surname only: it is what an RM says on the phone)."""
    n = str(name or "").strip()
    if not n or n in {"nan", "None"}:
        return ""
    title = {"男": "先生", "女": "女士"}.get(str(gender or "").strip(), "")
    return n[0] + title if title else n


def _salutation_line(r: Prediction) -> str:
    s = get_settings()
    if s.mask_personal_data and s.llm_mode != "offline":  # the surname would go to an external LLM
        return ""
    text = salutation(r.name, r.gender)
    return f"- 称呼：{text}\n" if text else ""


def _top_share(share: float) -> str:
    """前 0.1% rather than 前 0.0% for the very top ranks."""
    return "0.1% 以内" if share < 0.001 else f"{share:.1%}"

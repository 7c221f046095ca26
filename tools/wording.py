"""The sentences people read about a domain result. The services in million/ return facts (a status
Enum, numbers, ids, months); what those facts are called in Chinese is decided here, once, for every
tool (and for the offline router, which answers "客户 X 不存在" in the same words)."""

from __future__ import annotations

from million.customers import CustomerIndex, IdShapes
from million.forecast.results import ForecastLevel, ForecastResult, ForecastStatus, Invalid
from million.forecast.store import MAX_HORIZON
from million.propensity.feature_labels import format_value
from million.propensity.results import ListProblem, Prediction, PredictStatus, ProspectListError
from million.rules.results import MAX_TOP_K, Recommendation, RecommendStatus
from million.segments.lookup import LookupProblem, NameLookup, shown
from million.segments.results import CustomerSegment, SegmentDoc, SegmentStatus

# -- customers -------------------------------------------------------------------------------------


def id_range(shapes: IdShapes) -> str:
    """现有客户ID从 C0000001 到 C0020000（共 20,000 位） when the IDs follow one pattern."""
    if shapes.shapes is None or len(shapes.shapes) != 1 or not shapes.first:
        return ""
    return f"现有客户ID从 {shapes.first} 到 {shapes.last}（共 {shapes.count:,} 位）"


def missing_customer(index: CustomerIndex, token: str) -> str:
    """客户 C9999999 不存在。… with the nearest IDs, or the range of IDs there are."""
    near = index.nearest(token)
    parts = [f"客户 {token} 不存在，请核对客户ID。"]
    if near:
        parts.append("相近的客户ID：" + "、".join(near) + "。")
    else:
        rng = id_range(index.shapes())
        if rng:
            parts.append(rng + "。")
    return "".join(parts)


# -- propensity ------------------------------------------------------------------------------------


def not_scored(p: Prediction) -> str:
    """Why a known customer has no probability."""
    if p.status is PredictStatus.ALREADY_MILLION:
        return f"该客户 {p.as_of} 总资产已达 {format_value('aum_cur', p.total_assets)}，已是百万客户"
    if p.status is PredictStatus.INSUFFICIENT_HISTORY:
        return (f"该客户截至 {p.as_of} 只有 {p.months_of_history} 个月的数据，"
                f"模型需要最近 {p.lookback} 个月完整数据，暂无法预测")
    return "未找到该客户ID，请核对后重试（客户ID需与系统中完全一致）"


def no_prospect_list(e: ProspectListError) -> str:
    """Why a prospect list could not be made as asked."""
    if e.problem is ListProblem.BAD_N:
        return "n 必须是正整数"
    if e.problem is ListProblem.NO_SEGMENTS_TABLE:
        return "客群表 customer_segments 尚未生成，请先运行客户分群（make artifacts）后再按客群筛选"
    if e.problem is ListProblem.UNKNOWN_SEGMENT:
        return f"未找到客群“{e.query[:40]}”，可选客群：{'、'.join(e.options[:20])}"
    example = e.options[0] if e.options else ""
    return (f"未找到网点“{e.query[:40]}”，请使用网点名称（如 {example}）或分行名称（如 "
            f"{example.split('分行')[0]}分行）")


# -- segments --------------------------------------------------------------------------------------


def segment_not_found(lookup: NameLookup) -> str:
    """A segment name or number that names no single segment, with the segments there are."""
    listing = "、".join(f"{i}:{n}" for i, n in enumerate(lookup.names))
    return {
        LookupProblem.MISSING: f"请提供客群名称或编号。现有客群：{listing}",
        LookupProblem.BAD_TYPE: f"客群参数应为名称或编号。现有客群：{listing}",
        LookupProblem.EMPTY_OR_LONG: f"客群名称为空或过长。现有客群：{listing}",
        LookupProblem.NO_SUCH_ID: f"没有编号为 {lookup.number} 的客群。现有客群：{listing}",
        LookupProblem.AMBIGUOUS: f"「{shown(lookup.query)}」匹配到多个客群：{'、'.join(lookup.matches)}，请说得更具体些。",
        LookupProblem.NOT_FOUND: f"没有找到名为「{shown(lookup.query)}」的客群。现有客群：{listing}",
    }[lookup.problem]


def branch_not_found(lookup: NameLookup) -> str:
    if lookup.problem is LookupProblem.AMBIGUOUS:
        return f"「{shown(lookup.query)}」匹配到多个分行/支行：{'、'.join(lookup.matches[:10])}，请指定其中一个。"
    return f"没有找到分行/支行「{shown(lookup.query)}」。可选例如：{'、'.join(sorted(lookup.names)[:10])} 等。"


def segment_summary(seg: SegmentDoc, scoped: bool) -> str:
    """One line per segment for the overview download."""
    p = seg["profile"]
    if scoped:
        return f"「{seg['segment_name']}」在您负责的分行中 {p['size']:,} 人（占{p['share']:.1%}）。"
    return f"「{seg['segment_name']}」{p['size']:,}人（占{p['share']:.1%}）：{seg['description']}。"


def warehouse_failed(error: str | None) -> str:
    return f"查询数据仓库失败：{error}"


def no_segment(r: CustomerSegment) -> str:
    """A segment lookup that placed nobody (UNKNOWN is answered with the nearest IDs by the tools)."""
    if r.status is SegmentStatus.NO_DATA:
        return f"客户「{shown(r.customer_id)}」暂无月度资产与行为数据，无法分群。"
    if r.status is SegmentStatus.ERROR:
        return warehouse_failed(r.error)
    if r.status is SegmentStatus.UNKNOWN:
        return f"未找到客户「{shown(r.customer_id)}」，请确认客户ID是否正确。"
    return "客户ID不能为空、过长或包含不可见字符，请检查后重试。"


# -- product recommendations -----------------------------------------------------------------------


def recommendation_summary(r: Recommendation) -> str:
    """What the customer holds, what is recommended (or why nothing is) and the cool period."""
    msg = [f"客户「{shown(r.customer_id)}」（数据月份 {r.as_of_month}）持有：{'、'.join(r.held_products) or '无'}；"
           f"属性：{'、'.join(r.attributes)}。"]
    if r.recommendations:
        msg.append("推荐：" + "；".join(f"{x.product_name}（置信度 {x.confidence:.1%}，提升度 {x.lift:.2f}）"
                                      for x in r.recommendations) + "。")
    elif not r.unsupported_products:
        msg.append("该客户已持有全部四类产品，无需补充推荐。")
    else:
        msg.append(f"未持有的产品（{'、'.join(r.unsupported_products)}）没有满足条件（提升度>1）的关联规则支持，暂不推荐。")
    if r.in_cool_period:
        msg.append(f"注意：该客户处于营销冷静期（至 {r.cool_period_until}），冷静期内请勿主动营销。")
    return "".join(msg)


def not_recommended(r: Recommendation) -> str:
    """A recommendation that could not be made (UNKNOWN is answered with the nearest IDs by the tools)."""
    if r.status is RecommendStatus.ERROR:
        return warehouse_failed(r.error)
    if r.status is RecommendStatus.UNKNOWN:
        return f"未找到客户「{shown(r.customer_id)}」，请确认客户ID是否正确。"
    if r.bad_argument == "top_k":
        return f"推荐数量 top_k 应为 1-{MAX_TOP_K} 的整数。"
    return "客户ID不能为空、过长或包含不可见字符，请检查后重试。"


# -- forecasts -------------------------------------------------------------------------------------

_INVALID_FORECAST = {
    Invalid.HORIZON: f"预测月数 horizon 应为 1-{MAX_HORIZON} 的整数。",
    Invalid.SEVERAL_TARGETS: "customer_id、segment、branch 一次只能指定一个。",
    Invalid.CUSTOMER_ID: "客户ID不能为空、过长或包含不可见字符，请检查后重试。",
    Invalid.BRANCH: "分行名称应为1-100个字符的文本。",
}


def no_forecast(r: ForecastResult) -> str:
    """Why a forecast was not made."""
    if r.status is ForecastStatus.INVALID and r.invalid is not None:
        return _INVALID_FORECAST[r.invalid]
    if r.status is ForecastStatus.INSUFFICIENT_HISTORY:
        return (f"{r.label}只有 {r.months_available} 个月的资产记录，少于 {r.months_needed} 个月，"
                "数据太少，无法可靠预测。")
    if r.status is ForecastStatus.ERROR:
        return warehouse_failed(r.error)
    if r.level is ForecastLevel.SEGMENT:
        if r.lookup is None or not r.lookup.names:
            return "客群预测尚未生成（客群产物缺失）。"
        return segment_not_found(r.lookup)
    if r.level is ForecastLevel.BRANCH and r.lookup is not None:
        return branch_not_found(r.lookup)
    if r.level is ForecastLevel.CUSTOMER:
        return f"未找到客户「{shown(r.customer_id)}」，请确认客户ID是否正确。"
    if r.level is ForecastLevel.TOTAL:
        return "没有全行AUM序列。"
    return "无法预测。"


def not_built(artifact: str) -> str:
    return f"模型产物尚未构建（{artifact}）。请先运行 make artifacts。"

"""The services return facts; the words people read are the tools' (tools/wording.py). These are
the sentences the services used to write themselves, now made from the typed results."""

from __future__ import annotations

import pytest

from million.forecast.results import ForecastLevel, ForecastResult, ForecastStatus, Invalid
from million.rules.results import ProductRecommendation, Recommendation, RecommendStatus
from million.segments.lookup import LookupProblem, NameLookup
from million.segments.results import CustomerSegment, SegmentStatus
from tools import all_tools
from tools.wording import (
    branch_not_found,
    no_forecast,
    no_segment,
    not_recommended,
    recommendation_summary,
    segment_not_found,
)


@pytest.fixture(scope="module")
def t():
    return {x.name: x for x in all_tools()}


def test_explain_words_a_customer_the_model_does_not_score(t, session, known_customers) -> None:
    from million.services import get_services

    svc = get_services().propensity()
    for cid in filter(None, (known_customers["million"], known_customers["short"])):
        p = svc.predict(cid)
        out = t["explain_customer"].call({"customer_id": cid}, session=session)
        assert out.startswith(f"客户 {cid}：该客户"), out
        if p.total_assets is not None and p.months_of_history >= p.lookback:
            assert f"{p.as_of} 总资产已达" in out and "已是百万客户" in out
        else:
            assert f"只有 {p.months_of_history} 个月的数据" in out and f"最近 {p.lookback} 个月" in out


def _rec(**kw) -> Recommendation:
    base = {"status": RecommendStatus.OK, "customer_id": "C0000007", "as_of_month": "2026-10",
            "attributes": ("年龄30-39岁", "月收入1-2万")}
    return Recommendation(**(base | kw))


def test_recommendation_summaries() -> None:
    everything = _rec(held_products=("存款", "理财", "基金", "保险"))
    assert recommendation_summary(everything) == ("客户「C0000007」（数据月份 2026-10）持有：存款、理财、基金、保险；"
                                                  "属性：年龄30-39岁、月收入1-2万。该客户已持有全部四类产品，无需补充推荐。")
    none = _rec(held_products=("存款",), unsupported_products=("基金", "保险"), in_cool_period=True,
                cool_period_until="2026-12-01")
    text = recommendation_summary(none)
    assert "持有：存款；" in text and "未持有的产品（基金、保险）没有满足条件（提升度>1）的关联规则支持" in text
    assert text.endswith("注意：该客户处于营销冷静期（至 2026-12-01），冷静期内请勿主动营销。")
    rec = ProductRecommendation("fund", "基金", ("存款",), "基金", 0.1, 0.4567, 1.234, 0.3, "存款 → 基金")
    assert "推荐：基金（置信度 45.7%，提升度 1.23）。" in recommendation_summary(_rec(recommendations=(rec,)))
    assert not_recommended(Recommendation(RecommendStatus.INVALID, "C1", bad_argument="top_k")) == \
        "推荐数量 top_k 应为 1-30 的整数。"
    assert not_recommended(Recommendation(RecommendStatus.ERROR, "C1", error="timeout")) == "查询数据仓库失败：timeout"


def test_forecast_failures() -> None:
    assert no_forecast(ForecastResult(ForecastStatus.INVALID, invalid=Invalid.HORIZON)) == \
        "预测月数 horizon 应为 1-12 的整数。"
    short = ForecastResult(ForecastStatus.INSUFFICIENT_HISTORY, ForecastLevel.CUSTOMER, "客户「C1」", customer_id="C1",
                           months_available=4, months_needed=6)
    assert no_forecast(short) == "客户「C1」只有 4 个月的资产记录，少于 6 个月，数据太少，无法可靠预测。"
    names = ("稳健型客户", "高潜力活跃型客户")
    seg = NameLookup(LookupProblem.NOT_FOUND, "火星客群", names)
    assert no_forecast(ForecastResult(ForecastStatus.UNKNOWN, ForecastLevel.SEGMENT, lookup=seg)) == \
        "没有找到名为「火星客群」的客群。现有客群：0:稳健型客户、1:高潜力活跃型客户"
    no_segments = NameLookup(LookupProblem.NOT_FOUND, "火星客群", ())
    assert no_forecast(ForecastResult(ForecastStatus.UNKNOWN, ForecastLevel.SEGMENT, lookup=no_segments)) == \
        "客群预测尚未生成（客群产物缺失）。"
    many = NameLookup(LookupProblem.AMBIGUOUS, "分行", ("北京分行A支行", "北京分行B支行"), ("北京分行A支行", "北京分行B支行"))
    assert branch_not_found(many) == "「分行」匹配到多个分行/支行：北京分行A支行、北京分行B支行，请指定其中一个。"
    assert no_forecast(ForecastResult(ForecastStatus.UNKNOWN, ForecastLevel.CUSTOMER, customer_id="C9")) == \
        "未找到客户「C9」，请确认客户ID是否正确。"


def test_prospect_list_problems(t, session) -> None:
    from million.propensity.results import ListProblem, ProspectListError
    from tools.wording import no_prospect_list

    out = t["predict_million_prob"].call({"branch_name": "火星分行"}, session=session)
    assert session.events[-1].status == "error" and out.startswith("未找到网点“火星分行”，请使用网点名称（如 "), out
    assert "分行名称（如 " in out and out.endswith("分行）")
    e = ProspectListError(ListProblem.UNKNOWN_SEGMENT, "火星", ("中产家庭", "年轻高消费"))
    assert no_prospect_list(e) == "未找到客群“火星”，可选客群：中产家庭、年轻高消费"
    assert "customer_segments 尚未生成" in no_prospect_list(ProspectListError(ListProblem.NO_SEGMENTS_TABLE, "x"))
    assert no_prospect_list(ProspectListError(ListProblem.BAD_N, "0")) == "n 必须是正整数"


def test_segment_lookups() -> None:
    names = ("稳健型客户", "高潜力活跃型客户")
    assert segment_not_found(NameLookup(LookupProblem.NO_SUCH_ID, "9", names, number=9)) == \
        "没有编号为 9 的客群。现有客群：0:稳健型客户、1:高潜力活跃型客户"
    assert segment_not_found(NameLookup(LookupProblem.AMBIGUOUS, "型", names, names)) == \
        "「型」匹配到多个客群：稳健型客户、高潜力活跃型客户，请说得更具体些。"
    assert no_segment(CustomerSegment(SegmentStatus.NO_DATA, "C5")) == "客户「C5」暂无月度资产与行为数据，无法分群。"


def test_tools_word_unknown_names(t, session) -> None:
    out = t["segment_lookup"].call({"segment": "不存在的客群"}, session=session)
    assert session.events[-1].status == "error" and out.startswith("没有找到名为「不存在的客群」的客群。现有客群：0:")
    out = t["forecast_aum"].call({"branch_name": "火星分行月球支行"}, session=session)
    assert session.events[-1].status == "error" and out.startswith("没有找到分行/支行「火星分行月球支行」。可选例如：")


def test_a_missing_artifact_is_worded_by_the_tool(app_settings, session, known_customers, tmp_path) -> None:
    """The domain says which artifact is missing; the tool says it in Chinese."""
    import dataclasses

    from million.services import Services, get_services, set_services
    from tools import all_tools

    before = get_services()
    set_services(Services(dataclasses.replace(app_settings, artifacts_dir=tmp_path)))
    try:
        tool = next(t for t in all_tools() if t.name == "predict_million_prob")
        text = tool.call({"customer_id": known_customers["prospect"]}, session=session)
    finally:
        set_services(before)
    assert text == "模型产物尚未构建（propensity）。请先运行 make artifacts。" and session.events[-1].status == "error"

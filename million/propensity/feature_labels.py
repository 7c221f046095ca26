"""Business words (Chinese) for every feature, and how to show its value to a person."""

from __future__ import annotations

import math

from million.fmt import pct, wan
from million.propensity.features import (
    ACTIVITY,
    AMOUNTS,
    CATEGORIES,
    FEATURE_COLUMNS,
    PRODUCTS,
)

_AMOUNT = {"aum": "总资产", "deposit": "存款余额", "financial": "理财余额", "fund": "基金余额", "insurance": "保险余额"}
_AMOUNT_STAT = {"mean": "近3月平均{}", "max": "近3月最高{}", "min": "近3月最低{}", "cur": "当月{}",
                "slope": "{}月均变化（近3月趋势）", "growth": "{}近3月增长率", "vol": "{}近3月波动率"}
_ACT = {"login": ("APP登录次数", "count"), "view": ("理财页面浏览时长", "seconds"),
        "compare": ("产品对比次数", "count"), "invest": ("投资交易次数", "count"),
        "card": ("信用卡消费", "money")}
_ACT_STAT = {"mean": "近3月月均{}", "cur": "当月{}", "prev": "上月{}", "first": "前2月{}",
             "max": "近3月最高{}", "trend": "{}变化（当月-前两月均值）"}
_PRODUCT = {"deposit": "存款", "financial": "理财", "fund": "基金", "insurance": "保险"}
_CAT = {"occupation_type": "职业类型", "city_level": "城市等级", "lifecycle_stage": "生命周期", "marriage_status": "婚姻状况"}

FIXED: dict[str, tuple[str, str]] = {
    "aum_chg_last": ("总资产较上月变化", "money"),
    "aum_max_jump": ("近3月单月最大资产增加", "money"),
    "gap_to_million": ("距100万缺口", "money"),
    "gap_ratio": ("距100万缺口占总资产比例", "ratio"),
    "gap_income_months": ("距100万缺口相当于几个月收入", "months"),
    "gap_to_lump": ("缺口相对（总资产+年收入）", "ratio"),
    "gap_after_trend": ("按近3月趋势3个月后仍差", "money"),
    "gap_after_trend_ratio": ("按趋势3个月后缺口占总资产比例", "ratio"),
    "months_to_million_trend": ("按当前趋势达到100万所需月数", "months"),
    "product_count": ("持有产品数", "count"),
    "product_count_chg": ("近3月持有产品数变化", "count"),
    "view_per_login_cur": ("当月每次登录理财浏览时长", "seconds"),
    "view_per_login_mean": ("近3月每次登录理财浏览时长", "seconds"),
    "compare_per_login_cur": ("当月每次登录产品对比次数", "number"),
    "compare_per_login_mean": ("近3月每次登录产品对比次数", "number"),
    "card_to_income": ("信用卡月消费占月收入比例", "ratio"),
    "repurchase_cur": ("近12月理财复购次数", "count"),
    "repurchase_chg": ("近3月理财复购次数增加", "count"),
    "days_since_login": ("距上次APP登录天数", "days"),
    "days_since_contact": ("距上次银行联系天数", "days"),
    "contact_never": ("从未被联系过", "flag"),
    "in_cool_period": ("处于营销冷静期", "flag"),
    "cool_days_left": ("冷静期剩余天数", "days"),
    "age": ("年龄", "years"),
    "gender_male": ("性别为男", "flag"),
    "monthly_income": ("月收入", "money"),
    "tenure_months": ("开户时长（月）", "months"),
}


def _build() -> dict[str, tuple[str, str]]:
    out: dict[str, tuple[str, str]] = {}
    for p in AMOUNTS:
        for s, text in _AMOUNT_STAT.items():
            kind = "ratio" if s in {"growth", "vol"} else "money"
            out[f"{p}_{s}"] = (text.format(_AMOUNT[p]), kind)
    for a in ACTIVITY:
        name, kind = _ACT[a]
        for s, text in _ACT_STAT.items():
            out[f"{a}_{s}"] = (text.format(name), kind)
    for p in PRODUCTS:
        out[f"{p}_share"] = (f"{_PRODUCT[p]}占总资产比例", "ratio")
        out[f"{p}_flag"] = (f"持有{_PRODUCT[p]}", "flag")
    out["contact_result_成功"] = ("最近联系结果：成功", "flag")
    out["contact_result_拒绝"] = ("最近联系结果：拒绝", "flag")
    out["contact_result_未接通"] = ("最近联系结果：未接通", "flag")
    out["contact_result_待跟进"] = ("最近联系结果：待跟进", "flag")
    for c, values in CATEGORIES.items():
        for v in values:
            out[f"{c}_{v}"] = (f"{_CAT[c]}：{v}", "flag")
    out.update(FIXED)
    return out


FEATURE_INFO = _build()


def labels(features: list[str] | None = None) -> list[str]:
    return [label(f) for f in (FEATURE_COLUMNS if features is None else features)]


def label(feature: str) -> str:
    return FEATURE_INFO.get(feature, (feature, ""))[0]


def format_value(feature: str, value: float | None) -> str:
    """The value as a person reads it: money in 万, ratios in %, flags as 是/否."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    kind = FEATURE_INFO.get(feature, ("", "number"))[1]
    v = float(value)
    if kind == "money":
        return wan(v)
    if kind == "ratio":
        return pct(v)
    if kind == "flag":
        return "是" if v >= 0.5 else "否"
    if kind == "count":
        return f"{v:.0f}次" if float(v).is_integer() else f"{v:.1f}次"
    if kind == "seconds":
        return f"{v / 60:.1f}分钟" if v >= 60 else f"{v:.0f}秒"
    if kind == "days":
        return f"{v:.0f}天"
    if kind == "months":
        return f"{v:.1f}个月"
    if kind == "years":
        return f"{v:.0f}岁"
    return f"{v:.2f}"

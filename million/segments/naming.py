"""Segment names from centroids, by explicit rules (the seed's four names are the style).

Each segment is described by its mean of every profiled feature as a standard score against all
customers: z = (segment mean - overall mean) / overall std. The archetypes below are tried in order;
each takes, among the segments not yet named, the one with the highest score, provided it passes
the archetype's condition. Segments left over get a fallback name from their most distinctive
feature. The rules and the scores that decided each name go into the report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

Z = dict[str, float]


@dataclass(frozen=True)
class Archetype:
    key: str
    name: str
    rule: str  # Chinese, shown in the report
    score: Callable[[Z], float]
    eligible: Callable[[Z], bool]


def _activity(z: Z) -> float:
    return z["app_login_count"] + z["investment_monthly_count"]


ARCHETYPES: tuple[Archetype, ...] = (
    Archetype("hnw", "高净值稳健型客户", "平均AUM最高的客群，且平均AUM高于全体均值1个标准差以上",
              lambda z: z["total_assets"], lambda z: z["total_assets"] >= 1.0),
    Archetype("mass", "大众基础型客户", "其余客群中 AUM、月收入、持有产品数三项标准分之和最低者，且平均AUM低于全体均值",
              lambda z: -(z["total_assets"] + z["monthly_income"] + z["product_count"]), lambda z: z["total_assets"] < 0),
    Archetype("active", "高潜力活跃型客户", "其余客群中 APP登录次数与月投资交易次数两项标准分之和最高者，且该和 ≥ 0.5",
              _activity, lambda z: _activity(z) >= 0.5),
    Archetype("repurchase", "高复购理财型客户", "其余客群中理财复购次数标准分最高者，且 ≥ 0.5",
              lambda z: z["financial_repurchase_count"], lambda z: z["financial_repurchase_count"] >= 0.5),
    Archetype("income", "高收入资产型客户", "其余客群中 月收入与AUM 标准分之和最高者，且月收入标准分 ≥ 0.5、AUM高于全体均值",
              lambda z: z["monthly_income"] + z["total_assets"],
              lambda z: z["monthly_income"] >= 0.5 and z["total_assets"] > 0),
    Archetype("multi", "多元配置型客户", "其余客群中持有产品数标准分最高者，且 ≥ 0.3",
              lambda z: z["product_count"], lambda z: z["product_count"] >= 0.3),
    Archetype("spender", "年轻消费型客户", "其余客群中 信用卡消费标准分减年龄标准分 最高者，且消费标准分 ≥ 0.3、平均年龄低于全体",
              lambda z: z["credit_card_monthly_expense"] - z["age"],
              lambda z: z["credit_card_monthly_expense"] >= 0.3 and z["age"] < 0),
)

FALLBACK_RULE = "以上规则都不适用的客群：AUM 不低于全体均值的称 稳健成长型客户，否则称 普通储蓄型客户；重名时加序号"

LEVEL_WORDS = ((1.5, "高"), (1.1, "中高"), (0.9, "中等"), (0.6, "中低"), (0.0, "低"))


def level_word(ratio: float) -> str:
    """高/中高/中等/中低/低 from segment mean ÷ overall mean."""
    for bound, word in LEVEL_WORDS:
        if ratio >= bound:
            return word
    return "低"


def zscores(means: pd.DataFrame, overall_mean: pd.Series, overall_std: pd.Series) -> pd.DataFrame:
    return (means - overall_mean) / overall_std.replace(0, 1.0)


def name_segments(z: pd.DataFrame) -> list[dict]:
    """z: one row per segment id, one column per feature (standard scores). Returns, per segment in
    id order, {name, archetype, rule, score}."""
    remaining = list(z.index)
    out: dict[int, dict] = {}
    for arch in ARCHETYPES:
        if not remaining:
            break
        scores = {sid: float(arch.score(z.loc[sid].to_dict())) for sid in remaining}
        sid = max(scores, key=lambda s: scores[s])
        if arch.eligible(z.loc[sid].to_dict()):
            out[sid] = {"name": arch.name, "archetype": arch.key, "rule": arch.rule, "score": round(scores[sid], 3)}
            remaining.remove(sid)
    used: dict[str, int] = {}
    for sid in remaining:
        base = "稳健成长型客户" if z.loc[sid, "total_assets"] >= 0 else "普通储蓄型客户"
        used[base] = used.get(base, 0) + 1
        name = base if used[base] == 1 else f"{base}{used[base]}"
        out[sid] = {"name": name, "archetype": "fallback", "rule": FALLBACK_RULE, "score": None}
    return [out[sid] for sid in z.index]

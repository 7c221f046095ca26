"""The association handbook (关联推荐手册) in Markdown: how the rules were mined and the strongest ones."""

from __future__ import annotations

import pandas as pd

from million.fmt import md_table, pct
from million.rules.baskets import PRODUCT_ITEMS
from million.rules.mining import MiningResult


def rules_view(rules: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "前项（持有/属于）": rules["antecedents"].map(" + ".join), "后项（也持有）": rules["consequent"],
        "支持度": rules["support"].map(pct), "置信度": rules["confidence"].map(pct),
        "提升度": rules["lift"].map(lambda v: f"{v:.2f}")})


def handbook(rules: pd.DataFrame, mining: MiningResult, *, n_baskets: int, min_support: float, as_of: str,
             item_counts: dict[str, float], with_segments: bool) -> str:
    actionable = rules[rules["targets"] > 0]
    lines = ["# 产品关联推荐手册", "",
             f"数据月份 {as_of}，{n_baskets:,} 位客户各取最近一个月：持有的产品（{'/'.join(PRODUCT_ITEMS)}）加上"
             f"年龄段、月收入段、资产等级{'、所属客群' if with_segments else '（客群产物缺失，未加入客群）'}。",
             f"最小支持度 {pct(min_support)}；只保留后项为单个产品、提升度 > 1、且置信度比任何更一般的规则至少高 1 个百分点的规则，"
             f"共 {len(rules):,} 条；其中 {int((rules['targets'] == 0).sum())} 条没有可推荐对象（前项客户全部已持有该产品，"
             "多为客群定义的直接结果，如高复购客群必然持有理财），不进入下面的排行。",
             f"算法对比：{mining.reason}。", "",
             "## 各产品持有率", "", md_table(pd.DataFrame(
                 [{"产品": p, "持有率": pct(item_counts.get(p, 0.0))} for p in PRODUCT_ITEMS])), "",
             "## 提升度最高的 10 条规则", "", md_table(rules_view(actionable.head(10)), 10), ""]
    for p in PRODUCT_ITEMS:
        sub = actionable[actionable["consequent"] == p].sort_values(["confidence", "lift"], ascending=False).head(5)
        lines += [f"## 推荐「{p}」置信度最高的规则", "",
                  md_table(rules_view(sub)) if len(sub) else "（没有满足条件的规则：该产品持有率已很高或没有明显关联）", ""]
    return "\n".join(lines)

"""What the readable models say, as tables and Chinese sentences built from the fitted models:
LR coefficients, decision-tree rules and LightGBM importances."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.tree import export_text

from million.fmt import pct
from million.propensity.bundle import ModelBundle
from million.propensity.feature_labels import FEATURE_INFO, format_value, label


def lr_coefficients(bundle: ModelBundle) -> pd.DataFrame:
    """One row per feature: coefficient per standard deviation (of the signed log for money amounts),
    the odds multiplier e^coef, sorted by coefficient, largest first."""
    lr = bundle.lr.named_steps["lr"]
    money = set(bundle.lr.named_steps["log"].columns)
    coef = lr.coef_[0]
    df = pd.DataFrame({"feature": bundle.features, "label": [label(f) for f in bundle.features], "coef": coef,
                       "odds_ratio": np.exp(coef),
                       "scale": ["对数" if i in money else "原值" for i in range(len(coef))]})
    return df.sort_values("coef", ascending=False, ignore_index=True)


def lr_coefficients_text(coefs: pd.DataFrame, intercept: float) -> str:
    lines = ["逻辑回归系数（标准化后；正=更容易达到100万，负=更难），按系数从大到小：",
             f"{'截距':<28}{intercept:>10.4f}"]
    lines += [f"{r.feature:<28}{r.coef:>10.4f}   {r.label}" for r in coefs.itertuples()]
    return "\n".join(lines)


def lr_sentences(coefs: pd.DataFrame, n: int = 6) -> dict[str, list[str]]:
    """Plain-language reading of the strongest coefficients (numbers straight from the model)."""
    def say(r: Any) -> str:
        unit = "（按对数尺度）" if r.scale == "对数" else ""
        direction = "越高" if FEATURE_INFO.get(r.feature, ("", ""))[1] != "flag" else "为“是”"
        return (f"{r.label}{direction}{unit}，达到100万的可能性{'越大' if r.coef > 0 else '越小'}："
                f"每高一个标准差，几率（odds）乘以 {r.odds_ratio:.2f}（系数 {r.coef:+.3f}）")

    strong = coefs.reindex(coefs["coef"].abs().sort_values(ascending=False).index)
    pos = [say(r) for r in strong.itertuples() if r.coef > 0][:n]
    neg = [say(r) for r in strong.itertuples() if r.coef < 0][:n]
    return {"positive": pos, "negative": neg}


@dataclass
class Rule:
    conditions: list[str]
    samples: int
    positives: float
    rate: float

    @property
    def text(self) -> str:
        return " 且 ".join(self.conditions) if self.conditions else "全部客户"


def _conditions(bounds: dict[str, list[float | None]]) -> list[str]:
    """One readable condition per feature from the tightest bounds on its path (lo < x <= hi)."""
    out = []
    for feature, (lo, hi) in bounds.items():
        name = label(feature)
        if FEATURE_INFO.get(feature, ("", ""))[1] == "flag":
            out.append(f"{name}：{'是' if lo is not None else '否'}")
        elif lo is not None and hi is not None:
            out.append(f"{format_value(feature, lo)} < {name} ≤ {format_value(feature, hi)}")
        elif hi is not None:
            out.append(f"{name} ≤ {format_value(feature, hi)}")
        else:
            out.append(f"{name} > {format_value(feature, lo)}")
    return out


def tree_rules(bundle: ModelBundle) -> list[Rule]:
    """Every leaf as a rule, with the training samples in it and their rate of reaching 1M; sorted
    from the highest rate."""
    t = bundle.tree.tree_
    rules: list[Rule] = []

    def walk(node: int, bounds: dict[str, list[float | None]]) -> None:
        if t.children_left[node] == -1:
            n = int(t.n_node_samples[node])
            value = t.value[node][0]
            rate = float(value[1] / value.sum()) if value.sum() else 0.0  # sklearn >= 1.4 stores fractions
            rules.append(Rule(_conditions(bounds), n, rate * n, rate))
            return
        f = bundle.features[t.feature[node]]
        thr = float(t.threshold[node])
        lo, hi = bounds.get(f, [None, None])
        walk(t.children_left[node], {**bounds, f: [lo, thr if hi is None else min(hi, thr)]})
        walk(t.children_right[node], {**bounds, f: [thr if lo is None else max(lo, thr), hi]})

    walk(0, {})
    return sorted(rules, key=lambda r: r.rate, reverse=True)


def tree_text(bundle: ModelBundle) -> str:
    names = [label(f) for f in bundle.features]
    body = export_text(bundle.tree, feature_names=names, class_names=["未达100万", "达到100万"], show_weights=False,
                       decimals=2)
    return "决策树（深度4）规则（特征为中文业务名，阈值为原始数值，金额单位为元）：\n" + body


def tree_rules_text(rules: list[Rule], base_rate: float) -> str:
    lines = [f"决策树叶子规则（训练期整体达到100万比例 {pct(base_rate, 2)}），按比例从高到低："]
    for i, r in enumerate(rules, 1):
        lines.append(f"{i:>2}. 如果 {r.text}，则 {pct(r.rate, 1)} 的客户在3个月内达到100万（训练样本 {r.samples:,}）")
    return "\n".join(lines)


def lgbm_importance(bundle: ModelBundle) -> pd.DataFrame:
    b = bundle.lgbm
    gain = b.feature_importance("gain")
    split = b.feature_importance("split")
    df = pd.DataFrame({"feature": bundle.features, "label": [label(f) for f in bundle.features],
                       "gain": gain, "gain_share": gain / max(gain.sum(), 1e-12), "splits": split})
    return df.sort_values("gain", ascending=False, ignore_index=True)


def importance_text(imp: pd.DataFrame, top: int = 30) -> str:
    lines = ["LightGBM 特征重要性（信息增益，占比），从高到低："]
    for i, r in enumerate(imp.head(top).itertuples(), 1):
        lines.append(f"{i:>2}. {r.label:<26} {r.feature:<28} {pct(r.gain_share, 2):>7}  分裂次数 {r.splits}")
    return "\n".join(lines)


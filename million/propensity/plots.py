"""Charts of the propensity models, all with Chinese labels (call `setup_matplotlib` first; every
function here does). Each returns an open Figure; save it with `million.charts.save_png`."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from million.charts import setup_matplotlib
from million.propensity.evaluate import SCORER_TITLES

POS_COLOR, NEG_COLOR = "#d64541", "#2e86c1"  # red = towards 100万 (as 涨 in Chinese finance), blue = away


def _plt():  # noqa: ANN202 - matplotlib.pyplot, imported after the font is registered
    setup_matplotlib()
    import matplotlib.pyplot as plt

    return plt


def signed_bars(df: pd.DataFrame, value: str, title: str, xlabel: str, top: int = 25):  # noqa: ANN201
    """Horizontal bars of the `top` largest |value|, largest at the top, coloured by sign."""
    plt = _plt()
    d = df.reindex(df[value].abs().sort_values(ascending=False).index).head(top).iloc[::-1]
    fig, ax = plt.subplots(figsize=(9, 0.32 * len(d) + 1.4))
    ax.barh(d["label"], d[value], color=np.where(d[value] >= 0, POS_COLOR, NEG_COLOR))
    ax.axvline(0, color="#555", lw=0.8)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.tick_params(axis="y", labelsize=9)
    fig.tight_layout()
    return fig


def lr_coefficients_chart(coefs: pd.DataFrame, top: int = 25):  # noqa: ANN201
    return signed_bars(coefs, "coef", f"逻辑回归系数（标准化后，按绝对值前{min(top, len(coefs))}个）",
                       "系数（红：更容易达到100万；蓝：更难）", top)


def importance_chart(imp: pd.DataFrame, value: str, title: str, xlabel: str, top: int = 25):  # noqa: ANN201
    plt = _plt()
    d = imp.sort_values(value, ascending=False).head(top).iloc[::-1]
    fig, ax = plt.subplots(figsize=(9, 0.32 * len(d) + 1.4))
    ax.barh(d["label"], d[value], color="#3a7bd5")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.tick_params(axis="y", labelsize=9)
    fig.tight_layout()
    return fig


def tree_chart(tree: Any, feature_labels: list[str]):  # noqa: ANN201
    plt = _plt()
    from sklearn.tree import plot_tree

    fig, ax = plt.subplots(figsize=(30, 11))
    plot_tree(tree, feature_names=feature_labels, class_names=["未达100万", "达到100万"], filled=True,
              rounded=True, impurity=False, proportion=False, precision=3, fontsize=8, ax=ax)
    ax.set_title("决策树（深度4）：哪些客户更容易在3个月内达到100万", fontsize=16)
    return fig


def calibration_chart(metrics: dict[str, Any], scorers: tuple[str, ...] = ("lr", "tree", "lgbm", "oracle")):  # noqa: ANN201
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.5, 6))
    ax.plot([0, 1], [0, 1], ls="--", color="#888", lw=1, label="完全校准")
    for name in scorers:
        curve = metrics.get(name, {}).get("calibration")
        if not curve:
            continue
        ax.plot([c["mean_predicted"] for c in curve], [c["observed_rate"] for c in curve], marker="o",
                label=SCORER_TITLES[name])
    ax.set_xlabel("预测概率（分箱均值）")
    ax.set_ylabel("实际达到100万的比例")
    ax.set_title("校准曲线（测试月）")
    ax.legend(loc="upper left", fontsize=9)
    fig.tight_layout()
    return fig


def _explanation(values: np.ndarray, base: np.ndarray | float, data: np.ndarray, names: list[str],
                 display: np.ndarray | None = None):  # noqa: ANN202
    import shap

    return shap.Explanation(values=values, base_values=base, data=data, feature_names=names, display_data=display)


def shap_beeswarm_chart(phi: np.ndarray, X: np.ndarray, names: list[str], top: int = 15):  # noqa: ANN201
    plt = _plt()
    import shap

    fig = plt.figure(figsize=(9, 7))
    shap.plots.beeswarm(_explanation(phi, np.zeros(len(phi)), X, names), max_display=top, show=False,
                        plot_size=None, color_bar_label="特征取值（高/低）")
    ax = fig.axes[0]
    ax.set_xlabel("SHAP值（对校准后对数几率的影响，正值推高达到100万的概率）")
    ax.set_title("SHAP 全局解释：各特征对预测的影响分布")
    fig.tight_layout()
    return fig


def shap_bar_chart(importance: pd.DataFrame, top: int = 20):  # noqa: ANN201
    return importance_chart(importance, "mean_abs_shap", "SHAP 全局重要性（平均|SHAP|）",
                            "平均|SHAP值|（校准后对数几率）", top)


def shap_waterfall_chart(phi: np.ndarray, base: float, x: np.ndarray, names: list[str], display: list[str],
                         title: str, top: int = 12):  # noqa: ANN201
    plt = _plt()
    import shap

    from million.propensity.explain import probability_scale

    # phi and base are calibrated log-odds; drawn in percentage points of probability, like the table
    k, p0, _p = probability_scale(np.asarray(phi, dtype=float), float(base))
    phi, base = np.asarray(phi, dtype=float) * k * 100, p0 * 100
    fig = plt.figure(figsize=(9, 6.5))
    shap.plots.waterfall(_explanation(phi, base, x, names, np.array(display, dtype=object)), max_display=top,
                         show=False)
    fig = plt.gcf()
    ax = fig.axes[0]
    ticks = ax.get_yticklabels()
    if any("other features" in t.get_text() for t in ticks):  # shap writes this one label in English
        ax.set_yticks(ax.get_yticks(), [t.get_text().replace(" other features", " 个其余特征合计") for t in ticks])
    fig.suptitle(title, fontsize=12)
    fig.text(0.01, 0.005, "单位：百分点（%）；f(x) 为该客户达到百万的概率，E[f(X)] 为潜客平均概率，"
             "各因素的贡献相加即从平均到该客户", fontsize=8, color="#555")
    return fig

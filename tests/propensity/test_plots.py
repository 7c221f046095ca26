"""Every chart renders its Chinese text with real glyphs (no tofu boxes, no font warnings)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from sklearn.tree import DecisionTreeClassifier

from million.charts import missing_glyphs, save_png
from million.propensity import plots
from million.propensity.feature_labels import format_value, labels
from million.propensity.features import FEATURE_COLUMNS

NAMES = labels(FEATURE_COLUMNS[:12])


def _figure(name: str) -> plt.Figure:
    rng = np.random.default_rng(0)
    coefs = pd.DataFrame({"label": NAMES, "coef": rng.normal(size=len(NAMES))})
    imp = pd.DataFrame({"label": NAMES, "gain_share": rng.random(len(NAMES)), "mean_abs_shap": rng.random(len(NAMES))})
    X = rng.normal(size=(300, len(NAMES)))
    tree = DecisionTreeClassifier(max_depth=4, random_state=0).fit(X, X[:, 0] + X[:, 1] > 0)
    curve = [{"mean_predicted": p, "observed_rate": p * 0.9} for p in (0.01, 0.1, 0.5)]
    phi = rng.normal(size=(300, len(NAMES))) * 0.2
    disp = [format_value(f, v) for f, v in zip(FEATURE_COLUMNS[:12], X[0] * 1e5, strict=True)]
    make = {
        "lr": lambda: plots.lr_coefficients_chart(coefs),
        "importance": lambda: plots.importance_chart(imp, "gain_share", "LightGBM 特征重要性", "增益占比"),
        "tree": lambda: plots.tree_chart(tree, NAMES),
        "calibration": lambda: plots.calibration_chart({"lgbm": {"calibration": curve},
                                                        "oracle": {"calibration": curve}}),
        "beeswarm": lambda: plots.shap_beeswarm_chart(phi, X, NAMES),
        "bar": lambda: plots.shap_bar_chart(imp),
        "waterfall": lambda: plots.shap_waterfall_chart(phi[0], -3.2, X[0] * 1e5, NAMES, disp, "客户 C001 的预测解释"),
    }
    return make[name]()


@pytest.mark.parametrize("name", ["lr", "importance", "tree", "calibration", "beeswarm", "bar", "waterfall"])
def test_no_missing_glyphs(name: str) -> None:
    fig = _figure(name)
    try:
        assert missing_glyphs(fig) == []
        png = save_png(fig)
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
    finally:
        plt.close("all")


def test_detector_catches_a_missing_glyph() -> None:
    """The check above can fail: a glyph the fonts lack is reported."""
    fig, ax = plt.subplots()
    ax.set_title("\U0001d11e\U000e0100")  # musical symbol + variation selector: in neither font
    try:
        assert missing_glyphs(fig)
    finally:
        plt.close("all")

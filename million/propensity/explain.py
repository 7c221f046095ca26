"""SHAP for the served LightGBM model, in the units of the probability the tools show.

LightGBM's exact TreeSHAP (`pred_contrib`) splits the raw log-odds into one part per feature plus a
base value. The calibration is p = sigmoid(a·raw + b), so multiplying every part by `a` and adding
`b` to the base gives an exact split of the *calibrated* log-odds: base + Σ shap = logit(p).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from million.propensity.bundle import SERVED_MODEL, ModelBundle
from million.propensity.feature_labels import format_value, label
from million.propensity.results import Factor, LocalExplanation


def contributions(bundle: ModelBundle, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(shap values (n, features), base values (n,)) in calibrated log-odds."""
    raw = np.asarray(bundle.lgbm.predict(X, pred_contrib=True, num_threads=1), dtype=float)
    cal = bundle.calibrators[SERVED_MODEL]
    return cal.a * raw[:, :-1], cal.a * raw[:, -1] + cal.b


def local_explanation(bundle: ModelBundle, x: np.ndarray, top_k: int = 6,
                      parts: tuple[np.ndarray, float] | None = None) -> LocalExplanation:
    """The strongest factors for and against one customer (x: its feature row; `parts`: its SHAP
    values and base value when already computed)."""
    x = np.asarray(x, dtype=float).reshape(-1)
    if parts is None:
        phi2, base = contributions(bundle, x.reshape(1, -1))
        parts = (phi2[0], float(base[0]))
    phi, base0 = parts
    order = np.argsort(-np.abs(phi))
    scale, p0, p = probability_scale(phi, base0)

    def item(i: int) -> Factor:
        f = bundle.features[i]
        return Factor(f, label(f), float(x[i]), format_value(f, x[i]), float(phi[i]), float(phi[i] * scale))

    pos = [item(i) for i in order[:2 * top_k + 20] if phi[i] > 0][:top_k]
    neg = [item(i) for i in order[:2 * top_k + 20] if phi[i] < 0][:top_k]
    return LocalExplanation(tuple(pos), tuple(neg), base0, p0, p)


def _sigmoid(z: float) -> float:
    return float(1 / (1 + np.exp(-z)))


def probability_scale(phi: np.ndarray, base: float) -> tuple[float, float, float]:
    """(k, p0, p): multiplying a log-odds SHAP part by k gives its share of the probability change,
    so that p0 + Σ k·phi = p exactly (p0 = sigmoid(base), p = sigmoid(base + Σ phi)). People read
    "+3.2个百分点", not "+0.11 log-odds"; the sign and the order of the parts stay as they are."""
    total = float(np.sum(phi))
    p0, p = _sigmoid(base), _sigmoid(base + total)
    if abs(total) < 1e-9:
        return p * (1 - p), p0, p  # the slope of the sigmoid: the limit of (p - p0) / total
    return (p - p0) / total, p0, p


def global_importance(bundle: ModelBundle, X: np.ndarray, phi: np.ndarray | None = None) -> pd.DataFrame:
    """Mean |SHAP| per feature over the rows of X (pass `phi` when already computed)."""
    phi = contributions(bundle, X)[0] if phi is None else phi
    df = pd.DataFrame({"feature": bundle.features, "label": [label(f) for f in bundle.features],
                       "mean_abs_shap": np.abs(phi).mean(axis=0), "mean_shap": phi.mean(axis=0)})
    return df.sort_values("mean_abs_shap", ascending=False, ignore_index=True)


def sample_rows(df: pd.DataFrame, n: int, seed: int = 0) -> pd.DataFrame:
    """A reproducible uniform sample (global importance describes the whole prospect population)."""
    return df if len(df) <= n else df.sample(n, random_state=seed).sort_index()

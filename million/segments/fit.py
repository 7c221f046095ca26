"""Scale, choose k by silhouette (with the elbow reported beside it), fit KMeans."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import StandardScaler

from million.errors import DataInsufficient

SEED = 42


@dataclass
class KSelection:
    ks: list[int]
    silhouette: list[float]
    inertia: list[float]
    elbow_k: int
    best_k: int  # highest silhouette
    chosen_k: int
    reason: str  # Chinese, goes into the report
    sample_size: int
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"ks": self.ks, "silhouette": self.silhouette, "inertia": self.inertia, "elbow_k": self.elbow_k,
                "best_k": self.best_k, "chosen_k": self.chosen_k, "reason": self.reason,
                "sample_size": self.sample_size}


def elbow(ks: list[int], inertia: list[float]) -> int:
    """The k farthest below the straight line from the first to the last inertia (both normalised)."""
    x = (np.array(ks) - ks[0]) / max(ks[-1] - ks[0], 1)
    y = np.array(inertia)
    y = (y - y.min()) / max(y.max() - y.min(), 1e-12)
    line = 1 - x  # from (0, 1) to (1, 0)
    return int(ks[int(np.argmax(line - y))])


def choose_k(X: np.ndarray, k_range: tuple[int, int] = (3, 8), default_k: int = 4, tolerance: float = 0.02,
             sample: int = 4000, n_init: int = 4) -> KSelection:
    """Silhouette on a fixed random sample (it is O(n²)); the default k wins when its score is within
    `tolerance` of the best, as in the seed where 4 groups were wanted for differentiated marketing."""
    n = len(X)
    lo, hi = k_range
    hi = min(hi, n - 1)
    if hi < lo:
        raise DataInsufficient(f"客户数（{n}）太少，无法在 {lo}-{k_range[1]} 个客群之间选择。")
    rng = np.random.default_rng(SEED)
    idx = rng.choice(n, size=min(sample, n), replace=False)
    ks, sils, inertias = [], [], []
    for k in range(lo, hi + 1):
        km = KMeans(n_clusters=k, n_init=n_init, random_state=SEED).fit(X)
        labels = km.labels_[idx]
        sil = float(silhouette_score(X[idx], labels)) if len(set(labels)) > 1 else -1.0
        ks.append(k)
        sils.append(round(sil, 4))
        inertias.append(float(km.inertia_))
    best = ks[int(np.argmax(sils))]
    elbow_k = elbow(ks, inertias) if len(ks) >= 3 else best
    if default_k in ks and sils[ks.index(best)] - sils[ks.index(default_k)] <= tolerance:
        chosen = default_k
        if best == default_k:
            reason = f"k={default_k} 的轮廓系数最高（{sils[ks.index(best)]:.3f}）"
        else:
            reason = (f"k={best} 轮廓系数最高（{sils[ks.index(best)]:.3f}），k={default_k} 为 "
                      f"{sils[ks.index(default_k)]:.3f}，差距不超过 {tolerance}，按方案默认取 {default_k} 个客群")
    else:
        chosen = best
        reason = f"k={best} 的轮廓系数（{sils[ks.index(best)]:.3f}）明显高于 k={default_k}，取 {best} 个客群"
    reason += f"；肘部法则拐点在 k={elbow_k}"
    return KSelection(ks, sils, inertias, elbow_k, best, chosen, reason, len(idx))


def fit_model(features: pd.DataFrame, k: int, n_init: int = 10) -> tuple[StandardScaler, KMeans, np.ndarray]:
    """Returns the scaler, the model and labels renumbered so segment 0 has the highest mean AUM
    (KMeans' own numbering is arbitrary; a stable order keeps IDs readable across rebuilds)."""
    scaler = StandardScaler().fit(features.to_numpy())
    X = scaler.transform(features.to_numpy())
    km = KMeans(n_clusters=k, n_init=n_init, random_state=SEED).fit(X)
    aum = features["total_assets"].to_numpy()
    means = np.array([aum[km.labels_ == c].mean() for c in range(k)])
    order = np.argsort(-means)  # new id i <- old cluster order[i]
    km.cluster_centers_ = km.cluster_centers_[order]
    remap = np.empty(k, dtype=int)
    remap[order] = np.arange(k)
    km.labels_ = remap[km.labels_]
    return scaler, km, km.labels_.astype(int)


def assign(scaler: StandardScaler, km: KMeans, features: pd.DataFrame) -> np.ndarray:
    return km.predict(scaler.transform(features.to_numpy())).astype(int)

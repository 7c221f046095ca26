"""Platt scaling on the log-odds of a model's score, fitted on the validation months.

Strictly monotone, so it never changes a ranking (ROC-AUC, PR-AUC and top-k stay those of the raw
model) and it gives no ties, unlike isotonic steps that would make the top of the list arbitrary.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression

EPS = 1e-6


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), EPS, 1 - EPS)
    return np.log(p / (1 - p))


@dataclass(frozen=True)
class Platt:
    a: float
    b: float

    def logit(self, raw_logit: np.ndarray) -> np.ndarray:
        return self.a * np.asarray(raw_logit, dtype=float) + self.b

    def __call__(self, raw_logit: np.ndarray) -> np.ndarray:
        return 1 / (1 + np.exp(-self.logit(raw_logit)))

    def as_dict(self) -> dict[str, float]:
        return {"a": self.a, "b": self.b}


def fit_platt(raw_logit: np.ndarray, y: np.ndarray) -> Platt:
    x = np.asarray(raw_logit, dtype=float).reshape(-1, 1)
    lr = LogisticRegression(C=1e6, max_iter=1000).fit(x, np.asarray(y, dtype=int))
    a = float(lr.coef_[0, 0])
    if a <= 0:  # a score that does not rank on validation: keep it monotone, only re-centre
        a = 1.0
        b = float(np.log(max(np.mean(y), EPS) / max(1 - np.mean(y), EPS)) - np.mean(x))
        return Platt(a, b)
    return Platt(a, float(lr.intercept_[0]))

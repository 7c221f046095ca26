"""The three trained models with their calibrations, saved to and loaded from one folder.

Files (under <artifacts>/propensity/models/): lr.joblib, tree.joblib, lgbm.txt, bundle.json.
The sklearn models are pickles: load them only from an artifacts folder this project wrote.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.pipeline import Pipeline
from sklearn.tree import DecisionTreeClassifier

from million.propensity.calibration import Platt, logit

MODEL_KEYS = ("lr", "tree", "lgbm")
MODEL_TITLES = {"lr": "逻辑回归", "tree": "决策树（深度4）", "lgbm": "LightGBM"}
SERVED_MODEL = "lgbm"


class SignedLog(BaseEstimator, TransformerMixin):
    """sign(x)·log1p(|x|) on the given columns: money amounts are heavy-tailed, a linear model wants
    them on a log scale before standardising."""

    def __init__(self, columns: tuple[int, ...] = ()) -> None:
        self.columns = columns

    def fit(self, X: np.ndarray, y: object = None) -> SignedLog:
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        X = np.array(X, dtype=float, copy=True)
        idx = list(self.columns)
        X[:, idx] = np.sign(X[:, idx]) * np.log1p(np.abs(X[:, idx]))
        return X


@dataclass
class ModelBundle:
    features: list[str]
    lr: Pipeline
    tree: DecisionTreeClassifier
    lgbm: lgb.Booster
    calibrators: dict[str, Platt]
    info: dict[str, Any] = field(default_factory=dict)  # split, params, timings, headline metrics

    def matrix(self, df: pd.DataFrame) -> np.ndarray:
        return df[self.features].to_numpy(dtype=float)

    def raw_logit(self, key: str, X: np.ndarray) -> np.ndarray:
        if key == "lr":
            return self.lr.decision_function(X)
        if key == "tree":
            return logit(self.tree.predict_proba(X)[:, 1])
        if key == "lgbm":
            return np.asarray(self.lgbm.predict(X, raw_score=True, num_threads=1), dtype=float)
        raise KeyError(key)

    def predict(self, key: str, X: np.ndarray) -> np.ndarray:
        """Calibrated probability of reaching 1M within 3 months."""
        return self.calibrators[key](self.raw_logit(key, X))

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        joblib.dump(self.lr, folder / "lr.joblib")
        joblib.dump(self.tree, folder / "tree.joblib")
        self.lgbm.save_model(str(folder / "lgbm.txt"))
        meta = {"features": self.features, "calibrators": {k: c.as_dict() for k, c in self.calibrators.items()},
                **self.info}
        (folder / "bundle.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2, default=str),
                                            encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> ModelBundle:
        meta = json.loads((folder / "bundle.json").read_text(encoding="utf-8"))
        cal = {k: Platt(**v) for k, v in meta.pop("calibrators").items()}
        features = meta.pop("features")
        booster = lgb.Booster(model_file=str(folder / "lgbm.txt"))
        return cls(features, joblib.load(folder / "lr.joblib"), joblib.load(folder / "tree.joblib"), booster, cal, meta)

"""Scoring one month: read only the rows the 3-month lookback needs, build the features with the
same function as training, and apply the calibrated LightGBM. Used by commands/score.py,
the build step (scores_latest.parquet) and the online service, so all three give equal numbers."""

from __future__ import annotations

import pandas as pd

from million.contract import BEHAVIOR
from million.propensity import months as mo
from million.propensity.bundle import SERVED_MODEL, ModelBundle
from million.propensity.features import LOOKBACK, build_features, prospects
from million.tables import Tables, load_tables
from million.warehouse import Warehouse

SCORE_COLUMNS = ["customer_id", "as_of", "probability"]


def latest_month(wh: Warehouse) -> str | None:
    df = wh.query(f"SELECT MAX(stat_month) AS m FROM {BEHAVIOR}")
    m = df.iloc[0, 0] if len(df) else None
    return None if m is None or pd.isna(m) else str(m)


def load_window(wh: Warehouse, as_of: str) -> Tables:
    """customer_base and the behaviour rows of months T-2..T (bound parameters, no string SQL)."""
    return load_tables(wh, months=window_months(as_of))


def window_months(as_of: str) -> list[str]:
    return [mo.shift(as_of, -k) for k in range(LOOKBACK - 1, -1, -1)]


def score_features(bundle: ModelBundle, features: pd.DataFrame) -> pd.DataFrame:
    """customer_id, as_of, probability for the prospects among `features`, highest first."""
    pros = prospects(features)
    out = pros[["customer_id", "as_of"]].copy()
    out["probability"] = bundle.predict(SERVED_MODEL, bundle.matrix(pros)) if len(pros) else []
    return out.sort_values(["probability", "customer_id"], ascending=[False, True], kind="stable",
                           ignore_index=True)


def score_month(tables: Tables, as_of: str, bundle: ModelBundle) -> pd.DataFrame:
    return score_features(bundle, build_features(tables, [as_of]))

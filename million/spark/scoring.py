"""Every prospect scored on the cluster: the trained bundle is shipped to the executors (broadcast) and
applied per hash bucket with the same pieces the driver's score_features uses (prospects() and the
calibrated served model), plus the top reasons from the model's own SHAP values (pred_contrib). Ranks come from one
window over the month; the result is `million_scores`, partitioned by month, what a bank's CRM reads."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from million.propensity.bundle import SERVED_MODEL, ModelBundle
from million.propensity.cluster_scores import SCORES_TABLE, model_version  # noqa: F401 - SCORES_TABLE re-exported
from million.propensity.explain import contributions
from million.propensity.feature_labels import label
from million.propensity.features import FEATURE_COLUMNS, KEY_COLUMNS, prospects
from million.spark.features import BUCKET, with_bucket

TOP_REASONS = 3
# SHAP values cost ~15 ms a row on one core (TreeSHAP over ~1,300 trees), the probability ~0.3 ms: reasons
# are computed for the prospects worth a call (probability at least this), every prospect gets its score.
REASONS_MIN_PROBABILITY = 0.05
SCORE_SCHEMA = ("customer_id string, as_of string, probability double, top_reasons string, "
                "top_features string, model_version string")


def reasons(bundle: ModelBundle, X: np.ndarray, k: int = TOP_REASONS) -> tuple[list[str], list[str]]:
    """The k features pushing each row's probability up the most (SHAP > 0): Chinese labels and names."""
    if not len(X):
        return [], []
    phi, _ = contributions(bundle, X)
    order = np.argsort(-phi, axis=1)[:, :k]
    texts, names = [], []
    for row, idx in zip(phi, order, strict=True):
        picked = [bundle.features[i] for i in idx if row[i] > 0]
        names.append(",".join(picked))
        texts.append("；".join(label(f) for f in picked))
    return texts, names


def score_partition(bundle: ModelBundle, version: str, pdf: pd.DataFrame,
                    reasons_min: float = REASONS_MIN_PROBABILITY) -> pd.DataFrame:
    """As score_features (the prospects, the served model's calibrated probability), with the top reasons
    of those whose probability is at least `reasons_min` (empty for the others)."""
    pros = prospects(pdf).reset_index(drop=True)
    X = bundle.matrix(pros)
    out = pros[KEY_COLUMNS].copy()
    prob = bundle.predict(SERVED_MODEL, X) if len(pros) else np.zeros(0)
    out["probability"] = prob
    texts, names = np.full(len(out), "", dtype=object), np.full(len(out), "", dtype=object)
    pick = np.flatnonzero(prob >= reasons_min)
    if len(pick):
        t, n = reasons(bundle, X[pick])
        texts[pick], names[pick] = t, n
    out["top_reasons"], out["top_features"], out["model_version"] = texts, names, version
    return out


def spark_scores(features: Any, bundle: ModelBundle, *, buckets: int,
                 reasons_min: float = REASONS_MIN_PROBABILITY) -> Any:
    """customer_id, as_of, probability, rank (1 = highest in its month), top_reasons, top_features,
    model_version for every prospect among `features` (a Spark DataFrame of KEY_COLUMNS + FEATURE_COLUMNS)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    spark = features.sparkSession
    shipped = spark.sparkContext.broadcast(bundle)
    version = model_version(bundle)
    cols = KEY_COLUMNS + FEATURE_COLUMNS

    def per_bucket(pdf: pd.DataFrame) -> pd.DataFrame:
        return score_partition(shipped.value, version, pdf[cols], reasons_min)

    scored = with_bucket(features.select(*cols), buckets).groupBy(BUCKET).applyInPandas(per_bucket, SCORE_SCHEMA)
    rank = F.row_number().over(Window.partitionBy("as_of").orderBy(F.desc("probability"), F.asc("customer_id")))
    return scored.withColumn("rank", rank).select("customer_id", "as_of", "probability", "rank", "top_reasons",
                                                  "top_features", "model_version")

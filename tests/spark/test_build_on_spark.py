"""`million build --engine spark` on local[2]: features on Spark, training on the driver, every prospect of
the latest month scored once, on Spark, into million_scores; the propensity step's latest-month artifacts
come from that table (nothing scored on the driver). The model and the latest scores equal the local build's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from million.spark.scoring import REASONS_MIN_PROBABILITY
from million.warehouse import connect


def test_build_on_spark_scores_every_prospect_like_the_local_build(spark_build, built_artifacts: Path) -> None:
    db_url, art, rows = spark_build
    assert [r["step"] for r in rows if r["status"] == "已构建"] == ["propensity", "segments", "rules", "forecast",
                                                                    "spark_scores"]

    local = pd.read_parquet(built_artifacts / "propensity" / "scores_latest.parquet")
    driver = pd.read_parquet(art / "propensity" / "scores_latest.parquet")
    # The same artifact: the same prospects in the same order (probability down, then customer_id).
    assert list(driver.columns) == list(local.columns) and list(driver.dtypes) == list(local.dtypes)
    assert driver["customer_id"].tolist() == local["customer_id"].tolist()
    assert (driver["as_of"] == local["as_of"]).all()
    # Same features, same sample, same training: the same model (LightGBM on one thread is deterministic).
    assert np.allclose(driver["probability"], local["probability"], rtol=0, atol=1e-12)

    with connect(db_url) as wh:
        scores = wh.query("SELECT * FROM million_scores")
    assert set(scores.columns) == {"customer_id", "as_of", "probability", "rank", "top_reasons", "top_features",
                                   "model_version"}
    assert len(scores) == len(driver) and set(scores["as_of"]) == set(driver["as_of"])
    s = scores.set_index("customer_id")
    assert np.allclose(s.loc[driver["customer_id"], "probability"], driver["probability"], rtol=0, atol=1e-12)
    assert sorted(s["rank"]) == list(range(1, len(s) + 1))
    top = s.sort_values("rank").iloc[0]
    assert top["probability"] == s["probability"].max() and top["top_reasons"]
    worth = s["probability"] >= REASONS_MIN_PROBABILITY  # reasons for the prospects worth a call
    assert worth.sum() >= 20 and (s.loc[worth, "top_reasons"].str.len() > 0).all()
    assert (s.loc[~worth, "top_reasons"] == "").all()


def test_the_driver_never_scores_the_latest_month(spark_build, built_artifacts: Path) -> None:
    """The SHAP charts use the same sample of prospects as the local step (drawn among the rows brought
    from the cluster), so the global explanation the app shows is the same; the summary counts the same
    prospects."""
    import json

    _db, art, rows = spark_build
    assert rows.driver_scored == []  # the propensity step's own scorer (score_features) never ran
    local = (built_artifacts / "propensity" / "shap_global.json").read_text(encoding="utf-8")
    spark = (art / "propensity" / "shap_global.json").read_text(encoding="utf-8")
    a, b = json.loads(local), json.loads(spark)
    assert (a["as_of"], a["rows"]) == (b["as_of"], b["rows"])
    assert [f["feature"] for f in a["features"]] == [f["feature"] for f in b["features"]]
    assert np.allclose([f["mean_abs_shap"] for f in a["features"]], [f["mean_abs_shap"] for f in b["features"]],
                       rtol=0, atol=1e-12)
    step = next(r for r in rows if r["step"] == "propensity")
    assert step["潜客"] == len(pd.read_parquet(built_artifacts / "propensity" / "scores_latest.parquet"))

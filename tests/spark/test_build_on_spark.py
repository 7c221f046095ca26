"""scripts/build_artifacts.py --engine spark on local[2]: features on Spark, training on the driver, every
prospect scored on Spark into million_scores. The model and the latest scores equal the local build's."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from million.pipeline import BuildContext
from million.settings import Settings
from million.spark.build import build_on_spark
from million.spark.scoring import REASONS_MIN_PROBABILITY
from million.warehouse import connect


def test_build_on_spark_scores_every_prospect_like_the_local_build(spark, small_wh_url: str, small_data: Path,
                                                                   built_artifacts: Path, tmp_path: Path) -> None:
    db = tmp_path / "warehouse.duckdb"
    shutil.copyfile(small_wh_url.removeprefix("duckdb:///"), db)
    art = tmp_path / "artifacts"
    ctx = BuildContext(db_url=f"duckdb:///{db}", artifacts_dir=art, data_dir=small_data)
    rows = build_on_spark(ctx, Settings(spark_buckets=5), spark, only=["propensity"], log=lambda _m: None)
    assert [r["step"] for r in rows if r["status"] == "已构建"] == ["propensity", "spark_scores"]

    local = pd.read_parquet(built_artifacts / "propensity" / "scores_latest.parquet").set_index("customer_id")
    driver = pd.read_parquet(art / "propensity" / "scores_latest.parquet").set_index("customer_id")
    assert driver.index.sort_values().equals(local.index.sort_values())
    # Same features, same sample, same training: the same model (LightGBM on one thread is deterministic).
    assert np.allclose(driver.loc[local.index, "probability"], local["probability"], rtol=0, atol=1e-12)

    with connect(f"duckdb:///{db}") as wh:
        scores = wh.query("SELECT * FROM million_scores")
    assert set(scores.columns) == {"customer_id", "as_of", "probability", "rank", "top_reasons", "top_features",
                                   "model_version"}
    assert len(scores) == len(driver) and set(scores["as_of"]) == set(driver["as_of"])
    s = scores.set_index("customer_id")
    assert np.allclose(s.loc[driver.index, "probability"], driver["probability"], rtol=0, atol=1e-12)
    assert sorted(s["rank"]) == list(range(1, len(s) + 1))
    top = s.sort_values("rank").iloc[0]
    assert top["probability"] == s["probability"].max() and top["top_reasons"]
    worth = s["probability"] >= REASONS_MIN_PROBABILITY  # reasons for the prospects worth a call
    assert worth.sum() >= 20 and (s.loc[worth, "top_reasons"].str.len() > 0).all()
    assert (s.loc[~worth, "top_reasons"] == "").all()

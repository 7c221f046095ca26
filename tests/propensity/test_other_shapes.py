"""The step runs unchanged on other data honouring the contract: 32-hex IDs, accounts opened
mid-period, 18 or 12 months of history."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from million.pipeline import BuildContext
from million.propensity.features import build_features
from million.propensity.labels import attach_labels, labelled_months
from million.propensity.paths import artifacts_paths
from million.propensity.serving import PropensityService
from million.propensity.split import split_months
from million.propensity.step import run
from million.propensity.train import make_train_data, train_models
from million.tables import load_tables
from million.warehouse import connect
from tests.support.datasets import load_duckdb, make_dataset


def test_step_on_hex_data(hex_wh_url: str, hex_data: Path, tmp_path: Path) -> None:
    ctx = BuildContext(db_url=hex_wh_url, artifacts_dir=tmp_path, data_dir=hex_data)
    summary = run(ctx)
    assert summary["测试月"] == "2025-03" and summary["潜客"] > 0
    p = artifacts_paths(tmp_path)
    m = json.loads(p["metrics"].read_text(encoding="utf-8"))["propensity"]
    assert m["test"]["overall"]["lgbm"]["roc_auc"] > 0.8
    svc = PropensityService.load(tmp_path, connect(hex_wh_url))
    scores = pd.read_parquet(p["scores"])
    cid = scores["customer_id"].iloc[-1]
    assert len(cid) == 32 and svc.predict(cid).probability == scores["probability"].iloc[-1]


@pytest.fixture(scope="module")
def twelve_months(tmp_path_factory: pytest.TempPathFactory) -> str:
    return load_duckdb(make_dataset(tmp_path_factory.mktemp("m12"), customers=1200, months=12, seed=3))


def test_twelve_months_of_history(twelve_months: str) -> None:
    with connect(twelve_months) as wh:
        t = load_tables(wh)
    split = split_months(labelled_months(t))
    assert len(split.train) >= 1 and split.test == t.months[-4]
    data = make_train_data(attach_labels(build_features(t), t), split)
    bundle = train_models(data, {"max_rounds": 200})
    assert set(bundle.calibrators) == {"lr", "tree", "lgbm"}
    assert bundle.predict("lgbm", bundle.matrix(data.test)).max() <= 1

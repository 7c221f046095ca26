"""The whole offline build runs unchanged on data a bank brings: no oracle.csv, 36 months of history,
32-hex IDs, value and category distributions unlike the generator's (tests.support.datasets.bank_export).
A build that needs the oracle, or a report that assumes one, fails here."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from million.ingest.load import load_folder
from million.pipeline import BuildContext, run_all
from million.propensity.evaluate import NO_ORACLE_NOTE
from million.propensity.features import FEATURE_COLUMNS
from million.propensity.paths import artifacts_paths
from million.propensity.serving import PropensityService
from million.tables import load_tables
from million.warehouse import connect
from tests.support.datasets import bank_export, load_duckdb

MONTHS = 36


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    data = bank_export(tmp_path_factory.mktemp("bank"), customers=700, months=MONTHS, seed=13)
    url = f"duckdb:///{data / 'warehouse.duckdb'}"
    with connect(url, read_only=False) as wh:
        loaded = load_folder(data, wh, log=lambda _m: None)
    assert loaded.rejects.empty and all(t.loaded == t.read for t in loaded.tables)  # nothing dropped
    return data, url


@pytest.fixture(scope="module")
def built(export: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict]]:
    data, url = export
    art = tmp_path_factory.mktemp("bank_artifacts")
    rows = run_all(BuildContext(db_url=url, artifacts_dir=art, data_dir=data), log=lambda _m: None)
    return art, rows


def test_the_export_differs_from_the_generator(export: tuple[Path, str]) -> None:
    data, url = export
    assert not (data / "oracle.csv").exists()
    with connect(url) as wh:
        t = load_tables(wh)
    assert len(t.months) == MONTHS
    assert set(t.base["occupation_type"]) == {"专业人士", "私营业主", "企业高管"}
    assert "流失预警客户" not in set(t.base["lifecycle_stage"])
    assert t.base["customer_id"].str.fullmatch(r"[0-9a-f]{32}").all()


def test_every_step_builds(built: tuple[Path, list[dict]]) -> None:
    _, rows = built
    assert [r["step"] for r in rows] == ["propensity", "segments", "rules", "forecast"]
    assert all(r["status"] == "已构建" for r in rows)
    assert rows[0]["目标"] == "1/1"  # only the naive-baseline target has a reference without an oracle
    assert rows[0]["测试月"] == "2025-12"  # the month test_an_oracle_written_for_other_data_is_ignored uses


def test_metrics_and_reports_say_there_is_no_oracle(built: tuple[Path, list[dict]]) -> None:
    art, _ = built
    p = artifacts_paths(art)
    m = json.loads(p["metrics"].read_text(encoding="utf-8"))["propensity"]
    assert "oracle" not in m["test"]["overall"] and m["test"]["overall"]["lgbm"]["roc_auc"] > 0.8
    unchecked = [t for t in m["targets"] if t["passed"] is None]
    assert {t["id"] for t in unchecked} == {"pr_auc_vs_oracle", "band_pr_auc_vs_oracle", "expected_p_top1_vs_oracle",
                                            "brier_vs_oracle"}
    assert all(t["bound"] is None and t["reference"] is None for t in unchecked)
    card = p["card"].read_text(encoding="utf-8")
    assert NO_ORACLE_NOTE in card and "覆盖测试样本" not in card
    html = (p["dir"] / "report.html").read_text(encoding="utf-8")
    assert NO_ORACLE_NOTE in html and "无参照" in html


def test_an_oracle_written_for_other_data_is_ignored(export: tuple[Path, str], tmp_path: Path) -> None:
    """The build takes oracle.csv from the data folder; one left there from the mock data must not be
    joined to a bank's customers, even when IDs collide."""
    from million.propensity.model_card import _oracle_sentence
    from million.propensity.step import _oracle

    ctx = BuildContext(db_url=export[1], artifacts_dir=tmp_path / "art", data_dir=tmp_path)
    month = "2025-12"
    prospects = ctx.wh.query("SELECT customer_id FROM customer_behavior_assets WHERE stat_month = ? "
                             "AND total_assets < 1000000", [month])["customer_id"]

    def write(ids: pd.Series) -> None:
        pd.DataFrame({"customer_id": ids, "as_of": month, "p_true": 0.1, "p_check": 0.1}).to_csv(
            tmp_path / "oracle.csv", index=False)

    write(prospects)
    p_true, p_check, why = _oracle(ctx, month)
    assert why is None and p_true is not None and p_check is not None and len(p_true) == len(prospects)
    half = len(prospects) // 2
    write(pd.concat([prospects.iloc[:half], pd.Series([f"C{i:07d}" for i in range(half)])]))
    p_true, p_check, why = _oracle(ctx, month)
    assert p_true is None and p_check is None and "不匹配" in why
    assert why in _oracle_sentence({"oracle_ignored": why}) and NO_ORACLE_NOTE in _oracle_sentence({"oracle_ignored": why})


def test_one_hot_columns_do_not_follow_the_data(built: tuple[Path, list[dict]]) -> None:
    art, _ = built
    meta = json.loads((artifacts_paths(art)["dir"] / "features.meta.json").read_text(encoding="utf-8"))
    assert meta["features"] == FEATURE_COLUMNS  # categories missing from this export keep their columns


def test_data_that_cannot_train_stops_the_build_with_the_reason(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Nobody near 1M: the build says which step stopped and why, exits 2, prints no traceback."""
    from scripts.build_artifacts import main

    data = bank_export(tmp_path / "poor", customers=250, months=12, seed=3, log_wealth=-3.0)
    url = load_duckdb(data)
    rc = main(["--data", str(data), "--db-url", url, "--artifacts", str(tmp_path / "art")])
    err = capsys.readouterr().err
    assert rc == 2 and "「百万概率模型」无法构建" in err and "0 个达到100万" in err and "Traceback" not in err


def test_served_prediction_equals_the_scores_file(built: tuple[Path, list[dict]], export: tuple[Path, str]) -> None:
    art, _ = built
    scores = pd.read_parquet(artifacts_paths(art)["scores"])
    svc = PropensityService.load(art, connect(export[1]))
    for cid, prob in scores[["customer_id", "probability"]].iloc[[0, len(scores) // 2, -1]].itertuples(index=False):
        assert svc.predict(cid).probability == prob

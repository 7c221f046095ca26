"""Redrawing the test month's future (simulate.redraw_outcomes), the pass-chance summary and the script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmarks.pass_chance import hits_per_future, summarize
from million.datagen import simulate
from million.datagen.simulate import Generated, generate, redraw_outcomes
from million.propensity.evaluate import _top_hits, top_weights

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def gen() -> Generated:
    return generate(1500, 10, seed=11, keep_hidden=True)


def test_redrawn_outcomes_match_the_oracle_probabilities(gen: Generated) -> None:
    assert gen.hidden is not None
    o = gen.oracle.sort_values("p_true", ascending=False)
    ids = np.concatenate([o["customer_id"].to_numpy()[:40], o["customer_id"].to_numpy()[-10:]])
    p = o.set_index("customer_id").loc[ids, "p_true"].to_numpy()
    y = redraw_outcomes(gen.hidden, ids, 3000, chunk_rows=20_000)  # small chunks: several per call
    assert y.shape == (len(ids), 3000) and y.dtype == bool
    freq = y.mean(axis=1)
    # the oracle's p_true is a 200-path Monte Carlo estimate (sd up to 0.035); the redraw's up to 0.009
    assert np.abs(freq - p).max() < 0.15
    assert np.abs(freq - p).mean() < 0.04
    assert np.corrcoef(freq, p)[0, 1] > 0.97
    # another seed draws other futures of the same customers
    other = redraw_outcomes(gen.hidden, ids, 3000, seed=1)
    assert not np.array_equal(other, y)
    assert np.abs(other.mean(axis=1) - freq).max() < 0.06


def test_one_future_shares_its_market_across_customers(gen: Generated, monkeypatch: pytest.MonkeyPatch) -> None:
    """Outcomes in one future are correlated through the shared market path, as in the generated data. The
    real market moves little against the customers' own draws, so it is made ten times wilder here."""
    assert gen.hidden is not None
    monkeypatch.setattr(simulate, "MARKET_SD", 10 * simulate.MARKET_SD)
    o = gen.oracle
    mid = o.loc[(o["p_true"] > 0.1) & (o["p_true"] < 0.9), "customer_id"].to_numpy()
    assert len(mid) >= 10
    y = redraw_outcomes(gen.hidden, mid, 4000).astype(float)
    independent = (y.mean(axis=1) * (1 - y.mean(axis=1))).sum()
    # positive correlation widens the spread of the hit count beyond that of independent customers
    assert y.sum(axis=0).var() > 1.5 * independent


def test_redraw_refuses_unknown_and_non_prospect_customers(gen: Generated) -> None:
    assert gen.hidden is not None
    with pytest.raises(KeyError):
        redraw_outcomes(gen.hidden, np.array(["C9999999"]), 10)
    rich = np.setdiff1d(gen.hidden.customer_ids, gen.oracle["customer_id"].to_numpy())
    assert len(rich)
    with pytest.raises(ValueError, match="不是潜客"):
        redraw_outcomes(gen.hidden, rich[:1], 10)


def test_top_weights_share_ties_and_give_the_same_hits() -> None:
    s = np.array([5.0, 4.0, 3.0, 3.0, 3.0, 1.0])
    w = top_weights(s, 3)
    np.testing.assert_allclose(w, [1, 1, 1 / 3, 1 / 3, 1 / 3, 0])
    assert w.sum() == pytest.approx(3)
    y = np.array([1.0, 0.0, 1.0, 1.0, 0.0, 1.0])
    assert w @ y == pytest.approx(_top_hits(y, s, 3)) == pytest.approx(1 + 2 / 3)


def test_summary_counts_the_futures_that_pass() -> None:
    outcomes = np.array([[1, 1, 0, 1], [1, 0, 1, 1], [0, 1, 1, 1]], dtype=bool)  # 3 customers x 4 futures
    hits = hits_per_future({"oracle": np.array([1.0, 1.0, 0.0]), "model": np.array([1.0, 0.0, 1.0])}, outcomes)
    np.testing.assert_allclose(hits["oracle"], [2, 1, 1, 2])
    np.testing.assert_allclose(hits["model"], [1, 2, 1, 2])
    ratio = hits["model"] / hits["oracle"]  # 0.5, 2, 1, 1
    s = summarize(ratio, realised=1.0)
    assert s["pass_rate"] == pytest.approx(0.75) and s["futures"] == 4
    assert s["realised_quantile"] == pytest.approx(0.25 + 0.5 * 0.5)
    assert summarize(ratio, bound=1.5)["pass_rate"] == pytest.approx(0.25)


def test_script_redraws_ceilings_of_another_seed(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "research/experiment_pass_chance.py", "--seeds", "5", "--customers", "800",
                        "--futures", "300", "--out", str(tmp_path)],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    (run,) = json.loads((tmp_path / "pass_chance.json").read_text())["runs"]
    assert run["seed"] == 5 and "served" not in run and run["futures"] == 300
    assert set(run["scorers"]) == {"naive", "no_duration", "no_duration_saving", "no_duration_saving_engagement"}
    for v in run["scorers"].values():
        assert 0 <= v["pass_rate"] <= 1 and v["p05"] <= v["median"] <= v["p95"]
        assert 0 < v["expected_ratio_check"] < 1.2
    # ranking by current AUM is far worse than knowing everything but the intent's duration
    assert run["scorers"]["no_duration"]["mean"] > run["scorers"]["naive"]["mean"]
    assert "达标" in (tmp_path / "pass_chance.md").read_text()

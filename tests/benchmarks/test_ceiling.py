"""Oracles with hidden information removed (benchmarks/ceiling.py) and the script that reports them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import benchmarks.ceiling as ceiling
from million.datagen.simulate import Generated, generate, oracle_probabilities

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def gen() -> Generated:
    return generate(1500, 10, seed=11, keep_hidden=True)


def test_hidden_state_reproduces_the_saved_oracle(gen: Generated) -> None:
    h = gen.hidden
    assert h is not None and h.as_of == gen.oracle["as_of"].iloc[0]
    again = oracle_probabilities(h.state, h.traits, h.customer_ids, h.as_of, h.seed)
    assert again.equals(gen.oracle.drop(columns="p_check"))
    assert generate(50, 8, seed=11).hidden is None  # kept only when asked


def test_without_duration_equals_the_oracle_when_the_duration_is_not_random(
        gen: Generated, monkeypatch: pytest.MonkeyPatch) -> None:
    """If every intent lasted exactly 4 months, age would tell the months left: nothing would be hidden."""
    h = gen.hidden
    assert h is not None
    state = h.state.copy()
    active = state.intent_left > 0
    assert active.sum() > 20 and len(set(state.intent_age[active])) > 1
    state.intent_left = np.where(active, 4 - state.intent_age, 0)
    monkeypatch.setattr(ceiling, "INTENT_MONTHS", (4, 4))
    full = ceiling._probabilities(h, state, h.traits)
    reduced = ceiling.without_duration(h, state, h.traits)
    np.testing.assert_allclose(reduced.to_numpy(), full.reindex(reduced.index).to_numpy())


def test_without_duration_averages_the_possible_months_left(gen: Generated) -> None:
    h = gen.hidden
    assert h is not None
    full = ceiling._probabilities(h, h.state, h.traits)
    reduced = ceiling.without_duration(h, h.state, h.traits)
    ids = full.index
    active = np.isin(ids, h.customer_ids[h.state.intent_left > 0])
    # nobody outside an intent changes; inside one, the averaged probability differs for some customers
    np.testing.assert_allclose(reduced[~active].to_numpy(), full[~active].to_numpy())
    assert (np.abs(reduced[active] - full[active]) > 0.01).sum() > 5
    # an intent just entered (age 0) can last 2, 3 or 4 months: the mean of those three probabilities
    age0 = h.customer_ids[(h.state.intent_left > 0) & (h.state.intent_age == 0)]
    assert len(age0) > 3
    by_left = []
    for left in (2, 3, 4):
        s = h.state.copy()
        s.intent_left = np.where(h.state.intent_left > 0, left, 0)
        by_left.append(ceiling._probabilities(h, s, h.traits))
    expect = sum(p.reindex(age0) for p in by_left) / 3
    np.testing.assert_allclose(reduced.reindex(age0).to_numpy(), expect.to_numpy())


def test_script_reports_ceilings_and_reads_model_ratios(tmp_path: Path) -> None:
    metrics = tmp_path / "metrics.json"
    metrics.write_text(json.dumps({"propensity": {"expected_top1_vs_oracle": {"ratio": 0.9}}}))
    r = subprocess.run([sys.executable, "research/experiment_ceiling.py", "--seeds", "5", "--customers", "800",
                        "--metrics", str(metrics), "--out", str(tmp_path / "out")],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    report = json.loads((tmp_path / "out" / "ceiling.json").read_text())
    (run,) = report["runs"]
    assert run["seed"] == 5 and run["prospects"] > 100
    assert set(run["ratios"]) == set(ceiling.CEILINGS)
    assert all(0 < v <= 1.05 for v in run["ratios"].values())
    assert set(run["ratios_check"]) == set(ceiling.CEILINGS) and all(0 < v <= 1.1 for v in run["ratios_check"].values())
    # JSON keys are strings; a metrics file from before p_check measured with p_true
    assert report["model"] == {"make artifacts（默认数据，按 p_true 计）": {"42": 0.9}}
    md = (tmp_path / "out" / "ceiling.md").read_text()
    assert "信息上限" in md and "按独立估计 p_check 计" in md

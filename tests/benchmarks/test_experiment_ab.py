"""The A/B decision rule of research/experiment_ab.py, and how a failed arm job is reported."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "research"))  # the experiments import each other as siblings

import experiment_ab as ab  # noqa: E402


def job(seed: int, exp_p1: float, pr_auc: float = 0.93, band: float = 0.93, brier: float = 1.07,
        seconds: float = 100.0) -> dict[str, Any]:
    return {"seed": seed, "lgbm_seconds": seconds,
            "ratios": {"exp_p1": exp_p1, "p1": exp_p1, "pr_auc": pr_auc, "band_pr_auc": band, "brier": brier}}


def test_adopts_only_a_clear_gain_within_the_guardrails() -> None:
    base = [job(1, 0.90), job(2, 0.91)]
    clear = ab.decide({"base": base, "change": [job(1, 0.907), job(2, 0.915)]})
    assert clear["adopt"] and clear["gain"] == pytest.approx(0.006)
    small = ab.decide({"base": base, "change": [job(1, 0.904), job(2, 0.915)]})
    assert not small["adopt"] and all(small["checks"].values())  # +0.0045: not more than the margin
    worse_pr = ab.decide({"base": base, "change": [job(1, 0.92, pr_auc=0.92), job(2, 0.93, pr_auc=0.92)]})
    assert not worse_pr["adopt"] and worse_pr["checks"]["pr_auc"] is False
    slow = ab.decide({"base": base, "change": [job(1, 0.92, seconds=300), job(2, 0.93, seconds=300)]})
    assert not slow["adopt"] and slow["checks"]["time"] is False


def test_a_failed_job_reports_its_error(tmp_path: Path) -> None:
    (tmp_path / "research").mkdir()  # a tree without the experiment code: the job cannot import it
    with pytest.raises(RuntimeError, match="experiment_params"):
        ab.run_arm_job(tmp_path, tmp_path / "work", 1)

"""Where the propensity artifacts live under the artifacts folder (one definition for all readers)."""

from __future__ import annotations

from pathlib import Path

SUBDIR = "propensity"


def artifacts_paths(artifacts_dir: Path) -> dict[str, Path]:
    d = Path(artifacts_dir) / SUBDIR
    return {"dir": d, "models": d / "models", "charts": d / "charts", "features": d / "features.parquet",
            "scores": d / "scores_latest.parquet", "shap": d / "shap_global.json", "card": d / "model_card.md",
            "metrics": Path(artifacts_dir) / "metrics.json"}

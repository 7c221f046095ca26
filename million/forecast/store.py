"""File names of the forecast step's artifacts."""

from __future__ import annotations

from pathlib import Path

SUBDIR = "forecast"
AGGREGATES = "aggregates.json"  # every total/segment/branch series: history, backtest, 12-month forecast
CUSTOMER_BACKTEST = "customer_backtest.parquet"  # the sampled customers' holdout MAPEs
META = "forecast.json"
REPORT = "backtest.md"
TOTAL_CHART = "total.png"
MAX_HORIZON = 12


def folder(artifacts_dir: Path) -> Path:
    return Path(artifacts_dir) / SUBDIR

"""File names of the rules step's artifacts."""

from __future__ import annotations

from pathlib import Path

SUBDIR = "rules"
RULES = "rules.parquet"  # product rules, lift > 1
ITEMSETS = "frequent_itemsets.parquet"
BASKETS = "baskets.parquet"  # customer_id, stat_month, items, cool_period_until
META = "rules.json"
HANDBOOK = "handbook.md"


def folder(artifacts_dir: Path) -> Path:
    return Path(artifacts_dir) / SUBDIR

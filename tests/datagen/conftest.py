"""Generated data for the generator tests: the two session data sets read back from their parquet
files (exactly what the generator wrote), and a larger in-memory run for rates and correlations."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from million.datagen.simulate import Generated, generate, month_list


@dataclass
class DataSet:
    name: str
    base: pd.DataFrame
    behavior: pd.DataFrame
    oracle: pd.DataFrame
    months: list[str]  # every stat_month of the export, in order


def _read(name: str, folder: Path, end_month: str, months: int) -> DataSet:
    return DataSet(name, pd.read_parquet(folder / "customer_base.parquet"),
                   pd.read_parquet(folder / "customer_behavior_assets.parquet"),
                   pd.read_csv(folder / "oracle.csv", dtype={"customer_id": str}),
                   month_list(end_month, months))


@pytest.fixture(scope="session", params=["small", "hex"])
def dataset(request: pytest.FixtureRequest) -> DataSet:
    """small: 2,000 customers x 24 months to 2026-10, sequential IDs; hex: 1,500 x 18 months to
    2025-06 with 32-hex IDs (see tests/conftest.py)."""
    if request.param == "small":
        return _read("small", request.getfixturevalue("small_data"), "2026-10", 24)
    return _read("hex", request.getfixturevalue("hex_data"), "2025-06", 18)


@pytest.fixture(scope="session")
def gen5k() -> Generated:
    """5,000 customers x 24 months, in memory: enough prospects for rates and correlations."""
    return generate(5000, 24, seed=2024)

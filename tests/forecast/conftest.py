"""Analytics built once per session on the small (sequential IDs) and hex (32-hex IDs, mid-period
accounts) data sets; shared with the other analytics test folders through tests.segments.analytics."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.segments.analytics import Built, build


@pytest.fixture(scope="session")
def small_built(small_wh_url: str, small_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Built:
    return build("small", small_wh_url, small_data, tmp_path_factory.mktemp("analytics_small"))


@pytest.fixture(scope="session")
def hex_built(hex_wh_url: str, hex_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Built:
    return build("hex", hex_wh_url, hex_data, tmp_path_factory.mktemp("analytics_hex"))

"""At scale the generator hands each month's rows to a sink (parquet, a row group per month) instead of
keeping them: the same tables as the in-memory path."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from million.datagen.simulate import generate
from million.datagen.writer import ParquetRows, write_table


def test_months_handed_to_a_sink_make_the_same_tables(tmp_path: Path) -> None:
    whole = generate(900, 10, seed=11)
    months: list[pd.DataFrame] = []
    streamed = generate(900, 10, seed=11, behavior_sink=months.append)
    assert streamed.behavior.empty and len(months) == 10
    pd.testing.assert_frame_equal(pd.concat(months, ignore_index=True), whole.behavior)
    pd.testing.assert_frame_equal(streamed.customer_base, whole.customer_base)
    pd.testing.assert_frame_equal(streamed.oracle, whole.oracle)

    for d in ("a", "b"):
        (tmp_path / d).mkdir()
    with ParquetRows(tmp_path / "a", "t") as rows:
        for m in months:
            rows(m)
    one = write_table(whole.behavior, tmp_path / "b", "t", "parquet")
    assert rows.rows == len(whole.behavior)
    pd.testing.assert_frame_equal(pd.read_parquet(rows.path), pd.read_parquet(one))

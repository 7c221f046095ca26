"""Tables larger than memory: both backends take a table as a stream of chunks (same result as one
frame; a source that fails half-way leaves the live tables as they were) and fingerprint a table
inside the engine (independent of row order, sensitive to any changed, added or repeated row)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from million.warehouse import Warehouse, WarehouseError, connect

FRAME = pd.DataFrame({"k": [f"K{i:03d}" for i in range(10)], "v": [i * 1.25 for i in range(10)],
                      "t": ["甲", None, "乙", "丙", None, "丁", "戊", "己", "庚", "辛"]})
DDL = {"zz_stream": lambda t: [f"CREATE TABLE {t} (k VARCHAR(8) PRIMARY KEY, v DECIMAL(10, 2), t VARCHAR(8))"]}


def chunks(df: pd.DataFrame, size: int) -> Iterator[pd.DataFrame]:
    for i in range(0, len(df), size):
        yield df.iloc[i:i + size].reset_index(drop=True)


def failing(df: pd.DataFrame) -> Iterator[pd.DataFrame]:
    yield df.iloc[:3]
    raise OSError("磁盘读取失败")


def fresh(wh: Warehouse) -> Warehouse:
    """A new reading connection (a DuckDB writer's own connection keeps the file it opened)."""
    return connect(wh.url_for_tests, read_only=True)


def hash_of(wh: Warehouse, table: str) -> str:
    with fresh(wh) as r:
        return r.content_hash(table, ["k", "v", "t"])


def read(wh: Warehouse, table: str) -> pd.DataFrame:
    with fresh(wh) as r:
        df = r.query(f"SELECT k, v, t FROM {table} ORDER BY k")
    df["v"] = df["v"].astype(float)
    return df.astype({"t": object}).where(df.notna(), None)


def expected() -> pd.DataFrame:
    return FRAME.astype({"t": object}).where(FRAME.notna(), None)


@pytest.fixture(params=["duckdb", "mysql"])
def writer(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Warehouse]:
    if request.param == "duckdb":
        url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    else:
        url = request.getfixturevalue("mysql").admin_url
    with connect(url, read_only=False) as wh:
        wh.url_for_tests = url  # type: ignore[attr-defined]
        yield wh
        if request.param == "mysql":
            for t in ("zz_stream", "zz_plain"):
                wh.query(f"DROP TABLE IF EXISTS {t}")


def test_a_stream_of_chunks_loads_the_same_table_as_one_frame(writer: Warehouse) -> None:
    writer.replace_tables({"zz_stream": chunks(FRAME, 3), "zz_plain": chunks(FRAME, 4)}, DDL)
    pd.testing.assert_frame_equal(read(writer, "zz_stream"), expected())
    pd.testing.assert_frame_equal(read(writer, "zz_plain"), expected())  # created from the first chunk's types


def test_a_source_failing_half_way_leaves_the_live_table(writer: Warehouse, tmp_path: Path) -> None:
    writer.replace_tables({"zz_stream": FRAME}, DDL)
    with pytest.raises((OSError, WarehouseError)):
        writer.replace_tables({"zz_stream": failing(FRAME.assign(v=0.0))}, DDL)
    pd.testing.assert_frame_equal(read(writer, "zz_stream"), expected())
    with fresh(writer) as r:
        assert not [t for t in r.tables() if t.endswith(("__new", "__old"))]
    assert not list(tmp_path.glob(".*.swap"))


def test_the_content_hash_ignores_order_and_sees_every_change(writer: Warehouse) -> None:
    variants = {
        "same": FRAME,
        "reversed": FRAME.iloc[::-1],
        "changed cell": FRAME.assign(v=FRAME["v"].where(FRAME.index != 4, 99.0)),
        "null made text": FRAME.assign(t=FRAME["t"].fillna("")),
        "row dropped": FRAME.iloc[1:],
    }
    got = {}
    for name, df in variants.items():
        writer.replace_tables({"zz_stream": df.reset_index(drop=True)}, DDL)
        got[name] = hash_of(writer, "zz_stream")
    assert len(got["same"]) == 16
    assert got["same"] == got["reversed"]
    others = [got[n] for n in ("changed cell", "null made text", "row dropped")]
    assert len({got["same"], *others}) == 4, got
    # a repeated row counts (no primary key on this table)
    writer.replace_tables({"zz_plain": FRAME}, None)
    once = hash_of(writer, "zz_plain")
    writer.replace_tables({"zz_plain": pd.concat([FRAME, FRAME.iloc[[2]]], ignore_index=True)}, None)
    assert hash_of(writer, "zz_plain") != once

"""Re-importing swaps whole tables atomically: readers never see a half-loaded warehouse, they see
the new data once it is in, other tables in the DuckDB file survive, and a failed import changes
nothing."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from million.contract import BEHAVIOR, CUSTOMER_BASE
from million.datagen.simulate import generate
from million.datagen.writer import write_table
from million.ingest.load import REJECTS_TABLE
from million.ingest.read import FileFormatError
from million.warehouse import connect
from tests.ingest.conftest import load

COUNTS = (f"SELECT (SELECT COUNT(*) FROM {CUSTOMER_BASE}) AS base, "
          f"(SELECT COUNT(*) FROM {BEHAVIOR}) AS behavior")


@pytest.fixture(scope="module")
def two_sets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, tuple[int, int]]]:
    """Two data sets of different sizes, as parquet folders, with their (base, behaviour) row counts."""
    out = {}
    for name, (n, months, seed) in {"A": (60, 6, 1), "B": (140, 9, 2)}.items():
        g = generate(n, months, seed=seed, end_month="2025-06")
        folder = tmp_path_factory.mktemp(f"set{name}")
        write_table(g.customer_base, folder, CUSTOMER_BASE, "parquet")
        write_table(g.behavior, folder, BEHAVIOR, "parquet")
        out[name] = (folder, (len(g.customer_base), len(g.behavior)))
    return out


def counts(wh) -> tuple[int, int]:
    row = wh.query(COUNTS).iloc[0]
    return int(row["base"]), int(row["behavior"])


def test_readers_see_the_old_or_the_new_tables_never_a_mix(two_sets, tmp_path: Path) -> None:
    db = tmp_path / "warehouse.duckdb"
    (folder_a, want_a), (folder_b, want_b) = two_sets["A"], two_sets["B"]
    load(folder_a, db)
    url = f"duckdb:///{db}"
    seen: list[tuple[int, int]] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        with connect(url) as wh:  # one read-only warehouse held across all re-imports
            while not stop.is_set():
                try:
                    seen.append(counts(wh))
                except BaseException as e:  # noqa: BLE001 - reported below
                    errors.append(e)
                    return

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    while len(seen) < 5:
        time.sleep(0.01)
    for folder in (folder_b, folder_a, folder_b, folder_a, folder_b):
        load(folder, db)
        time.sleep(0.05)
    time.sleep(0.2)
    stop.set()
    for t in threads:
        t.join(30)
    assert not errors, errors
    assert set(seen) <= {want_a, want_b}, set(seen) - {want_a, want_b}
    assert want_a in seen and want_b in seen
    assert seen[-1] == want_b  # after the last import both readers see it


def test_every_reader_in_a_process_sees_the_new_data(two_sets, tmp_path: Path) -> None:
    """Several warehouse objects on one file (the SQL tool, the dashboard, ...) all move to the new
    file after a re-import, even while another one still holds a connection to the old file."""
    db = tmp_path / "warehouse.duckdb"
    (folder_a, want_a), (folder_b, want_b) = two_sets["A"], two_sets["B"]
    load(folder_a, db)
    url = f"duckdb:///{db}"
    readers = [connect(url) for _ in range(3)]
    try:
        assert [counts(r) for r in readers] == [want_a] * 3
        load(folder_b, db)
        assert [counts(r) for r in readers] == [want_b] * 3
        load(folder_a, db)
        assert [counts(r) for r in reversed(readers)] == [want_a] * 3
        with connect(url) as late:
            assert counts(late) == want_a
    finally:
        for r in readers:
            r.close()


def test_a_reader_and_the_loader_in_one_process(two_sets, tmp_path: Path) -> None:
    """The app can re-import while it serves: the loader writes a copy and swaps it in."""
    from million.ingest.load import load_folder

    db = tmp_path / "warehouse.duckdb"
    (folder_a, want_a), (folder_b, want_b) = two_sets["A"], two_sets["B"]
    load(folder_a, db)
    url = f"duckdb:///{db}"
    with connect(url) as reader:
        assert counts(reader) == want_a
        with connect(url, read_only=False) as admin:
            load_folder(folder_b, admin, log=lambda _m: None)
        assert counts(reader) == want_b


def test_other_tables_survive_a_reimport(two_sets, tmp_path: Path) -> None:
    db = tmp_path / "warehouse.duckdb"
    (folder_a, _), (folder_b, want_b) = two_sets["A"], two_sets["B"]
    load(folder_a, db)
    url = f"duckdb:///{db}"
    segments = pd.DataFrame({"customer_id": ["C0000001", "C0000002"], "segment": ["稳健增值", "高潜冲刺"]})
    with connect(url, read_only=False) as wh:
        wh.replace_tables({"customer_segments": segments})
    load(folder_b, db)
    with connect(url) as wh:
        assert counts(wh) == want_b
        assert set(wh.tables()) == {CUSTOMER_BASE, BEHAVIOR, REJECTS_TABLE, "customer_segments"}
        pd.testing.assert_frame_equal(wh.query("SELECT * FROM customer_segments ORDER BY customer_id"), segments)


def test_a_failed_reimport_changes_nothing(two_sets, tmp_path: Path) -> None:
    db = tmp_path / "warehouse.duckdb"
    (folder_a, want_a), (folder_b, _) = two_sets["A"], two_sets["B"]
    load(folder_a, db)
    before = db.read_bytes()
    broken = tmp_path / "broken"
    broken.mkdir()
    pd.read_parquet(folder_b / "customer_base.parquet").drop(columns=["age"]).to_parquet(
        broken / "customer_base.parquet")
    (broken / "customer_behavior_assets.parquet").write_bytes((folder_b / "customer_behavior_assets.parquet").read_bytes())
    with pytest.raises(FileFormatError, match="缺少列：age"):
        load(broken, db)
    assert db.read_bytes() == before
    with connect(f"duckdb:///{db}") as wh:
        assert counts(wh) == want_a
    assert not list(tmp_path.glob(".*.swap"))


def test_rejects_are_replaced_not_accumulated(two_sets, tmp_path: Path) -> None:
    db = tmp_path / "warehouse.duckdb"
    folder_a, want_a = two_sets["A"]
    dirty = tmp_path / "dirty"
    dirty.mkdir()
    base = pd.read_parquet(folder_a / "customer_base.parquet")
    base.loc[0, "gender"] = "?"
    base.to_parquet(dirty / "customer_base.parquet")
    (dirty / "customer_behavior_assets.parquet").write_bytes((folder_a / "customer_behavior_assets.parquet").read_bytes())
    result, url = load(dirty, db)
    assert len(result.rejects) > 1
    with connect(url) as wh:
        assert len(wh.query(f"SELECT * FROM {REJECTS_TABLE}")) == len(result.rejects)
    load(folder_a, db)
    with connect(url) as wh:
        assert wh.query(f"SELECT COUNT(*) AS n FROM {REJECTS_TABLE}")["n"].iloc[0] == 0
        assert counts(wh) == want_a

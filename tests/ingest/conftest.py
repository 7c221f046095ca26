"""Small files for loader tests: a tiny generated data set and writers that keep every cell as given
(numbers stay numbers, a broken cell stays the text it was), in xlsx, csv or parquet."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
import xlsxwriter

from million.contract import BEHAVIOR, CUSTOMER_BASE
from million.datagen.simulate import Generated, generate
from million.ingest.load import LoadResult, load_folder
from million.warehouse import connect

FORMATS = ["xlsx", "csv", "parquet"]


@pytest.fixture(scope="session")
def tiny() -> Generated:
    """40 customers x 6 months to 2025-06 (some accounts open mid-period)."""
    return generate(40, 6, seed=21, end_month="2025-06")


def _cell(v: object) -> object:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    if hasattr(v, "item"):  # numpy scalars
        return v.item()
    return v


def write_raw(df: pd.DataFrame, path: Path) -> Path:
    """Write a frame of raw cells. xlsx: cell by cell, so a number is a number cell and text a text
    cell; csv: as text; parquet: a column is numeric when all its cells are numbers, else text."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".xlsx":
        wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_formulas": False,
                                             "strings_to_urls": False, "nan_inf_to_errors": True})
        ws = wb.add_worksheet("Sheet1")
        ws.write_row(0, 0, [str(c) for c in df.columns])
        for r, row in enumerate(df.itertuples(index=False, name=None), start=1):
            for c, v in enumerate(row):
                v = _cell(v)
                if v is not None:
                    ws.write(r, c, v)
        wb.close()
    elif path.suffix == ".csv":
        df.to_csv(path, index=False, lineterminator="\n")
    else:
        cols = {}
        for i, c in enumerate(df.columns):
            s = df.iloc[:, i].map(_cell).astype(object)
            vals = s.dropna()
            numeric = len(vals) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals)
            cols[str(c) if str(c) not in cols else f"{c}__{i}"] = (
                pd.to_numeric(s) if numeric else s.map(lambda v: None if v is None else str(v)).astype(object))
        pd.DataFrame(cols).to_parquet(path, index=False)
    return path


def write_folder(folder: Path, base: pd.DataFrame, behavior: pd.DataFrame, fmt: str) -> Path:
    for p in folder.glob("customer_*"):
        p.unlink()
    write_raw(base, folder / f"{CUSTOMER_BASE}.{fmt}")
    write_raw(behavior, folder / f"{BEHAVIOR}.{fmt}")
    return folder


def load(folder: Path, db: Path | None = None, chunk_rows: int | None = None) -> tuple[LoadResult, str]:
    """Load the folder; `chunk_rows` reads the behaviour file in chunks of that many rows (as for
    files larger than memory) instead of the default."""
    url = f"duckdb:///{db or folder / 'warehouse.duckdb'}"
    with connect(url, read_only=False) as wh:
        if chunk_rows is None:
            result = load_folder(folder, wh, log=lambda _m: None)
        else:
            result = load_folder(folder, wh, log=lambda _m: None, chunk_rows=chunk_rows)
    return result, url


def read_back(url: str, table: str, order: str) -> pd.DataFrame:
    with connect(url) as wh:
        return wh.query(f'SELECT * FROM "{table}" ORDER BY {order}')

"""Write generated tables as xlsx, csv or parquet, byte-for-byte reproducible for the same input."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pandas as pd

XLSX_MAX_ROWS = 1_048_576  # including the header row
FIXED_TIME = dt.datetime(2024, 1, 1)


def pick_format(fmt: str, rows: int) -> str:
    """xlsx cannot hold more than 1,048,575 data rows: such a table goes to parquet."""
    return "parquet" if fmt == "xlsx" and rows + 1 > XLSX_MAX_ROWS else fmt


def write_table(df: pd.DataFrame, out_dir: Path, name: str, fmt: str,
                progress: Callable[[int], None] | None = None) -> Path:
    fmt = pick_format(fmt, len(df))
    path = out_dir / f"{name}.{fmt}"
    for old in out_dir.glob(f"{name}.*"):  # one file per table, so the loader is never ambiguous
        if old.suffix in {".xlsx", ".csv", ".parquet"} and old != path:
            old.unlink()
    if fmt == "csv":
        df.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")
    elif fmt == "parquet":
        df.to_parquet(path, index=False, compression="zstd")
    elif fmt == "xlsx":
        _write_xlsx(df, path, name, progress)
    else:
        raise ValueError(f"unknown format {fmt!r}")
    return path


def _write_xlsx(df: pd.DataFrame, path: Path, sheet: str, progress: Callable[[int], None] | None) -> None:
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False,
                                         "strings_to_formulas": False, "strings_to_urls": False})
    wb.set_properties({"created": FIXED_TIME})
    ws = wb.add_worksheet(sheet[:31])
    ws.write_row(0, 0, list(df.columns))
    obj = df.astype(object).where(df.notna(), None)
    step = 50_000
    for r, row in enumerate(obj.itertuples(index=False, name=None), start=1):
        ws.write_row(r, 0, row)
        if progress and r % step == 0:
            progress(step)
    if progress:
        progress(len(df) % step)
    wb.close()

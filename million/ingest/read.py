"""Read a table file into raw columns keyed by contract names, with the file's row numbers."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from million.contract import TABLES

SUFFIXES = (".xlsx", ".csv", ".parquet")

# Chinese headers banks commonly export, mapped to contract names.
ALIASES = {
    "客户id": "customer_id", "客户编号": "customer_id", "客户号": "customer_id", "姓名": "name", "客户姓名": "name",
    "年龄": "age", "性别": "gender", "职业": "occupation", "职业类型": "occupation_type", "月收入": "monthly_income",
    "开户日期": "open_account_date", "生命周期阶段": "lifecycle_stage", "客户生命周期阶段": "lifecycle_stage",
    "婚姻状况": "marriage_status", "城市等级": "city_level", "开户网点": "branch_name", "网点": "branch_name",
    "记录id": "id", "总资产": "total_assets", "存款余额": "deposit_balance", "理财余额": "financial_balance",
    "基金余额": "fund_balance", "保险余额": "insurance_balance", "资产等级": "asset_level",
    "统计月份": "stat_month", "产品数": "product_count", "持有产品数": "product_count",
}


class FileFormatError(ValueError):
    """The file cannot be used at all (missing columns, unreadable, ambiguous)."""


def find_table_file(data_dir: Path, table: str) -> Path:
    found = [data_dir / f"{table}{s}" for s in SUFFIXES if (data_dir / f"{table}{s}").exists()]
    if not found:
        raise FileFormatError(f"在 {data_dir} 中找不到 {table}.xlsx / .csv / .parquet")
    if len(found) > 1:
        raise FileFormatError(f"{table} 有多个文件（{', '.join(p.name for p in found)}），请只保留一个")
    return found[0]


def normalise_header(h: object) -> str:
    s = str(h).replace("\ufeff", "").strip().strip("`\"'[]").strip()
    key = re.sub(r"\s+", "", s).lower()
    return ALIASES.get(key, key)


def read_table(path: Path, table: str) -> pd.DataFrame:
    """Returns a DataFrame of raw values (object dtype) with contract column names and a
    `__row` column holding the file row number (the header is row 1)."""
    return next(read_table_chunks(path, table, None))  # without a chunk size: the whole file, one frame


def table_rows(path: Path) -> int | None:
    """Data rows in the file when the format says so without reading it (parquet), else None."""
    if path.suffix == ".parquet":
        try:
            return pq.ParquetFile(path).metadata.num_rows
        except Exception:  # noqa: BLE001 - unreadable files are reported when they are read
            return None
    return None


def read_table_chunks(path: Path, table: str, chunk_rows: int | None,
                      only: Sequence[str] | None = None) -> Iterator[pd.DataFrame]:
    """`read_table` in pieces of at most `chunk_rows` rows (None: the whole file at once), so files
    larger than memory can be checked and loaded. csv and parquet are read in pieces; an xlsx sheet
    (at most 1,048,575 rows) comes whole. `only`: just these contract columns (parquet reads no others:
    the loader's first pass needs the keys only; csv and xlsx come with every column)."""
    subset: list[str] | None = None  # parquet columns read (None: all)
    try:
        if path.suffix == ".xlsx":
            header, body = _read_xlsx(path)
            pieces: Iterator[pd.DataFrame] = iter([body])
        elif path.suffix == ".csv":
            # blank lines are kept (and reported) so every row keeps its line number in the file
            opts = dict(header=None, dtype=str, keep_default_na=False, encoding="utf-8-sig", skip_blank_lines=False)
            if chunk_rows is None:
                raw = pd.read_csv(path, **opts)
                header, pieces = list(raw.iloc[0]), iter([raw.iloc[1:]])
            else:
                reader = pd.read_csv(path, chunksize=chunk_rows, **opts)
                first = next(reader)
                header = list(first.iloc[0])
                pieces = itertools.chain([first.iloc[1:]], reader)
        elif path.suffix == ".parquet":
            pf = pq.ParquetFile(path)
            header = list(pf.schema_arrow.names)
            if chunk_rows is None:
                pieces = iter([pd.read_parquet(path)])
            else:
                if only is not None:  # the file's own spelling of the wanted headers
                    subset = [h for h in header if normalise_header(h) in set(only)]
                pieces = (b.to_pandas() for b in pf.iter_batches(batch_size=chunk_rows, columns=subset))
        else:
            raise FileFormatError(f"不支持的文件类型：{path.suffix}")
        names = _check_header(path, table, header)
        if subset is not None:
            names = [normalise_header(h) for h in subset]
    except FileFormatError:
        raise
    except Exception as e:  # unreadable file: say which and why, stop
        raise FileFormatError(f"无法读取 {path.name}：{type(e).__name__}: {str(e)[:200]}") from e
    wanted = [c.name for c in TABLES[table] if subset is None or c.name in names]
    first_row = 2
    while True:
        try:
            body = next(pieces, None)
        except Exception as e:  # noqa: BLE001 - a file broken further down: say which and why, stop
            raise FileFormatError(f"无法读取 {path.name}：{type(e).__name__}: {str(e)[:200]}") from e
        if body is None:
            return
        body = body.copy()
        body.columns = range(body.shape[1])
        # Columns keep the type the file gave them (text, numbers, times); validate.py handles each.
        out = pd.DataFrame({w: _settle(body[names.index(w)].reset_index(drop=True)) for w in wanted})
        out["__row"] = range(first_row, first_row + len(out))
        first_row += len(out)
        yield out


def _check_header(path: Path, table: str, header: list[object]) -> list[str]:
    names = [normalise_header(h) for h in header]
    wanted = [c.name for c in TABLES[table]]
    dup = sorted({n for n in names if n in wanted and names.count(n) > 1})
    if dup:
        raise FileFormatError(f"{path.name} 的表头有重复列：{', '.join(dup)}，无法判断使用哪一列")
    missing = [w for w in wanted if w not in names]
    if missing:
        raise FileFormatError(f"{path.name} 缺少列：{', '.join(missing)}（这不是 {table} 表的文件？）")
    return names


def _read_xlsx(path: Path) -> tuple[list[object], pd.DataFrame]:
    """The first sheet through python-calamine: cells as stored (numbers, text, dates), empty
    cells as None. Text is kept as written (as for csv), e.g. "N/A" stays "N/A"."""
    from python_calamine import CalamineWorkbook

    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    if not rows:
        raise FileFormatError(f"{path.name} 是空表")
    width = max(len(r) for r in rows)
    body = pd.DataFrame(rows[1:], columns=range(width), dtype=object)
    body = body.where(body != "", None) if len(body) else body
    return list(rows[0]) + [None] * (width - len(rows[0])), body


def _settle(col: pd.Series) -> pd.Series:
    """A mixed (object) column that holds only text and empty cells becomes a string column, so
    the checks run vectorised; anything else is left exactly as read."""
    if col.dtype == object and len(col) and pd.api.types.infer_dtype(col, skipna=True) == "string":
        return col.astype("str")
    return col

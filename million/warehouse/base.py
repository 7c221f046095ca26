"""The interface every warehouse backend implements."""

from __future__ import annotations

import decimal
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import pandas as pd

# table -> function(target_table_name) -> CREATE statements (tables swapped in get typed DDL)
DdlMap = dict[str, Callable[[str], list[str]]]
# A whole table as one frame, or as an iterable of frames with the same columns (streamed in chunks, so a
# table larger than memory can be loaded).
TableData = pd.DataFrame | Iterable[pd.DataFrame]


def frame_chunks(data: TableData) -> Iterator[pd.DataFrame]:
    if isinstance(data, pd.DataFrame):
        yield data
    else:
        yield from data


class WarehouseError(RuntimeError):
    """A query or load failed; the message is safe to show (no credentials)."""


class QueryTimeout(WarehouseError):
    pass


class Warehouse(ABC):
    dialect: str  # sqlglot dialect name: "duckdb" or "mysql"
    read_only: bool

    @abstractmethod
    def query(self, sql: str, params: Sequence[Any] | None = None, *, timeout_s: float | None = None,
              max_rows: int | None = None) -> pd.DataFrame:
        """Run one statement; `params` bind to `?` placeholders (translated per backend)."""

    @abstractmethod
    def tables(self) -> list[str]: ...

    @abstractmethod
    def columns(self, table: str) -> list[tuple[str, str]]:
        """(name, type) pairs as the engine reports them."""

    @abstractmethod
    def replace_tables(self, frames: dict[str, TableData], ddl: DdlMap | None = None) -> None:
        """Atomically swap in new versions of whole tables: readers see the old or the new, never half.
        A table's data is one frame or an iterable of frames (consumed once, chunk by chunk). Tables
        without an entry in `ddl` are created from the (first) frame's own types."""

    @abstractmethod
    def content_hash(self, table: str, columns: Sequence[str]) -> str:
        """An order-independent hash of the table's rows over `columns`, computed inside the engine
        (16 hex chars), so fingerprinting a large table does not read it into memory."""

    def version_token(self) -> str:
        """Changes whenever the data may have changed (used to invalidate caches)."""
        return ""

    def scoped(self, branches: Sequence[str]) -> Warehouse:
        """A read-only warehouse whose customer tables hold only the rows of `branches`, enforced by
        the connection (million/warehouse/scoped.py), not by parsing SQL. A backend that cannot do
        this refuses: scoped users then get no free SQL rather than unscoped SQL."""
        raise WarehouseError("该数据库后端不支持按分行隔离的查询，已拒绝执行。")

    def close(self) -> None:  # noqa: B027 - optional
        pass

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def hash_hex(rows: int, row_hash_sum: object) -> str:
    """16 hex chars from a table's row count and its sum of row hashes (mod 2^64)."""
    v = 0 if row_hash_sum is None or pd.isna(row_hash_sum) else int(row_hash_sum)
    return f"{(v ^ (rows * 0x9E3779B97F4A7C15)) & (2**64 - 1):016x}"


def decimals_to_float(df: pd.DataFrame) -> pd.DataFrame:
    """DECIMAL results arrive as decimal.Decimal objects (pymysql; DuckDB rows fetched with fetchmany);
    analysts and charts want floats. A column converts only when every non-null value is a number, so
    text stays text. By position, so results with two columns of the same name work too."""
    for i in range(df.shape[1]):
        col = df.iloc[:, i]
        if col.dtype == object:
            vals = col.dropna()
            if len(vals) and all(isinstance(v, decimal.Decimal | int | float) and not isinstance(v, bool)
                                 for v in vals):
                df.isetitem(i, pd.to_numeric(col.astype(float)))
    return df

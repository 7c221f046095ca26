"""Write generated tables as xlsx, csv or parquet, byte-for-byte reproducible for the same input.

xlsx is written by a small bulk writer (`_write_xlsx`): the sheet XML is built column-wise with
pyarrow string kernels (inline strings, one `<row>` per record, cell references on every cell) and
stored in a zip whose entries all carry a fixed timestamp, so the same table always gives the same
bytes. It is about 10x faster than writing cell by cell and produces the same parts a spreadsheet
program expects (content types, relationships, workbook, styles, one worksheet).
"""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

XLSX_MAX_ROWS = 1_048_576  # including the header row
XLSX_MAX_COLS = 16_384
FIXED_TIME = dt.datetime(2024, 1, 1)
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the zip epoch: every entry gets it, so output depends on data only
CHUNK_ROWS = 50_000
ZIP_LEVEL = 1  # the sheet XML is very repetitive: level 1 is ~4x faster than 6 for ~25% more bytes


def pick_format(fmt: str, rows: int) -> str:
    """xlsx cannot hold more than 1,048,575 data rows: such a table goes to parquet."""
    return "parquet" if fmt == "xlsx" and rows + 1 > XLSX_MAX_ROWS else fmt


def write_table(df: pd.DataFrame, out_dir: Path, name: str, fmt: str,
                progress: Callable[[int], None] | None = None) -> Path:
    fmt = pick_format(fmt, len(df))
    path = _fresh_path(out_dir, name, fmt)
    if fmt == "csv":
        df.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")
    elif fmt == "parquet":
        with ParquetRows(out_dir, name) as rows:
            for lo in range(0, max(len(df), 1), PARQUET_SLICE_ROWS):
                rows(df.iloc[lo:lo + PARQUET_SLICE_ROWS])
                if progress:
                    progress(min(PARQUET_SLICE_ROWS, len(df) - lo))
    elif fmt == "xlsx":
        _write_xlsx(df, path, name, progress)
    else:
        raise ValueError(f"unknown format {fmt!r}")
    return path


def _fresh_path(out_dir: Path, name: str, fmt: str) -> Path:
    path = out_dir / f"{name}.{fmt}"
    for old in out_dir.glob(f"{name}.*"):  # one file per table, so the loader is never ambiguous
        if old.suffix in {".xlsx", ".csv", ".parquet"} and old != path:
            old.unlink()
    return path


PARQUET_SLICE_ROWS = 1_048_576  # pyarrow's default row group: one slice in Arrow at a time


class ParquetRows:
    """A parquet table written a batch of rows at a time, each batch its own row groups: the generator hands
    over a month at a time (generate(behavior_sink=...)), so 23M rows never sit in memory or in Arrow at once."""

    def __init__(self, out_dir: Path, name: str) -> None:
        self.path = _fresh_path(out_dir, name, "parquet")
        self.rows = 0
        self._writer: Any = None
        self._schema: pa.Schema | None = None

    def __call__(self, df: pd.DataFrame) -> None:
        import pyarrow.parquet as pq

        if self._writer is None:
            first = pa.Table.from_pandas(df, preserve_index=False)
            # a text column empty in the first batch is typed null there: it is text in the file
            self._schema = pa.schema([f.with_type(pa.string()) if pa.types.is_null(f.type) else f
                                      for f in first.schema], metadata=first.schema.metadata)
            self._writer = pq.ParquetWriter(self.path, self._schema, compression="zstd")
        self._writer.write_table(pa.Table.from_pandas(df, schema=self._schema, preserve_index=False))
        self.rows += len(df)

    def close(self) -> Path:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        return self.path

    def __enter__(self) -> ParquetRows:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- xlsx ------------------------------------------------------------------------------------------
_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT = "application/vnd.openxmlformats-officedocument"


def _static_parts(sheet: str) -> dict[str, str]:
    created = FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "[Content_Types].xml": _DECL + (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/docProps/app.xml" ContentType="{_CT}.extended-properties+xml"/>'
            '<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
            f'<Override PartName="/xl/styles.xml" ContentType="{_CT}.spreadsheetml.styles+xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{_CT}.spreadsheetml.sheet.main+xml"/>'
            f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_CT}.spreadsheetml.worksheet+xml"/>'
            "</Types>"),
        "_rels/.rels": _DECL + (
            f'<Relationships xmlns="{_NS_PKG_REL}">'
            f'<Relationship Id="rId1" Type="{_NS_REL}/officeDocument" Target="xl/workbook.xml"/>'
            f'<Relationship Id="rId2" Type="{_NS_PKG_REL}/metadata/core-properties" Target="docProps/core.xml"/>'
            f'<Relationship Id="rId3" Type="{_NS_REL}/extended-properties" Target="docProps/app.xml"/>'
            "</Relationships>"),
        "docProps/app.xml": _DECL + (
            '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
            "<Application>million-assistant</Application></Properties>"),
        "docProps/core.xml": _DECL + (
            '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
            'xmlns:dcterms="http://purl.org/dc/terms/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            f'<dcterms:created xsi:type="dcterms:W3CDTF">{created}</dcterms:created>'
            f'<dcterms:modified xsi:type="dcterms:W3CDTF">{created}</dcterms:modified>'
            "</cp:coreProperties>"),
        "xl/workbook.xml": _DECL + (
            f'<workbook xmlns="{_NS_MAIN}" xmlns:r="{_NS_REL}">'
            f'<sheets><sheet name="{_escape(sheet)}" sheetId="1" r:id="rId1"/></sheets></workbook>'),
        "xl/_rels/workbook.xml.rels": _DECL + (
            f'<Relationships xmlns="{_NS_PKG_REL}">'
            f'<Relationship Id="rId1" Type="{_NS_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{_NS_REL}/styles" Target="styles.xml"/>'
            "</Relationships>"),
        "xl/styles.xml": _DECL + (
            f'<styleSheet xmlns="{_NS_MAIN}">'
            '<fonts count="1"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
            '<fills count="2"><fill><patternFill patternType="none"/></fill>'
            '<fill><patternFill patternType="gray125"/></fill></fills>'
            '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
            '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
            '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>'
            '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
            "</styleSheet>"),
    }


def _escape(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _col_letter(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


_ILLEGAL_XML = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x{FFFE}\x{FFFF}]"  # RE2 syntax


def _text_cells(values: pa.Array) -> tuple[pa.Array, str]:
    """XML-escaped text and the <t> opening tag for a column of strings (nulls stay null)."""
    if pc.any(pc.match_substring_regex(values, _ILLEGAL_XML)).as_py():
        raise ValueError("xlsx 不能保存控制字符（\\x00-\\x1f），请先清理数据")
    if pc.any(pc.match_substring_regex(values, "[&<>]")).as_py():
        values = pc.replace_substring(values, "&", "&amp;")
        values = pc.replace_substring(values, "<", "&lt;")
        values = pc.replace_substring(values, ">", "&gt;")
    if pc.any(pc.match_substring_regex(values, "_x[0-9A-Fa-f]{4}_")).as_py():
        # Excel reads _xHHHH_ as an escaped character: escape the underscore to keep the text as written
        values = pc.replace_substring_regex(values, "_(x[0-9A-Fa-f]{4}_)", r"_x005F_\1")
    preserve = pc.any(pc.match_substring_regex(values, r"^\s|\s$")).as_py()
    return values, ('<t xml:space="preserve">' if preserve else "<t>")


def _as_arrow_text(s: pd.Series) -> pa.Array:
    try:  # str dtype, or object holding only strings and missing values
        return pa.array(s if s.dtype != object else s.to_numpy(), type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array(s.map(str, na_action="ignore").to_numpy(dtype=object), type=pa.string(), from_pandas=True)


def _column_cells(s: pd.Series, letter: str, rownum: pa.Array) -> pa.Array:
    """One `<c>` element per row ('' for a missing value) for one column chunk."""
    kind = s.dtype.kind
    if s.dtype == object and len(s) and pd.api.types.infer_dtype(s, skipna=True) in {
            "integer", "floating", "mixed-integer-float"}:
        s = pd.to_numeric(s)
        kind = s.dtype.kind
    if kind in "iufb":
        v = s.to_numpy()
        if kind == "f" and np.isinf(v).any():
            raise ValueError(f"xlsx 不能保存无穷大（列 {s.name}）")
        arr = pa.array(v.astype(np.int8) if kind == "b" else v, from_pandas=True)
        cells = pc.binary_join_element_wise(f'<c r="{letter}', rownum, '" t="b"><v>' if kind == "b" else '"><v>',
                                            pc.cast(arr, pa.string()), "</v></c>", "")
    else:
        text, t_open = _text_cells(_as_arrow_text(s))
        cells = pc.binary_join_element_wise(f'<c r="{letter}', rownum, f'" t="inlineStr"><is>{t_open}',
                                            text, "</t></is></c>", "")
    return pc.fill_null(cells, "")


def _write_xlsx(df: pd.DataFrame, path: Path, sheet: str, progress: Callable[[int], None] | None) -> None:
    n, k = df.shape
    if n + 1 > XLSX_MAX_ROWS or k > XLSX_MAX_COLS:
        raise ValueError(f"xlsx 最多 {XLSX_MAX_ROWS - 1:,} 行数据、{XLSX_MAX_COLS:,} 列，请改用 parquet")
    sheet = sheet[:31]
    letters = [_col_letter(i) for i in range(k)]
    dim = f"A1:{letters[-1]}{n + 1}" if k else "A1"
    head = (_DECL + f'<worksheet xmlns="{_NS_MAIN}" xmlns:r="{_NS_REL}"><dimension ref="{dim}"/>'
            '<sheetViews><sheetView tabSelected="1" workbookViewId="0"/></sheetViews>'
            '<sheetFormatPr defaultRowHeight="15"/><sheetData>')
    header = "".join(f'<c r="{c}1" t="inlineStr"><is><t>{_escape(str(h))}</t></is></c>'
                     for c, h in zip(letters, df.columns, strict=True))
    head += f'<row r="1">{header}</row>'
    tail = "</sheetData></worksheet>"
    # Inline-string XML is ~50 bytes a cell; past 2 GiB the zip entry needs zip64 (Excel reads it).
    zip64 = n * max(k, 1) * 120 > 2**31 - 1
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=ZIP_LEVEL) as zf:
        for name, text in _static_parts(sheet).items():
            zf.writestr(_zinfo(name), text.encode("utf-8"))
        # Compression (zlib releases the GIL) of one chunk overlaps with building the next.
        with zf.open(_zinfo("xl/worksheets/sheet1.xml"), "w", force_zip64=zip64) as out, \
                ThreadPoolExecutor(1) as pool:
            out.write(head.encode("utf-8"))
            pending: Future[int] | None = None
            for start in range(0, n, CHUNK_ROWS):
                part = df.iloc[start:start + CHUNK_ROWS]
                rownum = pc.cast(pa.array(np.arange(start + 2, start + 2 + len(part))), pa.string())
                cells = [_column_cells(part[c], letter, rownum) for c, letter in zip(part.columns, letters, strict=True)]
                rows = pc.binary_join_element_wise('<row r="', rownum, '">', *cells, "</row>", "")
                if pending is not None:
                    pending.result()
                pending = pool.submit(out.write, _string_bytes(rows))
                if progress:
                    progress(len(part))
            if pending is not None:
                pending.result()
            out.write(tail.encode("utf-8"))


def _zinfo(name: str) -> zipfile.ZipInfo:
    zi = zipfile.ZipInfo(name, date_time=ZIP_TIME)
    zi.compress_type = zipfile.ZIP_DEFLATED
    zi._compresslevel = ZIP_LEVEL  # type: ignore[attr-defined]  # ZipFile(compresslevel=) skips ZipInfo entries
    zi.create_system = 0
    zi.external_attr = 0o600 << 16
    return zi


def _string_bytes(arr: pa.Array) -> memoryview:
    """The concatenated UTF-8 bytes of a string array, straight from its data buffer."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    offsets_type = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    offsets = np.frombuffer(arr.buffers()[1], dtype=offsets_type)[arr.offset:arr.offset + len(arr) + 1]
    data = arr.buffers()[2]
    if data is None:
        return memoryview(b"")
    return memoryview(data)[int(offsets[0]):int(offsets[-1])]

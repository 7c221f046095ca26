"""The table writer: the xlsx row limit switch, and the bulk xlsx writer (valid package, values that
read back exactly with python-calamine, deterministic bytes)."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import numpy as np
import pandas as pd
import pytest
from python_calamine import CalamineWorkbook

from million.datagen import writer
from million.datagen.simulate import generate
from million.datagen.writer import XLSX_MAX_ROWS, pick_format, write_table

NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
      "ct": "http://schemas.openxmlformats.org/package/2006/content-types",
      "rel": "http://schemas.openxmlformats.org/package/2006/relationships"}


@pytest.fixture(scope="module")
def small() -> pd.DataFrame:
    return generate(60, 6, seed=3).behavior


def calamine_rows(path: Path) -> list[list[object]]:
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()


def write_in(df: pd.DataFrame, folder: Path, **kw: object) -> Path:
    folder.mkdir()
    return write_table(df, folder, "t", "xlsx", **kw)  # type: ignore[arg-type]


def test_pick_format_switches_only_above_the_xlsx_row_limit() -> None:
    assert XLSX_MAX_ROWS == 1_048_576
    assert pick_format("xlsx", 0) == "xlsx"
    assert pick_format("xlsx", 1_048_575) == "xlsx"  # + header = exactly the sheet limit
    assert pick_format("xlsx", 1_048_576) == "parquet"
    assert pick_format("xlsx", 2_400_000) == "parquet"
    assert pick_format("csv", 5_000_000) == "csv"
    assert pick_format("parquet", 10) == "parquet"


def test_write_table_goes_to_parquet_past_the_limit_and_removes_the_stale_file(
        small: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = write_table(small, tmp_path, "customer_behavior_assets", "xlsx")
    assert first.suffix == ".xlsx"
    monkeypatch.setattr(writer, "XLSX_MAX_ROWS", len(small))  # header + rows no longer fit
    second = write_table(small, tmp_path, "customer_behavior_assets", "xlsx")
    assert second.suffix == ".parquet"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["customer_behavior_assets.parquet"]
    back = pd.read_parquet(second)
    pd.testing.assert_frame_equal(back, small.reset_index(drop=True))


def test_write_table_rejects_an_unknown_format(small: pd.DataFrame, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown format"):
        write_table(small, tmp_path, "t", "json")


def test_xlsx_values_read_back_exactly_with_calamine(small: pd.DataFrame, tmp_path: Path) -> None:
    path = write_table(small, tmp_path, "customer_behavior_assets", "xlsx")
    rows = calamine_rows(path)
    assert rows[0] == list(small.columns)
    assert len(rows) == len(small) + 1
    back = pd.DataFrame(rows[1:], columns=rows[0])
    for col in small.columns:
        want, got = small[col], back[col]
        if want.dtype.kind in "iuf":
            assert np.array_equal(got.to_numpy(dtype=float), want.to_numpy(dtype=float)), col
        else:
            assert (got == want.fillna("")).all(), col  # an empty cell reads as ""
    assert small["last_contact_time"].isna().any()  # empty cells were exercised


def test_tricky_values_survive(tmp_path: Path) -> None:
    df = pd.DataFrame({
        "text": ["a&b<c>d\"e'", " lead", "trail ", "_x0041_", "中文😀", "007", None, "x" * 5000, "=1+1",
                 "line\nbreak"],
        "num": [0.1, 1e16, 99999999999999.98, 1234.5, np.nan, 1e-7, 3000.0, 123456789.12, 2.675, -5.25],
        "int": [1, 2, 3, 4, 5, 6, 7, 8, 9, 2**40],
        "flag": [True, False] * 5,
        "mixed": [1.5, None, 2, "x", 3, 4, 5, 6, 7, 8],
    })
    path = write_table(df, tmp_path, "t", "xlsx")
    rows = calamine_rows(path)
    assert rows[0] == ["text", "num", "int", "flag", "mixed"]
    assert [r[0] for r in rows[1:]] == df["text"].fillna("").tolist()
    nums = [r[1] for r in rows[1:]]
    assert nums[4] == ""
    assert [v for i, v in enumerate(nums) if i != 4] == [v for i, v in enumerate(df["num"]) if i != 4]
    assert [r[2] for r in rows[1:]] == [float(v) for v in df["int"]]
    assert [r[3] for r in rows[1:]] == list(df["flag"])
    assert [r[4] for r in rows[1:]] == ["1.5", "", "2", "x", "3", "4", "5", "6", "7", "8"]
    sheet = zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml").decode()
    assert '<c r="A3" t="inlineStr"><is><t xml:space="preserve"> lead</t>' in sheet
    assert "_x005F_x0041_" in sheet  # Excel would otherwise read _x0041_ as "A"
    assert '<c r="D2" t="b"><v>1</v></c>' in sheet


@pytest.mark.parametrize("bad", [pd.DataFrame({"a": ["ok", "bell\x07"]}), pd.DataFrame({"a": [1.0, np.inf]})])
def test_values_xlsx_cannot_hold_are_refused(bad: pd.DataFrame, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="xlsx"):
        write_table(bad, tmp_path, "t", "xlsx")


def test_xlsx_package_structure(small: pd.DataFrame, tmp_path: Path) -> None:
    path = write_table(small, tmp_path, "customer_behavior_assets", "xlsx")
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
        names = zf.namelist()
        assert names[0] == "[Content_Types].xml"
        assert {"_rels/.rels", "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/styles.xml",
                "xl/worksheets/sheet1.xml", "docProps/core.xml", "docProps/app.xml"} <= set(names)
        for info in zf.infolist():
            assert info.date_time == (1980, 1, 1, 0, 0, 0), info.filename
            assert info.compress_type == zipfile.ZIP_DEFLATED
        parts = {n: ET.fromstring(zf.read(n)) for n in names}  # every part is well-formed XML
    # every part is typed, and every relationship points to a part that exists
    ct = parts["[Content_Types].xml"]
    overrides = {o.get("PartName") for o in ct.findall("ct:Override", NS)}
    defaults = {d.get("Extension") for d in ct.findall("ct:Default", NS)}
    for n in names:
        assert f"/{n}" in overrides or n.rsplit(".", 1)[-1] in defaults, n
    assert "/xl/workbook.xml" in overrides and "/xl/worksheets/sheet1.xml" in overrides
    for rels, base in (("_rels/.rels", ""), ("xl/_rels/workbook.xml.rels", "xl/")):
        for r in parts[rels].findall("rel:Relationship", NS):
            assert base + r.get("Target") in names, r.get("Target")
    sheets = parts["xl/workbook.xml"].findall("m:sheets/m:sheet", NS)
    assert [s.get("name") for s in sheets] == ["customer_behavior_assets"]
    # the sheet: dimension, consecutive rows, every cell reference on its own row and column order
    ws = parts["xl/worksheets/sheet1.xml"]
    ncols = small.shape[1]
    assert ws.find("m:dimension", NS).get("ref") == f"A1:X{len(small) + 1}"
    rows = ws.findall("m:sheetData/m:row", NS)
    assert [int(r.get("r")) for r in rows] == list(range(1, len(small) + 2))
    letters = [chr(65 + i) for i in range(ncols)]
    for r in rows:
        refs = [c.get("r") for c in r.findall("m:c", NS)]
        m = [re.fullmatch(r"([A-Z]+)(\d+)", x) for x in refs]
        assert all(x and x.group(2) == r.get("r") for x in m)
        cols = [letters.index(x.group(1)) for x in m]
        assert cols == sorted(cols) and len(set(cols)) == len(cols)


def test_column_letters_past_z() -> None:
    assert [writer._col_letter(i) for i in (0, 25, 26, 51, 52, 701, 702, 16383)] == \
        ["A", "Z", "AA", "AZ", "BA", "ZZ", "AAA", "XFD"]


def test_chunking_does_not_change_the_sheet(small: pd.DataFrame, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    one = write_in(small, tmp_path / "one")
    seen: list[int] = []
    monkeypatch.setattr(writer, "CHUNK_ROWS", 7)
    many = write_in(small, tmp_path / "many", progress=seen.append)
    assert sum(seen) == len(small) and len(seen) == -(-len(small) // 7)
    read = [zipfile.ZipFile(p).read("xl/worksheets/sheet1.xml") for p in (one, many)]
    assert read[0] == read[1]


def test_xlsx_bytes_are_reproducible(small: pd.DataFrame, tmp_path: Path) -> None:
    a = write_in(small, tmp_path / "a")
    b = write_in(small, tmp_path / "b")
    assert a.read_bytes() == b.read_bytes()
    changed = small.copy()
    changed.loc[5, "total_assets"] += 0.01
    c = write_in(changed, tmp_path / "c")
    assert c.read_bytes() != a.read_bytes()


def test_empty_table_has_just_the_header(tmp_path: Path) -> None:
    path = write_table(pd.DataFrame({"a": pd.Series([], dtype=float), "b": pd.Series([], dtype=str)}), tmp_path,
                       "t", "xlsx")
    assert calamine_rows(path) == [["a", "b"]]


def test_openpyxl_reads_it(small: pd.DataFrame, tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl", reason="openpyxl 不是项目依赖；安装后此测试检查第二种读取器")
    path = write_table(small, tmp_path, "customer_behavior_assets", "xlsx")
    ws = openpyxl.load_workbook(path, read_only=True).active
    rows = list(ws.iter_rows(values_only=True))
    assert list(rows[0]) == list(small.columns)
    assert rows[1][1] == small["customer_id"].iloc[0] and rows[1][2] == small["total_assets"].iloc[0]
    assert len(rows) == len(small) + 1

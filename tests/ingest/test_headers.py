"""Headers as banks deliver them (Chinese names, odd spelling, reserved words, extra columns), the
clear errors for files that cannot be used, and numeric IDs stored as Excel numbers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from million.contract import BEHAVIOR, CUSTOMER_BASE, column_names
from million.datagen.simulate import Generated
from million.ingest.load import load_folder
from million.ingest.read import FileFormatError, find_table_file, read_table
from million.warehouse import connect
from tests.ingest.conftest import load, read_back, write_folder, write_raw
from tests.ingest.test_clean_load import as_text

ROOT = Path(__file__).resolve().parents[2]

CHINESE_BASE = {"customer_id": "客户编号", "name": "客户姓名", "age": "年龄", "gender": "性别", "occupation": "职业",
                "occupation_type": "职业类型", "monthly_income": "月收入", "open_account_date": "开户日期",
                "lifecycle_stage": "客户生命周期阶段", "marriage_status": "婚姻状况", "city_level": "城市等级",
                "branch_name": "开户网点"}
CHINESE_BEHAVIOR = {"id": "记录ID", "customer_id": "客户ID", "total_assets": "总资产", "deposit_balance": "存款余额",
                    "financial_balance": "理财余额", "fund_balance": "基金余额", "insurance_balance": "保险余额",
                    "asset_level": "资产等级", "product_count": "持有产品数", "stat_month": "统计月份"}
RESERVED = ["order", "group", "desc", "select", "rank", "date", "user", "open", "change", "table"]


def assert_loads_like(tiny: Generated, folder: Path) -> None:
    result, url = load(folder)
    assert [t.rejected for t in result.tables] == [0, 0], result.rejects.head()
    base = read_back(url, CUSTOMER_BASE, "customer_id")
    beh = read_back(url, BEHAVIOR, "id")
    assert list(base.columns) == column_names(CUSTOMER_BASE)
    assert list(beh.columns) == column_names(BEHAVIOR)
    pd.testing.assert_frame_equal(as_text(base, CUSTOMER_BASE),
                                  as_text(tiny.customer_base.sort_values("customer_id"), CUSTOMER_BASE))
    pd.testing.assert_frame_equal(as_text(beh, BEHAVIOR), as_text(tiny.behavior.sort_values("id"), BEHAVIOR))


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_chinese_headers(tiny: Generated, tmp_path: Path, fmt: str) -> None:
    write_folder(tmp_path, tiny.customer_base.rename(columns=CHINESE_BASE),
                 tiny.behavior.rename(columns=CHINESE_BEHAVIOR), fmt)
    assert_loads_like(tiny, tmp_path)


def test_header_spelling_quotes_case_and_bom(tiny: Generated, tmp_path: Path) -> None:
    odd = {"customer_id": " Customer_ID ", "name": "`name`", "age": '"age"', "gender": "[gender]",
           "occupation": "OCCUPATION", "monthly_income": "Monthly_Income\t"}
    write_folder(tmp_path, tiny.customer_base.rename(columns=odd), tiny.behavior, "csv")
    path = tmp_path / "customer_base.csv"
    path.write_bytes("\ufeff".encode() + path.read_bytes())  # Excel's "CSV UTF-8" adds a BOM
    assert_loads_like(tiny, tmp_path)


@pytest.mark.parametrize("fmt", ["xlsx", "csv", "parquet"])
def test_reserved_words_and_extra_columns_are_ignored(tiny: Generated, tmp_path: Path, fmt: str) -> None:
    base = tiny.customer_base.copy()
    beh = tiny.behavior.copy()
    for i, word in enumerate(RESERVED):
        base.insert(i % len(base.columns), word, "x")
        beh[word] = i
    beh["备注"] = "额外的列"
    write_folder(tmp_path, base, beh, fmt)
    assert_loads_like(tiny, tmp_path)


@pytest.mark.parametrize(("col", "first", "second"), [("customer_id", "customer_id", "customer_id"),
                                                      ("customer_id", "客户编号", "customer_id"),
                                                      ("age", "age", "年龄")])
def test_duplicate_headers_are_a_clear_error(tiny: Generated, tmp_path: Path, col: str, first: str,
                                             second: str) -> None:
    base = tiny.customer_base.rename(columns={col: first})
    base.insert(len(base.columns), second, tiny.customer_base[col], allow_duplicates=True)
    path = write_raw(base, tmp_path / "customer_base.csv")
    with pytest.raises(FileFormatError, match=f"customer_base.csv 的表头有重复列：{col}，"):
        read_table(path, CUSTOMER_BASE)


def test_a_repeated_extra_column_does_not_matter(tiny: Generated, tmp_path: Path) -> None:
    base = tiny.customer_base.copy()
    base.insert(0, "note", "a")
    base.insert(1, "note2", "b")
    base.columns = ["note", "note", *base.columns[2:]]
    path = write_raw(base, tmp_path / "customer_base.csv")
    assert list(read_table(path, CUSTOMER_BASE).columns) == [*column_names(CUSTOMER_BASE), "__row"]


def test_missing_columns_are_named(tiny: Generated, tmp_path: Path) -> None:
    path = write_raw(tiny.customer_base.drop(columns=["age", "branch_name"]), tmp_path / "customer_base.xlsx")
    with pytest.raises(FileFormatError) as e:
        read_table(path, CUSTOMER_BASE)
    assert "customer_base.xlsx 缺少列：age, branch_name" in str(e.value)


def test_a_completely_wrong_file(tmp_path: Path) -> None:
    orders = pd.DataFrame({"order_id": [1, 2], "amount": [9.5, 3.0], "date": ["2025-01-01", "2025-01-02"]})
    path = write_raw(orders, tmp_path / "customer_behavior_assets.csv")
    with pytest.raises(FileFormatError) as e:
        read_table(path, BEHAVIOR)
    msg = str(e.value)
    assert "缺少列：" in msg and "这不是 customer_behavior_assets 表的文件" in msg
    for col in column_names(BEHAVIOR):
        assert col in msg


def test_the_other_table_in_place_of_this_one(tiny: Generated, tmp_path: Path) -> None:
    write_folder(tmp_path, tiny.behavior, tiny.behavior, "csv")  # the behaviour file saved as customer_base
    with connect(f"duckdb:///{tmp_path / 'w.duckdb'}", read_only=False) as wh, pytest.raises(FileFormatError) as e:
        load_folder(tmp_path, wh, log=lambda _m: None)
    assert "customer_base.csv 缺少列：name, age, gender" in str(e.value)
    assert not (tmp_path / "w.duckdb").exists()  # nothing was written


def test_load_db_cli_reports_a_wrong_file_in_chinese(tiny: Generated, tmp_path: Path) -> None:
    write_folder(tmp_path, tiny.customer_base.drop(columns=["gender"]), tiny.behavior, "csv")
    r = subprocess.run([sys.executable, "scripts/load_db.py", "--data", str(tmp_path), "--db-url",
                        f"duckdb:///{tmp_path / 'w.duckdb'}"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert "导入失败：customer_base.csv 缺少列：gender" in r.stderr
    assert "Traceback" not in r.stderr


def test_load_db_cli_summarises_rejects(tiny: Generated, tmp_path: Path) -> None:
    base = tiny.customer_base.copy()
    base.loc[3, "gender"] = "未知"
    write_folder(tmp_path, base, tiny.behavior, "csv")
    r = subprocess.run([sys.executable, "scripts/load_db.py", "--data", str(tmp_path), "--db-url",
                        f"duckdb:///{tmp_path / 'w.duckdb'}"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    n_rows = int((tiny.behavior["customer_id"] == base.loc[3, "customer_id"]).sum())
    assert f"共拒绝 {1 + n_rows:,} 行" in r.stdout
    assert "gender 不在取值范围（男/女）内" in r.stdout and "rejects.csv" in r.stdout


def test_no_file_or_two_files_for_a_table(tiny: Generated, tmp_path: Path) -> None:
    with pytest.raises(FileFormatError, match="找不到 customer_base.xlsx / .csv / .parquet"):
        find_table_file(tmp_path, CUSTOMER_BASE)
    write_raw(tiny.customer_base, tmp_path / "customer_base.csv")
    write_raw(tiny.customer_base, tmp_path / "customer_base.xlsx")
    with pytest.raises(FileFormatError, match="customer_base 有多个文件（customer_base.xlsx, customer_base.csv）"):
        find_table_file(tmp_path, CUSTOMER_BASE)


@pytest.mark.parametrize("suffix", [".xlsx", ".parquet"])
def test_an_unreadable_file_is_a_clear_error(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"customer_base{suffix}"
    path.write_bytes(b"this is not a spreadsheet at all")
    with pytest.raises(FileFormatError, match=f"无法读取 customer_base{suffix}"):
        read_table(path, CUSTOMER_BASE)


def test_numeric_ids_in_excel_load_as_text(tiny: Generated, tmp_path: Path) -> None:
    """Excel keeps 1000123 typed into a cell as the number 1000123.0; it must load as "1000123"."""
    ids = {c: 1_000_000 + i for i, c in enumerate(tiny.customer_base["customer_id"])}
    base = tiny.customer_base.assign(customer_id=tiny.customer_base["customer_id"].map(ids))
    beh = tiny.behavior.assign(customer_id=tiny.behavior["customer_id"].map(ids),
                               id=range(90_000_001, 90_000_001 + len(tiny.behavior)))
    write_folder(tmp_path, base, beh, "xlsx")
    raw = read_table(tmp_path / "customer_base.xlsx", CUSTOMER_BASE)
    assert isinstance(raw["customer_id"].iloc[0], (int, float))  # stored as a number in the file
    result, url = load(tmp_path)
    assert [t.rejected for t in result.tables] == [0, 0]
    loaded = read_back(url, CUSTOMER_BASE, "customer_id")
    assert loaded["customer_id"].tolist() == sorted(str(v) for v in ids.values())
    with connect(url) as wh:
        joined = wh.query("SELECT COUNT(*) AS n FROM customer_behavior_assets a JOIN customer_base b "
                          "USING (customer_id) WHERE a.customer_id = '1000000' AND a.id LIKE '9000%'")
    assert joined["n"].iloc[0] == (beh["customer_id"] == 1_000_000).sum() > 0


def test_text_ids_keep_leading_zeros(tiny: Generated, tmp_path: Path) -> None:
    ids = {c: f"{i:08d}" for i, c in enumerate(tiny.customer_base["customer_id"])}
    base = tiny.customer_base.assign(customer_id=tiny.customer_base["customer_id"].map(ids))
    beh = tiny.behavior.assign(customer_id=tiny.behavior["customer_id"].map(ids))
    for fmt in ("xlsx", "csv", "parquet"):
        write_folder(tmp_path, base, beh, fmt)
        _result, url = load(tmp_path)
        assert read_back(url, CUSTOMER_BASE, "customer_id")["customer_id"].iloc[0] == "00000000", fmt


def test_parquet_first_pass_reads_only_the_key_columns(tmp_path) -> None:
    """The loader's first pass over a parquet file reads the keys and the month only (the file's own header
    spelling), with the same values and row numbers as a full read."""
    import pandas as pd

    from million.contract import BEHAVIOR
    from million.datagen.simulate import generate
    from million.ingest.load import KEY_PASS_COLUMNS
    from million.ingest.read import read_table_chunks

    beh = generate(30, 6, seed=4).behavior.rename(columns={"stat_month": " Stat_Month "})
    path = tmp_path / "customer_behavior_assets.parquet"
    beh.to_parquet(path, index=False)
    keys = pd.concat(read_table_chunks(path, BEHAVIOR, 50, only=KEY_PASS_COLUMNS), ignore_index=True)
    full = pd.concat(read_table_chunks(path, BEHAVIOR, 50), ignore_index=True)
    assert sorted(keys.columns) == sorted(KEY_PASS_COLUMNS + ["__row"]) and len(full.columns) > len(keys.columns)
    pd.testing.assert_frame_equal(keys, full[list(keys.columns)])

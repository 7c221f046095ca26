"""Clean files load completely and identically from xlsx, csv and parquet, values unchanged."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from million.contract import BEHAVIOR, CUSTOMER_BASE, TABLES
from million.datagen.simulate import Generated
from million.datagen.writer import write_table
from million.ingest.load import REJECTS_TABLE
from tests.ingest.conftest import FORMATS, load, read_back, write_folder


def as_text(df: pd.DataFrame, table: str) -> pd.DataFrame:
    """Every column in one comparable form: numbers as floats, the rest as text ('' for empty)."""
    out = pd.DataFrame(index=df.index)
    for col in TABLES[table]:
        s = df[col.name]
        if col.kind in {"int", "decimal"}:
            out[col.name] = pd.to_numeric(s).astype(float)
        elif col.kind == "date":
            out[col.name] = pd.to_datetime(s).dt.strftime("%Y-%m-%d").fillna("")
        elif col.kind == "datetime":
            out[col.name] = pd.to_datetime(s).dt.strftime("%Y-%m-%d %H:%M:%S").fillna("")
        else:
            out[col.name] = s.astype(object).where(s.notna(), "").astype(str)
    return out.reset_index(drop=True)


@pytest.fixture(scope="module")
def loaded(tiny: Generated, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[object, str]]:
    """The tiny set written by the generator's own writer in each format, each loaded into DuckDB."""
    out = {}
    for fmt in FORMATS:
        folder = tmp_path_factory.mktemp(fmt)
        write_table(tiny.customer_base, folder, CUSTOMER_BASE, fmt)
        write_table(tiny.behavior, folder, BEHAVIOR, fmt)
        out[fmt] = load(folder)
    return out


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_row_loads_unchanged(loaded: dict, tiny: Generated, fmt: str) -> None:
    result, url = loaded[fmt]
    assert [(t.table, t.read, t.loaded, t.rejected) for t in result.tables] == [
        (CUSTOMER_BASE, len(tiny.customer_base), len(tiny.customer_base), 0),
        (BEHAVIOR, len(tiny.behavior), len(tiny.behavior), 0)]
    base = read_back(url, CUSTOMER_BASE, "customer_id")
    beh = read_back(url, BEHAVIOR, "id")
    pd.testing.assert_frame_equal(as_text(base, CUSTOMER_BASE),
                                  as_text(tiny.customer_base.sort_values("customer_id"), CUSTOMER_BASE))
    pd.testing.assert_frame_equal(as_text(beh, BEHAVIOR), as_text(tiny.behavior.sort_values("id"), BEHAVIOR))


def test_all_formats_give_identical_tables(loaded: dict) -> None:
    tables = {fmt: (read_back(url, CUSTOMER_BASE, "customer_id"), read_back(url, BEHAVIOR, "id"))
              for fmt, (_r, url) in loaded.items()}
    for fmt in ("csv", "parquet"):
        for i in range(2):
            pd.testing.assert_frame_equal(tables[fmt][i], tables["xlsx"][i], check_exact=True)


def test_types_in_the_warehouse(loaded: dict) -> None:
    _r, url = loaded["xlsx"]
    beh = read_back(url, BEHAVIOR, "id")
    assert isinstance(beh["total_assets"].iloc[0], float)  # DECIMAL comes back as a number
    assert np.issubdtype(beh["app_login_count"].dtype, np.integer)
    assert pd.api.types.is_datetime64_any_dtype(beh["last_app_login_time"])
    base = read_back(url, CUSTOMER_BASE, "customer_id")
    assert str(base["open_account_date"].iloc[0])[:4].isdigit()


@pytest.mark.parametrize("fmt", FORMATS)
def test_clean_load_has_an_empty_rejects_file_and_table(loaded: dict, fmt: str) -> None:
    result, url = loaded[fmt]
    folder = Path(url.removeprefix("duckdb:///")).parent
    rejects = pd.read_csv(folder / "rejects.csv")
    assert list(rejects.columns) == ["table", "file_row", "reason"] and rejects.empty
    assert read_back(url, REJECTS_TABLE, "file_row").empty
    assert result.rejects.empty


def test_written_by_another_tool_still_loads(tiny: Generated, tmp_path: Path) -> None:
    """Cells written one by one (as Excel or another exporter would), not by our writer."""
    write_folder(tmp_path, tiny.customer_base, tiny.behavior, "xlsx")
    result, url = load(tmp_path)
    assert [t.rejected for t in result.tables] == [0, 0]
    beh = read_back(url, BEHAVIOR, "id")
    pd.testing.assert_frame_equal(as_text(beh, BEHAVIOR), as_text(tiny.behavior.sort_values("id"), BEHAVIOR))


def test_typed_parquet_with_real_dates_times_and_nulls(tiny: Generated, tmp_path: Path) -> None:
    """A warehouse export keeps real DATE / TIMESTAMP types (with NULLs) and DECIMALs in parquet."""
    import decimal

    base = tiny.customer_base.assign(open_account_date=pd.to_datetime(tiny.customer_base["open_account_date"]).dt.date,
                                     monthly_income=tiny.customer_base["monthly_income"].map(
                                         lambda v: decimal.Decimal(f"{v:.2f}")))
    beh = tiny.behavior.copy()
    for col in ("last_app_login_time", "last_contact_time", "marketing_cool_period"):
        beh[col] = pd.to_datetime(beh[col])
    assert beh["last_contact_time"].isna().any()
    base.to_parquet(tmp_path / "customer_base.parquet")
    beh.to_parquet(tmp_path / "customer_behavior_assets.parquet")
    result, url = load(tmp_path)
    assert result.rejects.empty, result.rejects.head()
    pd.testing.assert_frame_equal(as_text(read_back(url, BEHAVIOR, "id"), BEHAVIOR),
                                  as_text(tiny.behavior.sort_values("id"), BEHAVIOR))
    pd.testing.assert_frame_equal(as_text(read_back(url, CUSTOMER_BASE, "customer_id"), CUSTOMER_BASE),
                                  as_text(tiny.customer_base.sort_values("customer_id"), CUSTOMER_BASE))


@pytest.mark.parametrize("fmt", FORMATS)
def test_placeholder_text_is_treated_alike_in_every_format(tiny: Generated, tmp_path: Path, fmt: str) -> None:
    """'NULL' means empty in every format; 'N/A' is text in every format (here outside a value set)."""
    beh = tiny.behavior.astype(object).where(tiny.behavior.notna(), None)
    no_contact = beh.index[beh["last_contact_time"].isna()]
    beh.loc[no_contact[0], "contact_result"] = "NULL"
    beh.loc[no_contact[1], "contact_result"] = "N/A"
    write_folder(tmp_path, tiny.customer_base, beh, fmt)
    result, _url = load(tmp_path)
    assert result.rejects[["file_row", "reason"]].values.tolist() == [
        [int(no_contact[1]) + 2, "contact_result 不在取值范围（成功/拒绝/未接通/待跟进）内"]]

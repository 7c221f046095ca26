"""Broken rows: every one is reported in rejects.csv and the load_rejects table with its file row
(header = row 1) and its reasons; every good row loads unchanged; nothing else is dropped.

One file per table holds one broken row per kind of defect (bad numbers, bad dates, negative
balances, sums that do not add up, flag / product_count / asset_level mismatches, duplicate keys,
unknown customers, empty required fields, values outside the value sets, strings too long, ...).
The same broken data is written as xlsx (number cells stay numbers, broken cells are text), csv
and parquet (numeric columns stay numeric where they can)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from million.contract import BEHAVIOR, CUSTOMER_BASE
from million.datagen.simulate import Generated, generate
from million.ingest.load import REJECTS_TABLE
from tests.ingest.conftest import FORMATS, load, read_back, write_folder
from tests.ingest.test_clean_load import as_text

DATE_ERR = "日期格式错误（应为 YYYY-MM-DD）"
TIME_ERR = "日期格式错误（应为 YYYY-MM-DD HH:MM:SS）"


@dataclass
class Case:
    name: str
    pick: Callable[[pd.Series], bool]  # which row may carry the defect
    change: Callable[[pd.Series], dict]  # new cell values for that row
    reasons: set[str]  # the exact reason parts expected for that row


def r(**cells: object) -> Callable[[pd.Series], dict]:
    return lambda _row: cells


ANY: Callable[[pd.Series], bool] = lambda _row: True  # noqa: E731


def _contact(row: pd.Series) -> bool:
    return isinstance(row["last_contact_time"], str)


def _plus_days(stamp: str, days: int) -> str:
    return (pd.Timestamp(stamp).normalize() + pd.Timedelta(days=days)).strftime("%Y-%m-%d")


BASE_CASES = [
    Case("age not a number", ANY, r(age="三十"), {"age 不是数字"}),
    Case("age too low", ANY, r(age=17), {"age 小于 18"}),
    Case("age not an integer", ANY, r(age=30.5), {"age 不是整数"}),
    Case("gender outside the set", ANY, r(gender="M"), {"gender 不在取值范围（男/女）内"}),
    Case("occupation type outside the set", ANY, r(occupation_type="农民"),
         {"occupation_type 不在取值范围（企业高管/私营业主/专业人士/金融从业者/互联网从业者/事业单位/传统行业/自由职业）内"}),
    Case("zero income", ANY, r(monthly_income=0), {"monthly_income 小于 0.01"}),
    Case("income with three decimals", ANY, r(monthly_income="12000.505"), {"monthly_income 超过两位小数"}),
    Case("income beyond DECIMAL(12,2)", ANY, r(monthly_income=1e12), {"monthly_income 超出 DECIMAL(12,2) 的范围"}),
    Case("income infinite", ANY, r(monthly_income="inf"), {"monthly_income 不是数字"}),
    Case("bad open date", ANY, r(open_account_date="2021-02-30"), {"open_account_date " + DATE_ERR}),
    Case("open date in another format", ANY, r(open_account_date="2021/02/03"), {"open_account_date " + DATE_ERR}),
    Case("opened after the last month", ANY, r(open_account_date="2025-07-01"), {"open_account_date 晚于最后统计月"}),
    Case("empty name", ANY, r(name=None), {"name 为空"}),
    Case("name too long", ANY, r(name="张" * 101), {"name 超过 100 个字符"}),
    Case("marriage outside the set", ANY, r(marriage_status="丧偶"), {"marriage_status 不在取值范围（已婚/未婚/离异）内"}),
    Case("empty customer_id", ANY, r(customer_id=" "), {"customer_id 为空"}),
]

BEHAVIOR_CASES = [
    Case("total not a number", ANY, r(total_assets="12万"), {"total_assets 不是数字"}),
    Case("count not an integer", ANY, r(app_login_count=3.5), {"app_login_count 不是整数"}),
    Case("spend with three decimals", ANY, r(credit_card_monthly_expense=12.345), {"credit_card_monthly_expense 超过两位小数"}),
    Case("spend infinite", ANY, r(credit_card_monthly_expense="inf"), {"credit_card_monthly_expense 不是数字"}),
    Case("spend beyond DECIMAL(12,2)", ANY, r(credit_card_monthly_expense=2e10),
         {"credit_card_monthly_expense 超出 DECIMAL(12,2) 的范围"}),
    Case("seconds beyond INT", ANY, r(app_financial_view_time=3_000_000_000), {"app_financial_view_time 超出 INT 的范围"}),
    Case("negative count", ANY, r(investment_monthly_count=-1), {"investment_monthly_count 为负数"}),
    Case("negative balance",
         lambda x: x["fund_balance"] == 0 and 250_000 < x["total_assets"] < 450_000,
         lambda x: {"fund_balance": -100.0, "total_assets": round(x["total_assets"] - 100, 2)},
         {"fund_balance 为负数"}),
    Case("sum off by a cent", lambda x: 250_000 < x["total_assets"] < 450_000,
         lambda x: {"total_assets": round(x["total_assets"] + 0.01, 2)}, {"total_assets 不等于四项余额之和"}),
    Case("flag without balance", lambda x: x["insurance_balance"] == 0 and x["product_count"] < 4,
         lambda x: {"insurance_flag": 1, "product_count": x["product_count"] + 1},
         {"insurance_flag 与 insurance_balance 不一致"}),
    Case("flag outside 0/1", lambda x: x["deposit_balance"] > 0, r(deposit_flag=2),
         {"deposit_flag 不在取值范围（0/1）内", "deposit_flag 与 deposit_balance 不一致",
          "product_count 不等于持有标志之和"}),
    Case("product count off", lambda x: 0 < x["product_count"] < 4, lambda x: {"product_count": x["product_count"] + 1},
         {"product_count 不等于持有标志之和"}),
    Case("product count above 4", lambda x: x["product_count"] == 4, r(product_count=5),
         {"product_count 大于 4", "product_count 不等于持有标志之和"}),
    Case("asset level wrong", lambda x: x["total_assets"] < 150_000, r(asset_level="至尊"),
         {"asset_level 与 total_assets 不符"}),
    Case("asset level outside the set", ANY, r(asset_level="顶级"),
         {"asset_level 不在取值范围（初级/中级/高级/资深/至尊）内", "asset_level 与 total_assets 不符"}),
    Case("contact result outside the set", _contact, r(contact_result="已联系"),
         {"contact_result 不在取值范围（成功/拒绝/未接通/待跟进）内"}),
    Case("unknown customer", ANY, r(customer_id="C9999999"), {"customer_id 不在 customer_base 中"}),
    Case("empty customer_id", ANY, r(customer_id=None), {"customer_id 为空"}),
    Case("empty stat_month", ANY, r(stat_month=""), {"stat_month 为空"}),
    Case("month 13", ANY, r(stat_month="2025-13"), {"stat_month 不是 YYYY-MM 格式"}),
    Case("id too long", ANY, r(id="R" * 33), {"id 超过 32 个字符"}),
    Case("bad login time", ANY, r(last_app_login_time="2025-02-30 10:00:00"), {"last_app_login_time " + TIME_ERR}),
    Case("login after the month end", ANY,
         lambda x: {"last_app_login_time": (pd.Timestamp(x["stat_month"] + "-01") + pd.offsets.MonthEnd(0)
                                            + pd.Timedelta(days=1, hours=9)).strftime("%Y-%m-%d %H:%M:%S")},
         {"last_app_login_time 晚于统计月月末"}),
    Case("cool period not contact + 30", _contact,
         lambda x: {"marketing_cool_period": _plus_days(x["last_contact_time"], 31)},
         {"marketing_cool_period 不等于最近联系日期+30天"}),
    Case("cool period without contact", lambda x: not _contact(x),
         lambda x: {"marketing_cool_period": _plus_days(x["stat_month"] + "-05", 30)}, {"有营销冷静期但没有联系时间"}),
    Case("cool period with a NULL contact", lambda x: not _contact(x),
         lambda x: {"last_contact_time": "NULL", "marketing_cool_period": _plus_days(x["stat_month"] + "-05", 30)},
         {"有营销冷静期但没有联系时间"}),
    Case("bad cool period date", _contact, r(marketing_cool_period="2025-06-31"), {"marketing_cool_period " + DATE_ERR}),
    Case("several defects at once", ANY, r(total_assets=-1, app_login_count="many"),
         {"total_assets 为负数", "total_assets 不等于四项余额之和", "asset_level 与 total_assets 不符",
          "app_login_count 不是数字"}),
]


@dataclass
class Broken:
    base: pd.DataFrame
    behavior: pd.DataFrame
    expected: dict[tuple[str, int], set[str]]  # (table, file row) -> reasons
    good_base: pd.DataFrame
    good_behavior: pd.DataFrame


def _apply(df: pd.DataFrame, cases: list[Case], usable: pd.Series, table: str,
           expected: dict[tuple[str, int], set[str]]) -> set[int]:
    used: set[int] = set()
    for case in cases:
        idx = next((i for i in df.index if usable[i] and i not in used and case.pick(df.loc[i])), None)
        assert idx is not None, f"no row to carry: {case.name}"
        used.add(idx)
        for col, value in case.change(df.loc[idx]).items():
            if col in df:
                df.at[idx, col] = value
        expected[(table, idx + 2)] = case.reasons
    return used


def make_broken(tiny: Generated) -> Broken:
    base = tiny.customer_base.astype(object).where(tiny.customer_base.notna(), None).reset_index(drop=True)
    beh = tiny.behavior.astype(object).where(tiny.behavior.notna(), None).reset_index(drop=True)
    expected: dict[tuple[str, int], set[str]] = {}
    # Base defects go to the first customers; their monthly rows are then refused with their own reason.
    broken_base = _apply(base, BASE_CASES, pd.Series(True, index=base.index), CUSTOMER_BASE, expected)
    dup_a, dup_b = len(BASE_CASES), len(BASE_CASES) + 1  # two customers sharing one ID: both refused
    base.at[dup_b, "customer_id"] = base.at[dup_a, "customer_id"]
    expected[(CUSTOMER_BASE, dup_a + 2)] = expected[(CUSTOMER_BASE, dup_b + 2)] = {"customer_id 重复"}
    bad_customers = set(tiny.customer_base["customer_id"].iloc[sorted(broken_base | {dup_a, dup_b})])
    orphan = beh["customer_id"].isin(bad_customers)
    for i in beh.index[orphan]:  # a customer whose ID was blanked or overwritten is simply unknown
        known = beh.at[i, "customer_id"] in set(base["customer_id"])
        expected[(BEHAVIOR, i + 2)] = {"customer_id 对应的 customer_base 行被拒绝" if known
                                       else "customer_id 不在 customer_base 中"}
    # Behaviour defects go to rows of customers whose base row is fine.
    used = _apply(beh, BEHAVIOR_CASES, ~orphan, BEHAVIOR, expected)
    free = [i for i in beh.index if not orphan[i] and i not in used]
    a, b, c, d = free[0], free[-1], free[1], free[2]  # a and b far apart: different chunks when chunked
    beh.at[b, "id"] = beh.at[a, "id"]  # duplicate row ID
    expected[(BEHAVIOR, a + 2)] = expected[(BEHAVIOR, b + 2)] = {"id 重复"}
    copy = beh.loc[[c]].assign(id="R_DUPLICATE_MONTH")  # same (customer_id, stat_month) twice
    beh = pd.concat([beh, copy], ignore_index=True)
    expected[(BEHAVIOR, c + 2)] = expected[(BEHAVIOR, len(beh) + 1)] = {"同一客户同一月份有重复记录"}
    del d
    bad_base = {row - 2 for (t, row) in expected if t == CUSTOMER_BASE}
    bad_beh = {row - 2 for (t, row) in expected if t == BEHAVIOR}
    good_base = tiny.customer_base.reset_index(drop=True).drop(index=sorted(bad_base))
    good_beh = tiny.behavior.reset_index(drop=True).drop(index=sorted(i for i in bad_beh if i < len(tiny.behavior)))
    return Broken(base, beh, expected, good_base, good_beh)


@pytest.fixture(scope="module")
def source() -> Generated:
    """150 customers x 6 months: enough rows for every kind of defect on its own row."""
    return generate(150, 6, seed=33, end_month="2025-06")


@pytest.fixture(scope="module")
def broken(source: Generated) -> Broken:
    return make_broken(source)


# (format, behaviour rows per chunk): whole files, and csv / parquet checked in chunks of 37 rows, so
# duplicate keys sit in different chunks (the copied month is the file's last row) and every other
# check runs chunk by chunk, as for a file larger than memory.
LOADS = [(fmt, None) for fmt in FORMATS] + [("csv", 37), ("parquet", 37)]


@pytest.fixture(scope="module", params=LOADS, ids=[f"{f}-{c or 'whole'}" for f, c in LOADS])
def loaded(request: pytest.FixtureRequest, broken: Broken, tmp_path_factory: pytest.TempPathFactory):
    fmt, chunk_rows = request.param
    folder = write_folder(tmp_path_factory.mktemp(f"broken_{fmt}"), broken.base, broken.behavior, fmt)
    result, url = load(folder, chunk_rows=chunk_rows)
    return folder, result, url


def _as_map(rejects: pd.DataFrame) -> dict[tuple[str, int], set[str]]:
    assert not rejects.duplicated(["table", "file_row"]).any(), "a row is reported twice"
    return {(t, int(row)): set(reason.split("；")) for t, row, reason in
            rejects[["table", "file_row", "reason"]].itertuples(index=False)}


def test_every_broken_row_is_in_rejects_csv_with_its_row_and_reasons(loaded, broken: Broken) -> None:
    folder, _result, _url = loaded
    got = _as_map(pd.read_csv(folder / "rejects.csv"))
    for key, reasons in sorted(broken.expected.items()):
        assert key in got, f"not reported: {key} {reasons}"
        assert got[key] == reasons, key
    assert set(got) == set(broken.expected), f"reported but not broken: {set(got) - set(broken.expected)}"


def test_the_rejects_table_matches_the_file(loaded, broken: Broken) -> None:
    folder, result, url = loaded
    table = read_back(url, REJECTS_TABLE, '"table", file_row')
    assert _as_map(table) == broken.expected
    assert _as_map(result.rejects) == broken.expected


def test_good_rows_load_unchanged_and_nothing_else_is_dropped(loaded, broken: Broken) -> None:
    _folder, result, url = loaded
    base = read_back(url, CUSTOMER_BASE, "customer_id")
    beh = read_back(url, BEHAVIOR, "id")
    pd.testing.assert_frame_equal(as_text(base, CUSTOMER_BASE),
                                  as_text(broken.good_base.sort_values("customer_id"), CUSTOMER_BASE))
    pd.testing.assert_frame_equal(as_text(beh, BEHAVIOR), as_text(broken.good_behavior.sort_values("id"), BEHAVIOR))
    counts = {t.table: (t.read, t.loaded, t.rejected) for t in result.tables}
    for table, df, good in ((CUSTOMER_BASE, broken.base, base), (BEHAVIOR, broken.behavior, beh)):
        n_bad = sum(1 for (t, _row) in broken.expected if t == table)
        assert counts[table] == (len(df), len(good), n_bad)
        assert len(good) + n_bad == len(df)


def test_summary_counts_the_reasons(loaded) -> None:
    from million.ingest.load import summarize_reasons

    _folder, result, _url = loaded
    text = summarize_reasons(result.rejects, top=50)
    assert "customer_id 对应的 customer_base 行被拒绝" in text
    assert "total_assets 不等于四项余额之和" in text


def test_a_blank_line_in_a_csv_keeps_the_row_numbers(tiny: Generated, tmp_path: Path) -> None:
    base = tiny.customer_base.copy()
    base.loc[5, "age"] = 10  # file row 7 before the blank line is inserted, row 8 after it
    write_folder(tmp_path, base, tiny.behavior, "csv")
    path = tmp_path / "customer_base.csv"
    lines = path.read_text(encoding="utf-8").split("\n")
    lines.insert(3, "")  # an empty line as file row 4
    path.write_text("\n".join(lines), encoding="utf-8")
    result, _url = load(tmp_path)
    got = {row: reasons for (table, row), reasons in _as_map(result.rejects).items() if table == CUSTOMER_BASE}
    assert got[8] == {"age 小于 18"}
    assert "customer_id 为空" in got[4]  # the blank line is reported, not silently skipped
    assert len(got) == 2

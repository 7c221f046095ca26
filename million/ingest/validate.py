"""Check every row against the contract. A row that breaks a rule is rejected with its file row
number and all its reasons; nothing is silently dropped or altered."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.arrays import ArrowStringArray

from million.contract import (
    ASSET_LEVEL_BOUNDS,
    BALANCE_COLUMNS,
    BEHAVIOR,
    CUSTOMER_BASE,
    FLAG_COLUMNS,
    TABLES,
    Column,
)


@dataclass
class Checked:
    clean: pd.DataFrame  # typed, contract columns only
    rejects: pd.DataFrame  # table, file_row, reason


MONTH_PATTERN = r"\d{4}-(0[1-9]|1[0-2])"  # stat_month as the contract writes it: YYYY-MM


class _Reasons:
    def __init__(self, n: int) -> None:
        self.parts: list[tuple[np.ndarray, np.ndarray | str]] = []
        self.n = n

    def add(self, mask: np.ndarray | pd.Series, reason: str | np.ndarray) -> None:
        mask = np.asarray(mask, dtype=bool)
        if mask.any():
            self.parts.append((mask, reason))

    def joined(self) -> np.ndarray:
        out = np.full(self.n, "", dtype=object)
        for mask, reason in self.parts:
            r = reason[mask] if isinstance(reason, np.ndarray) else reason
            out[mask] = np.where(out[mask] == "", r, out[mask] + "；" + r)
        return out


_BLANK_TEXT = ["", "nan", "NaT", "None", "NULL", "null"]


def _is_text(s: pd.Series) -> bool:
    """A column of strings in pandas' string dtype (csv, parquet text, all-text xlsx columns):
    the vectorised paths below apply. Other columns are numbers, times or mixed Python objects."""
    return isinstance(s.dtype, pd.StringDtype)


def _blank(s: pd.Series) -> np.ndarray:
    if s.dtype.kind in "biufcmM":  # typed numbers / times: only missing values are blank
        return s.isna().to_numpy()
    if _is_text(s):
        return (s.isna() | s.str.strip().isin(_BLANK_TEXT)).to_numpy(dtype=bool, na_value=True)
    return (s.isna() | s.astype(str).str.strip().isin(_BLANK_TEXT)).to_numpy()


def _as_text(s: pd.Series) -> pd.Series:
    """Strings as written; integral floats (Excel's numeric IDs) without the '.0'."""
    if _is_text(s):
        return s.str.strip()

    def conv(v: object) -> object:
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return None
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return str(v).strip()
    return s.map(conv)


def _date_text(raw: pd.Series, fmt: str) -> pd.Series:
    """Cells that are already dates or times (Excel, typed parquet) as text in the contract format."""
    if raw.dtype.kind == "M":
        return raw.dt.strftime(fmt)
    if _is_text(raw):
        return raw
    return raw.map(lambda v: v.strftime(fmt) if hasattr(v, "strftime") and not pd.isna(v) else v)


def _sql_range(sql_type: str) -> tuple[float, float]:
    """Smallest and largest value a numeric SQL column of the contract can store."""
    m = re.fullmatch(r"DECIMAL\((\d+),\s*(\d+)\)", sql_type)
    if m:
        top = 10.0 ** (int(m.group(1)) - int(m.group(2))) - 10.0 ** -int(m.group(2))
        return -top, top
    bits = {"TINYINT": 8, "SMALLINT": 16, "INT": 32, "INTEGER": 32, "BIGINT": 64}.get(sql_type, 64)
    return -(2.0 ** (bits - 1)), 2.0 ** (bits - 1) - 1


def _parse_col(col: Column, raw: pd.Series, reasons: _Reasons) -> pd.Series:
    blank = _blank(raw)
    if not col.nullable:
        reasons.add(blank, f"{col.name} 为空")
    present = ~blank
    if col.kind == "str":
        val = _as_text(raw)
        if col.max_len:
            reasons.add(present & (val.str.len() > col.max_len).to_numpy(), f"{col.name} 超过 {col.max_len} 个字符")
        if col.choices:
            reasons.add(present & ~val.isin(col.choices).to_numpy(), f"{col.name} 不在取值范围（{'/'.join(col.choices)}）内")
        return val.where(present, None)
    if col.kind in {"int", "decimal"}:
        num = pd.to_numeric(raw.where(present, None), errors="coerce")
        v = num.to_numpy(dtype=float, na_value=np.nan)
        bad = present & ~np.isfinite(v)  # text, and also inf / -inf, which no SQL column can hold
        reasons.add(bad, f"{col.name} 不是数字")
        ok = present & ~bad
        v = np.where(ok, v, np.nan)
        if col.kind == "int":
            reasons.add(ok & (np.abs(v - np.round(v)) > 1e-9), f"{col.name} 不是整数")
        else:
            reasons.add(ok & (np.abs(v * 100 - np.round(v * 100)) > 1e-4), f"{col.name} 超过两位小数")
        lo, hi = _sql_range(col.sql_type)  # beyond it the database would refuse the whole import
        reasons.add(ok & ((np.round(v, 2) < lo) | (np.round(v, 2) > hi)), f"{col.name} 超出 {col.sql_type} 的范围")
        if col.choices:
            reasons.add(ok & ~np.isin(v, [float(c) for c in col.choices]),
                        f"{col.name} 不在取值范围（{'/'.join(col.choices)}）内")
        if col.min_value is not None:
            reasons.add(ok & (v < col.min_value), f"{col.name} 小于 {col.min_value:g}" if col.min_value != 0 else f"{col.name} 为负数")
        if col.max_value is not None:
            reasons.add(ok & (v > col.max_value), f"{col.name} 大于 {col.max_value:g}")
        return pd.Series(v, index=raw.index)
    if col.kind == "month":
        val = _as_text(raw)
        good = val.str.fullmatch(MONTH_PATTERN).fillna(False).to_numpy(dtype=bool)
        reasons.add(present & ~good, f"{col.name} 不是 YYYY-MM 格式")
        return val.where(present, None)
    # date / datetime: Excel cells may already be datetimes; text must match the contract format
    fmt = "%Y-%m-%d" if col.kind == "date" else "%Y-%m-%d %H:%M:%S"
    text = _date_text(raw, fmt)
    parsed = pd.to_datetime(text.where(present, None), format=fmt, errors="coerce")
    if col.kind == "datetime":  # also accept minutes-only stamps
        alt = pd.to_datetime(text.where(present & parsed.isna().to_numpy(), None), format="%Y-%m-%d %H:%M", errors="coerce")
        parsed = parsed.fillna(alt)
    reasons.add(present & parsed.isna().to_numpy(), f"{col.name} 日期格式错误（应为 {'YYYY-MM-DD' if col.kind == 'date' else 'YYYY-MM-DD HH:MM:SS'}）")
    return parsed


def _dup_mask(df: pd.DataFrame, keys: list[str], repeated: RepeatedKeys | None = None) -> np.ndarray:
    """Rows whose key occurs more than once: within the frame, or in the whole file when the file is
    checked in chunks (`repeated`, from a first pass over every chunk)."""
    k = df[keys]
    present = k.notna().all(axis=1).to_numpy()
    if repeated is None:
        return present & k.duplicated(keep=False).to_numpy()
    return present & repeated.contains(k)


DUPLICATE_KEYS = {CUSTOMER_BASE: [["customer_id"]], BEHAVIOR: [["id"], ["customer_id", "stat_month"]]}


def _key_hashes(k: pd.DataFrame) -> np.ndarray:
    """Two independent 64-bit hashes per row of key values (a 128-bit fingerprint: a false match
    among 10^8 rows has probability ~1e-23)."""
    k = k.astype(object)  # the same value hashes alike whichever dtype its chunk was read with
    # A one-column key is an ID, unique by design: factorizing it first (pandas' default) only costs time.
    # Either way the hashes are the same values.
    cat = k.shape[1] > 1
    a = pd.util.hash_pandas_object(k, index=False, hash_key="million-keys-001", categorize=cat).to_numpy()
    b = pd.util.hash_pandas_object(k, index=False, hash_key="million-keys-002", categorize=cat).to_numpy()
    return np.stack([a, b], axis=1)


class RepeatedKeys:
    """Key values that occur more than once in a whole file, found from every chunk's keys."""

    def __init__(self, keys: list[str]) -> None:
        self.keys = keys
        self._parts: list[np.ndarray] = []
        self._dup: set[tuple[int, int]] = set()
        self._first: np.ndarray = np.empty(0, dtype=np.uint64)

    def add(self, typed_keys: pd.DataFrame) -> None:
        k = typed_keys[self.keys]
        self._parts.append(_key_hashes(k.loc[k.notna().all(axis=1).to_numpy()]))

    def finish(self) -> RepeatedKeys:
        h = np.concatenate(self._parts) if self._parts else np.empty((0, 2), dtype=np.uint64)
        self._parts = []
        order = np.lexsort((h[:, 1], h[:, 0]))
        h = h[order]
        same = (h[1:] == h[:-1]).all(axis=1)
        dup = h[1:][same]
        self._dup = {(int(a), int(b)) for a, b in dup}
        self._first = np.unique(dup[:, 0]) if len(dup) else np.empty(0, dtype=np.uint64)
        return self

    def contains(self, k: pd.DataFrame) -> np.ndarray:
        out = np.zeros(len(k), dtype=bool)
        if not self._dup or not len(k):
            return out
        h = _key_hashes(k)
        cand = np.flatnonzero(np.isin(h[:, 0], self._first))
        out[cand] = [(int(h[i, 0]), int(h[i, 1])) in self._dup for i in cand]
        return out


def parse_keys(table: str, raw: pd.DataFrame) -> pd.DataFrame:
    """The key columns of a raw chunk, parsed exactly as `check_table` parses them."""
    scratch = _Reasons(len(raw))
    cols = {c.name: c for c in TABLES[table]}
    names = sorted({n for keys in DUPLICATE_KEYS[table] for n in keys} | {"stat_month"} & set(cols))
    return pd.DataFrame({n: _parse_col(cols[n], raw[n], scratch) for n in names}, index=raw.index)


class IdSet:
    """IDs looked up a chunk at a time against a hash table built once. Series.isin(set) rebuilds it from
    the whole set on every call: with 1M customers and 23 chunks that made loading quadratic."""

    def __init__(self, ids: Iterable[str]) -> None:
        self.index = pd.Index(pd.unique(np.asarray(list(ids), dtype=object)))
        self.arrow = pa.array(self.index.to_numpy(), type=pa.string())

    def contains(self, values: pd.Series) -> np.ndarray:
        if isinstance(values.array, ArrowStringArray):  # csv / parquet text: Arrow's lookup, no Python strings
            found = pc.is_in(pa.array(values.array), value_set=self.arrow)
            return pc.fill_null(found, False).to_numpy(zero_copy_only=False)
        return self.index.get_indexer(values.to_numpy(dtype=object, na_value=None)) >= 0


def check_table(table: str, raw: pd.DataFrame, *, known_customers: set[str] | IdSet | None = None,
                rejected_customers: set[str] | IdSet | None = None, last_month: str | None = None,
                repeated: dict[tuple[str, ...], RepeatedKeys] | None = None) -> Checked:
    """`known_customers`: the customer_base IDs that load; `rejected_customers`: IDs whose
    customer_base row was itself rejected (their monthly rows are refused with that reason);
    `repeated`: when `raw` is one chunk of a file, the keys repeated anywhere in the file."""
    rep = repeated or {}
    n = len(raw)
    reasons = _Reasons(n)
    typed = pd.DataFrame(index=raw.index)
    for col in TABLES[table]:
        typed[col.name] = _parse_col(col, raw[col.name], reasons)
    if table == CUSTOMER_BASE:
        reasons.add(_dup_mask(typed, ["customer_id"], rep.get(("customer_id",))), "customer_id 重复")
        if last_month:
            end = pd.Timestamp(last_month + "-01") + pd.offsets.MonthEnd(0)
            reasons.add((typed["open_account_date"] > end).to_numpy(), "open_account_date 晚于最后统计月")
    else:
        reasons.add(_dup_mask(typed, ["id"], rep.get(("id",))), "id 重复")
        reasons.add(_dup_mask(typed, ["customer_id", "stat_month"], rep.get(("customer_id", "stat_month"))),
                    "同一客户同一月份有重复记录")
        if known_customers is not None:
            cid = typed["customer_id"]
            known = known_customers if isinstance(known_customers, IdSet) else IdSet(known_customers)
            rejected = rejected_customers if isinstance(rejected_customers, IdSet) else IdSet(rejected_customers or ())
            missing = cid.notna().to_numpy() & ~known.contains(cid)
            refused = missing & rejected.contains(cid)
            reasons.add(refused, "customer_id 对应的 customer_base 行被拒绝")
            reasons.add(missing & ~refused, "customer_id 不在 customer_base 中")
        cents = {c: np.round(typed[c].to_numpy(dtype=float) * 100) for c in ("total_assets", *BALANCE_COLUMNS)}
        parts = sum(cents[c] for c in BALANCE_COLUMNS)
        reasons.add(~np.isnan(parts) & ~np.isnan(cents["total_assets"]) & (parts != cents["total_assets"]),
                    "total_assets 不等于四项余额之和")
        for bal, flag in zip(BALANCE_COLUMNS, FLAG_COLUMNS, strict=True):
            f = typed[flag].to_numpy(dtype=float)
            reasons.add(~np.isnan(f) & ~np.isnan(cents[bal]) & (f != (cents[bal] > 0)), f"{flag} 与 {bal} 不一致")
        flags_sum = sum(typed[f].to_numpy(dtype=float) for f in FLAG_COLUMNS)
        pc = typed["product_count"].to_numpy(dtype=float)
        reasons.add(~np.isnan(flags_sum) & ~np.isnan(pc) & (pc != flags_sum), "product_count 不等于持有标志之和")
        total = typed["total_assets"].to_numpy(dtype=float)
        expected = np.full(n, "至尊", dtype=object)
        for bound, name in reversed(ASSET_LEVEL_BOUNDS):
            expected[total < bound] = name
        lvl = typed["asset_level"].to_numpy(dtype=object)
        reasons.add(~np.isnan(total) & pd.notna(lvl) & (lvl != expected), "asset_level 与 total_assets 不符")
        month_ok = typed["stat_month"].notna()
        month_end = pd.to_datetime(typed["stat_month"].where(month_ok, None) + "-01", errors="coerce") + pd.offsets.MonthEnd(0)
        month_end = month_end + pd.Timedelta(days=1)
        for c in ("last_app_login_time", "last_contact_time"):
            reasons.add((typed[c] >= month_end).to_numpy(), f"{c} 晚于统计月月末")
        contact_day = typed["last_contact_time"].dt.normalize()
        cool = typed["marketing_cool_period"]
        reasons.add((cool.notna() & contact_day.notna() & (cool != contact_day + pd.Timedelta(days=30))).to_numpy(),
                    "marketing_cool_period 不等于最近联系日期+30天")
        reasons.add((cool.notna() & contact_day.isna()).to_numpy() & _blank(raw["last_contact_time"]),
                    "有营销冷静期但没有联系时间")
    why = reasons.joined()
    bad = why != ""
    rejects = pd.DataFrame({"table": table, "file_row": raw["__row"].to_numpy()[bad], "reason": why[bad]})
    clean = typed.loc[~bad].reset_index(drop=True)
    for col in TABLES[table]:
        if col.kind == "int":
            clean[col.name] = clean[col.name].astype(np.int64)
        elif col.kind == "decimal":
            clean[col.name] = np.round(clean[col.name].astype(float), 2)
        elif col.kind == "date":
            clean[col.name] = clean[col.name].dt.date if len(clean) else clean[col.name]
    return Checked(clean, rejects)

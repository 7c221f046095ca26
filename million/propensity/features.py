"""THE feature builder: training, batch scoring and the online service all call `build_features`.

For an as-of month T a customer gets one row built from its behaviour rows of T-2, T-1 and T (the
3-month lookback; the customer needs all three) and its customer_base row. Nothing after T is read.
One-hot columns come from the contract's fixed category lists, so a new file with other values or
another row order cannot reorder or rename columns.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from million.contract import (
    CITY_LEVELS,
    CONTACT_RESULTS,
    LIFECYCLE_STAGES,
    MARRIAGE_STATUSES,
    MILLION,
    OCCUPATION_TYPES,
)
from million.propensity import months as mo
from million.tables import Tables

LOOKBACK = 3
KEY_COLUMNS = ["customer_id", "as_of"]
# Smoothing (CNY) for ratios whose denominator can be 0 (an empty balance, a new account).
SMOOTH = 10_000.0
# Recency features for "never" and very old events are capped here (days).
RECENCY_CAP = 365.0
# Months-to-1M at the current trend is capped here when the trend is flat or falling.
TREND_MONTHS_CAP = 120.0

AMOUNTS = {"aum": "total_assets", "deposit": "deposit_balance", "financial": "financial_balance",
           "fund": "fund_balance", "insurance": "insurance_balance"}
AMOUNT_STATS = ("mean", "max", "min", "cur", "slope", "growth", "vol")
ACTIVITY = {"login": "app_login_count", "view": "app_financial_view_time", "compare": "app_product_compare_count",
            "invest": "investment_monthly_count", "card": "credit_card_monthly_expense"}
ACTIVITY_STATS = ("mean", "cur", "prev", "first", "max", "trend")
PRODUCTS = ("deposit", "financial", "fund", "insurance")
# Features that depend on the 1M threshold; `threshold_features` is their one definition (training
# also evaluates them at other thresholds, see train.py).
THRESHOLD_FEATURES = ["gap_to_million", "gap_ratio", "gap_income_months", "gap_to_lump", "gap_after_trend",
                      "gap_after_trend_ratio", "months_to_million_trend"]
CATEGORIES: dict[str, tuple[str, ...]] = {
    "occupation_type": OCCUPATION_TYPES,
    "city_level": CITY_LEVELS,
    "lifecycle_stage": LIFECYCLE_STAGES,
    "marriage_status": MARRIAGE_STATUSES,
}


def _feature_columns() -> list[str]:
    cols = [f"{p}_{s}" for p in AMOUNTS for s in AMOUNT_STATS]
    cols += ["aum_chg_last", "aum_max_jump"] + THRESHOLD_FEATURES
    cols += [f"{p}_share" for p in PRODUCTS]
    cols += [f"{p}_flag" for p in PRODUCTS] + ["product_count", "product_count_chg"]
    cols += [f"{a}_{s}" for a in ACTIVITY for s in ACTIVITY_STATS]
    cols += ["view_per_login_cur", "view_per_login_mean", "compare_per_login_cur", "compare_per_login_mean",
             "card_to_income", "repurchase_cur", "repurchase_chg"]
    cols += ["days_since_login", "days_since_contact", "contact_never"]
    cols += [f"contact_result_{r}" for r in CONTACT_RESULTS]
    cols += ["in_cool_period", "cool_days_left"]
    cols += ["age", "gender_male", "monthly_income", "tenure_months"]
    cols += [f"{c}_{v}" for c, values in CATEGORIES.items() for v in values]
    return cols


FEATURE_COLUMNS: list[str] = _feature_columns()
# Amount-like features (CNY, heavy-tailed): the logistic regression takes a signed log of these.
MONEY_FEATURES: list[str] = (
    [f"{p}_{s}" for p in AMOUNTS for s in ("mean", "max", "min", "cur", "slope")]
    + ["aum_chg_last", "aum_max_jump", "gap_to_million", "card_mean", "card_cur", "card_max", "card_trend",
       "monthly_income", "view_mean", "view_cur", "view_prev", "view_first", "view_max", "view_trend",
       "card_prev", "card_first", "gap_after_trend"]
)


def history_months(tables: Tables) -> pd.Series:
    """Months of behaviour history per customer (customers without any row are absent)."""
    return tables.behavior.groupby("customer_id", sort=False).size()


def build_features(tables: Tables, as_of_months: Iterable[str] | None = None) -> pd.DataFrame:
    """Feature rows for every (customer, T) with rows at T-2, T-1 and T, T in `as_of_months`
    (all months when None). Columns: KEY_COLUMNS + FEATURE_COLUMNS, sorted by as_of, customer_id."""
    beh = tables.behavior
    ords = mo.ordinals(beh["stat_month"])
    wanted = None if as_of_months is None else np.array(sorted({mo.to_ordinal(m) for m in as_of_months}))
    if wanted is not None:  # only the rows a wanted month can look back to
        keep = np.isin(ords, np.concatenate([wanted - k for k in range(LOOKBACK)]))
        beh, ords = beh.loc[keep], ords[keep]
    order = np.lexsort((ords, beh["customer_id"].to_numpy()))
    beh, ords = beh.iloc[order].reset_index(drop=True), ords[order]
    cust = pd.factorize(beh["customer_id"])[0]
    idx = np.arange(len(beh))
    ok = idx >= LOOKBACK - 1
    back = np.maximum(idx - (LOOKBACK - 1), 0)
    # Rows are unique per (customer, month), so matching customer and T-2 at row i-2 means i-1 is T-1.
    ok &= (cust[back] == cust) & (ords[back] == ords - (LOOKBACK - 1))
    if wanted is not None:
        ok &= np.isin(ords, wanted)
    rows = idx[ok]
    if not len(rows):
        return pd.DataFrame(columns=KEY_COLUMNS + FEATURE_COLUMNS)
    out = pd.DataFrame({"customer_id": beh["customer_id"].to_numpy()[rows], "as_of": mo.labels(ords[rows])})

    def window(col: str) -> np.ndarray:
        v = beh[col].to_numpy(dtype=float)
        return np.stack([v[rows - 2], v[rows - 1], v[rows]], axis=1)

    f: dict[str, np.ndarray] = {}
    for p, col in AMOUNTS.items():
        w = window(col)
        mean = w.mean(axis=1)
        f[f"{p}_mean"], f[f"{p}_max"], f[f"{p}_min"], f[f"{p}_cur"] = mean, w.max(axis=1), w.min(axis=1), w[:, 2]
        f[f"{p}_slope"] = (w[:, 2] - w[:, 0]) / 2  # least-squares slope over 3 equally spaced months
        f[f"{p}_growth"] = (w[:, 2] - w[:, 0]) / (w[:, 0] + SMOOTH)
        f[f"{p}_vol"] = w.std(axis=1) / (mean + SMOOTH)
        if p == "aum":
            aum = w
    f["aum_chg_last"] = aum[:, 2] - aum[:, 1]
    f["aum_max_jump"] = np.maximum(aum[:, 1] - aum[:, 0], aum[:, 2] - aum[:, 1])

    base = tables.base.set_index("customer_id").reindex(out["customer_id"])
    income = base["monthly_income"].to_numpy(dtype=float)
    income = np.where(np.isfinite(income) & (income > 0), income, np.nan)
    f["monthly_income"] = income
    f.update(threshold_features(f, MILLION))
    for p in PRODUCTS:
        f[f"{p}_share"] = np.where(aum[:, 2] > 0, f[f"{p}_cur"] / np.where(aum[:, 2] > 0, aum[:, 2], 1), 0.0)
        f[f"{p}_flag"] = window(f"{p}_flag")[:, 2]
    pc = window("product_count")
    f["product_count"], f["product_count_chg"] = pc[:, 2], pc[:, 2] - pc[:, 0]
    for a, col in ACTIVITY.items():
        w = window(col)
        f[f"{a}_mean"], f[f"{a}_cur"], f[f"{a}_max"] = w.mean(axis=1), w[:, 2], w.max(axis=1)
        f[f"{a}_prev"], f[f"{a}_first"] = w[:, 1], w[:, 0]
        f[f"{a}_trend"] = w[:, 2] - (w[:, 0] + w[:, 1]) / 2
    # Seconds on wealth pages per login: browsing with a purpose, not just checking the balance.
    f["view_per_login_cur"] = f["view_cur"] / np.maximum(f["login_cur"], 1)
    f["view_per_login_mean"] = f["view_mean"] / np.maximum(f["login_mean"], 1)
    f["compare_per_login_cur"] = f["compare_cur"] / np.maximum(f["login_cur"], 1)
    f["compare_per_login_mean"] = f["compare_mean"] / np.maximum(f["login_mean"], 1)
    f["card_to_income"] = f["card_mean"] / income
    rep = window("financial_repurchase_count")
    f["repurchase_cur"], f["repurchase_chg"] = rep[:, 2], rep[:, 2] - rep[:, 0]

    cur = beh.iloc[rows]
    end = pd.to_datetime(pd.Series([mo.month_end(m) for m in out["as_of"].unique()], index=out["as_of"].unique()))
    month_end = end.reindex(out["as_of"]).to_numpy()
    day_end = pd.DatetimeIndex(month_end).normalize().to_numpy()

    def days_since(col: str) -> np.ndarray:
        t = pd.to_datetime(cur[col]).to_numpy()
        d = (month_end - t) / np.timedelta64(1, "D")
        return np.clip(np.where(np.isnan(d), RECENCY_CAP, d), 0, RECENCY_CAP)

    f["days_since_login"] = days_since("last_app_login_time")
    f["days_since_contact"] = days_since("last_contact_time")
    f["contact_never"] = cur["last_contact_time"].isna().to_numpy(dtype=float)
    result = cur["contact_result"].astype(object).to_numpy()
    for r in CONTACT_RESULTS:
        f[f"contact_result_{r}"] = (result == r).astype(float)
    cool = pd.to_datetime(cur["marketing_cool_period"]).to_numpy()
    left = (cool - day_end) / np.timedelta64(1, "D")  # marketing is allowed again on the cool date itself
    f["in_cool_period"] = np.nan_to_num(left > 0, nan=0.0).astype(float)
    f["cool_days_left"] = np.clip(np.nan_to_num(left, nan=0.0), 0, None)

    f["age"] = base["age"].to_numpy(dtype=float)
    f["gender_male"] = (base["gender"].to_numpy() == "男").astype(float)
    opened = pd.to_datetime(base["open_account_date"]).to_numpy()
    f["tenure_months"] = np.maximum((month_end - opened) / np.timedelta64(1, "D") / 30.4375, 0)
    for c, values in CATEGORIES.items():
        v = base[c].astype(object).to_numpy()
        for value in values:
            f[f"{c}_{value}"] = (v == value).astype(float)

    feats = pd.DataFrame({c: np.asarray(f[c], dtype=float) for c in FEATURE_COLUMNS})
    df = pd.concat([out, feats], axis=1)
    return df.sort_values(["as_of", "customer_id"], kind="stable").reset_index(drop=True)


def threshold_features(f: pd.DataFrame | dict[str, np.ndarray], threshold: float | np.ndarray) -> dict[str, np.ndarray]:
    """Distance-to-threshold features from aum_cur, aum_slope and monthly_income (1M in production)."""
    aum = np.asarray(f["aum_cur"], dtype=float)
    slope = np.asarray(f["aum_slope"], dtype=float)
    income = np.asarray(f["monthly_income"], dtype=float)
    gap = threshold - aum
    out = {"gap_to_million": gap, "gap_ratio": gap / (aum + SMOOTH), "gap_income_months": gap / income,
           # a lump sum tends to scale with both the money already here and the income
           "gap_to_lump": gap / (aum + 12 * income),
           "gap_after_trend": gap - 3 * slope}
    out["gap_after_trend_ratio"] = out["gap_after_trend"] / (aum + SMOOTH)
    with np.errstate(divide="ignore", invalid="ignore"):
        months_needed = np.where(slope > 0, np.maximum(gap, 0) / slope, TREND_MONTHS_CAP)
    out["months_to_million_trend"] = np.clip(months_needed, 0, TREND_MONTHS_CAP)
    return out


def prospects(features: pd.DataFrame) -> pd.DataFrame:
    """Rows whose AUM at T is below 1M: the population the model ranks."""
    return features.loc[features["aum_cur"] < MILLION]

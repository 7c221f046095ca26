"""Who counts as a prospect and who may be contacted, in one place for every surface (chat tools,
dashboard, briefs), so the numbers people compare are the same numbers.

- A **prospect** at month T has total_assets < 1,000,000 at T (the contract's business definition).
  The model scores the prospects with the three months of history its features need; those are
  the **scored prospects** (a few new customers are prospects but not scored yet).
- A customer is **in the marketing cool period** at month T when marketing_cool_period of the row
  for T is after T's last day: no marketing *before* that date, so on the date itself marketing is
  allowed again (the propensity features, the rule service and this module use this one rule).
- A prospect **may be contacted** (appears in a prospect list) when not in the cool period.
"""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Any

import pandas as pd

from million.contract import MILLION


def month_end(month: str) -> dt.date:
    y, m = int(str(month)[:4]), int(str(month)[5:7])
    return dt.date(y, m, calendar.monthrange(y, m)[1])


def is_prospect(total_assets: Any) -> Any:
    """Works on a number or a pandas Series."""
    return total_assets < MILLION


def in_cool_period(cool_until: Any, month: str) -> Any:
    """cool_until: a date, a timestamp, None, or a Series of them."""
    end = pd.Timestamp(month_end(month))
    if isinstance(cool_until, pd.Series):
        return pd.to_datetime(cool_until, errors="coerce").gt(end).fillna(False).astype(bool)
    if cool_until is None or (isinstance(cool_until, float) and pd.isna(cool_until)):
        return False
    ts = pd.to_datetime(cool_until, errors="coerce")
    return bool(pd.notna(ts) and ts > end)


def cool_customers(wh: Any, month: str, branches: tuple[str, ...] | None = None) -> dict[str, str]:
    """customer_id → cool-period end (YYYY-MM-DD) for everyone in the cool period at `month`."""
    clause, params = "", [month, month_end(month).isoformat()]
    if branches is not None:
        clause = (" AND a.customer_id IN (SELECT customer_id FROM customer_base WHERE branch_name IN ("
                  + ", ".join("?" for _ in branches) + "))")
        params += list(branches)
    df = wh.query("SELECT a.customer_id, a.marketing_cool_period FROM customer_behavior_assets a "
                  f"WHERE a.stat_month = ? AND a.marketing_cool_period > ?{clause}", params)
    return {str(c): pd.Timestamp(d).strftime("%Y-%m-%d") for c, d in zip(df["customer_id"], df["marketing_cool_period"],
                                                                         strict=True)}


def prospect_count(wh: Any, month: str, branches: tuple[str, ...] | None = None) -> int:
    """Prospects at `month` (all of them, scored or not), as the dashboard's KPI card counts them."""
    clause, params = "", [month]
    if branches is not None:
        clause = (" AND a.customer_id IN (SELECT customer_id FROM customer_base WHERE branch_name IN ("
                  + ", ".join("?" for _ in branches) + "))")
        params += list(branches)
    df = wh.query(f"SELECT COUNT(*) AS n FROM customer_behavior_assets a WHERE a.stat_month = ? "
                  f"AND a.total_assets < {MILLION}{clause}", params)
    return int(df["n"].iloc[0]) if len(df) else 0

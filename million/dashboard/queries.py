"""One SQL query per dashboard panel, each returning plain JSON-able dicts.

The SQL is written once in the subset DuckDB and MySQL/MariaDB share (CASE sums instead of FILTER,
`* 1.0` instead of CAST, no MEDIAN); month arithmetic happens in Python on the validated month list.
Filter values are always bound parameters; the only text spliced in is the fixed clause below.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from million.contract import (
    ASSET_LEVELS,
    CITY_LEVELS,
    LIFECYCLE_STAGES,
    MILLION,
    OCCUPATION_TYPES,
    PRODUCT_NAMES,
)
from million.dashboard.filters import FilterOptions, Filters
from million.warehouse import Warehouse

BEHAVIOR_JOIN = "customer_behavior_assets a JOIN customer_base c ON c.customer_id = a.customer_id"
NEAR_MILLION = 800_000  # 资深 (80万-100万): the closest prospects
FUNNEL_STAGES = LIFECYCLE_STAGES[:4]  # 新客户 → 忠诚客户; 流失预警客户 is shown beside the funnel
CHURN_STAGE = LIFECYCLE_STAGES[4]
# App logins per month, bucketed so any bank's data reads the same way.
LOGIN_BUCKETS: tuple[tuple[int, int | None, str], ...] = (
    (0, 0, "0次"), (1, 2, "1-2次"), (3, 5, "3-5次"), (6, 10, "6-10次"),
    (11, 20, "11-20次"), (21, 30, "21-30次"), (31, None, "30次以上"))


def _in(branches: tuple[str, ...] | None) -> tuple[str, list[Any]]:
    """The branch restriction as a fixed clause with one bound placeholder per branch."""
    if branches is None:
        return "", []
    return " AND c.branch_name IN (" + ", ".join("?" for _ in branches) + ")", list(branches)


def _source(f: Filters) -> str:
    """Behaviour alone when no branch restriction applies: the join with customer_base costs a third
    of the time on the default data and is only needed to filter by branch (the loader rejects rows
    whose customer_id is not in customer_base, so both forms count the same customers)."""
    return BEHAVIOR_JOIN if f.branches is not None else "customer_behavior_assets a"


def _scope(f: Filters, month: str | None = None) -> tuple[str, list[Any]]:
    """WHERE clause for one month's snapshot, restricted to the chosen (or permitted) branches."""
    clause, bparams = _in(f.branches)
    return "a.stat_month = ?" + clause, [month or f.month, *bparams]


def _num(v: Any, digits: int = 2) -> float:
    """A JSON-safe float (NaN/None → 0)."""
    try:
        x = float(v)
    except (TypeError, ValueError):
        return 0.0
    return 0.0 if math.isnan(x) or math.isinf(x) else round(x, digits)


def _int(v: Any) -> int:
    x = _num(v, 0)
    return int(x)


def _ordered(df: pd.DataFrame, col: str, order: Sequence[str]) -> pd.DataFrame:
    """Rows in the contract's order, then any value outside it (a bank's data may hold more)."""
    rank = {v: i for i, v in enumerate(order)}
    return df.assign(_r=df[col].map(lambda v: rank.get(v, len(order)))).sort_values(["_r", col]).drop(columns="_r")


def previous_month(options: FilterOptions, month: str, back: int = 1) -> str | None:
    i = options.months.index(month)
    return options.months[i - back] if i - back >= 0 else None


def kpis(wh: Warehouse, f: Filters, options: FilterOptions) -> dict[str, Any]:
    prev = previous_month(options, f.month)
    months = [f.month] + ([prev] if prev else [])
    clause, bparams = _in(f.branches)
    where = "a.stat_month IN (" + ", ".join("?" for _ in months) + ")" + clause
    params: list[Any] = [*months, *bparams]
    df = wh.query(
        "SELECT a.stat_month AS month, COUNT(*) AS customers, SUM(a.total_assets) AS aum, "
        f"SUM(CASE WHEN a.total_assets >= {MILLION} THEN 1 ELSE 0 END) AS millionaires, "
        f"SUM(CASE WHEN a.total_assets < {MILLION} THEN 1 ELSE 0 END) AS prospects, "
        f"SUM(CASE WHEN a.total_assets >= {NEAR_MILLION} AND a.total_assets < {MILLION} THEN 1 ELSE 0 END) AS near "
        f"FROM {_source(f)} WHERE {where} GROUP BY a.stat_month", params)
    rows = {r["month"]: r for r in df.to_dict("records")}
    cur, before = rows.get(f.month, {}), rows.get(prev or "", {})

    def metric(name: str) -> dict[str, Any]:
        value = _num(cur.get(name))
        old = _num(before.get(name)) if before else None
        change = (value / old - 1) if old else None
        return {"value": value, "prev": old, "mom": None if change is None else round(change, 4)}

    return {"month": f.month, "prev_month": prev, **{k: metric(k) for k in
                                                     ("customers", "aum", "millionaires", "prospects", "near")}}


def asset_levels(wh: Warehouse, f: Filters) -> dict[str, Any]:
    where, params = _scope(f)
    df = wh.query(f"SELECT a.asset_level AS level, COUNT(*) AS customers, SUM(a.total_assets) AS aum "
                  f"FROM {_source(f)} WHERE {where} GROUP BY a.asset_level", params)
    df = _ordered(df, "level", ASSET_LEVELS)
    return {"levels": df["level"].astype(str).tolist(), "customers": [_int(v) for v in df["customers"]],
            "aum": [_num(v) for v in df["aum"]]}


def lifecycle(wh: Warehouse, f: Filters) -> dict[str, Any]:
    where, params = _scope(f)
    df = wh.query(f"SELECT c.lifecycle_stage AS stage, COUNT(*) AS customers, SUM(a.total_assets) AS aum, "
                  f"SUM(CASE WHEN a.total_assets >= {MILLION} THEN 1 ELSE 0 END) AS millionaires "
                  f"FROM {BEHAVIOR_JOIN} WHERE {where} GROUP BY c.lifecycle_stage", params)
    by = {r["stage"]: r for r in df.to_dict("records")}
    total = sum(_int(r["customers"]) for r in by.values())

    def stage(name: str) -> dict[str, Any]:
        r = by.get(name, {})
        n = _int(r.get("customers"))
        return {"stage": name, "customers": n, "aum": _num(r.get("aum")), "millionaires": _int(r.get("millionaires")),
                "share": round(n / total, 4) if total else 0.0}

    stages = [stage(s) for s in FUNNEL_STAGES]
    # The funnel layer of a stage counts everyone who reached it: customers there or further on.
    reached = 0
    for s in reversed(stages):
        reached += s["customers"]
        s["reached"] = reached
    for before, s in zip(stages, stages[1:], strict=False):
        s["conversion"] = round(s["reached"] / before["reached"], 4) if before["reached"] else 0.0
    stages[0]["conversion"] = 1.0 if stages[0]["reached"] else 0.0
    return {"stages": stages, "churn": stage(CHURN_STAGE), "total": total}


def monthly_trend(wh: Warehouse, f: Filters) -> dict[str, Any]:
    """Total AUM and 百万客户 per month over the whole history (branch filter applies)."""
    clause, params = _in(f.branches)
    df = wh.query(f"SELECT a.stat_month AS month, SUM(a.total_assets) AS aum, "
                  f"SUM(CASE WHEN a.total_assets >= {MILLION} THEN 1 ELSE 0 END) AS millionaires "
                  f"FROM {_source(f)} WHERE 1 = 1{clause} GROUP BY a.stat_month ORDER BY a.stat_month", params)
    return {"months": df["month"].astype(str).tolist(), "aum": [_num(v) for v in df["aum"]],
            "millionaires": [_int(v) for v in df["millionaires"]]}


def product_holding(wh: Warehouse, f: Filters) -> dict[str, Any]:
    where, params = _scope(f)
    cols = ", ".join(f"SUM(a.{p}_flag) * 1.0 / COUNT(*) AS {p}_rate, SUM(a.{p}_balance) AS {p}_bal"
                     for p in PRODUCT_NAMES)
    df = wh.query(f"SELECT COUNT(*) AS n, {cols} FROM {_source(f)} WHERE {where}", params)
    r = df.iloc[0].to_dict() if len(df) else {}
    if not _int(r.get("n")):
        return {"products": [], "rates": [], "balances": []}
    return {"products": list(PRODUCT_NAMES.values()),
            "rates": [_num(r[f"{p}_rate"], 4) for p in PRODUCT_NAMES],
            "balances": [_num(r[f"{p}_bal"]) for p in PRODUCT_NAMES]}


def occupation_income(wh: Warehouse, f: Filters) -> dict[str, Any]:
    where, params = _scope(f)
    df = wh.query(f"SELECT c.occupation_type AS occ, COUNT(*) AS customers, AVG(c.monthly_income) AS income, "
                  f"AVG(a.total_assets) AS avg_aum FROM {BEHAVIOR_JOIN} WHERE {where} GROUP BY c.occupation_type",
                  params)
    df = _ordered(df, "occ", OCCUPATION_TYPES).sort_values("income", ascending=False, kind="stable")
    return {"types": df["occ"].astype(str).tolist(), "income": [_num(v, 0) for v in df["income"]],
            "avg_aum": [_num(v, 0) for v in df["avg_aum"]], "customers": [_int(v) for v in df["customers"]]}


def city_tiers(wh: Warehouse, f: Filters) -> dict[str, Any]:
    where, params = _scope(f)
    df = wh.query(f"SELECT c.city_level AS tier, COUNT(*) AS customers, SUM(a.total_assets) AS aum, "
                  f"SUM(CASE WHEN a.total_assets >= {MILLION} THEN 1 ELSE 0 END) AS millionaires "
                  f"FROM {BEHAVIOR_JOIN} WHERE {where} GROUP BY c.city_level", params)
    df = _ordered(df, "tier", CITY_LEVELS)
    return {"tiers": [{"tier": str(r["tier"]), "customers": _int(r["customers"]), "aum": _num(r["aum"]),
                       "millionaires": _int(r["millionaires"])} for r in df.to_dict("records")]}


def branch_ranking(wh: Warehouse, f: Filters, top: int = 10) -> dict[str, Any]:
    """Every visible branch at the month, ranked by AUM; the chosen one is kept even outside the top."""
    clause, bparams = _in(f.scope)
    df = wh.query(f"SELECT c.branch_name AS branch, COUNT(*) AS customers, SUM(a.total_assets) AS aum, "
                  f"SUM(CASE WHEN a.total_assets >= {MILLION} THEN 1 ELSE 0 END) AS millionaires "
                  f"FROM {BEHAVIOR_JOIN} WHERE a.stat_month = ?{clause} GROUP BY c.branch_name", [f.month, *bparams])
    df = df.sort_values(["aum", "branch"], ascending=[False, True]).reset_index(drop=True)
    df["rank"] = df.index + 1
    shown = df.head(top)
    if f.branch and f.branch not in set(shown["branch"]):
        shown = pd.concat([shown, df[df["branch"] == f.branch]])
    return {"total_branches": len(df), "selected": f.branch,
            "rows": [{"rank": _int(r["rank"]), "branch": str(r["branch"]), "aum": _num(r["aum"]),
                      "customers": _int(r["customers"]), "millionaires": _int(r["millionaires"])}
                     for r in shown.to_dict("records")]}


def engagement_growth(wh: Warehouse, f: Filters, options: FilterOptions) -> dict[str, Any]:
    """App logins this month against AUM growth since three months earlier (fewer when the history is short)."""
    i = options.months.index(f.month)
    back = min(3, i)
    if back == 0:
        return {"empty": True, "reason": "暂无：需要至少两个月的数据才能计算资产增长"}
    base_month = options.months[i - back]
    case = " ".join(f"WHEN a.app_login_count <= {hi} THEN {k}" if hi is not None else f"ELSE {k}"
                    for k, (_lo, hi, _label) in enumerate(LOGIN_BUCKETS))
    clause, bparams = _in(f.branches)
    where = "a.stat_month = ? AND p.stat_month = ?" + clause
    params: list[Any] = [f.month, base_month, *bparams]
    df = wh.query(
        f"SELECT CASE {case} END AS bucket, COUNT(*) AS customers, SUM(a.total_assets) AS aum_now, "
        "SUM(p.total_assets) AS aum_before, "
        "SUM(CASE WHEN a.total_assets > p.total_assets THEN 1 ELSE 0 END) AS grew, "
        "AVG(a.app_login_count * 1.0) AS logins "
        f"FROM {_source(f)} JOIN customer_behavior_assets p ON p.customer_id = a.customer_id "
        f"WHERE {where} GROUP BY CASE {case} END", params)
    by = {_int(r["bucket"]): r for r in df.to_dict("records")}
    rows = []
    for k, (_lo, _hi, label) in enumerate(LOGIN_BUCKETS):
        r = by.get(k)
        if r is None:
            continue
        n, before = _int(r["customers"]), _num(r["aum_before"])
        rows.append({"bucket": label, "customers": n, "avg_logins": _num(r["logins"], 1),
                     "growth": round(_num(r["aum_now"]) / before - 1, 4) if before else 0.0,
                     "grew_share": round(_int(r["grew"]) / n, 4) if n else 0.0})
    return {"base_month": base_month, "months_back": back, "rows": rows}


SEGMENTS_TABLE = "customer_segments"


def segments(wh: Warehouse, f: Filters, tables: Sequence[str]) -> dict[str, Any]:
    """Customers per segment from the clustering step's table; a placeholder until it exists."""
    if SEGMENTS_TABLE not in tables:
        return {"empty": True, "reason": "暂无：客户分群尚未生成（customer_segments 表不存在）"}
    where, params = _scope(f)
    df = wh.query(f"SELECT s.segment_id AS sid, s.segment_name AS name, COUNT(*) AS customers, "
                  f"AVG(a.total_assets) AS avg_aum, "
                  f"SUM(CASE WHEN a.total_assets >= {MILLION} THEN 1 ELSE 0 END) AS millionaires "
                  f"FROM {BEHAVIOR_JOIN} JOIN {SEGMENTS_TABLE} s ON s.customer_id = a.customer_id "
                  f"WHERE {where} GROUP BY s.segment_id, s.segment_name", params)
    if df.empty:
        return {"empty": True, "reason": "暂无：当前筛选范围内没有分群结果"}
    df = df.assign(sid=df["sid"].astype(str)).sort_values(["customers", "sid"], ascending=[False, True])
    return {"segments": [{"id": str(r["sid"]), "name": str(r["name"]), "customers": _int(r["customers"]),
                          "avg_aum": _num(r["avg_aum"], 0), "millionaires": _int(r["millionaires"])}
                         for r in df.to_dict("records")]}

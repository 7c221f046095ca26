"""Ten typical analyst queries, timed on DuckDB and on MySQL/MariaDB holding the same rows.

The same SQL text runs on both engines (portable SQL, as in prompts/sql_examples.md), through the
warehouse layer the tools use; each result is checked equal across the engines."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from typing import Any

from benchmarks.stats import summary_ms
from evaluation.resultsets import compare, is_ordered
from million.contract import BEHAVIOR, CUSTOMER_BASE
from million.warehouse import Warehouse
from million.warehouse.ddl import create_statements

LATEST = "(SELECT MAX(stat_month) FROM customer_behavior_assets)"
PREV = f"(SELECT MAX(stat_month) FROM customer_behavior_assets WHERE stat_month < {LATEST})"
JOIN = "customer_behavior_assets a JOIN customer_base b ON a.customer_id = b.customer_id"

QUERIES: list[tuple[str, str]] = [
    ("最新月客户数", f"SELECT COUNT(*) AS n FROM customer_behavior_assets WHERE stat_month = {LATEST}"),
    ("最新月百万客户数",
     f"SELECT COUNT(*) AS n FROM customer_behavior_assets WHERE stat_month = {LATEST} AND total_assets >= 1000000"),
    ("各月总AUM趋势", "SELECT stat_month, SUM(total_assets) AS aum FROM customer_behavior_assets "
                  "GROUP BY stat_month ORDER BY stat_month"),
    ("最新月资产等级分布", f"SELECT asset_level, COUNT(*) AS n FROM customer_behavior_assets WHERE stat_month = {LATEST} "
                   "GROUP BY asset_level"),
    ("分行总AUM前10（关联）", f"SELECT b.branch_name, SUM(a.total_assets) AS aum FROM {JOIN} WHERE a.stat_month = {LATEST} "
                       "GROUP BY b.branch_name ORDER BY aum DESC, b.branch_name LIMIT 10"),
    ("各职业类型平均月收入", "SELECT occupation_type, AVG(monthly_income) AS avg_income FROM customer_base "
                    "GROUP BY occupation_type ORDER BY avg_income DESC"),
    ("四类产品持有率", f"SELECT AVG(deposit_flag) AS d, AVG(financial_flag) AS f, AVG(fund_flag) AS u, "
                f"AVG(insurance_flag) AS i FROM customer_behavior_assets WHERE stat_month = {LATEST}"),
    ("每月新增百万客户（窗口函数）",
     "WITH m AS (SELECT customer_id, stat_month, total_assets, LAG(total_assets) OVER (PARTITION BY customer_id "
     "ORDER BY stat_month) AS prev FROM customer_behavior_assets) SELECT stat_month, COUNT(*) AS n FROM m "
     "WHERE total_assets >= 1000000 AND prev < 1000000 GROUP BY stat_month ORDER BY stat_month"),
    ("城市等级客户数与平均AUM（关联）", f"SELECT b.city_level, COUNT(*) AS n, AVG(a.total_assets) AS avg_aum FROM {JOIN} "
                            f"WHERE a.stat_month = {LATEST} GROUP BY b.city_level ORDER BY b.city_level"),
    ("分行AUM环比增长前5（关联，两个月）",
     f"SELECT b.branch_name, SUM(CASE WHEN a.stat_month = {LATEST} THEN a.total_assets ELSE 0 END) - "
     f"SUM(CASE WHEN a.stat_month = {PREV} THEN a.total_assets ELSE 0 END) AS growth FROM {JOIN} "
     f"WHERE a.stat_month >= {PREV} GROUP BY b.branch_name ORDER BY growth DESC, b.branch_name LIMIT 5"),
]


def copy_tables(src: Warehouse, dst: Warehouse) -> dict[str, int]:
    """The two contract tables from one warehouse into another (typed DDL of the target dialect)."""
    frames = {t: src.query(f"SELECT * FROM {t}") for t in (CUSTOMER_BASE, BEHAVIOR)}
    ddl = {t: partial(create_statements, t, dst.dialect) for t in frames}
    dst.replace_tables(frames, ddl)
    return {t: len(f) for t, f in frames.items()}


def time_query(wh: Warehouse, sql: str, runs: int) -> tuple[list[float], Any]:
    wh.query(sql)  # warm-up: plan caches, buffer pool, DuckDB's first touch of the file
    times, df = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        df = wh.query(sql)
        times.append(time.perf_counter() - t0)
    return times, df


def overhead(wh: Warehouse, runs: int) -> dict[str, Any]:
    """`SELECT 1` through the same interface: what every query pays before the engine works
    (for MySQL a new connection, session settings and a read-only transaction)."""
    return summary_ms(time_query(wh, "SELECT 1 AS one", runs)[0])


def compare_engines(duck: Warehouse, mysql: Warehouse, runs: int,
                    log: Callable[[str], None] = print) -> list[dict[str, Any]]:
    rows = []
    for name, sql in QUERIES:
        d_times, d_df = time_query(duck, sql, runs)
        m_times, m_df = time_query(mysql, sql, runs)
        same, why = compare(d_df, m_df, is_ordered(sql))
        # MySQL keeps 4 decimals for AVG of integers (div_precision_increment): equal at that precision?
        close = same or compare(d_df, m_df, is_ordered(sql), rel_tol=1e-3)[0]
        d, m = summary_ms(d_times), summary_ms(m_times)
        rows.append({"name": name, "sql": sql, "rows": len(d_df), "duckdb": d, "mysql": m,
                     "ratio": (m["p50_ms"] / d["p50_ms"]) if d["p50_ms"] else None, "same_result": same, "same_within_1e-3": close, "diff": why})
        log(f"  {name}: DuckDB {d['p50_ms']:.1f} ms, MySQL {m['p50_ms']:.1f} ms{'' if same else '（结果不同：' + why + '）'}")
    return rows

"""A user's branch scope, enforced in the data layer: customer lookups check the customer's branch,
and SQL is rewritten so every reference to a customer table reads only rows of those branches."""

from __future__ import annotations

from collections.abc import Sequence

import sqlglot
from sqlglot import exp

from million.warehouse import Warehouse

SCOPED_TABLES = {"customer_base", "customer_behavior_assets", "customer_segments"}


def customer_branch(wh: Warehouse, customer_id: str) -> str | None:
    df = wh.query("SELECT branch_name FROM customer_base WHERE customer_id = ?", [customer_id])
    return None if df.empty else str(df["branch_name"].iloc[0])


def _in_branches(branches: Sequence[str]) -> exp.Expression:
    return exp.column("branch_name").isin(*[exp.Literal.string(b) for b in branches])


def _scoped_source(table: str, branches: Sequence[str], dialect: str) -> exp.Expression:
    base = exp.select("*").from_("customer_base").where(_in_branches(branches))
    if table == "customer_base":
        return base
    ids = exp.select("customer_id").from_("customer_base").where(_in_branches(branches))
    return exp.select("*").from_(table).where(exp.column("customer_id").isin(query=ids))


def scope_sql(sql: str, dialect: str, branches: Sequence[str] | None) -> str:
    """Replace each customer table in `sql` with a subquery limited to `branches` (None = no scope).
    CTE names that shadow a table are left alone; an empty scope sees nothing."""
    if branches is None:
        return sql
    tree = sqlglot.parse_one(sql, read=dialect)
    if {c.alias_or_name.lower() for c in tree.find_all(exp.CTE)} & SCOPED_TABLES:
        # A CTE named like a customer table would hide the real table from the rewrite.
        raise ValueError("WITH 子句的名称不能与数据表同名（customer_base 等），请换一个名称。")
    targets = [t for t in tree.find_all(exp.Table) if t.name.lower() in SCOPED_TABLES]
    for t in targets:
        alias = t.alias_or_name
        sub = _scoped_source(t.name.lower(), list(branches) or ["\x00none"], dialect).subquery(alias)
        t.replace(sub)
    return tree.sql(dialect=dialect)

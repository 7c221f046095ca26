"""A user's branch scope in the data layer: customer lookups check the customer's branch, and the
SQL rewrite limits every reference to a customer table to rows of those branches.

The rewrite is the second layer: a scoped user's SQL runs on a connection that can only see their
rows (Warehouse.scoped). It fails closed: SQL it cannot parse into exactly one statement is refused."""

from __future__ import annotations

from collections.abc import Sequence

import sqlglot
from sqlglot import exp

from million.warehouse import Warehouse
from million.warehouse.scoped import SCOPED_TABLES, scope_key


class ScopeRefused(ValueError):
    """The query cannot be limited to the user's branches; the message says why (Chinese)."""


def customer_branch(wh: Warehouse, customer_id: str) -> str | None:
    df = wh.query("SELECT branch_name FROM customer_base WHERE customer_id = ?", [customer_id])
    return None if df.empty else str(df["branch_name"].iloc[0])


def _in_branches(branches: Sequence[str]) -> exp.Expression:
    return exp.column("branch_name").isin(*[exp.Literal.string(b) for b in branches])


def _scoped_source(table: str, branches: Sequence[str]) -> exp.Expression:
    base = exp.select("*").from_("customer_base").where(_in_branches(branches))
    if table == "customer_base":
        return base
    ids = exp.select("customer_id").from_("customer_base").where(_in_branches(branches))
    return exp.select("*").from_(table).where(exp.column("customer_id").isin(query=ids))


def scope_tree(tree: exp.Expression, branches: Sequence[str]) -> exp.Expression:
    """Replace each customer table in the parsed query with a subquery limited to `branches` (an
    empty scope sees nothing). Returns the (possibly new) root."""
    if {c.alias_or_name.lower() for c in tree.find_all(exp.CTE)} & set(SCOPED_TABLES):
        # A CTE named like a customer table would hide the real table from the rewrite.
        raise ScopeRefused("WITH 子句的名称不能与数据表同名（customer_base 等），请换一个名称。")
    key = scope_key(branches)
    for t in [t for t in tree.find_all(exp.Table) if t.name.lower() in SCOPED_TABLES]:
        sub = _scoped_source(t.name.lower(), key).subquery(t.alias_or_name)
        if t is tree:
            return sub
        t.replace(sub)
    return tree


def scope_sql(sql: str, dialect: str, branches: Sequence[str] | None) -> str:
    """`sql` limited to `branches` (None = no scope). Anything but exactly one parseable statement is
    refused: a check that cannot read its input must not pass it on."""
    if branches is None:
        return sql
    try:
        trees = [t for t in sqlglot.parse(sql, read=dialect) if t is not None]
    except sqlglot.errors.SqlglotError as e:
        raise ScopeRefused("SQL 无法解析，无法确认只查询您有权限的分行，已拒绝执行。") from e
    if len(trees) != 1:
        raise ScopeRefused(f"一次只能执行一条查询（收到 {len(trees)} 条），已拒绝执行。")
    return scope_tree(trees[0], branches).sql(dialect=dialect)

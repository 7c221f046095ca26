"""The field dictionary (数据表字段含义) and DDL shown to the LLM, produced from the contract and
checked against the live warehouse so the prompt cannot drift from the data."""

from __future__ import annotations

from million.contract import TABLE_COMMENTS, TABLES
from million.warehouse import Warehouse
from million.warehouse.ddl import create_statements

HEADER = "# 数据表字段含义\n\n本文件由 `scripts/make_field_dictionary.py` 根据数据契约生成，请勿手工修改。\n"


def field_dictionary_markdown() -> str:
    parts = [HEADER]
    for table, cols in TABLES.items():
        parts.append(f"\n## {table}：{TABLE_COMMENTS[table]}\n")
        parts.append("| 字段 | 类型 | 含义 | 取值/规则 |\n|---|---|---|---|")
        for c in cols:
            rule = c.values + ("（可为空）" if c.nullable and "可为空" not in c.values else "")
            parts.append(f"| {c.name} | {c.sql_type} | {c.comment} | {rule} |")
    parts.append("\n关联：customer_behavior_assets.customer_id = customer_base.customer_id；"
                 "stat_month 为 'YYYY-MM' 字符串，可直接比较大小。\n")
    return "\n".join(parts)


def ddl_for_prompt(dialect: str) -> str:
    # Only the CREATE TABLE itself: the meanings are in the field dictionary next to it.
    return "\n\n".join(create_statements(t, dialect)[0] + ";" for t in TABLES)


def drift(wh: Warehouse) -> list[str]:
    """Differences between the contract and the live warehouse (empty list = in sync)."""
    problems = []
    live_tables = set(wh.tables())
    for table, cols in TABLES.items():
        if table not in live_tables:
            problems.append(f"数据仓库缺少表 {table}")
            continue
        live = [name for name, _ in wh.columns(table)]
        want = [c.name for c in cols]
        if sorted(live) != sorted(want):
            problems.append(f"{table} 列不一致：仓库 {sorted(set(live) ^ set(want))}")
    return problems

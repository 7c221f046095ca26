"""Prompt files under prompts/, rendered strictly: a missing variable is an error, never blank."""

from __future__ import annotations

import re
from pathlib import Path

import jinja2

from million.field_dictionary import ddl_for_prompt
from million.settings import get_settings

DIALECT_NAMES = {"duckdb": "DuckDB（内置数据仓库）", "mysql": "MySQL / MariaDB", "doris": "Apache Doris（MySQL 协议）",
                 "starrocks": "StarRocks（MySQL 协议）", "spark": "Spark SQL（HiveServer2 / Kyuubi / Spark Thrift Server）",
                 "hive": "HiveQL（HiveServer2）"}
QUOTE_HINTS = {"duckdb": '双引号，如 "order"', **{d: "反引号，如 `order`" for d in DIALECT_NAMES if d != "duckdb"}}
# The table definitions shown to the LLM, in the DDL flavour closest to the dialect.
DDL_DIALECT = {"duckdb": "duckdb", "mysql": "mysql", "doris": "mysql", "starrocks": "mysql", "spark": "spark",
               "hive": "hive"}


def prompts_dir() -> Path:
    return get_settings().prompts_dir


def read_prompt(name: str) -> str:
    return (prompts_dir() / name).read_text(encoding="utf-8")


def render(name: str, **variables: object) -> str:
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True)
    return env.from_string(read_prompt(name)).render(**variables)


def sql_examples() -> list[tuple[str, str]]:
    """(question, sql) pairs from prompts/sql_examples.md."""
    text = read_prompt("sql_examples.md")
    return [(q.strip(), s.strip()) for q, s in re.findall(r"^Q:\s*(.+?)\n```sql\n(.+?)\n```", text, re.M | re.S)]


def system_prompt(*, today: str, dialect: str, tool_list: str) -> str:
    """`tool_list`: one line per registered tool (the agent renders it from the tool registry)."""
    examples = "\n".join(f"- {q}\n  ```sql\n  {s}\n  ```" for q, s in sql_examples())
    return render(
        "system.md",
        today=today,
        tool_list=tool_list.strip(),
        dialect=dialect,
        dialect_name=DIALECT_NAMES.get(dialect, dialect),
        quote_hint=QUOTE_HINTS.get(dialect, "引号"),
        glossary=read_prompt("glossary.md").strip(),
        ddl=ddl_for_prompt(DDL_DIALECT.get(dialect, "duckdb")),
        field_dictionary=read_prompt("field_dictionary.md").strip(),
        examples=examples,
        dialect_notes=read_prompt(f"dialect_{dialect}.md").strip(),
    )

"""First gate for LLM-written SQL (the sql_inter tool); the database is the boundary.

sqlglot parses the statement in the warehouse's dialect. Exactly one read-only query is allowed:
SELECT, WITH ... SELECT, UNION / INTERSECT / EXCEPT. Only the known tables (and the query's own CTE
names) may appear in FROM: no table functions, file paths or qualified names, so DuckDB's file and
network readers and MySQL's schema tables are out. Dangerous functions (file readers, LOAD_FILE,
sleep/benchmark, getenv, ...) are refused anywhere. A LIMIT is added or clamped to the row cap.

What runs is the SQL regenerated from the checked tree, never the input text: comments (including
MySQL's executable /*! ... */ comments) are gone, strings are re-escaped, and every identifier is
quoted for the dialect, so reserved words used as column names (order, group, desc, ...) work.
The serving connection is read-only on top of this (million/warehouse): a bypassed or fooled guard
still cannot write, attach, load extensions or change settings. A branch-scoped user's query runs on
a connection that only holds their branches' rows (Warehouse.scoped), with the rewrite as a second
layer; and every query runs in a worker process with its own memory limit (warehouse/isolated.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pandas as pd
import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from million.contract import BEHAVIOR, CUSTOMER_BASE
from million.scope import ScopeRefused, scope_tree
from million.warehouse import Warehouse
from million.warehouse.isolated import IsolatedRunner, default_runner

ALLOWED_TABLES = (CUSTOMER_BASE, BEHAVIOR, "customer_segments")
MAX_SQL_CHARS = 20_000
CELL_CAP = 2_000  # characters kept per text cell handed to the caller

DIALECTS = {"duckdb": "DuckDB", "mysql": "MySQL", "doris": "Doris", "starrocks": "StarRocks",
            "spark": "Spark SQL", "hive": "HiveQL"}
_BACKTICK_HINT = "列名是保留字时请用反引号，例如 `order`、`group`、`desc`"
_QUOTE_HINT = {"duckdb": '列名是保留字时请用双引号，例如 "order"、"group"、"desc"',
               **{d: _BACKTICK_HINT for d in DIALECTS if d != "duckdb"}}
# Spark and Hive substitute ${env:X}, ${system:X}, ${hiveconf:X}, ... in the SQL text before parsing it,
# also inside string literals: a query could read the server's environment and settings.
_SUBSTITUTION = re.compile(r"\$\{")

# Statement kinds that are never a read-only query, wherever they appear in the tree.
_FORBIDDEN_NODES: dict[type, str] = {
    exp.Insert: "INSERT", exp.Update: "UPDATE", exp.Delete: "DELETE", exp.Merge: "MERGE",
    exp.Create: "CREATE", exp.Drop: "DROP", exp.Alter: "ALTER", exp.Copy: "COPY", exp.Command: "命令",
    exp.Set: "SET", exp.Pragma: "PRAGMA", exp.Use: "USE", exp.Attach: "ATTACH", exp.Detach: "DETACH",
    exp.Install: "INSTALL", exp.LoadData: "LOAD DATA", exp.Export: "EXPORT", exp.Transaction: "事务",
    exp.Commit: "COMMIT", exp.Rollback: "ROLLBACK", exp.Into: "SELECT INTO", exp.Lock: "FOR UPDATE/SHARE 锁",
    exp.Describe: "DESCRIBE", exp.Summarize: "SUMMARIZE", exp.Show: "SHOW", exp.Kill: "KILL",
    exp.Refresh: "REFRESH", exp.Cache: "CACHE", exp.Analyze: "ANALYZE",
    exp.UserDefinedFunction: "自定义函数",
    # Spark/Hive: SELECT TRANSFORM(...) USING 'script' (and MAP/REDUCE ... USING) runs a program on the cluster
    exp.QueryTransform: "TRANSFORM … USING（执行外部脚本）",
}
# Functions that read files or the network, leak the environment, or stall the server.
_FORBIDDEN_FUNCS = {
    "read_csv", "read_csv_auto", "read_parquet", "parquet_scan", "read_json", "read_json_auto",
    "read_json_objects", "read_json_objects_auto", "read_ndjson", "read_ndjson_auto", "read_ndjson_objects",
    "read_text", "read_blob", "read_xlsx", "glob", "sniff_csv", "sqlite_scan", "sqlite_attach",
    "postgres_scan", "postgres_attach", "postgres_query", "mysql_scan", "mysql_query", "iceberg_scan",
    "delta_scan", "st_read", "load_file", "getenv", "current_setting", "query", "query_table",
    "which_secret", "sleep", "pg_sleep", "benchmark", "get_lock", "release_lock", "release_all_locks",
    "is_free_lock", "is_used_lock", "master_pos_wait", "source_pos_wait", "sys_exec", "sys_eval",
    "load_extension", "http_get", "http_post", "make_set_from_file", "master_gtid_wait",
    # Spark / Hive: Java reflection, reading files, names made from strings at run time
    "reflect", "java_method", "try_reflect", "in_file", "identifier", "input_file_name", "input_file_block_start",
    "input_file_block_length", "xpath", "xpath_string", "xpath_boolean", "xpath_int", "xpath_long",
    "xpath_float", "xpath_double", "xpath_number", "xpath_short", "current_user", "session_user",
    # Doris / StarRocks table functions that read object stores, HDFS or a server's local files
    "s3", "hdfs", "local", "files", "http", "url", "iceberg_meta", "hudi_meta", "backends", "frontends",
}
_FORBIDDEN_FUNC_PATTERN = re.compile(r"^(read_|pragma_|duckdb_|parquet_|iceberg_|http)|(_scan|_attach|_query)$")
_FILE_KEYWORDS = {"OUTFILE", "DUMPFILE"}


class SqlRejected(ValueError):
    """The SQL is not a single read-only query on the allowed tables; the message says how to fix it."""


@dataclass
class GuardedSql:
    sql: str  # what the guard accepts, as shown to users / the LLM
    limit_applied: bool  # the guard added or lowered the LIMIT
    row_cap: int
    tables: list[str]  # allowed tables the query reads
    exec_sql: str = ""  # what runs: as `sql`, but LIMIT row_cap + 1 when the guard owns the limit


def _allowed_text(allowed: Iterable[str]) -> str:
    return "、".join(sorted(allowed))


def _parse(sql: str, dialect: str) -> exp.Expression:
    if dialect in {"spark", "hive"} and _SUBSTITUTION.search(sql):
        raise SqlRejected("不允许使用 ${…} 变量替换（Spark/Hive 会在执行前把它替换成服务器的环境变量或配置）："
                          "请把值直接写进 SQL。")
    try:
        tokens = sqlglot.tokenize(sql, read=dialect)
    except TokenError as e:
        raise SqlRejected(f"SQL 无法解析（{DIALECTS[dialect]} 方言）：{str(e)[:200]}。请检查引号和括号是否成对。") from e
    if any(t.text.upper() in _FILE_KEYWORDS for t in tokens if t.token_type.name != "STRING"):
        raise SqlRejected("不允许 INTO OUTFILE / INTO DUMPFILE：查询结果不能写入文件，只能直接返回。")
    try:
        trees = [t for t in sqlglot.parse(sql, read=dialect) if t is not None]
    except ParseError as e:
        err = (e.errors or [{}])[0]
        where = ""
        if err.get("line"):
            near = (err.get("highlight") or "").strip()
            where = f"（第 {err['line']} 行第 {err.get('col')} 列{'，在 ' + near + ' 附近' if near else ''}）"
        desc = err.get("description") or str(e).splitlines()[0]
        desc = re.sub(r"<class 'sqlglot\.[\w.]*\.(\w+)'>", r"\1", desc)  # "... missing for GT", not a class repr
        raise SqlRejected(f"SQL 语法错误，{DIALECTS[dialect]} 方言无法解析{where}：{desc}。"
                          f"请检查关键字拼写、逗号、括号和引号后重试；{_QUOTE_HINT[dialect]}。") from e
    if not trees:
        raise SqlRejected("SQL 为空：请写一条 SELECT 查询。")
    if len(trees) > 1:
        raise SqlRejected(f"一次只能执行一条查询，收到了 {len(trees)} 条：请去掉分号后面的语句，分多次调用。")
    return trees[0]


def _root_query(tree: exp.Expression) -> exp.Query:
    while isinstance(tree, exp.Subquery):  # "(SELECT ...)"
        tree = tree.this
    if isinstance(tree, exp.Select | exp.SetOperation):
        return tree
    kind = _FORBIDDEN_NODES.get(type(tree)) or next(
        (label for cls, label in _FORBIDDEN_NODES.items() if isinstance(tree, cls)), None)
    if kind is None:  # not a statement at all: usually a misspelt keyword ("SELEC", "FORM")
        raise SqlRejected(f"无法识别为查询语句：{tree.sql()[:80]!r}。只允许 SELECT、WITH … SELECT、"
                          "UNION/INTERSECT/EXCEPT；请检查 SELECT、FROM、WHERE 等关键字的拼写。")
    raise SqlRejected(f"只允许只读查询（SELECT、WITH … SELECT、UNION/INTERSECT/EXCEPT），不允许 {kind} 语句："
                      "不能写入、建表、改设置、导出或加载扩展。")


def _func_name(node: exp.Func) -> str:
    return (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()


def _check_nodes(root: exp.Query, allowed: set[str], dialect: str) -> list[str]:
    ctes = {cte.alias_or_name.lower() for cte in root.find_all(exp.CTE)}
    tables: set[str] = set()
    for node in root.walk():
        for kind, label in _FORBIDDEN_NODES.items():
            if isinstance(node, kind):
                raise SqlRejected(f"查询中包含不允许的操作 {label}：只能读取数据，不能写入、建表、加锁、改设置或导出文件。")
        if isinstance(node, exp.Func):
            name = _func_name(node)
            if name in _FORBIDDEN_FUNCS or _FORBIDDEN_FUNC_PATTERN.search(name):
                raise SqlRejected(f"不允许调用函数 {name}()：不能读取文件、访问网络、读取系统信息或让数据库等待。"
                                  f"请只查询这些表：{_allowed_text(allowed)}。")
        if isinstance(node, exp.Parameter | exp.SessionParameter | exp.Placeholder):
            raise SqlRejected(f"不允许使用变量或参数占位符（{node.sql(dialect=dialect)}）：请把值直接写进 SQL。")
        if isinstance(node, exp.Table):
            tables.add(_check_table(node, allowed, ctes, dialect))
        if isinstance(node, exp.Join) and dialect in {"spark", "hive"}:
            _check_join(node)
    return sorted(tables - ctes)


def _check_join(node: exp.Join) -> None:
    """Spark/Hive: a join needs an equality between the two sides. Without one Spark plans a nested-loop
    (cartesian) join, whose tasks do not stop when the query is cancelled: one such query would hold the
    cluster's cores long after its deadline."""
    if node.args.get("using"):
        return
    on = node.args.get("on")
    if on is None or not any(isinstance(e, exp.EQ | exp.NullSafeEQ) for e in on.find_all(exp.EQ, exp.NullSafeEQ)):
        raise SqlRejected("Spark/Hive 查询中的每个 JOIN 都需要等值关联条件（JOIN … ON a.customer_id = b.customer_id）："
                          "没有等值条件的笛卡尔积在集群上无法及时取消。请补上关联键，或先聚合再关联。")


def _check_table(node: exp.Table, allowed: set[str], ctes: set[str], dialect: str) -> str:
    shown = node.sql(dialect=dialect)[:80]
    if not isinstance(node.this, exp.Identifier):
        raise SqlRejected(f"FROM 中只能使用数据表、子查询或 WITH 定义的结果，不能使用表函数或文件路径：{shown}。"
                          f"可查询的表：{_allowed_text(allowed)}。")
    if node.args.get("db") or node.args.get("catalog"):
        raise SqlRejected(f"请直接写表名，不要带库名或模式名：{shown}。可查询的表：{_allowed_text(allowed)}。")
    name = node.name.lower()
    if name not in allowed and name not in ctes:
        raise SqlRejected(f"不允许访问表 {node.name}：只能查询 {_allowed_text(allowed)}（以及 WITH 中定义的结果）。")
    return name


def _limit_value(limit: exp.Expression | None) -> int | None:
    if isinstance(limit, exp.Limit):
        count = limit.expression
    elif isinstance(limit, exp.Fetch):
        count = limit.args.get("count")
    else:
        return None
    if isinstance(count, exp.Literal) and not count.is_string and re.fullmatch(r"\d+", count.this or ""):
        return int(count.this)
    return None


def guard_sql(sql: str, dialect: str, *, row_cap: int = 10_000,
              allowed_tables: Iterable[str] = ALLOWED_TABLES, branches: Sequence[str] | None = None) -> GuardedSql:
    """Check one LLM-written query; return the SQL to run. Raises SqlRejected (Chinese, actionable)."""
    if dialect not in DIALECTS:
        raise ValueError(f"unsupported dialect {dialect!r}")
    if row_cap < 1:
        raise ValueError("row_cap must be >= 1")
    if not isinstance(sql, str) or not sql.strip():
        raise SqlRejected("SQL 为空：请写一条 SELECT 查询。")
    if len(sql) > MAX_SQL_CHARS:
        raise SqlRejected(f"SQL 过长（{len(sql):,} 字符，上限 {MAX_SQL_CHARS:,}）：请简化查询。")
    allowed = {t.lower() for t in allowed_tables}
    root = _root_query(_parse(sql, dialect))
    tables = _check_nodes(root, allowed, dialect)
    if branches is not None:
        try:
            scoped = scope_tree(root, branches)
        except ScopeRefused as e:
            raise SqlRejected(str(e)) from e
        assert isinstance(scoped, exp.Query)
        root = scoped
    given = root.args.get("limit")
    value = _limit_value(given)
    limit_applied = value is None or value > row_cap
    if limit_applied:
        root.set("limit", exp.Limit(expression=exp.Literal.number(row_cap)))
    shown = root.sql(dialect=dialect, identify=True, comments=False)
    if limit_applied:
        root.set("limit", exp.Limit(expression=exp.Literal.number(row_cap + 1)))
    run = root.sql(dialect=dialect, identify=True, comments=False)
    return GuardedSql(shown, limit_applied, row_cap, tables, run)


def run_guarded(wh: Warehouse, sql: str, *, row_cap: int, timeout_s: float,
                branches: Sequence[str] | None = None, memory_mb: int = 5120,
                allowed_tables: Iterable[str] = ALLOWED_TABLES, cell_cap: int = CELL_CAP,
                runner: IsolatedRunner | None = None) -> tuple[pd.DataFrame, GuardedSql]:
    """Guard, then execute in a query worker (its own memory limit, killed past the deadline).
    With `branches`, the query runs on a connection that only holds those branches' rows, and the
    rewrite limits it as well. The frame holds at most `row_cap` rows; df.attrs["truncated"] says
    rows were cut, df.attrs["cells_truncated"] that long texts were."""
    guarded = guard_sql(sql, wh.dialect, row_cap=row_cap, allowed_tables=allowed_tables, branches=branches)
    target = wh.scoped(branches) if branches is not None else wh
    runner = runner or default_runner(memory_mb)
    df, cut, cells = runner.run(target, guarded.exec_sql, timeout_s=timeout_s, max_rows=row_cap, cell_cap=cell_cap)
    truncated = cut or len(df) > row_cap
    df = df.iloc[:row_cap].copy()
    df.attrs.update({"truncated": truncated, "limit_applied": guarded.limit_applied, "row_cap": row_cap,
                     "cells_truncated": cells})
    return df, guarded

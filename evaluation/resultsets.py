"""SQL execution accuracy: is the result of the assistant's SQL the same as the gold SQL's result?

Column names do not matter (the assistant may alias differently) and extra columns are allowed;
every gold column must match a distinct column of the result, value by value. Rows are compared
in order when the gold query orders them, otherwise as a multiset. Numbers compare with a relative
tolerance of 1e-9 (DECIMAL vs DOUBLE, engine summation order)."""

from __future__ import annotations

import itertools
import math
from typing import Any

import pandas as pd
import sqlglot
from sqlglot import exp

from evaluation.matching import plain

REL_TOL = 1e-9
MAX_MAPPINGS = 2000


def is_ordered(sql: str, dialect: str = "duckdb") -> bool:
    """True when the outermost query has ORDER BY (then row order is part of the answer)."""
    try:
        tree = sqlglot.parse_one(sql, read=dialect)
    except sqlglot.errors.ParseError:
        return " order by " in " ".join(sql.lower().split())
    while isinstance(tree, exp.Subquery):
        tree = tree.this
    return tree.args.get("order") is not None


def _norm(v: Any) -> Any:
    v = plain(v)
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, str):
        return v.strip()
    return v


def _equal(a: Any, b: Any, rel_tol: float = REL_TOL) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(float(a), float(b), rel_tol=rel_tol, abs_tol=1e-9)
    if isinstance(a, (int, float)) or isinstance(b, (int, float)):  # "12" vs 12 from a text column
        try:
            return math.isclose(float(a), float(b), rel_tol=rel_tol, abs_tol=1e-9)
        except (TypeError, ValueError):
            return False
    return str(a) == str(b)


def _sort_key(v: Any) -> tuple:
    if v is None:
        return (0, 0.0, "")
    if isinstance(v, (int, float)):
        return (1, round(float(v), 6), "")
    try:
        return (1, round(float(v), 6), "")
    except (TypeError, ValueError):
        return (2, 0.0, str(v))


def _columns(df: pd.DataFrame) -> list[list[Any]]:
    return [[_norm(v) for v in df.iloc[:, i].tolist()] for i in range(df.shape[1])]


def _same_multiset(a: list[Any], b: list[Any], rel_tol: float) -> bool:
    return all(_equal(x, y, rel_tol) for x, y in zip(sorted(a, key=_sort_key), sorted(b, key=_sort_key), strict=True))


def compare(gold: pd.DataFrame, pred: pd.DataFrame, ordered: bool, rel_tol: float = REL_TOL) -> tuple[bool, str]:
    """(equal, reason in Chinese when not)."""
    if len(gold) != len(pred):
        return False, f"行数不同（标准 {len(gold)} 行，实际 {len(pred)} 行）"
    if pred.shape[1] < gold.shape[1]:
        return False, f"列数不足（标准 {gold.shape[1]} 列，实际 {pred.shape[1]} 列）"
    g_cols, p_cols = _columns(gold), _columns(pred)
    # candidate result columns for each gold column: same values (in order, or as a multiset)
    cands = []
    for gi, gc in enumerate(g_cols):
        ok = [pi for pi, pc in enumerate(p_cols)
              if (all(_equal(x, y, rel_tol) for x, y in zip(gc, pc, strict=True)) if ordered
                  else _same_multiset(gc, pc, rel_tol))]
        if not ok:
            return False, f"标准结果的第 {gi + 1} 列（{gold.columns[gi]}）在实际结果中找不到相同的值"
        cands.append(ok)
    g_rows = sorted((tuple(r) for r in zip(*g_cols, strict=True)), key=lambda r: tuple(map(_sort_key, r)))
    for n, mapping in enumerate(itertools.product(*cands)):
        if n >= MAX_MAPPINGS:
            break
        if len(set(mapping)) != len(mapping):
            continue
        if ordered:  # every gold column already equals its result column row by row
            return True, ""
        p_rows = sorted((tuple(p_cols[p][i] for p in mapping) for i in range(len(pred))),
                        key=lambda r: tuple(map(_sort_key, r)))
        if all(all(_equal(x, y, rel_tol) for x, y in zip(gr, pr, strict=True))
               for gr, pr in zip(g_rows, p_rows, strict=True)):
            return True, ""
    if ordered:
        return False, "标准结果的两列对应到了实际结果的同一列"
    return False, "各列的值相同，但行的组合不同"

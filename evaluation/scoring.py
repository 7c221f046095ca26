"""Aggregate turn results into the headline metrics. Cases that need an LLM (in offline mode) or do
not apply to the data are listed, never counted as passes or failures."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from evaluation.cases import CATEGORIES
from evaluation.runner import CaseResult, TurnResult

METRICS = {
    "tool_selection": "工具选择准确率（意图识别）",
    "task_completion": "任务完成率（回答给出标准答案）",
    "sql_execution": "SQL 执行准确率",
    "guardrail": "护栏准确率",
    "context_retention": "上下文保持率",
    "case_pass": "用例通过率（全部检查通过）",
}


def percentile(values: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default); None for no values."""
    return float(np.percentile(values, q)) if values else None


def rate(passed: int, total: int) -> dict[str, Any]:
    return {"passed": passed, "total": total, "rate": (passed / total) if total else None}


def _count(turns: list[TurnResult], attr: str) -> dict[str, Any]:
    vals = [getattr(t, attr) for t in turns if getattr(t, attr) is not None]
    return rate(sum(bool(v) for v in vals), len(vals))


def latency(turns: list[TurnResult]) -> dict[str, Any]:
    s = [t.seconds for t in turns]
    return {"n": len(s), "p50": percentile(s, 50), "p95": percentile(s, 95),
            "mean": float(np.mean(s)) if s else None, "max": max(s) if s else None}


def summarize(results: list[CaseResult]) -> dict[str, Any]:
    scored = [r for r in results if r.status in ("pass", "fail")]
    turns = [t for r in scored for t in r.turns]
    tok_methods = sorted({t.tokens.get("method", "") for t in turns if t.tokens})
    metrics = {
        "tool_selection": _count(turns, "tool_ok"),
        "task_completion": _count(turns, "task_ok"),
        "sql_execution": _count(turns, "sql_ok"),
        "guardrail": _count(turns, "guardrail_ok"),
        "context_retention": _count(turns, "context_ok"),
        "case_pass": rate(sum(r.status == "pass" for r in scored), len(scored)),
    }
    calls = [t.llm_calls for t in turns]
    prompt = [t.tokens.get("prompt", 0) for t in turns]
    completion = [t.tokens.get("completion", 0) for t in turns]
    by_cat: dict[str, list[CaseResult]] = defaultdict(list)
    for r in results:
        by_cat[r.category].append(r)
    categories = {}
    for cat in CATEGORIES:
        rs = by_cat.get(cat, [])
        if not rs:
            continue
        ct = [t for r in rs if r.status in ("pass", "fail") for t in r.turns]
        categories[cat] = {"name": CATEGORIES[cat], "cases": len(rs),
                           "passed": sum(r.status == "pass" for r in rs), "failed": sum(r.status == "fail" for r in rs),
                           "needs_llm": sum(r.status == "needs_llm" for r in rs),
                           "not_applicable": sum(r.status == "not_applicable" for r in rs),
                           "latency": latency(ct)}
    return {
        "counts": {"cases": len(results), "scored": len(scored), "passed": metrics["case_pass"]["passed"],
                   "failed": sum(r.status == "fail" for r in results),
                   "needs_llm": sum(r.status == "needs_llm" for r in results),
                   "not_applicable": sum(r.status == "not_applicable" for r in results), "turns": len(turns)},
        "metrics": metrics,
        "latency": latency(turns),
        "llm_calls_per_turn": {"mean": float(np.mean(calls)) if calls else None, "max": max(calls) if calls else None},
        "tokens_per_turn": {"prompt_mean": float(np.mean(prompt)) if prompt else None,
                            "completion_mean": float(np.mean(completion)) if completion else None,
                            "total_mean": float(np.mean(np.add(prompt, completion))) if prompt else None,
                            "method": "；".join(m for m in tok_methods if m) or "无"},
        "categories": categories,
    }

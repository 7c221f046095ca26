"""The evaluation report: JSON with every turn, and a Chinese markdown summary listing failures."""

from __future__ import annotations

import dataclasses
from typing import Any

from evaluation.cases import CATEGORIES, GUARDRAILS
from evaluation.runner import CaseResult
from evaluation.scoring import METRICS


def to_json(meta: dict[str, Any], summary: dict[str, Any], results: list[CaseResult]) -> dict[str, Any]:
    return {"meta": meta, "summary": summary, "cases": [dataclasses.asdict(r) for r in results]}


def _pct(r: dict[str, Any]) -> str:
    return "—" if r["rate"] is None else f"{r['rate']:.1%}"


def _s(v: float | None, digits: int = 2) -> str:
    return "—" if v is None else f"{v:.{digits}f}"


def _cell(text: str, n: int = 80) -> str:
    t = " ".join(str(text).split()).replace("|", "\\|")
    return t if len(t) <= n else t[: n - 1] + "…"


def render_markdown(meta: dict[str, Any], summary: dict[str, Any], results: list[CaseResult]) -> str:
    c, m, lat = summary["counts"], summary["metrics"], summary["latency"]
    tok = summary["tokens_per_turn"]
    lines = [
        f"# 智能体评测报告（{meta['mode_label']}）",
        "",
        f"- 时间：{meta['started']}，用时 {meta['seconds']:.1f} 秒；命令：`{meta['command']}`",
        f"- 后端：{meta['backend']}",
        f"- 用例集：`{meta['cases_file']}`（{c['cases']} 个用例，sha256 {meta['cases_sha256'][:12]}）",
        f"- 数据：{meta['data']['customers']:,} 名客户，{meta['data']['rows']:,} 行月度数据，最新月 "
        f"{meta['data']['latest_month']}，数据仓库 {meta['data']['dialect']}",
        f"- 机器：{meta['machine_line']}",
        "",
        f"计分用例 {c['scored']} 个（{c['turns']} 轮）：通过 {c['passed']}，失败 {c['failed']}；"
        f"需要大模型 {c['needs_llm']} 个、数据不适用 {c['not_applicable']} 个（这两类不计入通过或失败）。",
        "",
        "## 核心指标",
        "",
        "| 指标 | 结果 | 通过/总数 |",
        "|---|---|---|",
    ]
    for key, label in METRICS.items():
        r = m[key]
        lines.append(f"| {label} | **{_pct(r)}** | {r['passed']}/{r['total']} |")
    lines += [
        f"| 每轮响应时间 p50 / p95 | **{_s(lat['p50'])} 秒 / {_s(lat['p95'])} 秒** | {lat['n']} 轮（最长 {_s(lat['max'])} 秒） |",
        f"| 每轮大模型调用次数（平均 / 最多） | {_s(summary['llm_calls_per_turn']['mean'])} / "
        f"{summary['llm_calls_per_turn']['max'] if summary['llm_calls_per_turn']['max'] is not None else '—'} | "
        f"{meta['llm_calls_note']} |",
        f"| 每轮 token（输入 / 输出 / 合计，平均） | {_s(tok['prompt_mean'], 0)} / {_s(tok['completion_mean'], 0)} / "
        f"{_s(tok['total_mean'], 0)} | {tok['method']} |",
        "",
        "指标口径：工具选择——应调用的工具都调用了、且没有调用清单外的工具；任务完成——回答中给出了标准答案的每一项"
        "（数字按显示位数容差比较，文字原样出现；标准答案在评测时从数据仓库或模型服务现算）；SQL 执行准确率——助手执行的 SQL "
        "重跑后与标准 SQL 结果相同（不计列名，标准 SQL 有 ORDER BY 时比较顺序）；护栏——不该调用工具时没有调用、越权调用被拒绝、"
        "写操作未执行、数据未变化、回答中没有密钥和系统提示词原文；上下文保持——指代上一轮的追问用对了工具、参数和答案。"
        "延迟从提问到答案完成（图表在答案之后绘制，不计入），分位数为线性插值。"
        + ("离线模式下 SQL 由用户直接输入、原样执行，SQL 执行准确率衡量的是执行链路（安全检查、方言、结果呈现），"
           "不是写 SQL 的能力；自然语言提问见大模型模式。" if meta.get("mode") == "offline" else ""),
        "",
        "## 分类结果",
        "",
        "| 类别 | 用例 | 通过 | 失败 | 需要大模型 | 不适用 | p50（秒） | p95（秒） |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for cat in summary["categories"].values():
        lines.append(f"| {cat['name']} | {cat['cases']} | {cat['passed']} | {cat['failed']} | {cat['needs_llm']} | "
                     f"{cat['not_applicable']} | {_s(cat['latency']['p50'])} | {_s(cat['latency']['p95'])} |")
    failed = [r for r in results if r.status == "fail"]
    lines += ["", f"## 失败用例（{len(failed)}）", ""]
    if not failed:
        lines.append("无。")
    else:
        lines += ["| 用例 | 类别 | 轮次 | 问题 | 原因 |", "|---|---|---|---|---|"]
        for r in failed:
            for i, t in enumerate(r.turns, 1):
                if t.problems:
                    lines.append(f"| {r.id} {_cell(r.title, 30)} | {CATEGORIES[r.category]} | {i} | {_cell(t.user, 50)} | "
                                 f"{_cell('；'.join(t.problems), 220)} |")
    need = [r for r in results if r.status == "needs_llm"]
    lines += ["", f"## 需要大模型的用例（{len(need)}，未计分）", ""]
    if need:
        by: dict[str, list[str]] = {}
        for r in need:
            by.setdefault(CATEGORIES[r.category], []).append(r.id)
        lines += [f"- {k}：{'、'.join(v)}" for k, v in by.items()]
    else:
        lines.append("无。")
    na = [r for r in results if r.status == "not_applicable"]
    lines += ["", f"## 数据不适用的用例（{len(na)}，未计分）", ""]
    lines += [f"- {r.id} {r.title}：{r.reason}" for r in na] or ["无。"]
    g = [(r, t) for r in results for t in r.turns if t.guardrail]
    if g:
        lines += ["", "## 护栏用例明细", "", "| 用例 | 类型 | 调用的工具 | 结果 |", "|---|---|---|---|"]
        for r, t in g:
            called = "、".join(f"{x['tool']}({x['status']})" for x in t.tools_called) or "无"
            lines.append(f"| {r.id} | {GUARDRAILS[t.guardrail or '']} | {called} | "
                         f"{'通过' if t.guardrail_ok else '未通过'} |")
    return "\n".join(lines) + "\n"

"""Latency of each tool called as the assistant calls it (argument checks, audit, files included),
and of the full RM brief (one offline turn: five tools and the composed answer)."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.stats import summary_ms
from conversation.session import Session
from million.warehouse import Warehouse

PY_CODE = ("import pandas as pd\nimport matplotlib.pyplot as plt\n"
           "df = pd.read_csv('aum.csv')\nprint(df.describe())\n"
           "df.plot(x='stat_month', y='aum')\nplt.savefig('aum.png')\n")


def sample_customers(wh: Warehouse, k: int) -> list[str]:
    """k prospects spread evenly over the AUM range of the latest month."""
    df = wh.query("SELECT customer_id FROM customer_behavior_assets WHERE stat_month = "
                  "(SELECT MAX(stat_month) FROM customer_behavior_assets) AND total_assets < 1000000 "
                  "ORDER BY total_assets, customer_id")
    ids = [str(c) for c in df["customer_id"]]
    if not ids:
        return []
    step = max(len(ids) // k, 1)
    return ids[::step][:k]


def branches(wh: Warehouse, k: int) -> list[str]:
    df = wh.query("SELECT branch_name, COUNT(*) AS n FROM customer_base GROUP BY branch_name ORDER BY n DESC, branch_name")
    return [str(b) for b in df["branch_name"]][:k]


def variants(wh: Warehouse, customers: list[str], segments: list[str]) -> list[tuple[str, str, list[dict[str, Any]]]]:
    """(label, tool, argument sets); calls cycle through the argument sets."""
    from benchmarks.queries import QUERIES

    one = [{"customer_id": c} for c in customers]
    br = branches(wh, 5)
    return [
        ("sql_inter（10 条典型分析查询）", "sql_inter", [{"sql": sql} for _, sql in QUERIES]),
        ("python_inter（沙箱内 pandas 统计 + 作图）", "python_inter", [{"code": PY_CODE, "data_sql": {
            "aum": "SELECT stat_month, SUM(total_assets) AS aum FROM customer_behavior_assets GROUP BY stat_month "
                   "ORDER BY stat_month"}}]),
        ("predict_million_prob（单个客户）", "predict_million_prob", one),
        ("predict_million_prob（高潜名单 top20，按分行）", "predict_million_prob",
         [{"top_n": 20}] + [{"top_n": 20, "branch_name": b} for b in br]),
        ("explain_customer（单个客户 SHAP）", "explain_customer", one),
        ("explain_customer（全局解释）", "explain_customer", [{}]),
        ("segment_lookup（单个客户）", "segment_lookup", one),
        ("segment_lookup（客群概览 / 画像）", "segment_lookup", [{}] + [{"segment": s} for s in segments]),
        ("recommend_products（单个客户）", "recommend_products", one),
        ("recommend_products（关联规则）", "recommend_products", [{}]),
        ("forecast_aum（单个客户）", "forecast_aum", one),
        ("forecast_aum（全行 / 分行）", "forecast_aum", [{}] + [{"branch_name": b} for b in br]),
    ]


def measure_tools(wh: Warehouse, customers: list[str], segments: list[str], runs: int,
                  log: Callable[[str], None] = print) -> list[dict[str, Any]]:
    from tools import all_tools

    tools = {t.name: t for t in all_tools()}
    root = Path(tempfile.mkdtemp(prefix="million-bench-tools-"))
    rows = []
    for label, name, arg_sets in variants(wh, customers, segments):
        session = Session(root, user="bench", max_tool_calls=10**9)
        times, draws, statuses = [], [], []
        first = None
        for i in range(runs + 1):
            args = arg_sets[i % len(arg_sets)]
            session.new_turn()
            t0 = time.perf_counter()
            tools[name].call(args, session=session)
            dt = time.perf_counter() - t0
            t1 = time.perf_counter()
            drawn = session.render_pending()  # charts the tool deferred, drawn as the chat does after the answer
            draw = time.perf_counter() - t1
            statuses.append(session.events[-1].status)
            if i == 0:
                first = dt  # the first call pays for loading the model / opening files
            else:
                times.append(dt)
                if drawn:
                    draws.append(draw)
        errors = sum(s != "ok" for s in statuses)
        note = "" if not errors else session.events[-1].text[:160]
        row = {"label": label, "tool": name, "first_call_ms": (first or 0) * 1000, **summary_ms(times),
               "draw": summary_ms(draws), "errors": errors, "calls": len(statuses), "note": note}
        rows.append(row)
        session.cleanup()
        log(f"  {label}: p50 {row['p50_ms']:.1f} ms, p95 {row['p95_ms']:.1f} ms, 首次 {row['first_call_ms']:.0f} ms"
            + (f"，作图 p50 {row['draw']['p50_ms']:.0f} ms" if draws else "")
            + (f"，{errors} 次出错：{note}" if errors else ""))
    return rows


def random_customers(wh: Warehouse, k: int, seed: int = 7) -> list[str]:
    """k customers drawn at random (seeded) from customer_base: prospects and 百万客户 alike."""
    ids = sorted(str(c) for c in wh.query("SELECT customer_id FROM customer_base")["customer_id"])
    rng = np.random.default_rng(seed)
    return [ids[i] for i in rng.choice(len(ids), size=min(k, len(ids)), replace=False)]


def measure_brief(settings: Any, customers: list[str], log: Callable[[str], None] = print) -> dict[str, Any]:
    """The full RM brief: one offline turn per customer (five tool calls and the composed answer),
    timed until the answer is complete; the charts the tools deferred are timed after it, as the web
    chat draws them once the answer is on the screen."""
    from agent.bot import build_assistant
    from agent.turn import Dialogue, TurnRunner
    from evaluation.runner import backend_config

    runner = TurnRunner(build_assistant(settings, llm=backend_config("offline", settings)), settings)
    root = Path(tempfile.mkdtemp(prefix="million-bench-brief-"))
    answer, charts, total, errors, prospects, drawn_n = [], [], [], 0, 0, 0
    first = None
    for i, cid in enumerate([customers[0], *customers]):  # the first turn warms up, then one per customer
        session = Session(root, user="bench")
        *_, state = runner.ask(Dialogue(session), cid)  # the web chat's runner: plan, memory, charts after
        draw = state.charts_seconds
        files = [f for e in session.events for f in e.files if f.is_image]
        # a chart is there when the browser can draw it (its spec) or its PNG is on disk; since the browser
        # draws the charts, the PNG is drawn later by the idle drawer, not on the turn's path
        bad = (state.error or any(e.status != "ok" for e in session.events) or len(session.events) != 5
               or any(f.failed or not (f.spec or f.path.is_file()) for f in files))
        if i == 0:
            first = state.seconds
        else:
            errors += bool(bad)
            answer.append(state.seconds)
            charts.append(draw)
            total.append(state.seconds + draw)
            drawn_n += len(files)
            prospects += any(f.name.startswith("SHAP") for f in files)
        session.cleanup()
    res = {**summary_ms(answer), "first_turn_ms": (first or 0) * 1000, "errors": errors, "turns": len(answer),
           "charts": summary_ms(charts), "with_charts": summary_ms(total), "charts_drawn": drawn_n,
           "prospects": prospects}
    log(f"  客户经理简报（{len(answer)} 位客户）: 答案 p50 {res['p50_ms']:.1f} ms, p95 {res['p95_ms']:.1f} ms；"
        f"之后作图 p50 {res['charts']['p50_ms']:.0f} ms；含作图 p50 {res['with_charts']['p50_ms']:.0f} ms")
    return res

"""Run the real Assistant over the evaluation set and score it.

    million eval --llm offline|dashscope|openai [--cases eval/cases.jsonl]
        [--out eval/results] [--db-url URL] [--artifacts DIR] [--only ID ...] [--category CAT ...]

Writes <out>/<llm>.json (every turn) and <out>/<llm>.md (summary, failures listed). The offline mode
exits with status 1 when any case it supports fails. dashscope / openai build the real backend from
settings (DASHSCOPE_API_KEY, or LLM_BASE_URL / LLM_MODEL / LLM_API_KEY) and need the network.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import hashlib
import json
import logging
import sys
import time
from pathlib import Path

from benchmarks.machine import describe, one_line  # noqa: E402
from evaluation.cases import CATEGORIES, CaseError, load_cases  # noqa: E402
from evaluation.report import render_markdown, to_json  # noqa: E402
from evaluation.runner import BACKENDS, BackendNotConfigured, Evaluator, backend_label, run_cases  # noqa: E402
from evaluation.scoring import summarize  # noqa: E402
from million.services import Services, set_services  # noqa: E402
from million.settings import ROOT, get_settings, shipped  # noqa: E402

STATUS = {"pass": "通过", "fail": "失败", "needs_llm": "需要大模型", "not_applicable": "不适用"}
MODE_LABELS = {"offline": "离线模式", "dashscope": "DashScope 在线模式", "openai": "OpenAI 兼容服务"}


def data_summary(wh) -> dict:  # noqa: ANN001
    r = wh.query("SELECT (SELECT COUNT(*) FROM customer_base) AS customers, "
                 "(SELECT COUNT(*) FROM customer_behavior_assets) AS n, "
                 "(SELECT MAX(stat_month) FROM customer_behavior_assets) AS latest").iloc[0]
    return {"customers": int(r["customers"]), "rows": int(r["n"]), "latest_month": str(r["latest"]), "dialect": wh.dialect}


def main(argv: list[str] | None = None) -> int:
    s = get_settings()
    ap = argparse.ArgumentParser(description="智能体评测：意图/工具选择、任务完成、SQL 执行准确率、护栏、上下文、延迟")
    ap.add_argument("--llm", choices=BACKENDS, default="offline")
    ap.add_argument("--cases", type=Path, default=shipped("eval") / "cases.jsonl")
    ap.add_argument("--out", type=Path, default=ROOT / "eval" / "results")
    ap.add_argument("--db-url", default=None, help="默认取配置（DB_URL 或 data/warehouse.duckdb）")
    ap.add_argument("--artifacts", type=Path, default=None, help="默认取配置（ARTIFACTS_DIR 或 artifacts/）")
    ap.add_argument("--only", nargs="*", help="只跑这些用例 ID")
    ap.add_argument("--category", nargs="*", choices=sorted(CATEGORIES), help="只跑这些类别")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    logging.getLogger("qwen_agent_logger").setLevel(logging.WARNING)  # its per-call token lines drown the progress
    try:
        cases = load_cases(args.cases)
    except (CaseError, OSError) as e:
        print(f"用例文件有误：{e}", file=sys.stderr)
        return 2
    if args.only:
        cases = [c for c in cases if c.id in set(args.only)]
    if args.category:
        cases = [c for c in cases if c.category in set(args.category)]
    settings = dataclasses.replace(s, artifacts_dir=args.artifacts.resolve()) if args.artifacts else s
    services = Services(settings, db_url=args.db_url or settings.warehouse_url)
    set_services(services)
    try:
        ev = Evaluator(args.llm, settings, services)
    except BackendNotConfigured as e:
        print(str(e), file=sys.stderr)
        return 2
    started = dt.datetime.now()
    t0 = time.perf_counter()
    machine = describe()

    def progress(r) -> None:  # noqa: ANN001
        if not args.quiet:
            secs = sum(t.seconds for t in r.turns)
            print(f"[{STATUS[r.status]}] {r.id} {r.title}（{secs:.2f} 秒）{('：' + r.reason) if r.reason else ''}",
                  flush=True)
            for i, t in enumerate(r.turns, 1):
                for p in t.problems:
                    print(f"    第{i}轮：{p}", flush=True)

    try:
        results = run_cases(ev, cases, progress)
    finally:
        ev.close()
    summary = summarize(results)
    meta = {
        "mode": args.llm, "mode_label": MODE_LABELS[args.llm], "backend": backend_label(args.llm, settings),
        "started": started.strftime("%Y-%m-%d %H:%M"), "seconds": time.perf_counter() - t0,
        "command": "million eval " + " ".join(argv if argv is not None else sys.argv[1:]),
        "cases_file": str(args.cases.resolve().relative_to(ROOT)) if args.cases.resolve().is_relative_to(ROOT)
        else str(args.cases),
        "cases_sha256": hashlib.sha256(args.cases.read_bytes()).hexdigest(),
        "data": data_summary(services.wh), "machine": machine, "machine_line": one_line(machine),
        "llm_calls_note": ("离线路由每次决策计 1 次（不访问大模型）" if args.llm == "offline"
                           else "每次请求大模型计 1 次"),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.llm}.json").write_text(
        json.dumps(to_json(meta, summary, results), ensure_ascii=False, indent=1, default=str) + "\n", encoding="utf-8")
    md = render_markdown(meta, summary, results)
    (args.out / f"{args.llm}.md").write_text(md, encoding="utf-8")
    if not args.quiet:
        print("\n" + md.split("## 分类结果")[0])
    return 1 if args.llm == "offline" and summary["counts"]["failed"] else 0


if __name__ == "__main__":
    raise SystemExit(main())

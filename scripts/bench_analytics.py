"""Benchmarks of the analytics behind segment_lookup, recommend_products and forecast_aum.

    python scripts/bench_analytics.py [--customers 20000 100000] [--work /tmp/bench_analytics]
                                      [--out bench/results] [--lookups 300] [--forecasts 100]

For each size: generate mock data (seed 42, 24 months) and load it into a DuckDB file under --work
(reused when present), run the segments, rules and forecast build steps (the whole job, timed per
step), then time the services as the tools call them:
  - segment lookup + recommendation for one customer (SegmentService.for_customer + RuleService.recommend)
  - one per-customer forecast, uncached (each customer asked once) and cached
Writes analytics.json and analytics.md (with the segment table, the top 10 rules and the backtest
MAPEs of the first size) to --out. Wall and CPU seconds are both reported: the machine may be shared.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent

from joblib.externals.loky import get_reusable_executor  # noqa: E402

from million.fmt import md_table, pct  # noqa: E402
from million.forecast import store as fc_store  # noqa: E402
from million.forecast.backtest import METHODS  # noqa: E402
from million.forecast.models import METHOD_NAMES  # noqa: E402
from million.forecast.serving import ForecastService  # noqa: E402
from million.pipeline import BuildContext, load_steps  # noqa: E402
from million.rules.report import rules_view  # noqa: E402
from million.rules.results import RecommendStatus  # noqa: E402
from million.rules.serving import RuleService  # noqa: E402
from million.segments import store as seg_store  # noqa: E402
from million.segments.results import SegmentStatus  # noqa: E402
from million.segments.serving import SegmentService  # noqa: E402
from million.segments.step import segment_table_md  # noqa: E402
from million.warehouse import connect  # noqa: E402

STEPS = ("segments", "rules", "forecast")


def prepare(n: int, work: Path) -> tuple[str, Path]:
    data = work / f"data_{n}"
    db = work / f"wh_{n}.duckdb"
    if not db.exists():
        py = sys.executable
        subprocess.run([py, str(ROOT / "scripts/generate_data.py"), "--customers", str(n), "--months", "24",
                        "--seed", "42", "--format", "parquet", "--out", str(data)], check=True)
        subprocess.run([py, str(ROOT / "scripts/load_db.py"), "--data", str(data), "--db-url", f"duckdb:///{db}"],
                       check=True)
    return f"duckdb:///{db}", data


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(fn: Any) -> tuple[Any, float, float]:
    """(result, wall seconds, CPU seconds of this process and of worker processes it started)."""
    w, c, k = time.perf_counter(), time.process_time(), _children_cpu()
    out = fn()
    get_reusable_executor().shutdown(wait=True)  # reap joblib's workers so their CPU is counted
    return out, time.perf_counter() - w, time.process_time() - c + _children_cpu() - k


def pcts(ms: list[float]) -> dict[str, float]:
    a = np.array(ms)
    return {"n": len(ms), "p50_ms": round(float(np.percentile(a, 50)), 3),
            "p95_ms": round(float(np.percentile(a, 95)), 3), "max_ms": round(float(a.max()), 3)}


def bench_size(n: int, work: Path, lookups: int, forecasts: int) -> dict[str, Any]:
    url, data = prepare(n, work)
    art = work / f"artifacts_{n}"
    ctx = BuildContext(db_url=url, artifacts_dir=art, data_dir=data)
    res: dict[str, Any] = {"customers": n, "load_avg_start": os.getloadavg()}
    _, w, c = timed(lambda: (ctx.tables, ctx.data_hash))
    res["build"] = {"load_tables_and_hash": {"wall_s": round(w, 1), "cpu_s": round(c, 1)}}
    steps = {s.name: s for s in load_steps()}
    total_w = total_c = 0.0
    for name in STEPS:
        summary, w, c = timed(lambda name=name: steps[name].run(ctx))
        res["build"][name] = {"wall_s": round(w, 1), "cpu_s": round(c, 1), "summary": summary}
        total_w += w
        total_c += c
    res["build"]["analytics_steps_wall_s"] = round(total_w, 1)
    res["build"]["analytics_steps_cpu_s"] = round(total_c, 1)

    wh = connect(url, read_only=True)
    (seg, rul, fc), w, _ = timed(lambda: (SegmentService.load(art, wh), RuleService.load(art, wh),
                                          ForecastService.load(art, wh)))
    res["serving_load_s"] = round(w, 2)
    ids = sorted(seg._row)  # every customer the build placed
    rng = np.random.default_rng(7)
    pick = [ids[i] for i in rng.choice(len(ids), size=min(lookups, len(ids)), replace=False)]
    for cid in pick[:20]:  # warm-up: first calls import lazily
        seg.for_customer(cid), rul.recommend(cid)
    times = []
    for cid in pick:
        t = time.perf_counter()
        a, b = seg.for_customer(cid), rul.recommend(cid)
        times.append((time.perf_counter() - t) * 1000)
        assert a.status is SegmentStatus.OK and b.status is RecommendStatus.OK
    res["segment_plus_recommend"] = pcts(times)
    fc.forecast(customer_id=pick[0])  # warm-up (imports statsmodels)
    fresh = [cid for cid in pick[1:] if cid not in fc._cache][:forecasts]
    times, cached, statuses = [], [], {}
    for cid in fresh:
        t = time.perf_counter()
        r = fc.forecast(customer_id=cid)
        times.append((time.perf_counter() - t) * 1000)
        statuses[r.status.value] = statuses.get(r.status.value, 0) + 1
        t = time.perf_counter()
        fc.forecast(customer_id=cid, horizon=6)
        cached.append((time.perf_counter() - t) * 1000)
    res["customer_forecast_uncached"] = pcts(times) | {"statuses": statuses}
    res["customer_forecast_cached"] = pcts(cached)
    res["load_avg_end"] = os.getloadavg()
    res["artifacts"] = str(art)
    return res


def default_data_section(art: Path) -> list[str]:
    prof = json.loads((seg_store.folder(art) / seg_store.PROFILES).read_text(encoding="utf-8"))
    rules = RuleService.load(art, None).top_rules(10)
    fc_doc = json.loads((fc_store.folder(art) / fc_store.AGGREGATES).read_text(encoding="utf-8"))
    rows = []
    for e in fc_doc["series"].values():
        if e["level"] in ("total", "segment") and e["test"]:
            rows.append({"序列": e["label"], **{METHOD_NAMES[m].split("（")[0]: pct(e["test"][m], 2) for m in METHODS},
                         "采用": METHOD_NAMES[e["selected"]].split("（")[0], "采用方法MAPE": pct(e["backtest_mape"], 2)})
    c = fc_doc["customers"]
    cust = [{"方法": METHOD_NAMES[m].split("（")[0], "MAPE中位数": pct(c["median"][m], 2), "MAPE均值": pct(c["mean"][m], 2)}
            for m in METHODS] if c.get("n") else []
    out = ["## 默认数据（2万客户）上的客群", "", segment_table_md(prof["segments"], prof["k_selection"]["reason"])
           .replace("# 客群概览\n\n", ""), "", "## 提升度最高的 10 条规则", "", md_table(rules_view(rules), 10), "",
           "## AUM 预测回测（留出最近3个月，MAPE）", "", md_table(pd.DataFrame(rows), 20), ""]
    if cust:
        out += [f"客户样本 {c['n']} 位：", "", md_table(pd.DataFrame(cust)), "", c["why"] + "。", ""]
    return out


def render(doc: dict[str, Any], first_art: Path | None) -> str:
    lines = ["# 分析类工具基准（客群 / 关联规则 / AUM预测）", "",
             f"生成时间 {doc['generated']}；{doc['machine']}。机器与其他任务共享，墙钟时间受负载影响，"
             "表中同时给出开始/结束时的 1 分钟负载。", "",
             "构建时间格式为 墙钟 / CPU（CPU 含 joblib 工作进程；2 核空闲时墙钟约为 CPU 的一半到全部）。", "",
             "| 客户数 | 读表+哈希 | 客群 | 关联规则 | AUM预测 | 三步合计 | 查询客群+推荐 p50/p95 | 单客户预测 p50/p95（未缓存） | 缓存命中 p50 | 负载 |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in doc["runs"]:
        b = r["build"]
        def wc(x: dict) -> str:
            return f"{x['wall_s']}s / {x['cpu_s']}s"
        lines.append(
            f"| {r['customers']:,} | {wc(b['load_tables_and_hash'])} | {wc(b['segments'])} | "
            f"{wc(b['rules'])} | {wc(b['forecast'])} | {b['analytics_steps_wall_s']}s / {b['analytics_steps_cpu_s']}s | "
            f"{r['segment_plus_recommend']['p50_ms']:.2f} / {r['segment_plus_recommend']['p95_ms']:.2f} ms | "
            f"{r['customer_forecast_uncached']['p50_ms']:.0f} / {r['customer_forecast_uncached']['p95_ms']:.0f} ms | "
            f"{r['customer_forecast_cached']['p50_ms']:.2f} ms | "
            f"{r['load_avg_start'][0]:.1f} → {r['load_avg_end'][0]:.1f} |")
    lines += ["", "目标：查询客群+推荐 p50 < 10 ms；单客户预测 p50 < 300 ms。"
              f"样本：每个规模 {doc['runs'][0]['segment_plus_recommend']['n']} 次客群+推荐查询、"
              f"{doc['runs'][0]['customer_forecast_uncached']['n']} 位不同客户的预测（每位首次请求，未命中缓存）。", ""]
    if first_art is not None:
        lines += default_data_section(first_art)
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="客群、关联规则、AUM预测的构建与服务基准")
    ap.add_argument("--customers", type=int, nargs="+", default=[20000, 100000])
    ap.add_argument("--work", type=Path, default=Path("/tmp/bench_analytics"))
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    ap.add_argument("--lookups", type=int, default=300)
    ap.add_argument("--forecasts", type=int, default=100)
    args = ap.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    runs = []
    for n in args.customers:
        print(f"== {n:,} 位客户", flush=True)
        runs.append(bench_size(n, args.work, args.lookups, args.forecasts))
        print(json.dumps(runs[-1], ensure_ascii=False, default=str), flush=True)
    doc = {"generated": dt.datetime.now().isoformat(timespec="seconds"),
           "machine": f"{platform.machine()}，{os.cpu_count()} 核，Python {platform.python_version()}",
           "runs": runs}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "analytics.json").write_text(json.dumps(doc, ensure_ascii=False, indent=1, default=str),
                                             encoding="utf-8")
    first = Path(runs[0]["artifacts"]) if runs and runs[0]["customers"] == 20000 else None
    (args.out / "analytics.md").write_text(render(doc, first), encoding="utf-8")
    print(f"写入 {args.out / 'analytics.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

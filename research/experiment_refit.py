"""Refit on training + validation months: should the served models also learn from the validation months?

    python research/experiment_refit.py [--db duckdb:///data/warehouse.duckdb] [--data data]
                                       [--out bench/results] [--work /tmp/million-refit] [--workers 2]

Today the models are fitted on the training months and the validation months only choose (early stopping,
LR's C) and calibrate. "Refit" (train.refit_on_validation) keeps every choice and the calibrators, then fits
the three models again on training + validation months: a fifth more rows, and the most recent ones.

The decision must not look at the test month, and the validation months cannot judge a model fitted on
them, so it is made by a *backtest*: each of the pseudo-test months 2026-02, 2026-03 and 2026-04 (months
before the real test month whose whole label window is before it) gets its own split from the same
split_months on the labelled months up to it, and both procedures are run on it exactly as the build runs
(train_models with the code's defaults, then refit_on_validation). RULE below was fixed and committed
before the first run. The real test month is evaluated afterwards for both procedures and reported
whatever it shows. Writes <out>/refit.json and <out>/refit.md; each job's result is cached under --work.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from experiment_bagging import month_metrics  # noqa: E402

from benchmarks.experiment import run_machine, save_report  # noqa: E402
from million.fmt import md_table  # noqa: E402
from million.propensity.evaluate import check_targets, evaluate, read_oracle  # noqa: E402
from million.propensity.feature_store import feature_table  # noqa: E402
from million.propensity.labels import labelled_months  # noqa: E402
from million.propensity.split import split_months  # noqa: E402
from million.propensity.train import DEFAULT_PARAMS, make_train_data, refit_on_validation, train_models  # noqa: E402
from million.tables import load_tables  # noqa: E402
from million.warehouse import connect  # noqa: E402

BACKTEST_MONTHS = ("2026-02", "2026-03", "2026-04")
TEST = "test"
BRIER_FACTOR = 1.05
RULE = (
    "在三个回测月（2026-02、2026-03、2026-04 各作一次“测试月”，各自用 split_months 划分更早的训练/验证月）上比较"
    "“不重新拟合”（A，现行）与“训练+验证月重新拟合”（R）的 LightGBM，各指标取三个月的均值。"
    "当且仅当 R 的 PR-AUC 均值高于 A、R 的前1%精确率均值不低于 A、且 R 的 Brier 均值不超过 A 的 "
    f"{BRIER_FACTOR:g} 倍时采用 R；否则保留 A。真实测试月不参与决定，决定之后对 A 和 R 都计算并全部报告。"
)
RULE_EN = (
    "On three backtest months (2026-02, 2026-03, 2026-04, each used once as the test month with its own "
    "split_months split of the earlier months), compare LightGBM without refit (A, current) and refit on "
    "training + validation months (R), each metric averaged over the three months. Adopt R if and only if "
    "its mean PR-AUC is higher than A's, its mean precision@1% is not lower than A's, and its mean Brier is at "
    f"most {BRIER_FACTOR:g} x A's; otherwise keep A. The real test month takes no part in the decision; it is "
    "evaluated afterwards for A and R and reported either way."
)


def run_job(db: str, month: str, data_dir: str, work: str) -> dict[str, Any]:
    """One pseudo-test month (or the real test month): A = train_models, R = refit_on_validation(A)."""
    cache = Path(work) / f"job_{month}.json"
    params = {**DEFAULT_PARAMS, "refit": False}
    key = json.loads(json.dumps(params, default=list))
    if cache.exists():
        saved = json.loads(cache.read_text(encoding="utf-8"))
        if saved.get("key") == key:
            return {**saved, "reused": True}
    with connect(db) as wh:
        tables = load_tables(wh)
    table = feature_table(tables)
    months = labelled_months(tables)
    if month != TEST:
        months = [m for m in months if m <= month]
    split = split_months(months)
    data = make_train_data(table.loc[table["label"].notna()].reset_index(drop=True), split, keep_val_all=True)
    del table
    t0 = time.perf_counter()
    validated = train_models(data, params)
    t_a = time.perf_counter() - t0
    t1 = time.perf_counter()
    refit = refit_on_validation(validated, data, params)
    t_r = time.perf_counter() - t1
    out: dict[str, Any] = {
        "key": key, "month": month, "split": split.as_dict(),
        "rows": {"train": len(data.train), "val": len(data.val), "test": len(data.test),
                 "refit_real": refit.info["refit"]["rows_real"], "refit_lgbm": refit.info["refit"]["rows_lgbm"]},
        "seconds": {"validated": round(t_a, 1), "refit": round(t_r, 1)},
        "rounds": refit.info["refit"]["rounds"], "load_end": os.getloadavg()[0],
        "A": month_metrics(validated, data.test), "R": month_metrics(refit, data.test),
    }
    if month == TEST:
        oracle = read_oracle(Path(data_dir), split.test)
        for name, bundle in (("A", validated), ("R", refit)):
            metrics = evaluate(bundle, data.test, data.val, oracle)
            out[f"{name}_targets"] = check_targets(metrics)
            out[f"{name}_models"] = {k: {m: metrics["overall"][k].get(m) for m in ("pr_auc", "precision_top1", "brier")}
                                     for k in ("lr", "tree", "lgbm")}
            if name == "A":
                out["references"] = {r: {"precision_top1": metrics["overall"][r].get("precision_top1"),
                                         "pr_auc": metrics["overall"][r].get("pr_auc"),
                                         "band_pr_auc": metrics["band"][r].get("pr_auc"),
                                         "brier": metrics["overall"][r].get("brier")}
                                     for r in ("oracle", "naive") if r in metrics["overall"]}
    cache.write_text(json.dumps(out, ensure_ascii=False, indent=1, default=float), encoding="utf-8")
    return {**out, "reused": False}


def decide(jobs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The declared rule, on the backtest months only."""
    mean = {name: {m: float(np.mean([jobs[p][name][m] for p in BACKTEST_MONTHS]))
                   for m in ("precision_top1", "pr_auc", "band_pr_auc", "brier")} for name in ("A", "R")}
    a, r = mean["A"], mean["R"]
    checks = {"pr_auc_higher": r["pr_auc"] > a["pr_auc"], "precision_top1_not_lower": r["precision_top1"] >= a["precision_top1"],
              "brier_within": r["brier"] <= BRIER_FACTOR * a["brier"]}
    return {"mean": mean, "checks": checks, "adopt_refit": all(checks.values())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", default=f"duckdb:///{ROOT / 'data' / 'warehouse.duckdb'}")
    ap.add_argument("--data", type=Path, default=ROOT / "data", help="folder with oracle.csv")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    ap.add_argument("--work", type=Path, default=Path("/tmp/million-refit"))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--note", default="", help="a sentence about the machine, printed in the report")
    args = ap.parse_args()
    print("决定规则（运行前确定）：" + RULE, flush=True)
    args.work.mkdir(parents=True, exist_ok=True)
    db = args.db
    if db.startswith("duckdb:///"):  # a private copy, so a concurrent `make` cannot rebuild it under us
        copy = args.work / "warehouse.duckdb"
        shutil.copyfile(db.removeprefix("duckdb:///"), copy)
        db = f"duckdb:///{copy}"
    load_start = os.getloadavg()
    t0 = time.perf_counter()
    names = [*BACKTEST_MONTHS, TEST]
    with ProcessPoolExecutor(args.workers, mp_context=get_context("spawn")) as pool:
        futures = {m: pool.submit(run_job, db, m, str(args.data), str(args.work)) for m in names}
        jobs = {}
        for m in names:
            jobs[m] = futures[m].result()
            j = jobs[m]
            print(f"{m}: A PR-AUC {j['A']['pr_auc']:.4f} / R {j['R']['pr_auc']:.4f}；用时 {j['seconds']}", flush=True)
    decision = decide({m: jobs[m] for m in BACKTEST_MONTHS})  # the real test month is not passed in
    out = {"rule": RULE, "rule_en": RULE_EN, "decision": decision, "jobs": jobs, "db": args.db,
           "wall_seconds": round(time.perf_counter() - t0, 1), "note": args.note,
           "machine": run_machine(args.workers, load_start, threads_per_booster=DEFAULT_PARAMS["threads"]),
           "generated_at": time.strftime("%Y-%m-%d %H:%M:%S")}
    print(save_report(args.out, "refit", out, render_md))


def _metric_row(label: dict[str, Any], m: dict[str, Any]) -> dict[str, Any]:
    return {**label, "前1%精确率": m["precision_top1"], "PR-AUC": m["pr_auc"], "区间PR-AUC": m["band_pr_auc"],
            "Brier": m["brier"]}


def render_md(r: dict[str, Any]) -> str:
    jobs, d = r["jobs"], r["decision"]
    back = []
    for p in BACKTEST_MONTHS:
        j = jobs[p]
        s = j["split"]
        for name in ("A", "R"):
            back.append(_metric_row({"回测月": p, "做法": name, "拟合月": f"{s['train'][0]}..{(s['val'] if name == 'R' else s['train'])[-1]}",
                                     "潜客": j[name]["n"], "正例": j[name]["positives"]}, j[name]))
    means = [_metric_row({"做法": name}, d["mean"][name]) for name in ("A", "R")]
    verdict = "采用 R（训练+验证月重新拟合）" if d["adopt_refit"] else "保留 A（不重新拟合）"
    checks = "；".join(f"{k}：{'是' if v else '否'}" for k, v in d["checks"].items())
    t = jobs[TEST]
    test_rows = [_metric_row({"做法": name}, t[name]) | {
        "目标通过": f"{sum(bool(x['passed']) for x in t[f'{name}_targets'])}/{len(t[f'{name}_targets'])}",
        "未通过": "、".join(x["id"] for x in t[f"{name}_targets"] if x["passed"] is False) or "无"} for name in ("A", "R")]
    ref_rows = [_metric_row({"参照": k}, v) for k, v in t["references"].items()]
    model_rows = [{"做法": name, "模型": k, "PR-AUC": t[f"{name}_models"][k]["pr_auc"], "前1%精确率": t[f"{name}_models"][k]["precision_top1"],
                   "Brier": t[f"{name}_models"][k]["brier"]} for name in ("A", "R") for k in ("lr", "tree", "lgbm")]
    tgt_rows = [{"做法": name, "目标": x["target"], "值": x["value"], "界限": x.get("bound"), "通过": "是" if x["passed"] else "否"}
                for name in ("A", "R") for x in t[f"{name}_targets"]]
    time_rows = [{"月份": m, "A 训练+早停秒": jobs[m]["seconds"]["validated"], "R 重新拟合秒": jobs[m]["seconds"]["refit"],
                  "LightGBM 轮数": "/".join(map(str, jobs[m]["rounds"])), "A 训练行": jobs[m]["rows"]["train"],
                  "R 训练行": jobs[m]["rows"]["refit_real"], "R 增广行": jobs[m]["rows"]["refit_lgbm"],
                  "结果复用": "是" if jobs[m].get("reused") else "否"} for m in [*BACKTEST_MONTHS, TEST]]
    m = r["machine"]
    return "\n".join([
        "# 训练+验证月重新拟合（refit）实验", "",
        f"数据：`{r['db']}`。A：现行做法，三个模型只在训练月上拟合，验证月用于早停、选 C 和 Platt 校准。"
        "R：保留 A 在验证月上做的全部选择（LR 的 C、每个种子的 LightGBM 早停轮数、决策树设置）和 A 的校准器，"
        "在训练+验证月上重新拟合（`train.refit_on_validation`）。", "",
        "## 决定规则（运行前确定并提交）", "", r["rule"], "", r["rule_en"], "",
        f"## 结果：{verdict}", "",
        "### 回测月（决定只看这一节）", "", md_table(pd.DataFrame(back)), "",
        "三个回测月的均值：", "", md_table(pd.DataFrame(means)), "", f"规则检查：{checks}。", "",
        f"### 真实测试月 {t['split']['test']}（决定之后计算，全部报告）", "", md_table(pd.DataFrame(test_rows)), "",
        "测试月参照：", "", md_table(pd.DataFrame(ref_rows)), "",
        "三个模型（全体潜客）：", "", md_table(pd.DataFrame(model_rows)), "",
        "目标：", "", md_table(pd.DataFrame(tgt_rows)), "",
        "## 耗时", "", md_table(pd.DataFrame(time_rows)), "",
        f"{m['cpus']} 核，{m['platform']}，Python {m['python']}，LightGBM {m['lightgbm']}；{m['workers']} 个进程并行跑不同月份，"
        f"每个 booster {m['threads_per_booster']} 个线程。负载（1/5/15 分钟）开始 {m['load_average_start']}，结束 "
        f"{m['load_average_end']}；总用时 {r['wall_seconds']} 秒。{r['note']}", "",
        f"生成：`python research/experiment_refit.py`（{r['generated_at']}）。", "",
    ])


if __name__ == "__main__":
    main()

"""Is the model short of information or short of data? LightGBM trained with two hidden traits a real model
never sees (each customer's true saving rate and activity level) added as features.

    python research/experiment_hidden_features.py [--seeds 1 2 3 4] [--work /tmp/million-seeds] [--workers 2]
                                                 [--ab bench/results/ab_saving.json]
                                                 [--ceiling bench/results/ceiling.json] [--out bench/results]

A diagnostic, not a model: each dataset's traits come from regenerating it with its seed (checked against
the stored customers and oracle); every other step is the build's own path with the default parameters.
The two columns are appended to the feature list inside a worker process of their own, so no other code
sees them. If the model given the true saving rate still stays well below the ceiling of an oracle that
lacks only the intent duration (research/experiment_ceiling.py), what it lacks is mainly data, not features.
Writes <out>/hidden_features.json and .md.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from experiment_params import fit_on_dataset  # noqa: E402

from benchmarks.datasets import dataset  # noqa: E402
from benchmarks.experiment import machine_text, run_machine, save_report, seed_arguments  # noqa: E402
from benchmarks.pass_chance import EXPECTED_RATIO_CAVEAT  # noqa: E402
from million.fmt import md_table  # noqa: E402

HIDDEN = {"save_rate": "储蓄率", "active": "活跃度（长期水平）"}


def run_job(seed: int, work: str, customers: int = 20000) -> dict[str, Any]:
    from million.datagen.simulate import generate
    from million.propensity import features
    from million.propensity.evaluate import read_oracle
    from million.propensity.train import DEFAULT_PARAMS

    url, folder = dataset(Path(work), customers, 24, seed)
    g = generate(customers, 24, seed, keep_hidden=True)
    assert g.hidden is not None
    if not read_oracle(folder, g.hidden.as_of).sort_index().equals(g.oracle.set_index("customer_id")["p_true"].sort_index()):
        raise RuntimeError(f"种子 {seed}：重新生成的 Oracle 与保存的不一致")
    hidden = pd.DataFrame({"customer_id": g.hidden.customer_ids,
                           **{f"true_{k}": getattr(g.hidden.traits, k) for k in HIDDEN}})

    def add_hidden(table: pd.DataFrame) -> pd.DataFrame:
        out = table.merge(hidden, on="customer_id", how="left")
        if out[hidden.columns[1:]].isna().any().any():
            raise RuntimeError(f"种子 {seed}：仓库中有重新生成的数据里没有的客户")
        # the list object every propensity module shares; this worker process exists only for this model
        if any(c.startswith("true_") for c in features.FEATURE_COLUMNS):
            raise RuntimeError("特征列表已被改过：每个进程只能跑一个任务")
        features.FEATURE_COLUMNS.extend(hidden.columns[1:])
        return out

    split, bundle, _, ratios = fit_on_dataset(url, folder, DEFAULT_PARAMS, add_hidden)
    return {"seed": seed, "test_month": split.test, "ratios": ratios, "lgbm_seconds": bundle.info["seconds"]["lgbm"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    seed_arguments(ap, Path("/tmp/million-seeds"), ROOT / "bench" / "results")
    ap.add_argument("--ab", type=Path, default=ROOT / "bench" / "results" / "ab_saving.json",
                    help="an A/B report whose base arm holds the same model without the hidden traits")
    ap.add_argument("--ceiling", type=Path, default=ROOT / "bench" / "results" / "ceiling.json")
    args = ap.parse_args()
    for s in args.seeds:
        dataset(args.work, args.customers, 24, s)
    load_start = os.getloadavg()
    t0 = time.perf_counter()
    # one job per process: a job changes the shared feature list of the process it runs in
    with ProcessPoolExecutor(args.workers, mp_context=get_context("spawn"), max_tasks_per_child=1) as pool:
        jobs = list(pool.map(run_job, args.seeds, [str(args.work)] * len(args.seeds), [args.customers] * len(args.seeds)))
    for j in jobs:
        print(f"种子 {j['seed']}：给出真实储蓄率与活跃度后期望前1%比 {j['ratios']['exp_p1']:.4f}", flush=True)
    ab = json.loads(args.ab.read_text(encoding="utf-8")) if args.ab.exists() else None
    ceiling = json.loads(args.ceiling.read_text(encoding="utf-8")) if args.ceiling.exists() else None
    out = {"seeds": args.seeds, "customers": args.customers, "hidden": HIDDEN, "jobs": jobs,
           "model": {j["seed"]: j["ratios"]["exp_p1"] for j in ab["jobs"]["base"]} if ab else {},
           "model_commit": ab["commits"]["base"] if ab else None,
           "ceiling": {r["seed"]: r["ratios"] for r in ceiling["runs"]} if ceiling else {},
           "wall_seconds": round(time.perf_counter() - t0, 1), "machine": run_machine(args.workers, load_start),
           "generated_at": time.strftime("%Y-%m-%d %H:%M:%S")}
    print(save_report(args.out, "hidden_features", out, render_md))


def render_md(r: dict[str, Any]) -> str:
    model = {int(k): v for k, v in r["model"].items()}
    ceiling = {int(k): v for k, v in r["ceiling"].items()}
    rows = []
    for j in r["jobs"]:
        s = j["seed"]
        rows.append({"种子": s, "LightGBM（现行）": round(model[s], 4) if s in model else "",
                     "LightGBM + 真实储蓄率与活跃度": round(j["ratios"]["exp_p1"], 4),
                     "Oracle 不知意向时长": round(ceiling[s]["no_duration"], 4) if s in ceiling else "",
                     "Oracle 另不知储蓄率": round(ceiling[s]["no_duration_saving"], 4) if s in ceiling else "",
                     "前1%精确率比（实际）": round(j["ratios"]["p1"], 4), "PR-AUC 比": round(j["ratios"]["pr_auc"], 4),
                     "LightGBM 秒": j["lgbm_seconds"]})
    df = pd.DataFrame(rows)
    mean = {c: round(float(np.mean([v for v in df[c] if v != ""])), 4) if any(v != "" for v in df[c]) else ""
            for c in df.columns if c != "种子"}
    df = pd.concat([df, pd.DataFrame([{"种子": "均值", **mean}])], ignore_index=True)
    return "\n".join([
        "# 缺信息还是缺数据：把模型看不到的真实储蓄率与活跃度交给 LightGBM", "",
        "诊断，不是模型：每份数据按种子重新生成，取出每位客户的真实储蓄率与活跃度（长期水平），作为两个额外特征，"
        "其余与 `make artifacts` 完全相同（默认参数、阈值增广、3 个种子装袋、验证月早停与校准）。"
        "数字都是期望前1%精确率比（前1%客户的 Oracle 真实概率均值之比），另列实际前1%精确率比与 PR-AUC 比。", "",
        EXPECTED_RATIO_CAVEAT, "",
        f"每份数据 {r['customers']:,} 位客户 × 24 个月。LightGBM（现行）读自 A/B 报告的基准（提交 "
        f"`{(r['model_commit'] or '')[:10]}`），两列 Oracle 上限读自 bench/results/ceiling.json。", "",
        md_table(df), "",
        machine_text(r["machine"], r["wall_seconds"]), "",
        f"生成：`python research/experiment_hidden_features.py`（{r['generated_at']}）。", "",
    ])


if __name__ == "__main__":
    main()

"""What expected precision@1% a model could reach at best: oracles with the hidden information a model never
sees removed (benchmarks/ceiling.py), next to LightGBM's measured ratio.

    python research/experiment_ceiling.py [--seeds 42 1 2 3 4] [--customers 20000]
                                         [--metrics artifacts/metrics.json]
                                         [--ab bench/results/ab_saving.json] [--out bench/results]

Each dataset is regenerated with its seed (the same generator and arguments as `make data` for seed 42 and
as the seed experiments for the others; the oracle column is checked against the regenerated one). The
population is the model's: prospects at the oracle month with behaviour rows at T-2, T-1 and T. Every ratio
is the mean true probability of a scorer's top 1% over the oracle's. LightGBM's ratios are read from the
default build's metrics.json (seed 42) and from an A/B report (seeds 1-4), never computed here.
Writes <out>/ceiling.json and <out>/ceiling.md.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from benchmarks.ceiling import CEILING_TITLES, CEILINGS, ceilings, model_population  # noqa: E402
from benchmarks.experiment import machine_text, run_machine, save_report  # noqa: E402
from benchmarks.pass_chance import EXPECTED_RATIO_CAVEAT  # noqa: E402
from million.datagen.simulate import generate  # noqa: E402
from million.fmt import md_table  # noqa: E402
from million.propensity.evaluate import expected_precision  # noqa: E402


def one_seed(seed: int, customers: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    g = generate(customers, 24, seed, keep_hidden=True)
    assert g.hidden is not None
    table = ceilings(g.hidden)
    saved = g.oracle.set_index("customer_id")
    if not np.allclose(table["p_true"].to_numpy(), saved["p_true"].reindex(table.index).to_numpy()):
        raise RuntimeError(f"种子 {seed}：重算的 Oracle 与生成数据中的不一致")
    table = table.loc[table.index.isin(model_population(g))]
    truth = table["p_true"].to_numpy()
    exp = {c: expected_precision(truth, table[c].to_numpy())["expected_precision_top1"] for c in ("p_true", *CEILINGS)}
    # measured again with the oracle's independent second estimate: p_true and the ceilings share Monte Carlo
    # draws, so valuing their top 1% by p_true rewards the noise that picked it (winner's curse)
    check = saved["p_check"].reindex(table.index).to_numpy()
    exp_check = {c: expected_precision(check, table[c].to_numpy())["expected_precision_top1"]
                 for c in ("p_true", *CEILINGS)}
    return {"seed": seed, "as_of": g.hidden.as_of, "prospects": len(table), "expected_top1": exp,
            "ratios": {c: exp[c] / exp["p_true"] for c in CEILINGS},
            "expected_top1_check": exp_check, "ratios_check": {c: exp_check[c] / exp_check["p_true"] for c in CEILINGS},
            "seconds": round(time.perf_counter() - t0, 1)}


def model_ratios(metrics: Path, ab: Path | None) -> dict[str, dict[int, float]]:
    """LightGBM's expected precision@1% ratio per seed, by where it was measured."""
    out: dict[str, dict[int, float]] = {}
    if metrics.exists():
        m = json.loads(metrics.read_text(encoding="utf-8"))
        e = m["propensity"]["expected_top1_vs_oracle"]
        out[f"make artifacts（默认数据，按 {e.get('truth', 'p_true')} 计）"] = {42: e["ratio"]}
    if ab is not None and ab.exists():
        r = json.loads(ab.read_text(encoding="utf-8"))
        for arm, jobs in r["jobs"].items():
            # the A/B arms measure with p_true (experiment_params.run_job passes no p_check)
            out[f"{ab.stem} {arm}（{r['commits'][arm][:10]}，按 p_true 计）"] = {j["seed"]: j["ratios"]["exp_p1"]
                                                                              for j in jobs}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", nargs="+", type=int, default=[42, 1, 2, 3, 4])
    ap.add_argument("--customers", type=int, default=20000)
    ap.add_argument("--metrics", type=Path, default=ROOT / "artifacts" / "metrics.json")
    ap.add_argument("--ab", type=Path, default=None, help="an A/B report whose LightGBM ratios to show")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = ap.parse_args()
    load_start = os.getloadavg()
    runs = []
    for s in args.seeds:
        runs.append(one_seed(s, args.customers))
        print(f"种子 {s}: " + "，".join(f"{c} {v:.4f}" for c, v in runs[-1]["ratios"].items()), flush=True)
    out = {"seeds": args.seeds, "customers": args.customers, "runs": runs,
           "mean": {c: float(np.mean([r["ratios"][c] for r in runs])) for c in CEILINGS},
           "mean_check": {c: float(np.mean([r["ratios_check"][c] for r in runs])) for c in CEILINGS},
           "model": model_ratios(args.metrics, args.ab), "machine": run_machine(1, load_start),
           "generated_at": time.strftime("%Y-%m-%d %H:%M:%S")}
    print(save_report(args.out, "ceiling", out, render_md))


def _ceiling_table(r: dict[str, Any], suffix: str) -> str:
    """Ceiling ratios per seed and their mean, measured with p_true (suffix "") or p_check ("_check")."""
    rows = [{"种子": x["seed"], "Oracle 月": x["as_of"], "潜客": x["prospects"],
             "Oracle 前1%期望精确率": round(x["expected_top1" + suffix]["p_true"], 4),
             **{CEILING_TITLES[c]: round(x["ratios" + suffix][c], 4) for c in CEILINGS}} for x in r["runs"]]
    rows.append({"种子": "均值", "Oracle 月": "", "潜客": "", "Oracle 前1%期望精确率": "",
                 **{CEILING_TITLES[c]: round(r["mean" + suffix][c], 4) for c in CEILINGS}})
    return md_table(pd.DataFrame(rows))


def render_md(r: dict[str, Any]) -> str:
    check = "mean_check" in r  # reports from before p_check have the p_true table only
    model_rows = []
    for name, vals in r["model"].items():
        by_seed = {int(s): v for s, v in vals.items()}  # JSON keys come back as strings
        model_rows.append({"LightGBM 来源": name, **{f"种子 {s}": round(by_seed[s], 4) if s in by_seed else "" for s in r["seeds"]},
                           "这些种子的均值": round(float(np.mean(list(by_seed.values()))), 4)})
    return "\n".join([
        "# 信息上限：去掉模型看不到的隐藏信息后，Oracle 还能排得多好", "",
        "Oracle 知道每位客户的隐藏状态（意向还剩几个月、储蓄率、活跃度），模型只看得到行为。按某一信息集下的 P(达标) 排序，"
        "能使任意前 k 名的期望命中数在所有只用这些信息的排序中最大，所以下表的比值（前1%客户的真实概率均值 ÷ Oracle 的）"
        "在期望意义上就是缺少这些信息的任何模型的期望前1%精确率比的上限（单份数据只有一百多位前1%客户，"
        "逐份看会有几个千分点的起伏）。模型能从行为中看到储蓄率和活跃度的噪声痕迹，"
        "所以它的实际上限介于第一列与最后一列之间。", "",
        EXPECTED_RATIO_CAVEAT, "",
        f"每份数据 {r['customers']:,} 位客户 × 24 个月；人群与模型相同（T-2..T 三个月都有记录的潜客）。", "",
        *(["## 按独立估计 p_check 计（没有赢家诅咒）", "", _ceiling_table(r, "_check"), "",
           "## 按 Oracle 自己的概率 p_true 计（与 p_check 之前的报告相同的算法）", ""] if check else []),
        _ceiling_table(r, ""), "",
        "## LightGBM 的期望前1%精确率比（读自各自的结果文件）", "",
        md_table(pd.DataFrame(model_rows)) if model_rows else "（没有可读的结果文件）", "",
        machine_text(r["machine"]), "",
        f"生成：`python research/experiment_ceiling.py`（{r['generated_at']}）。", "",
    ])


if __name__ == "__main__":
    main()

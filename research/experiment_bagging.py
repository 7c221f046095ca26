"""Seed bagging of the LightGBM propensity model: is K = 1, 3 or 5 boosters best on the validation months?

    python research/experiment_bagging.py [--db duckdb:///data/warehouse.duckdb] [--data data]
                                         [--out bench/results] [--work /tmp/million-bagging]

(Run on a copy of the warehouse if `make` may rebuild it meanwhile; the committed report was made on one.)

Reads the warehouse through the same code as the build (load_tables -> feature_table -> labelled_months ->
split_months -> make_train_data), trains the K=5 boosters once (seeds 42..46 on the same augmented training
set, each early-stopped on the validation months); K=1 and K=3 are the first 1 and 3 of them. Each K is
merged into one booster (train.merge_boosters) and Platt-calibrated on the validation months, exactly as
train_models does with params["bag_seeds"] = K.

The choice of K uses the validation months only (RULE below, fixed before the run); the test month is
evaluated after the choice, for every K, and reported whatever it shows. Writes <out>/bagging.json and
<out>/bagging.md. Booster model files and their fit times are kept under --work so a rerun can skip training
(the report says when they were reused).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

import lightgbm as lgb  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from million.fmt import md_table  # noqa: E402
from million.propensity.bundle import ModelBundle  # noqa: E402
from million.propensity.calibration import fit_platt  # noqa: E402
from million.propensity.evaluate import BAND, check_targets, evaluate, read_oracle, score_metrics  # noqa: E402
from million.propensity.feature_store import feature_table  # noqa: E402
from million.propensity.features import FEATURE_COLUMNS  # noqa: E402
from million.propensity.labels import labelled_months  # noqa: E402
from million.propensity.split import split_months  # noqa: E402
from million.propensity.train import (  # noqa: E402
    DEFAULT_PARAMS,
    TrainData,
    fit_lgbm_boosters,
    fit_lr,
    fit_tree,
    make_train_data,
    merge_boosters,
    train_models,
)
from million.tables import load_tables  # noqa: E402
from million.warehouse import connect  # noqa: E402

KS = (1, 3, 5)
TIE = 0.002
PR_AUC_SLACK = 0.005
TIME_FACTOR = 5.0
RULE = (
    "在 K ∈ {1, 3, 5} 中按三个验证月（2026-02、2026-03、2026-04，各月分别排序后取平均）的前1%精确率均值选择；"
    f"护栏：验证月 PR-AUC 均值不低于 K=1 的值减 {PR_AUC_SLACK}，LightGBM 训练时间不超过 K=1 的 {TIME_FACTOR:g} 倍"
    "（训练时间 = 阈值增广 + 前 K 个 booster 的训练（含 Dataset 构建与早停）+ 合并，即 fit_lgbm 在 bag_seeds=K 时的耗时）；"
    f"在通过护栏的 K 中，取前1%精确率均值与最优值相差不超过 {TIE} 的最小 K。测试月不参与选择，"
    "选定后再对每个 K 计算测试月指标并全部报告。"
)
RULE_EN = (
    "Choose K in {1,3,5} by the mean precision@1% over the validation months (each month ranked separately, "
    f"then averaged). Guardrails: mean validation PR-AUC >= K=1's minus {PR_AUC_SLACK}; LightGBM training time "
    f"<= {TIME_FACTOR:g} x K=1's (augmentation + first K boosters incl. Dataset construction and early stopping "
    f"+ merge). Among K passing the guardrails, take the smallest K whose mean precision@1% is within {TIE} of "
    "the best. The test month is not used for the choice; it is evaluated afterwards for every K."
)


def load_data(db_url: str) -> TrainData:
    """The same path as million/propensity/step.py: whole tables -> feature table -> split -> train data."""
    with connect(db_url) as wh:
        tables = load_tables(wh)
    table = feature_table(tables)
    split = split_months(labelled_months(tables))
    return make_train_data(table.loc[table["label"].notna()].reset_index(drop=True), split)


def train_boosters(data: TrainData, params: dict[str, Any], k: int, work: Path) -> dict[str, Any]:
    """k boosters (reused from `work` when a previous run of the same setup saved them)."""
    work.mkdir(parents=True, exist_ok=True)
    meta_path = work / "boosters.json"
    key = {"params": json.loads(json.dumps(params, default=list)), "k": k, "split": data.split.as_dict(),
           "train_rows": len(data.train), "val_rows": len(data.val)}
    if meta_path.exists():
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta["key"] == key:
            boosters = [lgb.Booster(model_file=str(work / f"booster_{i}.txt")) for i in range(k)]
            return {**meta, "boosters": boosters, "reused": True}
    seconds: list[float] = []
    loads: list[float] = []

    def done(i: int, s: float) -> None:
        seconds.append(s)
        loads.append(os.getloadavg()[0])
        print(f"  booster {i} (seed {params['seed'] + i}): {s:.1f} s, 负载 {loads[-1]:.2f}", flush=True)

    t0 = time.perf_counter()
    boosters, info = fit_lgbm_boosters(data, params, k, on_booster=done)
    total = time.perf_counter() - t0
    for i, b in enumerate(boosters):
        b.save_model(str(work / f"booster_{i}.txt"))
    meta = {"key": key, "seconds": seconds, "augment_seconds": total - sum(seconds), "load_after_booster": loads,
            "best_iterations": [b.current_iteration() for b in boosters], "info": info}
    meta_path.write_text(json.dumps(meta, indent=1), encoding="utf-8")
    return {**meta, "boosters": boosters, "reused": False}


def month_metrics(bundle: ModelBundle, rows: pd.DataFrame) -> dict[str, Any]:
    y = rows["label"].to_numpy(dtype=float)
    X = bundle.matrix(rows)
    raw = bundle.raw_logit("lgbm", X)
    prob = bundle.predict("lgbm", X)
    m = score_metrics(y, raw, prob)
    band = ((rows["aum_cur"] >= BAND[0]) & (rows["aum_cur"] < BAND[1])).to_numpy()
    b = score_metrics(y[band], raw[band], prob[band])
    return {"n": m["n"], "positives": m["positives"], "precision_top1": m.get("precision_top1"),
            "pr_auc": m.get("pr_auc"), "band_pr_auc": b.get("pr_auc"), "brier": m.get("brier"),
            "roc_auc": m.get("roc_auc")}


def choose(results: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """The declared rule, on validation numbers only."""
    base = results[1]
    checks = {}
    for k, r in results.items():
        ok_auc = r["val_mean"]["pr_auc"] >= base["val_mean"]["pr_auc"] - PR_AUC_SLACK
        ok_time = r["train_seconds"] <= TIME_FACTOR * base["train_seconds"]
        checks[k] = {"pr_auc_guardrail": bool(ok_auc), "time_guardrail": bool(ok_time),
                     "time_ratio": r["train_seconds"] / base["train_seconds"],
                     "pr_auc_minus_k1": r["val_mean"]["pr_auc"] - base["val_mean"]["pr_auc"]}
    eligible = [k for k in results if checks[k]["pr_auc_guardrail"] and checks[k]["time_guardrail"]]
    best = max(results[k]["val_mean"]["precision_top1"] for k in eligible)
    chosen = min(k for k in eligible if results[k]["val_mean"]["precision_top1"] >= best - TIE)
    return {"chosen_k": chosen, "eligible": eligible, "best_val_precision_top1": best, "checks": checks}


def check_build(data: TrainData, chosen: ModelBundle, oracle: pd.Series | None,
                chosen_result: dict[str, Any]) -> dict[str, Any]:
    """train_models with the code's defaults (what `make artifacts` runs) against the chosen K's numbers."""
    t0 = time.perf_counter()
    bundle = train_models(data)
    seconds = time.perf_counter() - t0
    Xt = data.test[FEATURE_COLUMNS].to_numpy(dtype=float)
    metrics = evaluate(bundle, data.test, data.val, oracle)
    lg = metrics["overall"]["lgbm"]
    test = {"precision_top1": lg["precision_top1"], "pr_auc": lg["pr_auc"],
            "band_pr_auc": metrics["band"]["lgbm"]["pr_auc"], "brier": lg["brier"]}
    return {"bag_seeds": DEFAULT_PARAMS["bag_seeds"], "seconds": bundle.info["seconds"], "total_seconds": seconds,
            "details": bundle.info["details"]["lgbm"], "test": test, "targets": check_targets(metrics),
            "max_abs_raw_diff_vs_chosen": float(np.abs(bundle.raw_logit("lgbm", Xt) - chosen.raw_logit("lgbm", Xt)).max()),
            "same_test_metrics_as_chosen": all(abs(test[k] - chosen_result["test"][k]) < 1e-12 for k in test)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", default=f"duckdb:///{ROOT / 'data' / 'warehouse.duckdb'}")
    ap.add_argument("--data", type=Path, default=ROOT / "data", help="folder with oracle.csv")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "bench" / "results")
    ap.add_argument("--work", type=Path, default=Path("/tmp/million-bagging"))
    ap.add_argument("--check-build", action="store_true",
                    help="also run train_models with the code's DEFAULT_PARAMS and compare with the chosen K")
    ap.add_argument("--note", default="", help="a sentence about the machine, printed in the report")
    args = ap.parse_args()
    print("选择规则（运行前确定）：" + RULE, flush=True)
    load_start = os.getloadavg()
    t0 = time.perf_counter()
    data = load_data(args.db)
    prep_s = time.perf_counter() - t0
    print(f"数据：训练 {data.split.train[0]}..{data.split.train[-1]}，验证 {data.split.val}，测试 {data.split.test}；"
          f"{prep_s:.0f} s", flush=True)
    params = {**DEFAULT_PARAMS, "bag_seeds": max(KS)}
    lr, lr_info = fit_lr(data, params)
    tree, _ = fit_tree(data, params)
    print(f"训练 {max(KS)} 个 LightGBM booster（一个线程，依次）…", flush=True)
    trained = train_boosters(data, params, max(KS), args.work)
    boosters: list[lgb.Booster] = trained["boosters"]

    Xv, yv = data.val[FEATURE_COLUMNS].to_numpy(dtype=float), data.val["label"].to_numpy()
    Xt = data.test[FEATURE_COLUMNS].to_numpy(dtype=float)
    bundles: dict[int, ModelBundle] = {}
    results: dict[int, dict[str, Any]] = {}
    for k in KS:
        t1 = time.perf_counter()
        merged = merge_boosters(boosters[:k])
        merge_s = time.perf_counter() - t1
        # the merged booster's raw score is the mean of its boosters' (checked here on the real data too)
        mean_raw = np.mean([b.predict(Xt, raw_score=True, num_threads=1) for b in boosters[:k]], axis=0)
        merge_err = float(np.abs(merged.predict(Xt, raw_score=True, num_threads=1) - mean_raw).max())
        bundle = ModelBundle(FEATURE_COLUMNS, lr, tree, merged, {})
        bundle.calibrators = {key: fit_platt(bundle.raw_logit(key, Xv), yv) for key in ("lr", "tree", "lgbm")}
        bundles[k] = bundle
        per_month = {m: month_metrics(bundle, data.val.loc[data.val["as_of"] == m]) for m in data.split.val}
        val_mean = {name: float(np.mean([per_month[m][name] for m in data.split.val]))
                    for name in ("precision_top1", "pr_auc", "band_pr_auc", "brier")}
        results[k] = {
            "k": k, "seeds": [params["seed"] + i for i in range(k)], "best_iterations": trained["best_iterations"][:k],
            "trees": merged.num_trees(), "booster_seconds": trained["seconds"][:k],
            "train_seconds": trained["augment_seconds"] + sum(trained["seconds"][:k]) + merge_s,
            "merge_seconds": merge_s, "merge_max_abs_error": merge_err,
            "val_by_month": per_month, "val_mean": val_mean, "calibrator": bundle.calibrators["lgbm"].as_dict(),
        }
        print(f"K={k}: 验证前1%精确率均值 {val_mean['precision_top1']:.4f}，PR-AUC 均值 {val_mean['pr_auc']:.4f}，"
              f"训练 {results[k]['train_seconds']:.0f} s", flush=True)

    selection = choose(results)  # validation only; the test month is read below, after this line
    print(f"规则选择 K = {selection['chosen_k']}", flush=True)

    oracle = read_oracle(args.data, data.split.test)
    for k in KS:
        metrics = evaluate(bundles[k], data.test, data.val, oracle)
        lg, lgb_band = metrics["overall"]["lgbm"], metrics["band"]["lgbm"]
        results[k]["test"] = {"precision_top1": lg["precision_top1"], "pr_auc": lg["pr_auc"],
                              "band_pr_auc": lgb_band["pr_auc"], "brier": lg["brier"], "roc_auc": lg["roc_auc"]}
        results[k]["targets"] = check_targets(metrics)
        if k == KS[0]:
            refs = {name: {m: metrics[part][name].get(m) for part, m in
                           (("overall", "precision_top1"), ("overall", "pr_auc"), ("overall", "brier"))}
                    | {"band_pr_auc": metrics["band"][name].get("pr_auc")}
                    for name in ("oracle", "naive") if name in metrics["overall"]}
            oracle_coverage = metrics.get("oracle_coverage")

    build_check = check_build(data, bundles[selection["chosen_k"]], read_oracle(args.data, data.split.test),
                              results[selection["chosen_k"]]) if args.check_build else None
    out = {
        "rule": RULE, "rule_en": RULE_EN, "selection": selection, "default_bag_seeds_in_code": DEFAULT_PARAMS["bag_seeds"],
        "split": data.split.as_dict(), "test_month": data.split.test,
        "rows": {"train": len(data.train), "val": len(data.val), "test": len(data.test),
                 "lgbm_train_rows_augmented": trained["info"]["train_rows"]},
        "lr_C": lr_info["C"], "references_test": refs, "oracle_coverage": oracle_coverage,
        "results": {str(k): v for k, v in results.items()},
        "augment_seconds": trained["augment_seconds"], "boosters_reused": trained["reused"],
        "load_during_training": trained["load_after_booster"],
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "lightgbm": lgb.__version__, "threads_per_booster": params["threads"],
                    "load_average_start": [round(x, 2) for x in load_start],
                    "load_average_end": [round(x, 2) for x in os.getloadavg()]},
        "db": args.db, "note": args.note, "build_check": build_check,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bagging.json").write_text(json.dumps(out, ensure_ascii=False, indent=1, default=float),
                                           encoding="utf-8")
    (args.out / "bagging.md").write_text(render_md(out), encoding="utf-8")
    print(render_md(out))


def render_md(r: dict[str, Any]) -> str:
    res = r["results"]
    sel = r["selection"]
    val_rows, test_rows = [], []
    for k, v in res.items():
        c = sel["checks"][k] if k in sel["checks"] else sel["checks"][int(k)]
        val_rows.append({"K": k, "前1%精确率": v["val_mean"]["precision_top1"], "PR-AUC": v["val_mean"]["pr_auc"],
                         "区间PR-AUC": v["val_mean"]["band_pr_auc"], "Brier": v["val_mean"]["brier"],
                         "训练秒": round(v["train_seconds"], 1), "时间倍数": round(c["time_ratio"], 2),
                         "护栏": "通过" if c["pr_auc_guardrail"] and c["time_guardrail"] else "未通过",
                         "早停轮数": "/".join(map(str, v["best_iterations"]))})
        t = v["test"]
        targets = v["targets"]
        test_rows.append({"K": k, "前1%精确率": t["precision_top1"], "PR-AUC": t["pr_auc"], "区间PR-AUC": t["band_pr_auc"],
                          "Brier": t["brier"],
                          "目标通过": f"{sum(bool(x['passed']) for x in targets)}/{len(targets)}",
                          "未通过": "、".join(x["id"] for x in targets if x["passed"] is False) or "无"})
    month_rows = []
    for k, v in res.items():
        for m, mm in v["val_by_month"].items():
            month_rows.append({"K": k, "月份": m, "前1%精确率": mm["precision_top1"], "PR-AUC": mm["pr_auc"],
                               "区间PR-AUC": mm["band_pr_auc"], "Brier": mm["brier"], "正例": mm["positives"],
                               "客户": mm["n"]})
    ref_rows = [{"参照": name, "前1%精确率": v["precision_top1"], "PR-AUC": v["pr_auc"], "区间PR-AUC": v["band_pr_auc"],
                 "Brier": v["brier"]} for name, v in r["references_test"].items()]
    chosen = str(sel["chosen_k"])
    ch_targets = res[chosen]["targets"]
    tgt_rows = [{"目标": t["target"], "值": t["value"], "界限": t.get("bound"), "通过": "是" if t["passed"] else "否"}
                for t in ch_targets]
    m = r["machine"]
    return "\n".join([
        "# LightGBM 种子装袋（seed bagging）实验", "",
        f"数据：`{r['db']}`，训练月 {r['split']['train'][0]}..{r['split']['train'][-1]}，"
        f"验证月 {', '.join(r['split']['val'])}，测试月 {r['test_month']}。"
        f"K 个 booster 只差 seed（{', '.join(map(str, res[str(max(KS))]['seeds']))}），用同一份阈值增广训练集，"
        "各自在验证月上早停；合并成一个 booster（叶子值 ×1/K，原始对数几率 = K 个的平均），再在验证月上做 Platt 校准。",
        "",
        "## 选择规则（运行前确定）", "", r["rule"], "", r["rule_en"], "",
        f"## 结果：规则选择 K = {chosen}", "",
        "### 验证月（三个月各自排序后取平均；选择只看这一节）", "", md_table(pd.DataFrame(val_rows)), "",
        "### 测试月（选择之后计算，全部报告）", "", md_table(pd.DataFrame(test_rows)), "",
        f"测试月参照（Oracle 覆盖率 {r['oracle_coverage']:.3f}）：", "", md_table(pd.DataFrame(ref_rows)), "",
        f"### K = {chosen} 的测试月目标", "", md_table(pd.DataFrame(tgt_rows)), "",
        "### 各验证月明细", "", md_table(pd.DataFrame(month_rows), max_rows=50), "",
        "## 机器与耗时", "",
        f"{m['cpus']} 核，{m['platform']}，Python {m['python']}，LightGBM {m['lightgbm']}，每个 booster "
        f"{m['threads_per_booster']} 个线程，依次训练。负载（os.getloadavg，1/5/15 分钟）开始 {m['load_average_start']}，"
        f"结束 {m['load_average_end']}；每个 booster 训练完时的 1 分钟负载 "
        f"{[round(x, 2) for x in r['load_during_training']]}。" + (r["note"] or ""),
        f"阈值增广 {r['augment_seconds']:.1f} 秒；各 booster 训练秒数 "
        f"{[round(x, 1) for x in res[str(max(KS))]['booster_seconds']]}；"
        f"LightGBM 训练行数（增广后）{r['rows']['lgbm_train_rows_augmented']:,}。"
        + ("（booster 取自上次运行保存的模型文件，耗时为那次的测量。）" if r["boosters_reused"] else ""),
        "",
        *build_check_md(r.get("build_check")),
        "生成：`python research/experiment_bagging.py`。", "",
    ])


def build_check_md(c: dict[str, Any] | None) -> list[str]:
    if not c:
        return []
    t = c["test"]
    return [
        "## 复核：按代码默认参数重新训练（make artifacts 的路径）", "",
        f"`train_models` 使用 DEFAULT_PARAMS（bag_seeds = {c['bag_seeds']}）重新训练：LightGBM {c['seconds']['lgbm']} 秒，"
        f"早停轮数 {c['details']['best_iteration']}；测试月前1%精确率 {t['precision_top1']:.4f}，PR-AUC {t['pr_auc']:.4f}，"
        f"区间PR-AUC {t['band_pr_auc']:.4f}，Brier {t['brier']:.5f}；与上表所选 K 的原始分数最大差 "
        f"{c['max_abs_raw_diff_vs_chosen']:.2e}，指标{'完全一致' if c['same_test_metrics_as_chosen'] else '不一致'}。", "",
    ]


if __name__ == "__main__":
    main()

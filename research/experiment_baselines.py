"""The two baseline models (logistic regression, depth-4 tree) cheaper: their cost and test-month metrics,
before and after, on the build's own training rows.

    python research/experiment_baselines.py --data data [--data /tmp/c100k ...] [--work /tmp/million-baselines]
                                           [--out bench/results] [--name baselines]

For each data folder the build's feature path runs once (stream_features with the build's scale settings ->
split_months -> make_train_data; cached under --work), then every variant fits LR and the tree with
million.propensity.train's own fit_lr / fit_tree, calibrates on the validation months as the build does
(Platt) and is scored on the test month: PR-AUC, Brier, precision@1% and the ratios to the oracle (expected
precision@1% valued with p_check). LightGBM is not touched by these variants, so the served model and the
quality guard (its ratios) are unchanged; the baselines' metrics are reported in the model card, so they are
shown here before and after. CPU seconds are this process's (one thread).
Writes <out>/<name>.json and .md.
"""

from __future__ import annotations

import argparse
import os
import pickle
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from benchmarks.experiment import run_machine, save_report  # noqa: E402
from million.fmt import md_table  # noqa: E402
from million.propensity.bundle import logit  # noqa: E402
from million.propensity.calibration import fit_platt  # noqa: E402
from million.propensity.evaluate import BAND, expected_precision, read_oracles, score_metrics  # noqa: E402
from million.propensity.feature_store import CHUNK_CUSTOMERS, TRAIN_CUSTOMERS, stream_features  # noqa: E402
from million.propensity.features import FEATURE_COLUMNS  # noqa: E402
from million.propensity.labels import labelled_months  # noqa: E402
from million.propensity.split import split_months  # noqa: E402
from million.propensity.train import DEFAULT_PARAMS, TrainData, fit_lr, fit_tree, make_train_data  # noqa: E402
from million.tables import data_hash, warehouse_months  # noqa: E402
from million.warehouse import connect  # noqa: E402

# name -> (parameter overrides, what it changes). "before" is the code before this experiment: a cold lbfgs
# start for each C (`cold`); every other variant uses the warm start, which converges to the same optimum.
VARIANTS: dict[str, tuple[dict[str, Any], str]] = {
    "before": ({"__cold": True, "baseline_rows": None}, "改动前：每个 C 从零开始拟合（含各自的对数变换与标准化），全部训练行"),
    "warm": ({"baseline_rows": None}, "对数变换与标准化只拟合一次；第二个 C 从第一个 C 的解出发（lbfgs 热启动），全部训练行"),
    "warm_rows300k": ({"baseline_rows": 300_000}, "同 warm，两个基线模型最多用 30 万行训练行（多于此数时均匀抽样，种子固定；采用）"),
    "warm_rows200k": ({"baseline_rows": 200_000}, "同 warm，两个基线模型只用 20 万行训练行（均匀抽样，种子固定）"),
}


def train_data(folder: Path, work: Path) -> tuple[TrainData, pd.Series | None, pd.Series | None]:
    """The build's training rows of one data folder (cached), and the test month's oracle (p_true, p_check)."""
    cache = work / f"{folder.resolve().as_posix().strip('/').replace('/', '_')}.pkl"
    if cache.exists():
        data = pickle.loads(cache.read_bytes())
    else:
        with connect(f"duckdb:///{folder / 'warehouse.duckdb'}", read_only=True) as wh, \
                tempfile.TemporaryDirectory() as tmp:
            months = warehouse_months(wh)
            feats = stream_features(wh, Path(tmp) / "f.parquet", data_hash=data_hash(wh), latest=months[-1],
                                    chunk_customers=CHUNK_CUSTOMERS, train_customers=TRAIN_CUSTOMERS,
                                    seed=DEFAULT_PARAMS["seed"])
        data = make_train_data(feats["labelled"], split_months(labelled_months(months)))
        work.mkdir(parents=True, exist_ok=True)
        cache.write_bytes(pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL))
    p_true, p_check = read_oracles(folder, data.split.test)
    return data, p_true, p_check


def cold_lr(data: TrainData, params: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """fit_lr as it was before this experiment: a whole pipeline fitted from scratch per C."""
    from sklearn.metrics import average_precision_score

    from million.propensity.train import _lr_pipeline

    X, y = data.train[FEATURE_COLUMNS].to_numpy(dtype=float), data.train["label"].to_numpy()
    Xv, yv = data.val[FEATURE_COLUMNS].to_numpy(dtype=float), data.val["label"].to_numpy()
    best = None
    iters = []
    for C in params["lr_C"]:
        pipe = _lr_pipeline(C).fit(X, y)
        iters.append(int(pipe.named_steps["lr"].n_iter_[0]))
        ap = average_precision_score(yv, pipe.decision_function(Xv))
        if best is None or ap > best[0]:
            best = (ap, C, pipe)
    assert best is not None
    return best[2], {"C": best[1], "val_pr_auc": best[0], "rows": len(y), "iterations": iters}


def clocked(fn: Any) -> tuple[Any, float, float]:
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, round(time.perf_counter() - w, 2), round(time.process_time() - c, 2)


def metrics_of(raw_test: np.ndarray, raw_val: np.ndarray, data: TrainData, truth: np.ndarray | None,
               oracle: dict[str, dict[str, Any]] | None) -> dict[str, Any]:
    y = data.test["label"].to_numpy(dtype=float)
    prob = fit_platt(raw_val, data.val["label"].to_numpy())(raw_test)
    band = ((data.test["aum_cur"] >= BAND[0]) & (data.test["aum_cur"] < BAND[1])).to_numpy()
    out: dict[str, Any] = {}
    for part, m in (("overall", np.ones_like(band)), ("band", band)):
        s = score_metrics(y[m], raw_test[m], prob[m])
        r = {k: s.get(k) for k in ("roc_auc", "pr_auc", "brier", "precision_top1")}
        if truth is not None:  # over the rows the oracle covers, as evaluate() does
            c = m & ~np.isnan(truth)
            r["expected_precision_top1"] = expected_precision(truth[c], raw_test[c])["expected_precision_top1"]
        if oracle is not None:
            o = oracle[part]
            r["pr_auc_ratio"] = r["pr_auc"] / o["pr_auc"]
            r["brier_ratio"] = r["brier"] / o["brier"]
            if truth is not None:
                r["exp_p1_ratio"] = r["expected_precision_top1"] / o["expected_precision_top1"]
        out[part] = r
    return out


def run_folder(folder: Path, work: Path) -> dict[str, Any]:
    data, p_true, p_check = train_data(folder, work)
    ids = data.test["customer_id"]
    oracle = None
    truth = None if p_check is None else p_check.reindex(ids).to_numpy(dtype=float)
    if p_true is not None:
        po = p_true.reindex(ids).to_numpy(dtype=float)
        band = ((data.test["aum_cur"] >= BAND[0]) & (data.test["aum_cur"] < BAND[1])).to_numpy()
        y = data.test["label"].to_numpy(dtype=float)
        oracle = {}
        for part, m in (("overall", np.ones_like(band)), ("band", band)):
            m = m & ~np.isnan(po)
            s = score_metrics(y[m], po[m], po[m])
            if truth is not None:
                c = m & ~np.isnan(truth)
                s.update(expected_precision(truth[c], po[c]))
            oracle[part] = s
    Xt, Xv = data.test[FEATURE_COLUMNS].to_numpy(dtype=float), data.val[FEATURE_COLUMNS].to_numpy(dtype=float)
    rows: dict[str, Any] = {}
    for name, (overrides, why) in VARIANTS.items():
        params = {**DEFAULT_PARAMS, **{k: v for k, v in overrides.items() if not k.startswith("__")}}
        lr_fit = cold_lr if overrides.get("__cold") else fit_lr
        (lr, lr_info), lr_wall, lr_cpu = clocked(lambda p=params, f=lr_fit: f(data, p))
        (tree, tree_info), tree_wall, tree_cpu = clocked(lambda p=params: fit_tree(data, p))
        rows[name] = {
            "why": why, "params": {k: v for k, v in overrides.items()},
            "lr": {"wall": lr_wall, "cpu": lr_cpu, **lr_info,
                   **metrics_of(lr.decision_function(Xt), lr.decision_function(Xv), data, truth, oracle)},
            "tree": {"wall": tree_wall, "cpu": tree_cpu, **tree_info,
                     **metrics_of(logit(tree.predict_proba(Xt)[:, 1]), logit(tree.predict_proba(Xv)[:, 1]), data,
                                  truth, oracle)},
            "load": round(os.getloadavg()[0], 2),
        }
        print(f"  {folder.name} {name}: LR {lr_cpu} CPU s {lr_info['iterations']} "
              f"PR-AUC {rows[name]['lr']['overall']['pr_auc']:.4f}; tree {tree_cpu} CPU s "
              f"PR-AUC {rows[name]['tree']['overall']['pr_auc']:.4f}", flush=True)
    return {"folder": str(folder), "train_rows": len(data.train), "test_month": data.split.test,
            "test_rows": len(data.test), "variants": rows}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, action="append", required=True)
    ap.add_argument("--work", type=Path, default=Path("/tmp/million-baselines"))
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    ap.add_argument("--name", default="baselines")
    args = ap.parse_args()
    load_start = os.getloadavg()
    t0 = time.perf_counter()
    folders = [run_folder(f, args.work) for f in args.data]
    result = {"folders": folders, "machine": run_machine(1, load_start), "wall_seconds": round(time.perf_counter() - t0, 1),
              "generated_at": time.strftime("%Y-%m-%d %H:%M:%S")}
    print(save_report(args.out, args.name, result, render_md))


def _f(v: Any) -> Any:
    return round(v, 4) if isinstance(v, float) else ("-" if v is None else v)


def render_md(r: dict[str, Any]) -> str:
    parts = ["# 两个基线模型（逻辑回归、深度 4 决策树）更省的训练：前后对比（research/experiment_baselines.py 生成）", "",
             "LightGBM（服务模型）不受这些改动影响，质量护栏（其与 Oracle 的比值）不变；逻辑回归和决策树的指标列在模型卡和报告里，"
             "所以这里列出改动前后在测试月（不参与训练和选参）上的指标。C 仍在验证月上选。CPU 秒为本进程（单线程）。", "",
             "变体：", ""]
    parts += [f"- `{k}`：{why}" for k, (_, why) in VARIANTS.items()]
    for f in r["folders"]:
        rows = []
        for name, v in f["variants"].items():
            for model, title in (("lr", "逻辑回归"), ("tree", "决策树")):
                m = v[model]
                o, b = m["overall"], m["band"]
                rows.append({"变体": name, "模型": title, "训练行": f"{m['rows']:,}", "CPU 秒": m["cpu"], "墙钟秒": m["wall"],
                             "lbfgs 迭代": "/".join(map(str, m.get("iterations", []))) or "-",
                             "PR-AUC": _f(o["pr_auc"]), "PR-AUC 比": _f(o.get("pr_auc_ratio")),
                             "临界区间 PR-AUC 比": _f(b.get("pr_auc_ratio")), "Brier": _f(o["brier"]),
                             "Brier 比": _f(o.get("brier_ratio")), "期望前1%比": _f(o.get("exp_p1_ratio")),
                             "前1%精确率": _f(o["precision_top1"]), "负载": v["load"]})
        parts += ["", f"## {f['folder']}（测试月 {f['test_month']}，训练行 {f['train_rows']:,}，测试行 {f['test_rows']:,}）", "",
                  md_table(pd.DataFrame(rows))]
    m = r["machine"]
    parts += ["", f"机器：{m['cpus']} 核，{m['platform']}，Python {m['python']}；负载开始 {m['load_average_start']}，"
              f"结束 {m['load_average_end']}；总用时 {r['wall_seconds']} 秒；生成于 {r['generated_at']}。", ""]
    return "\n".join(parts)


if __name__ == "__main__":
    main()

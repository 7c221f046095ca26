"""Where the propensity step's time goes, on the default data (20,000 customers x 24 months).

    python research/profile_propensity.py [--data data] [--db-url duckdb:///data/warehouse.duckdb]
                                         [--rounds 60] [--out bench/results] [--skip-step]

Part 1 runs the build's propensity step once (into a temporary artifacts folder) and reads its own stage
clock (metrics.json "stage_seconds": wall and CPU seconds of this process) and the LightGBM fit's breakdown
(threshold augmentation, each seed-bagged booster with the rounds it trained, merge).
Part 2 prices LightGBM's cost factors on the same augmented training set: every variant trains a fixed
number of rounds (no early stopping) from a fresh Dataset, so seconds per round compare one factor at a time
(rows, threads, histogram bins, row subsampling, features). Part 3 times SHAP on the step's 2,000-row sample.
CPU seconds are the process's (all threads); wall seconds depend on the machine's load, which is recorded.
Writes <out>/profile_propensity.json and .md.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

import lightgbm as lgb  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from benchmarks.experiment import run_machine, save_report  # noqa: E402
from million.fmt import md_table  # noqa: E402
from million.pipeline import BuildContext  # noqa: E402
from million.propensity import step as propensity_step  # noqa: E402
from million.propensity.bundle import ModelBundle  # noqa: E402
from million.propensity.explain import contributions, sample_rows  # noqa: E402
from million.propensity.feature_store import feature_table  # noqa: E402
from million.propensity.features import FEATURE_COLUMNS  # noqa: E402
from million.propensity.labels import labelled_months  # noqa: E402
from million.propensity.split import split_months  # noqa: E402
from million.propensity.train import DEFAULT_PARAMS, augment, make_train_data  # noqa: E402
from million.tables import load_tables  # noqa: E402
from million.warehouse import connect  # noqa: E402

STAGE_TITLES = {
    "features": "特征工程（读仓库、按客户分段建特征与标签、写 features.parquet）",
    "split": "跨时间划分（训练/验证/测试行）",
    "train": "训练三个模型（逻辑回归、决策树、LightGBM）与校准",
    "evaluate": "测试月评估（含读 Oracle）与保存模型",
    "score_latest": "最新月评分",
    "interpretation": "解读与图表（系数、树规则、重要性）",
    "shap": "SHAP（2,000 位潜客的全局解释与图）",
    "reports": "报告与模型卡（HTML、校准图、流程图）",
}


def clocked(fn: Any) -> tuple[Any, float, float]:
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w, time.process_time() - c


def run_step(db_url: str, data: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="million-profile-") as tmp:
        ctx = BuildContext(db_url=db_url, artifacts_dir=Path(tmp), data_dir=data, force=True)
        summary, wall, cpu = clocked(lambda: propensity_step.run(ctx))
        metrics = json.loads((Path(tmp) / "metrics.json").read_text(encoding="utf-8"))["propensity"]
        bundle = ModelBundle.load(Path(tmp) / "propensity" / "models")
        importance = pd.read_csv(Path(tmp) / "propensity" / "lgbm_importance.csv")["feature"].tolist()
        shap = shap_cost(bundle, Path(tmp) / "propensity" / "features.parquet", metrics["latest_month"])
    return {"summary": summary, "customers": bundle.info.get("training_sample", {}).get("customers"),
            "wall": round(wall, 1), "cpu": round(cpu, 1), "stages": metrics["stage_seconds"],
            "model_seconds": metrics["seconds"],
            "model_cpu_seconds": bundle.info.get("cpu_seconds"), "lgbm": bundle.info["details"]["lgbm"], "trees": bundle.lgbm.num_trees(),
            "importance": importance, "shap": shap, "load_after": round(os.getloadavg()[0], 2)}


def variants(importance: list[str]) -> dict[str, tuple[str, dict[str, Any], str]]:
    """name -> (training rows: "augmented" | "real", LightGBM overrides, what it prices)."""
    top = importance[:60]
    return {
        "base": ("augmented", {}, "现行：增广行、123 特征、1 线程、max_bin 127、行抽样 0.8"),
        "real_rows": ("real", {}, "不增广：只用训练月的真实潜客行"),
        "threads_2": ("augmented", {"num_threads": 2}, "2 个线程"),
        "max_bin_63": ("augmented", {"max_bin": 63}, "直方图 63 个箱"),
        "bagging_0.5": ("augmented", {"bagging_fraction": 0.5}, "每轮只用一半行（行抽样 0.5）"),
        "goss": ("augmented", {"data_sample_strategy": "goss", "bagging_fraction": 1.0, "bagging_freq": 0},
                 "GOSS（按梯度抽样）"),
        "top60_features": ("augmented", {"__features": top}, "只用服务模型增益最高的 60 个特征"),
    }


def price(X: np.ndarray, y: np.ndarray, rounds: int, overrides: dict[str, Any], columns: list[str]) -> dict[str, Any]:
    cols = overrides.pop("__features", None)
    if cols is not None:
        idx = [columns.index(c) for c in cols]
        X, columns = X[:, idx], list(cols)
    p = {**DEFAULT_PARAMS["lgbm"], "seed": DEFAULT_PARAMS["seed"], "num_threads": DEFAULT_PARAMS["threads"], **overrides}
    ds, w_ds, c_ds = clocked(lambda: lgb.Dataset(X, y, feature_name=columns, params={"max_bin": p["max_bin"]},
                                                 free_raw_data=False).construct())
    _, w_tr, c_tr = clocked(lambda: lgb.train(p, ds, rounds))
    return {"rows": len(y), "features": len(columns), "dataset_wall": round(w_ds, 2), "dataset_cpu": round(c_ds, 2),
            "round_wall_ms": round(1000 * w_tr / rounds, 1), "round_cpu_ms": round(1000 * c_tr / rounds, 1)}


def lgbm_factors(db_url: str, rounds: int, importance: list[str]) -> dict[str, Any]:
    with connect(db_url) as wh:
        tables = load_tables(wh)
    split = split_months(labelled_months(tables))
    table = feature_table(tables, split.train + split.val + [split.test])
    data = make_train_data(table.loc[table["label"].notna()].reset_index(drop=True), split)
    del table
    rng = np.random.default_rng(DEFAULT_PARAMS["seed"])
    (X, y), w_aug, c_aug = clocked(lambda: augment(data.train_all, DEFAULT_PARAMS["augment_copies"],
                                                   tuple(DEFAULT_PARAMS["augment_growth"]), rng))
    Xr = data.train[FEATURE_COLUMNS].to_numpy(dtype=np.float32)
    yr = data.train["label"].to_numpy(dtype=float)
    out: dict[str, Any] = {"augment_wall": round(w_aug, 2), "augment_cpu": round(c_aug, 2), "rounds": rounds,
                           "variants": {}}
    for name, (rows, overrides, why) in variants(importance).items():
        Xv, yv = (X, y) if rows == "augmented" else (Xr, yr)
        r = price(Xv, yv, rounds, dict(overrides), list(FEATURE_COLUMNS))
        out["variants"][name] = {"why": why, **r, "load": round(os.getloadavg()[0], 2)}
        print(f"  {name}: {r}", flush=True)
    return out


def shap_cost(bundle: ModelBundle, features: Path, latest: str) -> dict[str, Any]:
    """Exact TreeSHAP of the served booster on the step's sample size of latest-month rows (the rest of the
    step's SHAP stage is drawing the charts)."""
    from million.propensity.feature_store import read_features

    rows, _ = read_features(features, latest)
    X = bundle.matrix(sample_rows(rows, propensity_step.SHAP_SAMPLE))
    _, wall, cpu = clocked(lambda: contributions(bundle, X))
    return {"rows": len(X), "trees": bundle.lgbm.num_trees(), "wall": round(wall, 2), "cpu": round(cpu, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT / "data")
    ap.add_argument("--db-url", default=None)
    ap.add_argument("--rounds", type=int, default=60)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    ap.add_argument("--skip-step", action="store_true", help="keep part 1 from the last <name>.json")
    ap.add_argument("--skip-factors", action="store_true", help="keep parts 2-3 from --factors-from")
    ap.add_argument("--factors-from", default="profile_propensity", help="report whose parts 2-3 --skip-factors keeps")
    ap.add_argument("--name", default="profile_propensity", help="report name: <out>/<name>.md")
    ap.add_argument("--compare", default=None, help="an earlier report (name) whose stages to set beside these")
    args = ap.parse_args()
    db_url = args.db_url or f"duckdb:///{args.data / 'warehouse.duckdb'}"
    load_start = os.getloadavg()
    t0 = time.perf_counter()
    if args.skip_step:
        step = json.loads((args.out / f"{args.name}.json").read_text(encoding="utf-8"))["step"]
    else:
        print("第一部分：构建百万概率模型一次 …", flush=True)
        step = run_step(db_url, args.data)
    if args.skip_factors:
        kept = json.loads((args.out / f"{args.factors_from}.json").read_text(encoding="utf-8"))
        factors = {**kept["factors"], "from": f"{args.factors_from}.json（{kept['generated_at']}）"}
    else:
        print("第二部分：LightGBM 各因素的单轮成本 …", flush=True)
        importance = step.get("importance") or []
        factors = lgbm_factors(db_url, args.rounds, importance or list(FEATURE_COLUMNS))
    result = {"step": step, "params": DEFAULT_PARAMS, "factors": factors, "machine": run_machine(1, load_start),
              "wall_seconds": round(time.perf_counter() - t0, 1), "generated_at": time.strftime("%Y-%m-%d %H:%M:%S")}
    if args.compare:
        result["before"] = before_of(args.out, args.compare)
    print(save_report(args.out, args.name, result, render_md))


def before_of(out: Path, name: str) -> dict[str, Any]:
    """What a comparison needs of an earlier report: its stages, step totals, parameters and load."""
    old = json.loads((out / f"{name}.json").read_text(encoding="utf-8"))
    return {"name": name, "generated_at": old["generated_at"], "stages": old["step"]["stages"],
            "wall": old["step"]["wall"], "cpu": old["step"]["cpu"], "load_end": old["machine"]["load_average_end"]}


def compare_rows(before: dict[str, Any], step: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for k in step["stages"]:
        a, b = before["stages"].get(k, {}), step["stages"][k]
        rows.append({"阶段": STAGE_TITLES.get(k, k), "改动前 CPU 秒": a.get("cpu"), "改动后 CPU 秒": b["cpu"],
                     "CPU 倍数": round(a["cpu"] / b["cpu"], 1) if a.get("cpu") and b["cpu"] else "-",
                     "改动前墙钟秒": a.get("wall"), "改动后墙钟秒": b["wall"]})
    rows.append({"阶段": "合计（整个步骤）", "改动前 CPU 秒": before["cpu"], "改动后 CPU 秒": step["cpu"],
                 "CPU 倍数": round(before["cpu"] / step["cpu"], 1), "改动前墙钟秒": before["wall"], "改动后墙钟秒": step["wall"]})
    return rows


def render_md(r: dict[str, Any]) -> str:
    st, f = r["step"], r["factors"]
    lg = st["lgbm"]
    stage_rows = [{"阶段": STAGE_TITLES.get(k, k), "墙钟秒": v["wall"], "CPU 秒": v["cpu"],
                   "CPU 占比": f"{v['cpu'] / max(st['cpu'], 1e-9):.1%}"} for k, v in st["stages"].items()]
    stage_rows.append({"阶段": "合计（整个步骤）", "墙钟秒": st["wall"], "CPU 秒": st["cpu"], "CPU 占比": "100%"})
    ms = st["model_seconds"]
    cs = st.get("model_cpu_seconds") or {}
    boosters = lg.get("booster_seconds", [])
    # rounds trained: early stopping ends `patience` rounds after the best one (or at max_rounds)
    params = r.get("params") or DEFAULT_PARAMS
    patience = params["early_stopping"]
    trained = [min(b + patience, params["max_rounds"]) for b in lg["best_iterations"]]
    lgbm_rows = [
        {"部分": "阈值增广（生成增广行）", "墙钟秒": lg.get("augment_seconds"), "说明": f"{lg['train_rows']:,} 行（真实潜客行 {lg['train_rows_real']:,}）"},
        *[{"部分": f"booster {i + 1}" + ("（种子装袋）" if len(boosters) > 1 else ""), "墙钟秒": s,
           "说明": f"训练 {t} 轮，最佳 {b} 轮，早停耐心 {patience} 轮占 {patience / t:.0%}"}
          for i, (s, t, b) in enumerate(zip(boosters, trained, lg["best_iterations"], strict=False))],
        {"部分": "合并 booster", "墙钟秒": lg.get("merge_seconds"), "说明": f"合并后 {st['trees']} 棵树"},
        {"部分": "逻辑回归 / 决策树", "墙钟秒": f"{ms.get('lr')} / {ms.get('tree')}",
         "说明": "逻辑回归含两个 C 的拟合" + (f"；CPU 秒：逻辑回归 {cs.get('lr')}，决策树 {cs.get('tree')}，"
                                          f"LightGBM {cs.get('lgbm')}" if cs else "")},
    ]
    base = f["variants"]["base"]
    factor_rows = [{"变体": k, "含义": v["why"], "行数": f"{v['rows']:,}", "特征": v["features"],
                    "建 Dataset 墙钟秒": v["dataset_wall"], "每轮 CPU 毫秒": v["round_cpu_ms"], "每轮墙钟毫秒": v["round_wall_ms"],
                    "每轮 CPU 相对现行": round(v["round_cpu_ms"] / base["round_cpu_ms"], 2), "负载": v["load"]}
                   for k, v in f["variants"].items()]
    sh = st["shap"]
    total_trained = sum(trained)
    return "\n".join([
        "# 百万概率模型步骤的耗时剖析（research/profile_propensity.py 生成）", "",
        f"{'默认数据（' if not st.get('customers') or st['customers'] == 20000 else '模拟数据（'}"
        f"{st.get('customers') or 20000:,} 位客户 × 24 个月）。CPU 秒是本进程（所有线程）的 CPU 时间，墙钟秒受机器负载影响（见文末负载）。"
        + ("训练参数：" + json.dumps({k: r["params"][k] for k in ("bag_seeds", "early_stopping", "augment_copies")},
                                ensure_ascii=False) + "，LightGBM " + json.dumps(
            {k: r["params"]["lgbm"][k] for k in ("learning_rate", "bagging_fraction", "max_bin")}) + "。"
           if r.get("params") else ""), "",
        "## 一、整个步骤按阶段", "", md_table(pd.DataFrame(stage_rows)), "",
        *([f"### 与改动前（{r['before']['name']}.md，{r['before']['generated_at']}，结束时负载 {r['before']['load_end']}）对比", "",
           md_table(pd.DataFrame(compare_rows(r["before"], st))), "",
           "墙钟秒随机器负载变化很大（两次测量时本机都另有其他任务），比较请看 CPU 秒。", ""] if r.get("before") else []),
        "## 二、LightGBM 的组成（同一次构建）", "", md_table(pd.DataFrame(lgbm_rows)), "",
        f"{len(trained)} 个 booster 共训练 {total_trained} 轮，其中 {patience * len(trained)} 轮（{patience * len(trained) / max(total_trained, 1):.0%}）"
        "是最佳轮之后为早停而多训练、随后被丢弃的轮。", "",
        f"## 三、LightGBM 各因素的单轮成本（同一份增广训练集，各训练 {f['rounds']} 轮，不早停）", "",
        *([f"本节取自 {f['from']}。", ""] if f.get("from") else []),
        f"阈值增广本身：墙钟 {f['augment_wall']} 秒，CPU {f['augment_cpu']} 秒。", "",
        md_table(pd.DataFrame(factor_rows)), "",
        "## 四、SHAP", "",
        f"服务模型（{sh['trees']} 棵树）对 {sh['rows']:,} 行做精确 TreeSHAP：墙钟 {sh['wall']} 秒，CPU {sh['cpu']} 秒；"
        f"步骤中 SHAP 阶段其余时间是画图。", "",
        f"机器：{r['machine']['cpus']} 核，{r['machine']['platform']}，Python {r['machine']['python']}，LightGBM {r['machine']['lightgbm']}；"
        f"负载开始 {r['machine']['load_average_start']}，结束 {r['machine']['load_average_end']}；总用时 {r['wall_seconds']} 秒；"
        f"生成于 {r['generated_at']}。", "",
    ])


if __name__ == "__main__":
    main()

"""Build step "propensity": features -> labels -> out-of-time split -> three models -> calibration ->
evaluation against the naive baseline and the oracle -> SHAP, charts, reports, model card ->
latest-month scores.

Outputs (under the artifacts folder):
  metrics.json                          key "propensity" (other steps keep their own keys)
  propensity/features.parquet (+ .meta.json)   every customer-month with a 3-month lookback, with labels
  propensity/models/                    lr.joblib, tree.joblib, lgbm.txt, bundle.json
  propensity/scores_latest.parquet      customer_id, as_of, probability (read by the segments step)
  propensity/model_card.md, report.html, report_lr.html, report_tree.html
  propensity/charts/*.png, propensity/*.txt|csv|json  (coefficients, rules, importances, SHAP)
"""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm import tqdm

from million.artifacts import write_metadata
from million.charts import save_png
from million.contract import MILLION
from million.errors import DataInsufficient
from million.memory import give_back
from million.pipeline import BuildContext, Step
from million.propensity import plots
from million.propensity.bundle import MODEL_KEYS, SERVED_MODEL, ModelBundle
from million.propensity.diagram import mermaid, pipeline_graph, svg
from million.propensity.evaluate import check_targets, evaluate, expected_top1, oracle_mismatch, read_oracles
from million.propensity.explain import contributions, global_importance, sample_rows
from million.propensity.feature_labels import format_value, labels
from million.propensity.feature_store import CHUNK_CUSTOMERS, TRAIN_CUSTOMERS, stream_features
from million.propensity.features import FEATURE_COLUMNS
from million.propensity.interpret import (
    importance_text,
    lgbm_importance,
    lr_coefficients,
    lr_coefficients_text,
    lr_sentences,
    tree_rules,
    tree_rules_text,
    tree_text,
)
from million.propensity.labels import labelled_months
from million.propensity.model_card import render_model_card
from million.propensity.paths import SUBDIR, artifacts_paths
from million.propensity.reports import data_uri, write_reports
from million.propensity.scoring import score_features
from million.propensity.split import split_months
from million.propensity.train import DEFAULT_PARAMS, make_train_data, train_models
from million.tables import warehouse_months

SHAP_SAMPLE = 2000
PARK_LATEST_ROWS = 200_000  # a latest month larger than this waits on disk while the models train
# Scale (see feature_store): features a range of customers at a time, training on a capped sample.
SCALE_PARAMS: dict[str, Any] = {"chunk_customers": CHUNK_CUSTOMERS, "train_customers": TRAIN_CUSTOMERS}


def update_metrics_json(path: Path, key: str, value: dict[str, Any]) -> None:
    """Replace our key in the shared metrics.json, keeping other steps' keys."""
    current: dict[str, Any] = {}
    if path.exists():
        try:
            current = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            current = {}
    current[key] = value
    path.write_text(json.dumps(current, ensure_ascii=False, indent=2, default=str), encoding="utf-8")


class StageClock:
    """Wall and CPU seconds (this process, all threads) of each stage of the step, in metrics.json
    "stage_seconds": where the build's time goes."""

    def __init__(self) -> None:
        self.stages: dict[str, dict[str, float]] = {}
        self._wall, self._cpu = time.perf_counter(), time.process_time()

    def lap(self, name: str) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        self.stages[name] = {"wall": round(wall - self._wall, 2), "cpu": round(cpu - self._cpu, 2)}
        self._wall, self._cpu = wall, cpu


def _say(text: str) -> None:
    tqdm.write(text)


def _oracle(ctx: BuildContext, month: str) -> tuple[pd.Series | None, pd.Series | None, str | None]:
    """(p_true, p_check, why ignored) from the data folder's oracle.csv, used only when it belongs to the
    warehouse's data (its customers are that month's prospects)."""
    p_true, p_check = read_oracles(ctx.data_dir, month)
    if p_true is None:
        return None, None, None
    prospects = ctx.wh.query("SELECT customer_id FROM customer_behavior_assets WHERE stat_month = ? AND total_assets < ?",
                             [month, MILLION])["customer_id"].astype(str)
    ignored = oracle_mismatch(p_true.index, pd.Index(prospects))
    return (None, None, ignored) if ignored else (p_true, p_check, None)


def run(ctx: BuildContext) -> dict[str, Any]:
    paths = artifacts_paths(ctx.artifacts_dir)
    for p in (paths["dir"], paths["models"], paths["charts"]):
        p.mkdir(parents=True, exist_ok=True)
    params = {**DEFAULT_PARAMS, **SCALE_PARAMS, **ctx.params.get("propensity", {})}
    bar = ctx.progress(total=9, desc="百万概率模型")
    clock = StageClock()
    months = warehouse_months(ctx.wh)
    if not months:
        raise DataInsufficient("数据仓库中没有客户月度数据，无法训练模型")
    latest = months[-1]

    bar.set_postfix_str("特征工程")
    feats = (ctx.feature_stream or stream_features)(ctx.wh, paths["features"], data_hash=ctx.data_hash, latest=latest,
                            chunk_customers=int(params["chunk_customers"]), train_customers=params["train_customers"],
                            seed=int(params["seed"]), progress=ctx.progress)
    labelled, latest_feats = feats["labelled"], feats["latest"]
    # The Spark engine scores every prospect on the cluster (million/spark/build.py) instead of here.
    score_latest = feats.get("score_latest")
    n_customers, sampled, features_reused = feats["customers"], feats["sample"], feats["reused"]
    if features_reused:
        _say(f"特征：复用 {paths['features']}（同一数据、同一特征代码与抽样设置）")
    clock.lap("features")
    bar.update(1)

    bar.set_postfix_str("跨时间划分")
    split = split_months(labelled_months(months))
    data = make_train_data(labelled, split, keep_val_all=bool(params.get("refit")))
    del labelled, feats
    # The latest month waits on disk while the models train: at 1M customers it is 1 GB of the stage's peak.
    parked = paths["dir"] / ".latest_features.parquet"
    parked.unlink(missing_ok=True)  # a run that failed mid-training may have left one
    park = latest_feats is not None and len(latest_feats) > PARK_LATEST_ROWS
    if park:
        latest_feats.to_parquet(parked, index=False)
        latest_feats = None
    give_back()
    clock.lap("split")
    bar.update(1)

    bar.set_postfix_str("训练三个模型")
    bundle = train_models(data, params, tick=lambda k: bar.set_postfix_str(f"训练 {k}"))
    bundle.info["training_sample"] = {"customers": n_customers, "sampled": sampled}
    clock.lap("train")
    bar.update(1)

    bar.set_postfix_str("评估")
    p_true, p_check, ignored = _oracle(ctx, split.test)
    metrics = evaluate(bundle, data.test, data.val, p_true, p_check)
    if ignored:
        metrics["oracle_ignored"] = ignored
    targets = check_targets(metrics)
    oot_auc = {k: metrics["overall"][k].get("roc_auc") for k in MODEL_KEYS}
    bundle.info.update({"oot_auc": oot_auc, "oot_pr_auc": {k: metrics["overall"][k].get("pr_auc") for k in MODEL_KEYS},
                        "data_hash": ctx.data_hash, "test_month": split.test})
    bundle.save(paths["models"])
    base_rate = float(data.train["label"].mean())
    del data  # the training rows are GBs at bank scale: gone before the latest month is scored
    give_back()
    clock.lap("evaluate")
    bar.update(1)

    bar.set_postfix_str("最新月评分")
    if park:
        latest_feats = pd.read_parquet(parked)
        parked.unlink()
    shap_rows = None
    if score_latest is None:
        scores = score_features(bundle, latest_feats)
    else:  # million_scores' latest month, and only the feature rows the SHAP charts need
        scores, latest_feats, shap_rows = score_latest(bundle)
    scores.to_parquet(paths["scores"], index=False)
    clock.lap("score_latest")
    bar.update(1)

    bar.set_postfix_str("解读与图表")
    texts = _interpretation(bundle, paths, base_rate)
    clock.lap("interpretation")
    bar.update(1)

    bar.set_postfix_str("SHAP")
    shap_info = _shap(bundle, paths, latest_feats, scores, latest, shap_rows)
    clock.lap("shap")
    bar.update(1)

    bar.set_postfix_str("报告与模型卡")
    built_at = dt.datetime.now().isoformat(timespec="seconds")
    ctx_report = {
        "data_hash": ctx.data_hash, "built_at": built_at, "latest_month": latest, "first_month": months[0],
        "months": len(months), "customers": n_customers,
        "features": FEATURE_COLUMNS, "metrics": metrics, "targets": targets, "split": split.as_dict(),
        "rows": bundle.info["rows"], "positives": bundle.info["positives"], "seconds": bundle.info["seconds"],
        "bundle_info": bundle.info, "training_sample": bundle.info.get("training_sample"),
    }
    cal_png = save_png(plots.calibration_chart(metrics["overall"]), paths["charts"] / "calibration.png")
    graph = pipeline_graph({"split": split.as_dict(), "customers": ctx_report["customers"], "months": len(months),
                            "n_features": len(FEATURE_COLUMNS), "latest_month": latest,
                            "best_iteration": bundle.info["details"]["lgbm"]["best_iteration"]})
    img = {name: data_uri((paths["charts"] / f"{name}.png").read_bytes())
           for name in ("lr_coefficients", "tree", "lgbm_importance", "shap_beeswarm", "shap_bar", "shap_waterfall")}
    img["calibration"] = data_uri(cal_png)
    write_reports(paths["dir"], {
        **ctx_report, "img": img, "diagram_svg": svg(*graph), "mermaid": mermaid(*graph),
        "example_id": shap_info["example_id"], "coefs": texts["coefs"].to_dict("records"),
        "intercept": texts["intercept"], "C": bundle.info["details"]["lr"]["C"],
        "sentences": texts["sentences"], "rules": texts["rules"], "tree_text": texts["tree_text"],
    })
    paths["card"].write_text(render_model_card(ctx_report), encoding="utf-8")
    clock.lap("reports")
    bar.update(1)

    summary_metrics = {
        "test_month": split.test, "split": split.as_dict(), "test": metrics, "val": bundle.info["validation"],
        "targets": targets, "expected_top1_vs_oracle": expected_top1(metrics), "served_model": SERVED_MODEL, "oot_auc": oot_auc, "seconds": bundle.info["seconds"],
        "data_hash": ctx.data_hash, "built_at": built_at, "latest_month": latest,
        "latest_prospects": int(len(scores)), "stage_seconds": clock.stages, "features_reused": features_reused,
    }
    update_metrics_json(paths["metrics"], "propensity", summary_metrics)
    write_metadata(paths["models"] / "metadata.json", features=FEATURE_COLUMNS, data_hash=ctx.data_hash,
                   metrics={"oot_auc": oot_auc, "targets": targets}, split=split.as_dict(),
                   served_model=SERVED_MODEL, latest_month=latest)
    bar.update(1)
    bar.close()
    lg = metrics["overall"][SERVED_MODEL]
    passed = [t["passed"] for t in targets if t["passed"] is not None]
    return {"测试月": split.test, "AUC": round(lg.get("roc_auc", float("nan")), 3),
            "PR-AUC": round(lg.get("pr_auc", float("nan")), 3),
            "目标": f"{sum(passed)}/{len(passed)}" if passed else "无Oracle", "潜客": len(scores)}


def _interpretation(bundle: ModelBundle, paths: dict[str, Path], base_rate: float) -> dict[str, Any]:
    """LR coefficients, tree rules and LightGBM importance: printed, saved as text/CSV and charts."""
    d, charts = paths["dir"], paths["charts"]
    coefs = lr_coefficients(bundle)
    intercept = float(bundle.lr.named_steps["lr"].intercept_[0])
    text = lr_coefficients_text(coefs, intercept)
    (d / "lr_coefficients.txt").write_text(text, encoding="utf-8")
    coefs.to_csv(d / "lr_coefficients.csv", index=False)
    save_png(plots.lr_coefficients_chart(coefs), charts / "lr_coefficients.png")
    _say("\n".join(text.splitlines()[:12]) + "\n……（完整列表见 propensity/lr_coefficients.txt）")

    rules = tree_rules(bundle)
    ttext = tree_text(bundle)
    rtext = tree_rules_text(rules, base_rate)
    (d / "tree_rules.txt").write_text(ttext + "\n\n" + rtext, encoding="utf-8")
    save_png(plots.tree_chart(bundle.tree, labels(bundle.features)), charts / "tree.png", dpi=80)
    _say(rtext)

    imp = lgbm_importance(bundle)
    itext = importance_text(imp)
    (d / "lgbm_importance.txt").write_text(itext, encoding="utf-8")
    imp.to_csv(d / "lgbm_importance.csv", index=False)
    save_png(plots.importance_chart(imp, "gain_share", "LightGBM 特征重要性（信息增益占比）", "增益占比"),
             charts / "lgbm_importance.png")
    _say("\n".join(itext.splitlines()[:16]))
    return {"coefs": coefs, "intercept": intercept, "sentences": lr_sentences(coefs), "rules": rules,
            "tree_text": ttext}


def _shap(bundle: ModelBundle, paths: dict[str, Path], latest_feats: pd.DataFrame, scores: pd.DataFrame,
          latest: str, sample: pd.DataFrame | None = None) -> dict[str, Any]:
    """Global SHAP on the latest month's prospects (what drives today's list) and one waterfall.
    `sample`: the rows sample_rows picks, when `latest_feats` holds only those and the top prospect's."""
    pros = latest_feats.loc[latest_feats["customer_id"].isin(scores["customer_id"])]
    sample = sample_rows(pros, SHAP_SAMPLE) if sample is None else sample
    X = bundle.matrix(sample)
    phi, _ = contributions(bundle, X)
    imp = global_importance(bundle, X, phi)
    names = labels(bundle.features)
    save_png(plots.shap_beeswarm_chart(phi, X, names), paths["charts"] / "shap_beeswarm.png")
    save_png(plots.shap_bar_chart(imp), paths["charts"] / "shap_bar.png")
    paths["shap"].write_text(json.dumps({"as_of": latest, "rows": len(sample),
                                         "features": imp.to_dict("records")}, ensure_ascii=False, indent=1),
                             encoding="utf-8")
    _say("SHAP 全局重要性（平均|SHAP|）前10：\n" + "\n".join(
        f"{i:>2}. {r.label}  {r.mean_abs_shap:.4f}" for i, r in enumerate(imp.head(10).itertuples(), 1)))
    example_id = str(scores["customer_id"].iloc[0]) if len(scores) else ""
    if example_id:
        row = pros.loc[pros["customer_id"] == example_id].iloc[0]
        x = row[bundle.features].to_numpy(dtype=float)
        p1, b1 = contributions(bundle, x.reshape(1, -1))
        disp = [format_value(f, v) for f, v in zip(bundle.features, x, strict=True)]
        fig = plots.shap_waterfall_chart(p1[0], float(b1[0]), x, names, disp,
                                         f"客户 {example_id} 的预测解释（{latest}）")
        save_png(fig, paths["charts"] / "shap_waterfall.png")
    else:
        save_png(plots.importance_chart(imp.head(1), "mean_abs_shap", "无潜客", ""), paths["charts"] / "shap_waterfall.png")
    return {"example_id": example_id, "importance": imp}


STEP = Step(
    name="propensity",
    title="百万概率模型",
    sources=["million/propensity", "million/contract.py", "million/tables.py", "million/charts.py", "million/fmt.py"],
    outputs=[f"{SUBDIR}/models/bundle.json", f"{SUBDIR}/models/lgbm.txt", f"{SUBDIR}/scores_latest.parquet",
             f"{SUBDIR}/model_card.md", f"{SUBDIR}/report.html", f"{SUBDIR}/shap_global.json", "metrics.json"],
    run=run,
    params={**DEFAULT_PARAMS, **SCALE_PARAMS},
)

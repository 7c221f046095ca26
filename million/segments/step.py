"""Build step "segments": features -> k -> KMeans -> names -> profiles and plans -> artifacts + table."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import joblib
import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from million.artifacts import write_metadata
from million.fmt import md_table, pct, wan
from million.pipeline import BuildContext, Step
from million.segments import store
from million.segments.features import CLUSTER_FEATURES, FEATURE_LABELS, feature_matrix, read_customer_frame
from million.segments.fit import KSelection, choose_k, fit_model
from million.segments.naming import name_segments, zscores
from million.segments.plan import marketing_plan
from million.segments.profile import PROFILE_MEANS, load_propensity, profile_segments
from million.segments.report import k_selection_chart, render_html

PARAMS: dict[str, Any] = {"k_min": 3, "k_max": 8, "default_k": 4, "tolerance": 0.02, "silhouette_sample": 4000,
                          "n_init": 10, "k": None}
NAMING_COLUMNS = ["age", *CLUSTER_FEATURES]


def run(ctx: BuildContext) -> dict[str, Any]:
    p = {**PARAMS, **ctx.params.get("segments", {})}
    df = read_customer_frame(ctx.wh)
    feats = feature_matrix(df)
    ksel, scaler, km, labels = fit_segments(feats, p)
    naming = df[NAMING_COLUMNS].astype(float)
    z = zscores(naming.groupby(labels).mean(), naming.mean(), naming.std())
    names = name_segments(z)
    propensity, why = load_propensity(ctx.artifacts_dir)
    profiles = profile_segments(df, labels, names, propensity, why)
    overall = {k: float(df[c].mean()) for k, c in PROFILE_MEANS.items()}
    seg_names = [n["name"] for n in names]
    assignments = df[["customer_id", "stat_month", "age", "occupation_type", "branch_name", *CLUSTER_FEATURES]].copy()
    assignments.insert(1, "segment_id", labels)
    assignments.insert(2, "segment_name", [seg_names[i] for i in labels])
    assignments = assignments.rename(columns={"stat_month": "as_of_month"})
    sizes = [int((labels == i).sum()) for i in range(len(seg_names))]

    def write_table(table: pd.DataFrame) -> None:
        with ctx.writer() as wh:
            wh.replace_tables({store.TABLE: table}, ddl={store.TABLE: store.table_ddl(wh.dialect)})

    return publish(ctx, p, Fitted(ksel, scaler, km), z, names, profiles, overall, str(df["stat_month"].max()),
                   sizes, len(df), int(df.attrs["base_customers"] - len(df)), assignments, write_table)


@dataclass
class Fitted:
    ksel: KSelection
    scaler: StandardScaler
    km: KMeans


def fit_segments(feats: pd.DataFrame, p: dict[str, Any]) -> tuple[KSelection, StandardScaler, KMeans, np.ndarray]:
    """k by silhouette and the KMeans fit on `feats` (rows in customer_id order); labels of those rows."""
    # One thread: OpenMP/BLAS threads fighting other processes on a 2-core box made KMeans 20x slower.
    with threadpool_limits(1):
        ksel = choose_k(StandardScaler().fit_transform(feats.to_numpy()), (p["k_min"], p["k_max"]), p["default_k"],
                        p["tolerance"], p["silhouette_sample"])
        if p["k"]:
            ksel.chosen_k = int(p["k"])
            ksel.reason += f"；构建参数指定 k={ksel.chosen_k}"
        scaler, km, labels = fit_model(feats, ksel.chosen_k, n_init=p["n_init"])
    return ksel, scaler, km, labels


def publish(ctx: BuildContext, p: dict[str, Any], fitted: Fitted, z: pd.DataFrame, names: list[dict],
            profiles: list[dict], overall: dict[str, float], as_of: str, sizes: list[int], n_customers: int,
            without_behavior: int, assignments: pd.DataFrame | None,
            write_table: Callable[[pd.DataFrame], None] | None) -> dict[str, Any]:
    """Plans, the model, its metadata, the report and (when given) the per-customer assignments and the
    customer_segments table: what the segments step writes, from the fit and the aggregates."""
    out = store.folder(ctx.artifacts_dir)
    out.mkdir(parents=True, exist_ok=True)
    ksel, scaler, km = fitted.ksel, fitted.scaler, fitted.km
    for prof in profiles:
        prof["plan"] = marketing_plan(prof, overall)
        prof["zscores"] = {c: round(float(z.loc[prof["segment_id"], c]), 3) for c in NAMING_COLUMNS}
    seg_names = [n["name"] for n in names]
    if assignments is not None:
        assignments.to_parquet(out / store.ASSIGNMENTS, index=False)

    centers = pd.DataFrame(scaler.inverse_transform(km.cluster_centers_), columns=list(CLUSTER_FEATURES))
    joblib.dump({"scaler": scaler, "kmeans": km, "features": list(CLUSTER_FEATURES), "names": seg_names},
                out / store.MODEL)
    metrics = {"k": ksel.chosen_k, "silhouette": dict(zip(ksel.ks, ksel.silhouette, strict=True)),
               "inertia": float(km.inertia_), "sizes": dict(zip(seg_names, sizes, strict=True))}
    write_metadata(out / store.MODEL_META, features=list(CLUSTER_FEATURES), data_hash=ctx.data_hash, metrics=metrics,
                   model="sklearn KMeans + StandardScaler", as_of_month=as_of, n_customers=n_customers,
                   customers_without_behavior=without_behavior, params=p,
                   centers=centers.round(2).to_dict("records"))
    chart = k_selection_chart(ksel, out / store.K_CHART)
    doc = {"as_of_month": as_of, "data_hash": ctx.data_hash, "features": list(CLUSTER_FEATURES),
           "feature_labels": {k: v[0] for k, v in FEATURE_LABELS.items()}, "k_selection": ksel.as_dict(),
           "overall": overall, "segments": profiles}
    (out / store.PROFILES).write_text(json.dumps(doc, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    html = render_html(profiles, ksel, [FEATURE_LABELS[f][0] for f in CLUSTER_FEATURES], chart, as_of=as_of,
                       n_customers=n_customers, data_hash=ctx.data_hash,
                       generated=dt.datetime.now().isoformat(timespec="seconds"))
    (out / store.REPORT_HTML).write_text(html, encoding="utf-8")
    (out / store.REPORT_MD).write_text(segment_table_md(profiles, ksel.reason), encoding="utf-8")

    if assignments is not None and write_table is not None:
        table = assignments[["customer_id", "segment_id", "segment_name", "as_of_month", "total_assets",
                             "monthly_income", "product_count"]].copy()
        table["total_assets"] = table["total_assets"].round(2)
        write_table(table)
    return {"k": ksel.chosen_k, "客群": "、".join(f"{n}({c})" for n, c in zip(seg_names, sizes, strict=True))}


def segment_table_md(profiles: list[dict], reason: str) -> str:
    rows = pd.DataFrame([{
        "编号": p["segment_id"], "客群": p["segment_name"], "人数": f"{p['size']:,}", "占比": pct(p["share"]),
        "平均年龄": f"{p['avg_age']:.1f}", "平均月收入": wan(p["avg_income"]), "平均AUM": wan(p["avg_aum"]),
        "理财复购": f"{p['avg_repurchase']:.2f}", "信用卡月消费": wan(p["avg_card_spend"]),
        "产品数": f"{p['avg_product_count']:.2f}", "APP登录": f"{p['avg_app_logins']:.1f}",
        "主要职业": "、".join(p["top_occupations"]), "潜客占比": pct(p["prospect_share"]),
        "平均百万概率": p["avg_propensity_text"]} for p in profiles])
    return f"# 客群概览\n\n{reason}。\n\n{md_table(rows, 50)}\n"


STEP = Step(
    name="segments",
    title="客户分群",
    sources=["million/segments", "million/tables.py", "million/contract.py"],
    outputs=[f"{store.SUBDIR}/{f}" for f in (store.MODEL, store.MODEL_META, store.ASSIGNMENTS, store.PROFILES,
                                             store.REPORT_HTML)],
    run=run,
    params=PARAMS,
)

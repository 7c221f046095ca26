"""Build step "forecast": total/segment/branch series -> backtest and method choice -> 12-month
forecasts; a 500-customer backtest decides the per-customer method the service fits on demand."""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed

from million.artifacts import write_metadata
from million.contract import BEHAVIOR
from million.fmt import md_table, pct
from million.forecast import store
from million.forecast.backtest import HOLDOUT, METHODS, MIN_FIT, best_method, evaluate, window_scores
from million.forecast.charts import forecast_chart
from million.forecast.models import AGGREGATE_GRID, CUSTOMER_DRIFT, CUSTOMER_GRID, METHOD_NAMES, forecast
from million.forecast.results import ForecastLevel, make_result
from million.forecast.series import CustomerSeries, Series, combine_sums, group_sums, series_from_sums
from million.pipeline import BuildContext, Step
from million.segments import store as seg_store
from million.tables import customer_ids, customer_ranges, load_tables
from million.warehouse import Warehouse

# max_branch_series: None forecasts every 支行 and 分行; a number keeps the largest by latest AUM (tests).
PARAMS: dict[str, Any] = {"customer_sample": 500, "reference_sample": 100, "seed": 42, "n_jobs": 2,
                          "max_branch_series": None}


def _eval_aggregate(values: np.ndarray) -> dict:
    ev = evaluate(values, AGGREGATE_GRID)
    fc = forecast(ev["selected"], values, store.MAX_HORIZON, AGGREGATE_GRID)
    return {"evaluation": ev, "forecast": fc.as_dict()}


def _eval_customers(chunk: list[tuple[str, np.ndarray, bool]]) -> list[dict]:
    """The three methods as served; for the reference subset also ARIMA with the drift term, so the
    report shows why customers are fitted without it."""
    out = []
    for cid, y, reference in chunk:
        s = window_scores(y, len(y), CUSTOMER_GRID, with_drift=CUSTOMER_DRIFT)
        ref = (window_scores(y, len(y), CUSTOMER_GRID, methods=("arima",), with_drift=not CUSTOMER_DRIFT)
               if reference else {"mape": {"arima": None}, "arima_label": None})
        out.append({"customer_id": cid, "months": len(y), "arima_label": s["arima_label"],
                    **{f"mape_{m}": s["mape"][m] for m in METHODS},
                    "mape_arima_alt": ref["mape"]["arima"], "arima_alt_label": ref["arima_label"]})
    return out


def _parallel(n_jobs: int):
    return Parallel(n_jobs=max(1, min(n_jobs, os.cpu_count() or 1)), backend="loky")


SERIES_BEHAVIOR_COLUMNS = ("customer_id", "stat_month", "total_assets")
SERIES_BASE_COLUMNS = ("customer_id", "branch_name")
SERIES_CHUNK = 200_000  # customers read at a time (three columns: about 1 GiB at 24 months)


def customer_sample(months_per_customer: dict[str, int], size: int, seed: int) -> list[str]:
    """Customers with enough months for a 3-month holdout after 6 months of fitting."""
    eligible = sorted(cid for cid, n in months_per_customer.items() if n >= MIN_FIT + HOLDOUT)
    return sorted(eligible[i] for i in sample_positions(len(eligible), size, seed))


def sample_positions(eligible: int, size: int, seed: int) -> list[int]:
    """Which of the eligible customers (positions in customer_id order) customer_sample draws."""
    rng = np.random.default_rng(seed)
    return [int(i) for i in rng.choice(eligible, size=min(size, eligible), replace=False)] if eligible else []


def read_series(wh: Warehouse, segments: pd.DataFrame | None, size: int, seed: int,
                chunk_customers: int = SERIES_CHUNK) -> tuple[list[Series], list[str], CustomerSeries, list[str]]:
    """The aggregate series, the customer sample and the sample's own series, reading three columns a
    range of customers at a time (the warehouse may not fit in memory)."""
    counts = wh.query(f"SELECT customer_id, COUNT(*) AS n FROM {BEHAVIOR} GROUP BY customer_id")
    sample = customer_sample(dict(zip(counts["customer_id"].astype(str), counts["n"].astype(int), strict=True)),
                             size, seed)
    wanted = set(sample)
    sums, kept, months = [], [], set()
    for lo, hi in customer_ranges(customer_ids(wh), chunk_customers):
        t = load_tables(wh, customers=(lo, hi), behavior_columns=SERIES_BEHAVIOR_COLUMNS,
                        base_columns=SERIES_BASE_COLUMNS)
        sums.append(group_sums(t.behavior, t.base, segments))
        months.update(t.behavior["stat_month"].astype(str).unique().tolist())
        kept.append(t.behavior.loc[t.behavior["customer_id"].astype(str).isin(wanted)])
    if not sums:
        return [], [], CustomerSeries(pd.DataFrame(columns=list(SERIES_BEHAVIOR_COLUMNS))), []
    series = series_from_sums(combine_sums(sums), sorted(months))
    return series, sample, CustomerSeries.from_behavior(pd.concat(kept, ignore_index=True)), sorted(months)


def summarize_customers(bt: pd.DataFrame) -> dict:
    cols = [f"mape_{m}" for m in METHODS]
    ok = bt.dropna(subset=cols)
    if ok.empty:
        return {"n": 0, "policy": "arima", "why": "样本客户没有可回测的序列，默认使用 ARIMA"}
    med = {m: float(ok[f"mape_{m}"].median()) for m in METHODS}
    mean = {m: float(ok[f"mape_{m}"].mean()) for m in METHODS}
    policy = best_method(med) or "arima"
    why = (f"{len(ok)} 位样本客户最近3个月回测的 MAPE 中位数：ARIMA {pct(med['arima'], 2)}、漂移 {pct(med['drift'], 2)}、"
           f"朴素 {pct(med['naive'], 2)}；客户级预测采用 {METHOD_NAMES[policy]}")
    if policy != "arima":
        why += "（ARIMA 在客户样本上不如该方法，已回退）"
    sub = ok.dropna(subset=["mape_arima_alt"])
    alt_info = {}
    if len(sub):
        alt_info = {"alt_n": int(len(sub)), "alt_median": float(sub["mape_arima_alt"].median()),
                    "alt_mean": float(sub["mape_arima_alt"].mean()),
                    "alt_base_median": float(sub["mape_arima"].median()),
                    "alt_naive_median": float(sub["mape_naive"].median()),
                    "alt_drift_chosen_share": float(sub["arima_alt_label"].astype(str).str.contains("漂移").mean())}
    return {"n": int(len(ok)), "median": med, "mean": mean, "policy": policy, "why": why, **alt_info,
            "arima_beats_naive_share": float((ok["mape_arima"] < ok["mape_naive"]).mean()),
            "arima_beats_drift_share": float((ok["mape_arima"] < ok["mape_drift"]).mean())}


def run(ctx: BuildContext) -> dict[str, Any]:
    p = {**PARAMS, **ctx.params.get("forecast", {})}
    out = store.folder(ctx.artifacts_dir)
    out.mkdir(parents=True, exist_ok=True)
    seg_path = seg_store.folder(ctx.artifacts_dir) / seg_store.ASSIGNMENTS
    segments = (pd.read_parquet(seg_path, columns=["customer_id", "segment_id", "segment_name"])
                if seg_path.exists() else None)
    series, sample, cs, months = read_series(ctx.wh, segments, int(p["customer_sample"]), int(p["seed"]))
    return fit_and_publish(ctx, p, series, sample, cs, months)


def fit_and_publish(ctx: BuildContext, p: dict[str, Any], series: list[Series], sample: list[str], cs: CustomerSeries,
                    months: list[str]) -> dict[str, Any]:
    """Backtests, method choice and forecasts of the aggregate series, the customer sample's backtest, and
    every artifact the forecast step writes (the series and the sample's series as read_series returns them)."""
    out = store.folder(ctx.artifacts_dir)
    out.mkdir(parents=True, exist_ok=True)
    if p["max_branch_series"] is not None:
        branches = sorted((s for s in series if s.level == "branch"), key=lambda s: -s.values[-1])
        keep = {s.key for s in branches[: int(p["max_branch_series"])]}
        series = [s for s in series if s.level != "branch" or s.key in keep]
    rng = np.random.default_rng(int(p["seed"]) + 1)
    ref = set(rng.choice(sample, size=min(int(p["reference_sample"]), len(sample)), replace=False).tolist()
              if sample else [])
    chunks = [[(cid, cs.get(cid)[1], cid in ref) for cid in sample[i:i + 25]] for i in range(0, len(sample), 25)]
    par = _parallel(int(p["n_jobs"]))
    results = par([delayed(_eval_aggregate)(s.values) for s in series] + [delayed(_eval_customers)(c) for c in chunks])
    agg_results, cust_results = results[: len(series)], results[len(series):]

    entries: dict[str, dict] = {}
    for s, r in zip(series, agg_results, strict=True):
        ev = r["evaluation"]
        test = ev["test"]["mape"] if ev["test"] else None
        entries[s.key] = {"level": s.level, "name": s.name, "label": s.label, "months": s.months,
                          "history": [round(float(v), 2) for v in s.values], "selected": ev["selected"],
                          "selected_by": ev["selected_by"], "note": ev["note"], "test": test,
                          "validation": ev["validation"]["mape"] if ev["validation"] else None,
                          "arima_label_test": ev["test"]["arima_label"] if ev["test"] else None,
                          "backtest_mape": test.get(ev["selected"]) if test else None, "forecast": r["forecast"]}
    bt = pd.DataFrame([row for chunk in cust_results for row in chunk],
                      columns=["customer_id", "months", "arima_label", *[f"mape_{m}" for m in METHODS],
                               "mape_arima_alt", "arima_alt_label"])
    bt.to_parquet(out / store.CUSTOMER_BACKTEST, index=False)
    customers = summarize_customers(bt)
    as_of = months[-1] if months else ""
    doc = {"as_of_month": as_of, "data_hash": ctx.data_hash, "holdout_months": HOLDOUT, "min_months": MIN_FIT,
           "series": entries, "customers": customers, "customer_grid": [list(g) for g in CUSTOMER_GRID],
           "aggregate_grid": [list(g) for g in AGGREGATE_GRID]}
    (out / store.AGGREGATES).write_text(json.dumps(doc, ensure_ascii=False, default=float), encoding="utf-8")
    (out / store.REPORT).write_text(report(doc), encoding="utf-8")
    if "total" in entries:
        e = entries["total"]
        forecast_chart(make_result(level=ForecastLevel.TOTAL, label="全行", months=e["months"], history=e["history"],
                                   fc=e["forecast"], horizon=3, backtest=None, backtest_mape=e["backtest_mape"]),
                       out / store.TOTAL_CHART)
    key_series = {k: {"selected": v["selected"], "test": v["test"]} for k, v in entries.items()
                  if v["level"] in ("total", "segment")}
    write_metadata(out / store.META, features=["total_assets"], data_hash=ctx.data_hash,
                   metrics={"series": key_series, "customers": customers}, params=p, as_of_month=as_of,
                   n_series=len(entries))
    beats = beats_naive(entries)
    return {"序列数": len(entries), "样本客户": customers["n"], "客户方法": customers["policy"],
            "优于朴素": f"{sum(beats.values())}/{len(beats)}"}


def beats_naive(entries: dict[str, dict]) -> dict[str, bool]:
    """For the total and each segment: does the method in use beat naive on the last 3 months?"""
    out = {}
    for k, e in entries.items():
        if e["level"] in ("total", "segment") and e["test"]:
            used, nv = e["test"].get(e["selected"]), e["test"].get("naive")
            out[k] = used is not None and nv is not None and (used < nv or e["selected"] == "naive")
    return out


def _row(e: dict) -> dict:
    t = e["test"] or {}
    def f(m: str) -> str:
        return pct(t[m], 2) if t.get(m) is not None else "-"
    used = e["selected"]
    naive_v, used_v = t.get("naive"), t.get(used)
    verdict = "-" if used_v is None or naive_v is None else ("是" if used_v < naive_v else
                                                              ("持平（即朴素）" if used == "naive" else "否"))
    return {"序列": e["label"], "ARIMA（回测阶数）": f"{f('arima')}（{e.get('arima_label_test') or '-'}）",
            "朴素": f("naive"), "漂移": f("drift"),
            "采用方法": f"{METHOD_NAMES[used]}（{'更早窗口选定' if e['selected_by'] == 'validation' else '同窗口选定'}）",
            "采用方法MAPE": f(used), "优于朴素": verdict}


def report(doc: dict) -> str:
    entries = doc["series"]
    months = entries["total"]["months"] if "total" in entries else []
    hold = months[-HOLDOUT:] if months else []
    lines = ["# AUM 预测回测报告", "",
             f"数据截至 {doc['as_of_month']}。回测留出最近 {HOLDOUT} 个月（{'、'.join(hold)}），比较 ARIMA（ADF 检验定差分阶数，"
             f"AIC 在小网格 (p,q)∈{doc['aggregate_grid']} 中选阶）、朴素预测（上月值）和漂移预测（平均月变化外推）的 MAPE。",
             "总量、客群和分行的序列先在更早的窗口（倒数第6-4个月）上比较三种方法并选定一种，再在最近3个月上报告，"
             "避免“用同一窗口既选又评”的乐观偏差；服务使用选定的方法在全部历史上重新拟合。", "",
             "## 总量与各客群", ""]
    key = [e for e in entries.values() if e["level"] in ("total", "segment")]
    lines.append(md_table(pd.DataFrame([_row(e) for e in key]), 50))
    beats = beats_naive(entries)
    losers = [entries[k]["label"] for k, ok in beats.items() if not ok]
    lines += ["", f"所用预测在 {sum(beats.values())}/{len(beats)} 个序列（总量与客群）上优于朴素预测。"
              + (f"未优于朴素的：{'、'.join(losers)}。" if losers else "")]
    non_arima = [e["label"] + f"（{METHOD_NAMES[e['selected']]}）" for e in key if e["selected"] != "arima"]
    if non_arima:
        lines.append(f"这些序列在选择窗口上 ARIMA 不是最优，已改用更好的基准方法：{'、'.join(non_arima)}。")
    br = [e for e in entries.values() if e["level"] == "branch"]
    if br:
        b_beats = sum(1 for e in br if e["test"] and e["test"].get(e["selected"]) is not None
                      and e["test"]["naive"] is not None and e["test"][e["selected"]] < e["test"]["naive"])
        lines += ["", "## 分行", "", f"{len(br)} 个分行/支行序列中，所用预测在 {b_beats} 个上优于朴素预测。", "",
                  md_table(pd.DataFrame([_row(e) for e in br]), 100)]
    c = doc["customers"]
    lines += ["", f"## 客户样本（随机 {c['n']} 位、至少 {MIN_FIT + HOLDOUT} 个月历史）", ""]
    if c["n"]:
        lines.append(md_table(pd.DataFrame([{"方法": METHOD_NAMES[m], "MAPE中位数": pct(c["median"][m], 2),
                                              "MAPE均值": pct(c["mean"][m], 2)} for m in METHODS])))
        lines += ["", f"ARIMA 优于朴素的客户占 {pct(c['arima_beats_naive_share'])}，优于漂移的占 "
                      f"{pct(c['arima_beats_drift_share'])}。{c['why']}。",
                  "客户级预测在服务时按需拟合（客户网格 (p,q)∈"
                  f"{doc['customer_grid']}，d=1 时不含漂移项），结果缓存；构建时只回测样本，不为全部客户建模。"]
        if "alt_median" in c:
            lines.append(f"对照：在其中 {c['alt_n']} 位客户上若允许漂移项，AIC 为 {pct(c['alt_drift_chosen_share'])} 的客户选中漂移，"
                         f"MAPE 中位数 {pct(c['alt_median'], 2)}（同一批客户不含漂移的 ARIMA 为 {pct(c['alt_base_median'], 2)}，"
                         f"朴素为 {pct(c['alt_naive_median'], 2)}）。个别大额转入会抬高平均月变化，"
                         "漂移外推因此偏高；不含漂移时 AR/MA 项反映近期动量。")
    else:
        lines.append(c["why"])
    return "\n".join(lines) + "\n"


STEP = Step(
    name="forecast",
    title="AUM预测",
    sources=["million/forecast", "million/tables.py"],
    outputs=[f"{store.SUBDIR}/{f}" for f in (store.AGGREGATES, store.CUSTOMER_BACKTEST, store.META, store.REPORT)],
    run=run,
    params=PARAMS,
)

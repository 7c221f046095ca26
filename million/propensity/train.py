"""Fit the three models on the training months, early-stop and calibrate on the validation months.

- Logistic regression: signed-log money amounts, standardised, L2 strength chosen on validation.
- Decision tree of depth 4 (readable rules).
- LightGBM, early stopping on validation log-loss, optionally seed-bagged (`bag_seeds` = K, 1 by default
  since the cost experiment of #23, bench/results/speed.md): K boosters that differ only in their seed
  (bagging and feature fractions below 1, so seeds matter), each early-stopped on its own, merged into one booster whose raw log-odds are the mean of theirs
  (`merge_boosters`), so SHAP, importance and serving see one ordinary model. Its training set is
  widened by *threshold augmentation*: besides the real question "will AUM reach 1M", every training
  customer-month also answers "will AUM reach M'" for random M' above its current AUM (the threshold
  features are recomputed for M', the answer comes from the same T+1..T+3 months). Lump-sum inflows
  and saving happen at every wealth level, so this teaches the model how AUM grows from all customers,
  not only from the few hundred who cross 1M each month. Validation, calibration and testing use the
  real 1M question only.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

from million.contract import MILLION
from million.errors import DataInsufficient
from million.propensity.bundle import ModelBundle, SignedLog
from million.propensity.calibration import fit_platt
from million.propensity.evaluate import evaluate_val
from million.propensity.features import FEATURE_COLUMNS, MONEY_FEATURES, SMOOTH, threshold_features
from million.propensity.split import MonthSplit

# max_depth bounds the cost of exact TreeSHAP (per tree ~ leaves x depth^2), so explaining one customer
# online stays at a few milliseconds. learning_rate 0.1, bagging_fraction 0.5 and max_bin 63 (with
# early_stopping 30, augment_copies 1 and bag_seeds 1 below) replaced 0.05 / 0.8 / 127 (100, 2, 3): chosen
# by a rule fixed in advance as the cheapest setting that keeps quality on the default data and seeds 1-4
# (research/experiment_speed.py, bench/results/speed.md).
LGBM_PARAMS: dict[str, Any] = {
    "objective": "binary", "learning_rate": 0.1, "num_leaves": 63, "max_depth": 7, "min_data_in_leaf": 100,
    "feature_fraction": 0.8, "bagging_fraction": 0.5, "bagging_freq": 1, "lambda_l2": 1.0, "max_bin": 63,
    "verbose": -1,
}
DEFAULT_PARAMS: dict[str, Any] = {
    "lgbm": LGBM_PARAMS, "max_rounds": 3000, "early_stopping": 30,
    # threshold augmentation: copies per customer-month, and the range of required growth M'/AUM - 1
    "augment_copies": 1, "augment_growth": (0.01, 1.5),
    "lr_C": (0.01, 0.1), "tree_min_leaf": 100, "seed": 42,
    # rows the two baseline models (LR, depth-4 tree) train on: all (None) or a uniform sample of this many.
    # 300k: the default data (212k rows) trains on all of them; at 100k customers (1.05M rows) it cut LR + tree
    # from 86 to ~15 CPU s with their test metrics kept (research/experiment_baselines.py, bench/results/baselines.md)
    "baseline_rows": 300_000,
    # one thread: with OpenMP, two threads on a busy 2-core machine wait on each other and run slower
    "threads": 1,
    # seed bagging: LightGBM boosters with seeds seed, seed+1, ... averaged in log-odds (1 = a single model).
    # K = 3 was chosen on the validation months by a rule fixed in advance (research/experiment_bagging.py,
    # bench/results/bagging.md) for +0.006 validation precision@1% at 3x the cost; the cost experiment of
    # #23 (bench/results/speed.md) found a single cheaper booster keeps the test-month quality.
    "bag_seeds": 1,
    # refit the served models on training + validation months (refit_on_validation). Off: a backtest on
    # three earlier pseudo-test months, with a rule fixed in advance, found it lowers PR-AUC and
    # precision@1% (research/experiment_refit.py, bench/results/refit.md).
    "refit": False,
}


@dataclass
class TrainData:
    """Prospect rows with labels by role, plus all customers' train rows for augmentation."""
    train: pd.DataFrame
    val: pd.DataFrame
    test: pd.DataFrame
    train_all: pd.DataFrame  # every customer (also >= 1M) in the training months, with future_max_assets
    split: MonthSplit
    extra: dict[str, Any] = field(default_factory=dict)
    # every customer in the validation months (augmentation rows for the refit); None: not kept
    val_all: pd.DataFrame | None = None


def make_train_data(labelled_all: pd.DataFrame, split: MonthSplit, keep_val_all: bool = False) -> TrainData:
    """`labelled_all`: features + future_max_assets + label for every customer-month with a known future.
    `keep_val_all`: also keep every customer of the validation months (only the refit needs them)."""
    # masks, not an intermediate copy of the prospects: the sample's labelled rows are GBs at bank scale
    pros = (labelled_all["aum_cur"] < MILLION).to_numpy()
    month = labelled_all["as_of"]
    return TrainData(
        train=labelled_all.loc[pros & month.isin(split.train).to_numpy()].reset_index(drop=True),
        val=labelled_all.loc[pros & month.isin(split.val).to_numpy()].reset_index(drop=True),
        test=labelled_all.loc[pros & (month == split.test).to_numpy()].reset_index(drop=True),
        train_all=labelled_all.loc[labelled_all["as_of"].isin(split.train)].reset_index(drop=True),
        split=split,
        val_all=labelled_all.loc[labelled_all["as_of"].isin(split.val)].reset_index(drop=True) if keep_val_all else None,
    )


def augment(train_all: pd.DataFrame, copies: int, growth: tuple[float, float],
            rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The real 1M rows of prospects plus `copies` pseudo-threshold rows per customer-month."""
    is_pros = (train_all["aum_cur"] < MILLION).to_numpy()
    xs = [_float32_rows(train_all, is_pros)]
    ys = [train_all["label"].to_numpy(dtype=float)[is_pros]]
    rich = train_all.loc[train_all["aum_cur"] > SMOOTH]
    cols = {c: i for i, c in enumerate(FEATURE_COLUMNS)}
    base = _float32_rows(rich, np.ones(len(rich), bool))
    aum = rich["aum_cur"].to_numpy(dtype=float)
    fmax = rich["future_max_assets"].to_numpy(dtype=float)
    lo, hi = np.log(growth[0]), np.log(growth[1])
    for _ in range(copies):
        thr = aum * (1 + np.exp(rng.uniform(lo, hi, aum.size)))
        x = base.copy()
        for name, values in threshold_features(rich, thr).items():
            x[:, cols[name]] = values
        xs.append(x)
        ys.append((fmax >= thr).astype(float))
    return np.concatenate(xs), np.concatenate(ys)


def _float32_rows(df: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
    """df.loc[rows, FEATURE_COLUMNS].to_numpy(np.float32), a column at a time: the same numbers without a float64
    copy of the rows first (1.3 GB at 1M customers, at the build's peak)."""
    out = np.empty((int(rows.sum()), len(FEATURE_COLUMNS)), dtype=np.float32)
    for j, c in enumerate(FEATURE_COLUMNS):
        out[:, j] = df[c].to_numpy()[rows]
    return out


def _fit_one_lgbm(X: np.ndarray, y: np.ndarray, val: pd.DataFrame, params: dict[str, Any],
                  seed: int) -> tuple[lgb.Booster, int]:
    """One booster with `seed`, early-stopped on the validation months and cut at its best iteration,
    and the number of rounds trained (best + the early-stopping patience, or max_rounds)."""
    p = {**params["lgbm"], "seed": seed, "num_threads": params["threads"]}
    dtrain = lgb.Dataset(X, y, feature_name=FEATURE_COLUMNS, free_raw_data=True)
    dval = lgb.Dataset(val[FEATURE_COLUMNS].to_numpy(dtype=np.float32), val["label"].to_numpy(), reference=dtrain)
    booster = lgb.train(p, dtrain, params["max_rounds"], valid_sets=[dval],
                        callbacks=[lgb.early_stopping(params["early_stopping"], verbose=False)])
    best = booster.best_iteration or booster.current_iteration()
    # lgb.train already cut the returned booster at the best iteration; training stopped `early_stopping`
    # rounds after it, or at max_rounds
    trained = min(best + int(params["early_stopping"]), int(params["max_rounds"]))
    # keep only the trees up to the best iteration, so every later predict uses exactly those
    return lgb.Booster(model_str=booster.model_to_string(num_iteration=best)), trained


def fit_lgbm_boosters(data: TrainData, params: dict[str, Any], k: int,
                      on_booster: Callable[[int, float], None] = lambda _i, _s: None
                      ) -> tuple[list[lgb.Booster], dict[str, Any]]:
    """k boosters on the same augmented training set, with seeds seed, seed+1, ..., seed+k-1, and the
    training-set details. `on_booster(i, seconds)` is called after each one (timing for experiments)."""
    t0 = time.perf_counter()
    rng = np.random.default_rng(params["seed"])
    X, y = augment(data.train_all, params["augment_copies"], tuple(params["augment_growth"]), rng)
    augment_s = time.perf_counter() - t0
    boosters, seconds, trained = [], [], []
    for i in range(k):
        t0 = time.perf_counter()
        booster, rounds = _fit_one_lgbm(X, y, data.val, params, params["seed"] + i)
        boosters.append(booster)
        trained.append(rounds)
        seconds.append(round(time.perf_counter() - t0, 2))
        on_booster(i, seconds[-1])
    return boosters, {"train_rows": len(y), "train_rows_real": int(len(data.train)),
                      "train_positive_rate": float(y.mean()), "augment_seconds": round(augment_s, 2),
                      "booster_seconds": seconds, "rounds_trained": trained}


_TREE_HEADER = re.compile(r"^Tree=\d+$", re.M)
_SCALED_LINES = re.compile(r"^(leaf_value|internal_value)=(.*)$", re.M)


def _model_parts(text: str) -> tuple[str, list[str], str]:
    """(header, tree blocks without their "Tree=i" line, tail from "end of trees") of a model string."""
    end = text.index("end of trees")
    heads = list(_TREE_HEADER.finditer(text, 0, end))
    if not heads:
        raise ValueError("LightGBM 模型中没有树")
    blocks = [text[h.end():(heads[j + 1].start() if j + 1 < len(heads) else end)] for j, h in enumerate(heads)]
    return text[:heads[0].start()], blocks, text[end:]


def _merge_feature_infos(lines: list[str]) -> str:
    """Union of the boosters' per-feature [min:max] ranges (they can differ: bins come from a sample
    drawn with the seed)."""
    per = [line.split("=", 1)[1].split(" ") for line in lines]
    out = []
    for infos in zip(*per, strict=True):
        ranges = [tuple(float(v) for v in i[1:-1].split(":")) for i in infos if i.startswith("[") and ":" in i]
        if ranges and len(ranges) == len(infos):
            lo, hi = min(r[0] for r in ranges), max(r[1] for r in ranges)
            out.append(f"[{lo!r}:{hi!r}]")
        else:  # "none" (a feature never split on) or categorical lists: keep the first informative one
            out.append(next((i for i in infos if i != "none"), infos[0]))
    return "feature_infos=" + " ".join(out)


def merge_boosters(boosters: list[lgb.Booster]) -> lgb.Booster:
    """One booster whose raw score is the mean of the boosters' raw scores: all their trees, with every
    leaf value (and internal node value) scaled by 1/K. Exact TreeSHAP (`pred_contrib`) is linear in
    the leaf values, so the merged booster's SHAP values are the mean of the boosters' too."""
    if len(boosters) == 1:
        return boosters[0]
    scale = 1.0 / len(boosters)
    parts = [_model_parts(b.model_to_string()) for b in boosters]
    headers = [p[0] for p in parts]
    keys = ("version", "num_class", "num_tree_per_iteration", "label_index", "max_feature_idx", "objective",
            "feature_names")
    for h in headers[1:]:
        for key in keys:
            if re.search(rf"^{key}=.*$", h, re.M)[0] != re.search(rf"^{key}=.*$", headers[0], re.M)[0]:
                raise ValueError(f"无法合并 LightGBM 模型：{key} 不一致")

    def scaled(match: re.Match[str]) -> str:
        return f"{match[1]}=" + " ".join(repr(float(v) * scale) for v in match[2].split(" "))

    trees = []
    for _, blocks, _ in parts:
        for block in blocks:
            if re.search(r"^is_linear=1$", block, re.M):
                raise ValueError("无法合并线性树（linear_tree）模型")
            trees.append(f"Tree={len(trees)}" + _SCALED_LINES.sub(scaled, block))
    infos = [re.search(r"^feature_infos=.*$", h, re.M)[0] for h in headers]
    # tree_sizes (byte length of each tree, for parallel loading) is optional: LightGBM parses without it
    header = re.sub(r"^tree_sizes=.*\n", "", headers[0], flags=re.M)
    header = header.replace(infos[0], _merge_feature_infos(infos))
    tail = parts[0][2]
    # feature_importances of the first booster would be wrong; LightGBM recomputes them when saving
    tail = re.sub(r"feature_importances:\n(?:.+\n)*\n?", "", tail)
    return lgb.Booster(model_str=header + "".join(trees) + tail)


def fit_lgbm(data: TrainData, params: dict[str, Any]) -> tuple[lgb.Booster, dict[str, Any]]:
    k = int(params.get("bag_seeds", 1))
    if k < 1:
        raise ValueError("bag_seeds 至少为 1")
    boosters, info = fit_lgbm_boosters(data, params, k)
    bests = [b.current_iteration() for b in boosters]
    t0 = time.perf_counter()
    booster = merge_boosters(boosters)
    info["merge_seconds"] = round(time.perf_counter() - t0, 2)
    return booster, {
        # one booster: its early-stopping round; several: each booster's round, e.g. "412/398/455"
        "best_iteration": bests[0] if k == 1 else "/".join(map(str, bests)),
        "best_iterations": bests, "bag_seeds": k, "seeds": [params["seed"] + i for i in range(k)],
        "trees": booster.num_trees(), **info,
    }


def _lr_pipeline(C: float) -> Pipeline:
    money = tuple(FEATURE_COLUMNS.index(c) for c in MONEY_FEATURES)
    return Pipeline([("log", SignedLog(money)), ("scale", StandardScaler()),
                     ("lr", LogisticRegression(C=C, max_iter=3000))])


def baseline_rows(data: TrainData, params: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Training matrix and labels of the two baseline models (LR, depth-4 tree): every training row, or a
    uniform sample of `params["baseline_rows"]` rows (seeded) when there are more. LightGBM always sees all."""
    cap = params.get("baseline_rows")
    rows = data.train
    if cap is not None and len(rows) > int(cap):
        pick = np.sort(np.random.default_rng(params["seed"]).choice(len(rows), int(cap), replace=False))
        rows = rows.iloc[pick]
    return rows[FEATURE_COLUMNS].to_numpy(dtype=float), rows["label"].to_numpy()


def fit_lr(data: TrainData, params: dict[str, Any]) -> tuple[Pipeline, dict[str, Any]]:
    """One L2 strength per C in params["lr_C"], the best on the validation months kept. The log transform
    and the scaler do not depend on C, so they are fitted once; each C after the first starts from the
    previous solution (lbfgs warm start: the same optimum, fewer iterations)."""
    X, y = baseline_rows(data, params)
    Xv, yv = data.val[FEATURE_COLUMNS].to_numpy(dtype=float), data.val["label"].to_numpy()
    prep = _lr_pipeline(1.0)[:-1]
    Xs = prep.fit_transform(X)
    Xvs = prep.transform(Xv)
    del X
    best: tuple[float, float, LogisticRegression] | None = None
    prev: LogisticRegression | None = None
    iters = []
    for C in sorted(params["lr_C"]):  # L2 strength chosen on the validation months, never on the test month
        lr = LogisticRegression(C=C, max_iter=3000, warm_start=prev is not None)
        if prev is not None:
            lr.coef_, lr.intercept_ = prev.coef_.copy(), prev.intercept_.copy()
        lr.fit(Xs, y)
        lr.warm_start = False
        iters.append(int(lr.n_iter_[0]))
        ap = average_precision_score(yv, lr.decision_function(Xvs))
        if best is None or ap > best[0]:
            best = (ap, C, lr)
        prev = lr
    assert best is not None
    pipe = Pipeline([*prep.steps, ("lr", best[2])])
    return pipe, {"C": best[1], "val_pr_auc": best[0], "rows": len(y), "iterations": iters}


def fit_tree(data: TrainData, params: dict[str, Any]) -> tuple[DecisionTreeClassifier, dict[str, Any]]:
    tree = DecisionTreeClassifier(max_depth=4, min_samples_leaf=params["tree_min_leaf"],
                                  random_state=params["seed"])
    X, y = baseline_rows(data, params)
    tree.fit(X.astype(np.float32), y)
    return tree, {"leaves": int(tree.get_n_leaves()), "rows": len(y)}


def refit_on_validation(validated: ModelBundle, data: TrainData, params: dict[str, Any]) -> ModelBundle:
    """The three models fitted again on the training AND validation months, with everything the
    validation months chose kept: LR's C, each LightGBM seed's early-stopping round count, the tree's
    settings, and the Platt calibrators (fitted on the validated models' out-of-time scores).

    The idea: the validation months are the most recent labelled ones, and leaving them out of the served
    model wastes about a fifth of the rows. Measured, it does not pay (bench/results/refit.md), so it is off
    by default; kept for that experiment and for data where it may. The test month stays out of every fit."""
    if data.val_all is None:
        raise ValueError("缺少验证月的全部客户行，无法在训练+验证月上重新拟合")
    params = {**DEFAULT_PARAMS, **params}
    t0 = time.perf_counter()
    train_all = pd.concat([data.train_all, data.val_all], ignore_index=True)
    full = TrainData(pd.concat([data.train, data.val], ignore_index=True), data.val, data.test, train_all,
                     data.split)
    details = validated.info["details"]
    lr = _lr_pipeline(details["lr"]["C"]).fit(full.train[FEATURE_COLUMNS].to_numpy(dtype=float),
                                              full.train["label"].to_numpy())
    tree, _ = fit_tree(full, params)
    rng = np.random.default_rng(params["seed"])
    X, y = augment(train_all, params["augment_copies"], tuple(params["augment_growth"]), rng)
    dtrain = lgb.Dataset(X, y, feature_name=FEATURE_COLUMNS, free_raw_data=False)
    boosters = []
    for i, rounds in enumerate(details["lgbm"]["best_iterations"]):
        p = {**params["lgbm"], "seed": params["seed"] + i, "num_threads": params["threads"]}
        boosters.append(lgb.train(p, dtrain, int(rounds)))
    booster = merge_boosters(boosters)
    info = {**validated.info, "seconds": {**validated.info["seconds"], "refit": round(time.perf_counter() - t0, 2)}}
    info["refit"] = {"months": data.split.train + data.split.val, "rows_real": len(full.train),
                     "rows_lgbm": len(y), "rounds": [int(r) for r in details["lgbm"]["best_iterations"]],
                     "trees": booster.num_trees()}
    return ModelBundle(FEATURE_COLUMNS, lr, tree, booster, dict(validated.calibrators), info)


def train_models(data: TrainData, params: dict[str, Any] | None = None,
                 tick: Callable[[str], None] = lambda _s: None) -> ModelBundle:
    """Fit on the training months, choose and calibrate on the validation months; with params["refit"]
    the served models are then refitted on training + validation months (`refit_on_validation`).
    info["validation"] holds the validated models' metrics on the validation months (out of time)."""
    params = {**DEFAULT_PARAMS, **(params or {})}
    if data.train["label"].nunique() < 2 or data.val["label"].nunique() < 2:
        counts = "，".join(f"{name} {len(d):,} 个潜客样本中 {int(d['label'].sum()):,} 个达到100万"
                          for name, d in (("训练期", data.train), ("验证期", data.val)))
        raise DataInsufficient(f"{counts}；两类样本都要有才能训练模型，请提供更长或更多客户的数据")
    seconds: dict[str, float] = {}
    cpu_seconds: dict[str, float] = {}  # this process, all threads: comparable on a busy machine
    fitted: dict[str, Any] = {}
    details: dict[str, Any] = {}
    for key, fit in (("lr", fit_lr), ("tree", fit_tree), ("lgbm", fit_lgbm)):
        tick(key)
        t0, c0 = time.perf_counter(), time.process_time()
        fitted[key], details[key] = fit(data, params)
        seconds[key] = round(time.perf_counter() - t0, 2)
        cpu_seconds[key] = round(time.process_time() - c0, 2)
    bundle = ModelBundle(FEATURE_COLUMNS, fitted["lr"], fitted["tree"], fitted["lgbm"], {}, {})
    Xv, yv = bundle.matrix(data.val), data.val["label"].to_numpy()
    bundle.calibrators = {k: fit_platt(bundle.raw_logit(k, Xv), yv) for k in ("lr", "tree", "lgbm")}
    bundle.info = {
        "split": data.split.as_dict(), "seconds": seconds, "cpu_seconds": cpu_seconds, "details": details,
        "params": {k: (list(v) if isinstance(v, tuple) else v) for k, v in params.items()},
        "rows": {"train": len(data.train), "val": len(data.val), "test": len(data.test)},
        "positives": {"train": int(data.train["label"].sum()), "val": int(data.val["label"].sum()),
                      "test": int(data.test["label"].sum())},
    }
    bundle.info["validation"] = evaluate_val(bundle, data.val)
    if params.get("refit"):
        tick("refit")
        bundle = refit_on_validation(bundle, data, params)
    return bundle

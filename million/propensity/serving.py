"""Online access to the million-AUM propensity model for the assistant's tools.

Public API (stable names; other modules call these):

    svc = PropensityService.load(artifacts_dir: Path, wh: Warehouse)
        Loads the models once and scores the latest month (features built by the same function as
        training, from the last 3 months in the warehouse); the scores are read from million_scores
        instead when `build --engine spark` wrote this model's scores of that month there
        (million.propensity.cluster_scores). Later calls re-read the warehouse only when its version
        token changes (checked at most every few seconds).

    svc.predict(customer_id: str) -> Prediction          (million.propensity.results)
        status PredictStatus: PROSPECT | ALREADY_MILLION | INSUFFICIENT_HISTORY | UNKNOWN, the customer's
        facts at the latest month and, for a prospect, the calibrated probability and its rank.
        Never raises for any input: unknown IDs, short histories and odd strings get a status.

    svc.top(n=20, branch_name=None, segment=None, include_cool=False) -> pandas.DataFrame
        Prospects by probability: rank, customer_id, name, branch_name, total_assets, gap_to_million,
        probability, in_cool_period, cool_period_until (+ segment_id, segment_name with `segment`).
        `rank` is the bank-wide rank. `branch_name` is an exact branch (上海分行外滩支行) or, when none is
        called that, a part of the name (上海分行 = all its sub-branches).
        `segment` matches customer_segments.segment_name or segment_id. ProspectListError (a ValueError
        naming a ListProblem) for a bad n, an unknown segment / branch, or before customer_segments exists.

    svc.explain(customer_id, top_k=6) -> Explanation
        the prediction, factors_for / factors_against (Factor: feature, label, value, value_text, shap,
        impact), base_value and base_probability. SHAP values are exact TreeSHAP parts of the calibrated
        log-odds: base_value + Σ shap = logit(probability).

    svc.waterfall_png(customer_id) -> bytes   SHAP waterfall (Chinese labels); ValueError for a customer
                                              that is not a scored prospect.
    svc.global_explanation(top_k=10) -> GlobalExplanation   mean |SHAP| ranking on the latest month's
                                              prospects (GlobalFactor: rank, feature, label, mean_abs_shap, mean_shap)
    svc.global_png() -> bytes                 the same as a bar chart.

`customer_id` is untrusted: it is only a dictionary key here (no SQL text, no file path).
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from million.charts import render_png
from million.chartspec import Chart, waterfall_spec
from million.contract import CUSTOMER_ID_MAX, MILLION, asset_level
from million.propensity import plots
from million.propensity.bundle import MODEL_TITLES, SERVED_MODEL, ModelBundle
from million.propensity.cluster_scores import SCORES_TABLE, cluster_scores
from million.propensity.explain import contributions, local_explanation, probability_scale
from million.propensity.feature_labels import format_value, labels
from million.propensity.features import LOOKBACK, build_features
from million.propensity.paths import artifacts_paths
from million.propensity.results import (
    Explanation,
    GlobalExplanation,
    GlobalFactor,
    ListProblem,
    Prediction,
    PredictStatus,
    ProspectListError,
)
from million.propensity.scoring import latest_month, load_window, score_features
from million.warehouse import Warehouse

SEGMENTS_TABLE = "customer_segments"
MAX_TOP = 1000
MAX_ID_ECHO = 2 * CUSTOMER_ID_MAX  # an echoed unknown ID is cut (it may be anything a user typed)
SHAP_CACHE = 4096


@dataclass
class _Snapshot:
    as_of: str
    customers: pd.DataFrame  # index customer_id: name, branch_name, months, total_assets, cool, prob, rank
    features: pd.DataFrame  # index customer_id: feature rows of the latest month
    X: np.ndarray  # the same rows as a matrix in the model's feature order (fast single-row access)
    row_of: dict[str, int]
    n_prospects: int
    token: str


class PropensityService:
    REFRESH_EVERY_S = 5.0

    def __init__(self, artifacts_dir: Path, wh: Warehouse, bundle: ModelBundle) -> None:
        self.artifacts_dir = Path(artifacts_dir)
        self.wh = wh
        self.bundle = bundle
        self._paths = artifacts_paths(self.artifacts_dir)
        self._lock = threading.RLock()
        self._checked = 0.0
        self._snap: _Snapshot | None = None
        self._bundle_mtime = self._model_mtime()
        self._global: dict[str, Any] | None = None
        self._parts: OrderedDict[str, tuple[np.ndarray, float]] = OrderedDict()  # SHAP per customer, LRU
        self.scores_from = ""  # "million_scores" (the cluster's scores of this model) or "here"

    # -- loading -----------------------------------------------------------------------------
    @classmethod
    def load(cls, artifacts_dir: Path, wh: Warehouse) -> PropensityService:
        paths = artifacts_paths(Path(artifacts_dir))
        if not (paths["models"] / "bundle.json").exists():
            raise FileNotFoundError("百万概率模型尚未训练：请先运行 make artifacts（commands/build.py）")
        svc = cls(Path(artifacts_dir), wh, ModelBundle.load(paths["models"]))
        svc._snap = svc._snapshot()
        svc._checked = time.monotonic()
        return svc

    def _model_mtime(self) -> float:
        p = self._paths["models"] / "bundle.json"
        return p.stat().st_mtime if p.exists() else 0.0

    def _snapshot(self) -> _Snapshot:
        token = self.wh.version_token()
        month = latest_month(self.wh)
        if month is None:
            raise ValueError("数据仓库中没有客户行为数据")
        tables = load_window(self.wh, month)
        feats = build_features(tables, [month])
        scores = cluster_scores(self.wh, self.bundle, month, feats)  # scored once on Spark (--engine spark)
        self.scores_from = SCORES_TABLE if scores is not None else "here"
        if scores is None:
            scores = score_features(self.bundle, feats)
        beh = tables.behavior
        last = beh.loc[beh["stat_month"] == month].set_index("customer_id")
        c = tables.base.set_index("customer_id")[[k for k in ("name", "branch_name", "gender")
                                                  if k in tables.base.columns]].copy()
        c["months"] = beh.groupby("customer_id").size().reindex(c.index).fillna(0).astype(int)
        c["total_assets"] = last["total_assets"].reindex(c.index)
        f = feats.set_index("customer_id")
        c["in_cool"] = f["in_cool_period"].reindex(c.index).fillna(0).astype(bool)
        c["cool_until"] = last["marketing_cool_period"].reindex(c.index)
        s = scores.set_index("customer_id")
        c["probability"] = s["probability"].reindex(c.index)
        c["rank"] = c["probability"].rank(ascending=False, method="min")
        c["has_features"] = c.index.isin(f.index)
        X = f[self.bundle.features].to_numpy(dtype=float)
        self._parts.clear()
        return _Snapshot(month, c, f, X, {cid: i for i, cid in enumerate(f.index)}, len(scores), token)

    def refresh(self, force: bool = False) -> None:
        """Re-score when the warehouse or the models changed (cheap when nothing did)."""
        with self._lock:
            now = time.monotonic()
            if not force and now - self._checked < self.REFRESH_EVERY_S:
                return
            self._checked = now
            mtime = self._model_mtime()
            if force or mtime != self._bundle_mtime:
                self.bundle = ModelBundle.load(self._paths["models"])
                self._bundle_mtime = mtime
                self._global = None
                force = True
            if force or self._snap is None or self.wh.version_token() != self._snap.token:
                self._snap = self._snapshot()

    @property
    def snapshot(self) -> _Snapshot:
        self.refresh()
        assert self._snap is not None
        return self._snap

    # -- per customer ------------------------------------------------------------------------
    @staticmethod
    def _key(customer_id: object, index: pd.Index) -> str | None:
        if not isinstance(customer_id, str) or not customer_id or len(customer_id) > MAX_ID_ECHO:
            return None
        if customer_id in index:
            return customer_id
        stripped = customer_id.strip()
        return stripped if stripped and stripped in index else None

    def _scoped(self, branches: tuple[str, ...] | list[str] | None) -> pd.DataFrame:
        """Scored prospects a user may see, ranked among themselves (a scoped user's rank is their
        branches' rank, not the bank's)."""
        c = self.snapshot.customers.loc[self.snapshot.customers["probability"].notna()]
        if branches is None:
            return c
        c = c.loc[c["branch_name"].isin(list(branches))].copy()
        c["rank"] = c["probability"].rank(ascending=False, method="min")
        return c

    def predict(self, customer_id: str, branches: tuple[str, ...] | list[str] | None = None) -> Prediction:
        """`branches`: the user's scope; rank and n_prospects are then counted within it."""
        snap = self.snapshot
        info = self.bundle.info
        echo = customer_id if isinstance(customer_id, str) else str(customer_id)
        base = {"as_of": snap.as_of, "model": MODEL_TITLES[SERVED_MODEL],
                "oot_auc": _num(info.get("oot_auc", {}).get(SERVED_MODEL)),
                "oot_pr_auc": _num(info.get("oot_pr_auc", {}).get(SERVED_MODEL)),
                "test_month": info.get("test_month"), "n_prospects": snap.n_prospects, "lookback": LOOKBACK}
        key = self._key(customer_id, snap.customers.index)
        if key is None:
            return Prediction(PredictStatus.UNKNOWN, echo[:MAX_ID_ECHO], **base)
        r = snap.customers.loc[key]
        gender = r.get("gender")
        known = {"customer_id": key, "name": r["name"], "branch_name": r["branch_name"],
                 "gender": None if gender is None or pd.isna(gender) else str(gender),
                 "months_of_history": int(r["months"])}
        if not r["has_features"]:
            return Prediction(PredictStatus.INSUFFICIENT_HISTORY, **known, **base, total_assets=_num(r["total_assets"]))
        total = float(r["total_assets"])
        cool_until = r["cool_until"]
        in_cool = bool(r["in_cool"])
        known |= {"total_assets": total, "gap_to_million": max(MILLION - total, 0.0), "asset_level": asset_level(total),
                  "in_cool_period": in_cool,
                  "cool_period_until": cool_until.strftime("%Y-%m-%d") if in_cool and pd.notna(cool_until) else None}
        if total >= MILLION:
            return Prediction(PredictStatus.ALREADY_MILLION, **known, **base)
        rank, n_prospects = int(r["rank"]), snap.n_prospects
        if branches is not None:
            scoped = self._scoped(branches)
            rank, n_prospects = int(scoped.loc[key, "rank"]), len(scoped)
        base["n_prospects"] = n_prospects
        return Prediction(PredictStatus.PROSPECT, **known, **base, probability=float(r["probability"]), rank=rank,
                          percentile=1 - (rank - 1) / max(n_prospects, 1))

    def explain(self, customer_id: str, top_k: int = 6) -> Explanation:
        pred = self.predict(customer_id)
        if not pred.scored:
            return Explanation(pred)
        k = max(1, min(int(top_k), 30))
        x, parts = self._shap_parts(pred.customer_id)
        local = local_explanation(self.bundle, x, top_k=k, parts=parts)
        return Explanation(pred, local.factors_for, local.factors_against, local.base_value, local.base_probability)

    def _shap_parts(self, cid: str) -> tuple[np.ndarray, tuple[np.ndarray, float]]:
        """The customer's feature row and its SHAP values (cached: explain then waterfall reuse them)."""
        snap = self.snapshot
        x = snap.X[snap.row_of[cid]]
        with self._lock:
            hit = self._parts.get(cid)
            if hit is None:
                phi, base = contributions(self.bundle, x.reshape(1, -1))
                hit = (phi[0], float(base[0]))
                self._parts[cid] = hit
                if len(self._parts) > SHAP_CACHE:
                    self._parts.popitem(last=False)
            else:
                self._parts.move_to_end(cid)
        return x, hit

    def waterfall_png(self, customer_id: str) -> bytes:
        return self.waterfall_renderer(customer_id)()

    def waterfall_renderer(self, customer_id: str) -> Callable[[], bytes]:
        """The waterfall's numbers now (errors raise here), the drawing when the returned function is called."""
        pred = self.predict(customer_id)
        if not pred.scored:
            raise ValueError(f"no waterfall for a customer that is not a scored prospect ({pred.status.value})")
        x, (phi, base) = self._shap_parts(pred.customer_id)
        disp = [format_value(f, v) for f, v in zip(self.bundle.features, x, strict=True)]
        title = f"客户 {pred.customer_id} 达到100万概率 {pred.probability:.1%} 的原因（{pred.as_of}）"
        return partial(render_png, partial(plots.shap_waterfall_chart, phi, base, x, labels(self.bundle.features), disp,
                                           title))

    def waterfall_chart(self, customer_id: str) -> Chart:
        """The waterfall as numbers for the browser (percentage points, as the PNG draws them) and its PNG."""
        pred = self.predict(customer_id)
        if not pred.scored:
            raise ValueError(f"no waterfall for a customer that is not a scored prospect ({pred.status.value})")
        x, (phi, base) = self._shap_parts(pred.customer_id)
        k, p0, _p = probability_scale(np.asarray(phi, dtype=float), float(base))
        disp = [format_value(f, v) for f, v in zip(self.bundle.features, x, strict=True)]
        title = f"客户 {pred.customer_id} 达到100万概率 {pred.probability:.1%} 的原因（{pred.as_of}）"
        spec = waterfall_spec(title, np.asarray(phi, dtype=float) * k * 100, p0 * 100, labels(self.bundle.features),
                              disp, note="单位：百分点（%）；从潜客平均概率出发，各因素的贡献相加即该客户的概率")
        return Chart(spec, self.waterfall_renderer(pred.customer_id))

    # -- lists and global --------------------------------------------------------------------
    def _segments(self, segment: str) -> pd.DataFrame:
        if SEGMENTS_TABLE not in {t.lower() for t in self.wh.tables()}:
            raise ProspectListError(ListProblem.NO_SEGMENTS_TABLE, str(segment))
        seg = self.wh.query(f"SELECT customer_id, segment_id, segment_name FROM {SEGMENTS_TABLE}")
        seg["customer_id"] = seg["customer_id"].astype(str)
        want = str(segment).strip()
        hit = seg.loc[(seg["segment_name"].astype(str) == want) | (seg["segment_id"].astype(str) == want)]
        if hit.empty:
            names = sorted(seg["segment_name"].astype(str).unique().tolist())
            raise ProspectListError(ListProblem.UNKNOWN_SEGMENT, want, tuple(names))
        return hit.drop_duplicates("customer_id").set_index("customer_id")

    def _branch_mask(self, names: pd.Series, branch: str) -> pd.Series:
        """The exact branch (e.g. 上海分行外滩支行) or, when no branch is called that, every branch whose
        name contains it (e.g. 上海分行 = all its sub-branches)."""
        known = self.snapshot.customers["branch_name"].astype(str)
        if (known == branch).any():
            return names == branch
        if branch and known.str.contains(branch, regex=False).any():
            return names.astype(str).str.contains(branch, regex=False)
        raise ProspectListError(ListProblem.UNKNOWN_BRANCH, branch, (str(known.iloc[0]),))

    def top(self, n: int = 20, branch_name: str | None = None, segment: str | None = None,
            include_cool: bool = False, branches: tuple[str, ...] | list[str] | None = None) -> pd.DataFrame:
        """`branches`: the user's scope (only those branches, ranked among themselves)."""
        try:
            n = int(n)
        except (TypeError, ValueError) as e:
            raise ProspectListError(ListProblem.BAD_N, str(n)) from e
        if n < 1:
            raise ProspectListError(ListProblem.BAD_N, str(n))
        n = min(n, MAX_TOP)
        c = self._scoped(branches)
        if branch_name:
            c = c.loc[self._branch_mask(c["branch_name"], str(branch_name).strip())]
        seg = None
        if segment is not None and str(segment).strip():
            seg = self._segments(str(segment))
            c = c.loc[c.index.isin(seg.index)]
        if not include_cool:
            c = c.loc[~c["in_cool"]]
        c = c.sort_values(["probability", "total_assets"], ascending=[False, False]).head(n)
        out = pd.DataFrame({
            "rank": c["rank"].astype(int).to_numpy(), "customer_id": c.index.to_numpy(), "name": c["name"].to_numpy(),
            "branch_name": c["branch_name"].to_numpy(), "total_assets": c["total_assets"].to_numpy(),
            "gap_to_million": (MILLION - c["total_assets"]).clip(lower=0).to_numpy(),
            "probability": c["probability"].to_numpy(), "in_cool_period": c["in_cool"].to_numpy(),
            "cool_period_until": [d.strftime("%Y-%m-%d") if cool and pd.notna(d) else None
                                  for d, cool in zip(c["cool_until"], c["in_cool"], strict=True)],
        })
        if seg is not None:
            out["segment_id"] = seg["segment_id"].reindex(out["customer_id"]).to_numpy()
            out["segment_name"] = seg["segment_name"].reindex(out["customer_id"]).to_numpy()
        out.attrs["as_of"] = self.snapshot.as_of
        return out

    def _global_info(self) -> dict[str, Any]:
        self.refresh()
        if self._global is None:
            self._global = json.loads(self._paths["shap"].read_text(encoding="utf-8"))
        return self._global

    def global_explanation(self, top_k: int = 10) -> GlobalExplanation:
        g = self._global_info()
        k = max(1, min(int(top_k), len(g["features"])))
        rows = tuple(GlobalFactor(i + 1, f["feature"], f["label"], f["mean_abs_shap"], f["mean_shap"])
                     for i, f in enumerate(g["features"][:k]))
        total = sum(float(f["mean_abs_shap"]) for f in g["features"])
        return GlobalExplanation(g["as_of"], g["rows"], MODEL_TITLES[SERVED_MODEL], rows, total)

    def global_png(self) -> bytes:
        return (self._paths["charts"] / "shap_bar.png").read_bytes()


def _num(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return None if np.isnan(v) else v

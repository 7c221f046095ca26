"""SegmentService: what the segment_lookup tool calls.

    svc = SegmentService.load(artifacts_dir, wh)
    svc.for_customer("C0000123")   # CustomerSegment: status, segment (SegmentDoc), values, as_of_month, ...
    svc.by_name("高潜力")            # a SegmentDoc by name, part of a name, or id; unknown -> SegmentNotFound
    svc.all()                      # every segment with profile and marketing plan
    svc.assign({"monthly_income": 30000, "total_assets": 800000, ...})  # Assignment: a new customer's segment

Statuses in for_customer (SegmentStatus): OK, UNKNOWN (no such customer), INVALID (malformed ID),
NO_DATA (in customer_base but no monthly row), ERROR. Everything is loaded into memory once; a lookup
is a dict hit. Results are facts (million.segments.results); the tools word them.
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd

from million.segments import store
from million.segments.features import CLUSTER_FEATURES, FEATURE_LABELS
from million.segments.lookup import LookupError_, clean_id, resolve_segment, shown
from million.segments.results import Assignment, CustomerSegment, SegmentDoc, SegmentStatus
from million.warehouse import Warehouse, WarehouseError


class SegmentNotFound(LookupError_):
    """No segment matches the name or ID; `lookup` says why and lists the segments there are."""


PROFILE_KEYS = ("size", "share", "avg_age", "avg_income", "avg_aum", "median_aum", "avg_repurchase", "avg_card_spend",
                "avg_product_count", "avg_app_logins", "avg_investment_count", "top_occupations", "holding_rates",
                "prospect_share", "millionaire_count", "avg_propensity", "avg_propensity_text", "propensity_scored",
                "propensity_note")
VALUE_KEYS = ("age", *CLUSTER_FEATURES)
SEGMENT_AVG = {"age": "avg_age", "monthly_income": "avg_income", "total_assets": "avg_aum",
               "financial_repurchase_count": "avg_repurchase", "credit_card_monthly_expense": "avg_card_spend",
               "product_count": "avg_product_count", "app_login_count": "avg_app_logins",
               "investment_monthly_count": "avg_investment_count"}

LIVE_SQL = (
    "SELECT b.customer_id, b.stat_month, b.total_assets, b.financial_repurchase_count, "
    "b.credit_card_monthly_expense, b.product_count, b.app_login_count, b.investment_monthly_count, "
    "c.age, c.monthly_income, c.occupation_type, c.branch_name "
    "FROM customer_behavior_assets b JOIN customer_base c ON c.customer_id = b.customer_id "
    "WHERE b.customer_id = ? ORDER BY b.stat_month DESC LIMIT 1")
BASE_SQL = "SELECT customer_id FROM customer_base WHERE customer_id = ?"


class SegmentService:
    def __init__(self, model: dict[str, Any], doc: dict[str, Any], assignments: pd.DataFrame,
                 wh: Warehouse | None = None) -> None:
        self.scaler = model["scaler"]
        self.kmeans = model["kmeans"]
        self.features: list[str] = list(model["features"])
        self.as_of_month: str = doc["as_of_month"]
        self.k_selection = doc["k_selection"]
        self.wh = wh
        self._segments = [self._segment_dict(p) for p in doc["segments"]]
        self._names = [s["segment_name"] for s in self._segments]
        ids = assignments["customer_id"].astype(str).to_numpy()
        self._row = {cid: i for i, cid in enumerate(ids)}
        self._seg = assignments["segment_id"].to_numpy(dtype=int)
        self._month = assignments["as_of_month"].astype(str).to_numpy()
        self._values = {k: assignments[k].to_numpy(dtype=float) for k in VALUE_KEYS}
        self._occ = assignments["occupation_type"].astype(str).to_numpy()
        self._branch = assignments["branch_name"].astype(str).to_numpy()

    @classmethod
    def load(cls, artifacts_dir: Path, wh: Warehouse | None = None) -> SegmentService:
        """Raises FileNotFoundError when the segments step has not run."""
        folder = store.folder(Path(artifacts_dir))
        for f in (store.MODEL, store.PROFILES, store.ASSIGNMENTS):
            if not (folder / f).exists():
                raise FileNotFoundError(f"缺少客群产物 {store.SUBDIR}/{f}，请先运行 make artifacts。")
        model = joblib.load(folder / store.MODEL)
        doc = json.loads((folder / store.PROFILES).read_text(encoding="utf-8"))
        return cls(model, doc, pd.read_parquet(folder / store.ASSIGNMENTS), wh)

    # -- segments ----------------------------------------------------------------------------
    @staticmethod
    def _segment_dict(p: dict[str, Any]) -> SegmentDoc:
        prof = {k: p[k] for k in PROFILE_KEYS if k in p}
        return {"segment_id": int(p["segment_id"]), "segment_name": p["segment_name"],
                "description": p["description"], "naming_rule": p["naming_rule"], "archetype": p["archetype"],
                "profile": prof, "plan": p["plan"], "zscores": p.get("zscores", {})}

    def all(self) -> list[SegmentDoc]:
        return copy.deepcopy(self._segments)

    def names(self) -> list[str]:
        return list(self._names)

    def in_branches(self, branches: tuple[str, ...] | list[str]) -> list[SegmentDoc]:
        """Every segment as `all()`, with the profile counted over the customers of `branches` only
        (a branch-scoped user sees their own customers' numbers, not the bank's). The propensity
        average is left out: it is a bank-wide figure of the build."""
        inside = np.isin(self._branch, list(branches))
        total = int(inside.sum())
        out = []
        for seg in self.all():
            m = inside & (self._seg == seg["segment_id"])
            n = int(m.sum())
            prof: dict[str, Any] = {"size": n, "share": round(n / total, 4) if total else 0.0}
            for key, avg in SEGMENT_AVG.items():
                if key in self._values:
                    prof[avg] = round(float(self._values[key][m].mean()), 2) if n else None
            if "total_assets" in self._values:
                prof["prospect_share"] = round(float((self._values["total_assets"][m] < 1_000_000).mean()), 4) if n else None
            occ = pd.Series(self._occ[m]).value_counts().head(3)
            prof["top_occupations"] = {str(k): int(v) for k, v in occ.items()}
            prof["avg_propensity"] = None
            seg["profile"] = prof
            out.append(seg)
        return out

    def segment(self, segment_id: int) -> SegmentDoc:
        return copy.deepcopy(self._segments[segment_id])

    def resolve(self, name: object) -> int:
        """Segment id for a name, part of a name or an id (0, "0", "客群1", "聚类 2"). Raises SegmentNotFound."""
        if isinstance(name, np.integer):
            name = int(name)
        try:
            return resolve_segment(name, self._names)
        except LookupError_ as e:
            raise SegmentNotFound(e.lookup) from None

    def by_name(self, name: object) -> SegmentDoc:
        return self.segment(self.resolve(name))

    # -- customers ---------------------------------------------------------------------------
    def for_customer(self, customer_id: object) -> CustomerSegment:
        cid = clean_id(customer_id)
        if cid is None:
            return CustomerSegment(SegmentStatus.INVALID, None)
        i = self._row.get(cid)
        if i is not None:
            values = {k: float(self._values[k][i]) for k in VALUE_KEYS}
            return CustomerSegment(SegmentStatus.OK, cid, self.segment(int(self._seg[i])), str(self._month[i]),
                                   str(self._occ[i]), str(self._branch[i]), values)
        return self._live(cid)

    def _live(self, cid: str) -> CustomerSegment:
        """A customer the build did not see (data loaded since): assigned now by the fitted model."""
        if self.wh is None:
            return CustomerSegment(SegmentStatus.UNKNOWN, cid)
        try:
            df = self.wh.query(LIVE_SQL, [cid])
            if df.empty:
                known = not self.wh.query(BASE_SQL, [cid]).empty
                return CustomerSegment(SegmentStatus.NO_DATA if known else SegmentStatus.UNKNOWN, cid)
        except WarehouseError as e:
            return CustomerSegment(SegmentStatus.ERROR, cid, error=str(e))
        row = df.iloc[0]
        values = {k: float(row[k]) for k in VALUE_KEYS}
        return CustomerSegment(SegmentStatus.OK, cid, self.segment(self._predict(values)), str(row["stat_month"]),
                               str(row["occupation_type"]), str(row["branch_name"]), values, assigned_live=True)

    # -- new customers -----------------------------------------------------------------------
    def _predict(self, values: dict[str, float]) -> int:
        x = np.array([[values[f] for f in self.features]], dtype=float)
        return int(self.kmeans.predict(self.scaler.transform(x))[0])

    def assign(self, features_row: dict[str, Any]) -> Assignment:
        """The segment a customer with these values falls in. Keys are the feature names or their
        Chinese labels (月收入, 总资产AUM, ...). Raises ValueError (Chinese message) on bad input."""
        if not isinstance(features_row, dict):
            raise ValueError("assign 需要一个 特征名→数值 的字典。")
        by_label = {FEATURE_LABELS[f][0]: f for f in self.features}
        values: dict[str, float] = {}
        for k, v in features_row.items():
            key = by_label.get(k, k)
            if key in self.features:
                try:
                    fv = float(v)
                except (TypeError, ValueError):
                    raise ValueError(f"特征「{shown(k)}」的值不是数字：{shown(v)}") from None
                if not math.isfinite(fv) or fv < 0:
                    raise ValueError(f"特征「{shown(k)}」的值应为非负有限数：{shown(v)}")
                values[key] = fv
        missing = [f"{FEATURE_LABELS[f][0]}({f})" for f in self.features if f not in values]
        if missing:
            raise ValueError(f"缺少分群所需特征：{'、'.join(missing)}")
        return Assignment(self.segment(self._predict(values)), values)

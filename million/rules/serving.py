"""RuleService: what the recommend_products tool calls.

    svc = RuleService.load(artifacts_dir, wh)
    svc.recommend("C0000123", top_k=3)   # products not held, ranked, each with its rule as evidence
    svc.top_rules(10)                   # DataFrame: antecedents, consequents, consequent, support, confidence, lift

recommend returns a Recommendation (million.rules.results) with a RecommendStatus: OK, UNKNOWN (no
such customer), INVALID (malformed ID or top_k), ERROR (warehouse). Facts only; the tools word them.
Marketing cool period: the customer is inside it when the reference date is before the
marketing_cool_period date of their latest row (the contract: no marketing *before* that date, so on
the date itself marketing is allowed again, as in the propensity features). The reference date is `as_of` when given, else
the last day of the data's latest month: the product's "today" is the data's latest month (the system
prompt says so), and predict_million_prob judges the cool period at the same date, so the two tools
never disagree about one customer.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from million.contact import month_end
from million.rules import store
from million.rules.baskets import PRODUCT_ITEMS, age_band, asset_item, income_band
from million.rules.recommend import Recommender
from million.rules.results import MAX_TOP_K, Recommendation, RecommendStatus
from million.segments.lookup import clean_id
from million.warehouse import Warehouse, WarehouseError

if TYPE_CHECKING:
    from million.segments.serving import SegmentService

LIVE_SQL = (
    "SELECT b.stat_month, b.asset_level, b.deposit_flag, b.financial_flag, b.fund_flag, b.insurance_flag, "
    "b.marketing_cool_period, c.age, c.monthly_income "
    "FROM customer_behavior_assets b JOIN customer_base c ON c.customer_id = b.customer_id "
    "WHERE b.customer_id = ? ORDER BY b.stat_month DESC LIMIT 1")
RULE_COLUMNS = ["antecedents", "consequents", "consequent", "support", "confidence", "lift", "antecedent_support",
                "consequent_support", "improvement", "targets"]


def _date(v: Any) -> dt.date | None:
    if v is None or (isinstance(v, float) and v != v) or v is pd.NaT:
        return None
    try:
        return pd.Timestamp(v).date()
    except (ValueError, TypeError):
        return None


class RuleService:
    def __init__(self, rules: pd.DataFrame, baskets: pd.DataFrame, meta: dict[str, Any],
                 wh: Warehouse | None = None, artifacts_dir: Path | None = None) -> None:
        self.rules = rules
        self.meta = meta
        self.recommender = Recommender(rules)
        self.wh = wh
        self.artifacts_dir = artifacts_dir
        ids = baskets["customer_id"].astype(str).to_numpy()
        self._row = {cid: i for i, cid in enumerate(ids)}
        self._items = [list(x) for x in baskets["items"]]
        self._month = baskets["stat_month"].astype(str).to_numpy()
        self._cool = [_date(v) for v in baskets["cool_period_until"]]
        self.latest_month = str(baskets["stat_month"].max()) if len(baskets) else ""
        self._segments: SegmentService | None = None

    @classmethod
    def load(cls, artifacts_dir: Path, wh: Warehouse | None = None) -> RuleService:
        folder = store.folder(Path(artifacts_dir))
        for f in (store.RULES, store.BASKETS, store.META):
            if not (folder / f).exists():
                raise FileNotFoundError(f"缺少关联规则产物 {store.SUBDIR}/{f}，请先运行 make artifacts。")
        rules = pd.read_parquet(folder / store.RULES)
        for c in ("antecedents", "consequents"):
            rules[c] = rules[c].map(tuple)
        meta = json.loads((folder / store.META).read_text(encoding="utf-8"))
        return cls(rules, pd.read_parquet(folder / store.BASKETS), meta, wh, Path(artifacts_dir))

    def reference_date(self, as_of: dt.date | None = None) -> dt.date:
        if as_of is not None:
            return as_of
        return month_end(self.latest_month) if self.latest_month else dt.date.today()

    # -- rules -------------------------------------------------------------------------------
    def top_rules(self, n: int = 10, actionable_only: bool = True) -> pd.DataFrame:
        """The n rules with the highest lift (then confidence). Rules nobody can act on (every customer
        matching the antecedents already holds the product) are left out unless actionable_only=False."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError("n must be a positive integer")
        r = self.rules[self.rules["targets"] > 0] if actionable_only else self.rules
        r = r.sort_values(["lift", "confidence", "support"], ascending=False, kind="stable")
        return r[RULE_COLUMNS].head(min(n, 1000)).reset_index(drop=True)

    # -- customers ---------------------------------------------------------------------------
    def _basket(self, cid: str) -> tuple[list[str], str, dt.date | None] | None:
        i = self._row.get(cid)
        if i is not None:
            return self._items[i], str(self._month[i]), self._cool[i]
        if self.wh is None:
            return None
        df = self.wh.query(LIVE_SQL, [cid])  # a customer whose data arrived after the build
        if df.empty:
            return None
        r = df.iloc[0]
        items = [name for flag, name in zip(("deposit_flag", "financial_flag", "fund_flag", "insurance_flag"),
                                            PRODUCT_ITEMS, strict=True) if int(r[flag]) == 1]
        items += [age_band(float(r["age"])), income_band(float(r["monthly_income"])), asset_item(str(r["asset_level"]))]
        seg = self._segment_of_live(cid)
        if seg:
            items.append(seg)
        return items, str(r["stat_month"]), _date(r["marketing_cool_period"])

    def _segment_of_live(self, cid: str) -> str | None:
        if self.artifacts_dir is None:
            return None
        try:
            if self._segments is None:
                from million.segments.serving import SegmentService

                self._segments = SegmentService.load(self.artifacts_dir, self.wh)
            r = self._segments.for_customer(cid)
        except (FileNotFoundError, WarehouseError):
            return None
        return r.segment_name

    def recommend(self, customer_id: object, top_k: int = 3, as_of: dt.date | None = None) -> Recommendation:
        cid = clean_id(customer_id)
        if cid is None:
            return Recommendation(RecommendStatus.INVALID, None, bad_argument="customer_id")
        if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= MAX_TOP_K:
            return Recommendation(RecommendStatus.INVALID, cid, bad_argument="top_k")
        try:
            found = self._basket(cid)
        except WarehouseError as e:
            return Recommendation(RecommendStatus.ERROR, cid, error=str(e))
        if found is None:
            return Recommendation(RecommendStatus.UNKNOWN, cid)
        items, month, cool = found
        recs, unsupported = self.recommender.recommend(items, top_k)
        ref = self.reference_date(as_of)
        return Recommendation(RecommendStatus.OK, cid, month, tuple(p for p in PRODUCT_ITEMS if p in items),
                              tuple(it for it in items if it not in PRODUCT_ITEMS), tuple(recs), tuple(unsupported),
                              cool is not None and ref < cool, cool.isoformat() if cool else None, ref.isoformat(),
                              self.meta.get("algorithm"))

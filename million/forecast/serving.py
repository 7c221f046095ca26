"""ForecastService: what the forecast_aum tool (and the dashboard) call.

    svc = ForecastService.load(artifacts_dir, wh)
    r = svc.forecast()                          # the bank total, 3 months
    r = svc.forecast(segment="高潜力", horizon=6)
    r = svc.forecast(branch="北京分行")          # a 支行 or a 分行 (sum of its 支行), exact or unique part
    r = svc.forecast(customer_id="C0000123")    # fitted on demand, cached
    png = svc.chart_png(r)

Results are ForecastResult (million.forecast.results): facts only, the tools word them. Statuses
other than OK: INVALID (bad argument), UNKNOWN (no such customer/segment/branch), AMBIGUOUS (a name
matching several branches), INSUFFICIENT_HISTORY (< 6 months), ERROR (warehouse failure).

Totals, segments and branches are precomputed by the build (12 months ahead; a horizon is a prefix).
A customer is fitted when asked, with the method the 500-customer backtest chose, on the series
loaded from the warehouse at load time; customers the build did not see are read with a bound query.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from million.chartspec import Chart, forecast_spec
from million.forecast import store
from million.forecast.backtest import HOLDOUT, METHODS, MIN_FIT, mape
from million.forecast.charts import forecast_chart
from million.forecast.models import CUSTOMER_DRIFT, CUSTOMER_GRID, forecast
from million.forecast.results import (
    Backtest,
    ForecastLevel,
    ForecastResult,
    ForecastStatus,
    Invalid,
    make_result,
)
from million.forecast.series import CustomerSeries
from million.segments.lookup import (
    MAX_NAME_LEN,
    LookupError_,
    LookupProblem,
    NameLookup,
    clean_id,
    match_names,
    resolve_segment,
    shown,
)
from million.warehouse import Warehouse, WarehouseError

SERIES_SQL = ("SELECT customer_id, stat_month, total_assets FROM customer_behavior_assets "
              "ORDER BY customer_id, stat_month")
ONE_SQL = "SELECT stat_month, total_assets FROM customer_behavior_assets WHERE customer_id = ? ORDER BY stat_month"
CACHE_SIZE = 4096


@dataclass(frozen=True)
class _Fit:
    """One customer's model, fitted for the longest horizon (a shorter one is a prefix)."""

    label: str
    months: list[str]
    history: list[float]
    fc: dict[str, Any]
    backtest: Backtest | None
    backtest_mape: float | None


class ForecastService:
    def __init__(self, doc: dict[str, Any], customers: CustomerSeries | None, wh: Warehouse | None = None) -> None:
        self.doc = doc
        self.series: dict[str, dict] = doc["series"]
        self.customers = customers
        self.wh = wh
        self.policy: str = doc["customers"].get("policy", "arima")
        self._segment_keys = sorted((k for k, e in self.series.items() if e["level"] == "segment"),
                                    key=lambda k: int(k.split(":", 1)[1]))
        self._segment_names = [self.series[k]["name"] for k in self._segment_keys]
        self._branch_keys = [k for k, e in self.series.items() if e["level"] == "branch"]
        self._branch_names = [self.series[k]["name"] for k in self._branch_keys]
        self._cache: OrderedDict[str, _Fit | ForecastResult] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def load(cls, artifacts_dir: Path, wh: Warehouse | None = None) -> ForecastService:
        path = store.folder(Path(artifacts_dir)) / store.AGGREGATES
        if not path.exists():
            raise FileNotFoundError(f"缺少预测产物 {store.SUBDIR}/{store.AGGREGATES}，请先运行 make artifacts。")
        doc = json.loads(path.read_text(encoding="utf-8"))
        customers = CustomerSeries(wh.query(SERIES_SQL)) if wh is not None else None
        return cls(doc, customers, wh)

    # -- public ------------------------------------------------------------------------------
    def forecast(self, customer_id: object = None, segment: object = None, branch: object = None,
                 horizon: object = 3) -> ForecastResult:
        if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or not 1 <= int(horizon) <= store.MAX_HORIZON:
            return ForecastResult(ForecastStatus.INVALID, invalid=Invalid.HORIZON)
        h = int(horizon)
        # An argument that is passed counts, even empty: "" must not quietly become the bank total.
        given = [x for x in (customer_id, segment, branch) if x is not None]
        if len(given) > 1:
            return ForecastResult(ForecastStatus.INVALID, invalid=Invalid.SEVERAL_TARGETS)
        if customer_id is not None:
            return self._customer(customer_id, h)
        if segment is not None:
            try:
                sid = resolve_segment(int(segment) if isinstance(segment, np.integer) else segment,
                                      self._segment_names)
            except LookupError_ as e:
                return ForecastResult(ForecastStatus.UNKNOWN, ForecastLevel.SEGMENT, lookup=e.lookup)
            return self._aggregate(self._segment_keys[sid], h)
        if branch is not None:
            return self._branch(branch, h)
        if "total" not in self.series:
            return ForecastResult(ForecastStatus.UNKNOWN, ForecastLevel.TOTAL)
        return self._aggregate("total", h)

    def chart_png(self, result: ForecastResult) -> bytes:
        """PNG of history, forecast and 95% interval (Chinese labels, 万 on the axis)."""
        return forecast_chart(result)

    def chart(self, result: ForecastResult) -> Chart:
        """The same chart as numbers for the browser, with its PNG drawn only when asked for."""
        if not result.ok:
            raise ValueError(f"cannot chart a forecast with status {result.status.value}")
        title = f"{result.label} AUM 预测（未来{len(result.forecast_months)}个月，{result.model}）"
        spec = forecast_spec(title, list(result.history_months), list(result.history), list(result.forecast_months),
                             list(result.forecast), list(result.lower), list(result.upper))
        return Chart(spec, partial(self.chart_png, result))

    # -- aggregates --------------------------------------------------------------------------
    def _aggregate(self, key: str, h: int) -> ForecastResult:
        e = self.series[key]
        level = ForecastLevel(e["level"])
        if len(e["history"]) < MIN_FIT:
            return self._too_short(level, e["label"], len(e["history"]))
        backtest = Backtest(e["test"], tuple(e["months"][-HOLDOUT:]), e["selected_by"], e["note"], e["validation"])
        return make_result(level=level, label=e["label"], months=e["months"], history=e["history"], fc=e["forecast"],
                           horizon=h, backtest=backtest, backtest_mape=e["backtest_mape"], name=e["name"])

    def _branch(self, branch: object, h: int) -> ForecastResult:
        if not isinstance(branch, str) or not branch.strip() or len(branch.strip()) > MAX_NAME_LEN:
            return ForecastResult(ForecastStatus.INVALID, ForecastLevel.BRANCH, invalid=Invalid.BRANCH)
        hits = match_names(branch, self._branch_names)
        if len(hits) == 1:
            return self._aggregate(self._branch_keys[hits[0]], h)
        names = tuple(self._branch_names)
        if len(hits) > 1:
            lookup = NameLookup(LookupProblem.AMBIGUOUS, branch, names, tuple(names[i] for i in hits))
            return ForecastResult(ForecastStatus.AMBIGUOUS, ForecastLevel.BRANCH, lookup=lookup)
        return ForecastResult(ForecastStatus.UNKNOWN, ForecastLevel.BRANCH,
                              lookup=NameLookup(LookupProblem.NOT_FOUND, branch, names))

    # -- customers ---------------------------------------------------------------------------
    @staticmethod
    def _too_short(level: ForecastLevel, label: str, n: int, customer_id: str | None = None) -> ForecastResult:
        return ForecastResult(ForecastStatus.INSUFFICIENT_HISTORY, level, label, customer_id=customer_id,
                              months_available=n, months_needed=MIN_FIT)

    def _history(self, cid: str) -> tuple[list[str], np.ndarray] | None:
        got = self.customers.get(cid) if self.customers is not None else None
        if got is not None or self.wh is None:
            return got
        df = self.wh.query(ONE_SQL, [cid])  # data loaded after this service: read it directly
        if df.empty:
            return None
        return df["stat_month"].astype(str).tolist(), df["total_assets"].to_numpy(dtype=float)

    def _customer(self, customer_id: object, h: int) -> ForecastResult:
        cid = clean_id(customer_id)
        if cid is None:
            return ForecastResult(ForecastStatus.INVALID, ForecastLevel.CUSTOMER, invalid=Invalid.CUSTOMER_ID)
        with self._lock:
            hit = self._cache.get(cid)
            if hit is not None:
                self._cache.move_to_end(cid)
        if hit is None:
            try:
                hit = self._fit_customer(cid)
            except WarehouseError as e:
                return ForecastResult(ForecastStatus.ERROR, ForecastLevel.CUSTOMER, customer_id=cid, error=str(e))
            with self._lock:
                self._cache[cid] = hit
                while len(self._cache) > CACHE_SIZE:
                    self._cache.popitem(last=False)
        if isinstance(hit, ForecastResult):
            return hit
        return make_result(level=ForecastLevel.CUSTOMER, label=hit.label, months=hit.months, history=hit.history,
                           fc=hit.fc, horizon=h, backtest=hit.backtest, backtest_mape=hit.backtest_mape,
                           customer_id=cid)

    def _fit_customer(self, cid: str) -> _Fit | ForecastResult:
        label = f"客户「{shown(cid)}」"
        got = self._history(cid)
        if got is None:
            return ForecastResult(ForecastStatus.UNKNOWN, ForecastLevel.CUSTOMER, label, customer_id=cid)
        months, y = got
        if len(y) < MIN_FIT:
            return self._too_short(ForecastLevel.CUSTOMER, label, len(y), cid)
        policy = self.policy
        fc = forecast(policy, y, store.MAX_HORIZON, CUSTOMER_GRID, CUSTOMER_DRIFT).as_dict()
        backtest, bt_mape = None, None
        if len(y) >= MIN_FIT + HOLDOUT:  # this customer's own holdout, fitted exactly like the build's sample
            train, actual = y[:-HOLDOUT], y[-HOLDOUT:]
            scores = {m: mape(actual, forecast(m, train, HOLDOUT, CUSTOMER_GRID, CUSTOMER_DRIFT).mean) for m in METHODS}
            backtest = Backtest(scores, tuple(months[-HOLDOUT:]), "customer_sample", self.doc["customers"].get("why", ""))
            bt_mape = scores.get(policy)
        return _Fit(label, months, [float(v) for v in y], fc, backtest, bt_mape)

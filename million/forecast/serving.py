"""ForecastService: what the forecast_aum tool (and the dashboard) call.

    svc = ForecastService.load(artifacts_dir, wh)
    r = svc.forecast()                          # the bank total, 3 months
    r = svc.forecast(segment="高潜力", horizon=6)
    r = svc.forecast(branch="北京分行")          # a 支行 or a 分行 (sum of its 支行), exact or unique part
    r = svc.forecast(customer_id="C0000123")    # fitted on demand, cached
    png = svc.chart_png(r)

Result fields: see million.forecast.results.FIELDS_DOC. Statuses other than "ok": "invalid" (bad
argument), "unknown" (no such customer/segment/branch), "ambiguous" (a name matching several
branches), "insufficient_history" (< 6 months), "error" (warehouse failure). The message is Chinese.

Totals, segments and branches are precomputed by the build (12 months ahead; a horizon is a prefix).
A customer is fitted when asked, with the method the 500-customer backtest chose, on the series
loaded from the warehouse at load time; customers the build did not see are read with a bound query.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from million.fmt import pct
from million.forecast import store
from million.forecast.backtest import HOLDOUT, METHODS, MIN_FIT, mape
from million.forecast.charts import forecast_chart
from million.forecast.models import CUSTOMER_DRIFT, CUSTOMER_GRID, METHOD_NAMES, forecast
from million.forecast.results import make_result
from million.forecast.series import CustomerSeries
from million.segments.lookup import LookupError_, clean_id, match_names, resolve_segment, shown
from million.warehouse import Warehouse, WarehouseError

SERIES_SQL = ("SELECT customer_id, stat_month, total_assets FROM customer_behavior_assets "
              "ORDER BY customer_id, stat_month")
ONE_SQL = "SELECT stat_month, total_assets FROM customer_behavior_assets WHERE customer_id = ? ORDER BY stat_month"
CACHE_SIZE = 4096


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
        self._cache: OrderedDict[str, dict] = OrderedDict()
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
                 horizon: object = 3) -> dict[str, Any]:
        if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or not 1 <= int(horizon) <= store.MAX_HORIZON:
            return {"status": "invalid", "message": f"预测月数 horizon 应为 1-{store.MAX_HORIZON} 的整数。"}
        h = int(horizon)
        # An argument that is passed counts, even empty: "" must not quietly become the bank total.
        given = [x for x in (customer_id, segment, branch) if x is not None]
        if len(given) > 1:
            return {"status": "invalid", "message": "customer_id、segment、branch 一次只能指定一个。"}
        if customer_id is not None:
            return self._customer(customer_id, h)
        if segment is not None:
            try:
                sid = resolve_segment(int(segment) if isinstance(segment, np.integer) else segment,
                                      self._segment_names)
            except LookupError_ as e:
                return {"status": "unknown", "message": str(e) if self._segment_names else "客群预测尚未生成（客群产物缺失）。"}
            return self._aggregate(self._segment_keys[sid], h)
        if branch is not None:
            return self._branch(branch, h)
        if "total" not in self.series:
            return {"status": "unknown", "message": "没有全行AUM序列。"}
        return self._aggregate("total", h)

    def chart_png(self, result: dict[str, Any]) -> bytes:
        """PNG of history, forecast and 95% interval (Chinese labels, 万 on the axis)."""
        return forecast_chart(result)

    def backtest_summary(self) -> dict[str, Any]:
        """MAPEs of the build's backtest: per total/segment series and the customer sample."""
        rows = {k: {"label": e["label"], "selected": e["selected"], "test": e["test"]}
                for k, e in self.series.items() if e["level"] in ("total", "segment")}
        return {"series": rows, "customers": self.doc["customers"]}

    # -- aggregates --------------------------------------------------------------------------
    def _aggregate(self, key: str, h: int) -> dict[str, Any]:
        e = self.series[key]
        if len(e["history"]) < MIN_FIT:
            return self._too_short(e["label"], len(e["history"]))
        backtest = {"mape": e["test"], "validation_mape": e["validation"], "window": e["months"][-HOLDOUT:],
                    "selected_by": e["selected_by"], "note": e["note"]}
        note = ""
        if e["selected"] != "arima":
            note = f"回测中 ARIMA 不如{METHOD_NAMES[e['selected']]}，该序列改用{METHOD_NAMES[e['selected']]}。"
        level = "total" if e["level"] == "total" else e["level"]
        r = make_result(level=level, label=e["label"], months=e["months"], history=e["history"], fc=e["forecast"],
                        horizon=h, backtest=backtest, backtest_mape=e["backtest_mape"], note=note)
        r["name"] = e["name"]
        return r

    def _branch(self, branch: object, h: int) -> dict[str, Any]:
        if not isinstance(branch, str) or not branch.strip() or len(branch.strip()) > 100:
            return {"status": "invalid", "message": "分行名称应为1-100个字符的文本。"}
        hits = match_names(branch, self._branch_names)
        if len(hits) == 1:
            return self._aggregate(self._branch_keys[hits[0]], h)
        sample = "、".join(sorted(self._branch_names)[:10])
        if len(hits) > 1:
            names = "、".join(self._branch_names[i] for i in hits[:10])
            return {"status": "ambiguous", "message": f"「{shown(branch)}」匹配到多个分行/支行：{names}，请指定其中一个。"}
        return {"status": "unknown", "message": f"没有找到分行/支行「{shown(branch)}」。可选例如：{sample} 等。"}

    # -- customers ---------------------------------------------------------------------------
    @staticmethod
    def _too_short(label: str, n: int) -> dict[str, Any]:
        return {"status": "insufficient_history", "months_available": n,
                "message": f"{label}只有 {n} 个月的资产记录，少于 {MIN_FIT} 个月，数据太少，无法可靠预测。"}

    def _history(self, cid: str) -> tuple[list[str], np.ndarray] | None:
        got = self.customers.get(cid) if self.customers is not None else None
        if got is not None or self.wh is None:
            return got
        df = self.wh.query(ONE_SQL, [cid])  # data loaded after this service: read it directly
        if df.empty:
            return None
        return df["stat_month"].astype(str).tolist(), df["total_assets"].to_numpy(dtype=float)

    def _customer(self, customer_id: object, h: int) -> dict[str, Any]:
        cid, err = clean_id(customer_id)
        if cid is None:
            return {"status": "invalid", "message": err}
        with self._lock:
            hit = self._cache.get(cid)
            if hit is not None:
                self._cache.move_to_end(cid)
        if hit is None:
            try:
                hit = self._fit_customer(cid)
            except WarehouseError as e:
                return {"status": "error", "message": f"查询数据仓库失败：{e}"}
            with self._lock:
                self._cache[cid] = hit
                while len(self._cache) > CACHE_SIZE:
                    self._cache.popitem(last=False)
        if hit["status"] != "ok":
            return dict(hit)
        return make_result(level="customer", label=hit["label"], months=hit["months"], history=hit["history"],
                           fc=hit["fc"], horizon=h, backtest=hit["backtest"], backtest_mape=hit["backtest_mape"],
                           note=hit["note"]) | {"customer_id": cid}

    def _fit_customer(self, cid: str) -> dict[str, Any]:
        label = f"客户「{shown(cid)}」"
        got = self._history(cid)
        if got is None:
            return {"status": "unknown", "customer_id": cid, "message": f"未找到客户「{shown(cid)}」，请确认客户ID是否正确。"}
        months, y = got
        if len(y) < MIN_FIT:
            return self._too_short(label, len(y)) | {"customer_id": cid}
        policy = self.policy
        fc = forecast(policy, y, store.MAX_HORIZON, CUSTOMER_GRID, CUSTOMER_DRIFT).as_dict()
        backtest, bt_mape = None, None
        if len(y) >= MIN_FIT + HOLDOUT:  # this customer's own holdout, fitted exactly like the build's sample
            train, actual = y[:-HOLDOUT], y[-HOLDOUT:]
            scores = {m: mape(actual, forecast(m, train, HOLDOUT, CUSTOMER_GRID, CUSTOMER_DRIFT).mean) for m in METHODS}
            backtest = {"mape": scores, "window": months[-HOLDOUT:], "selected_by": "customer_sample",
                        "note": self.doc["customers"].get("why", "")}
            bt_mape = scores.get(policy)
        c = self.doc["customers"]
        note = ""
        if c.get("n"):
            note = (f"客户级方法由 {c['n']} 位样本客户的回测选定（MAPE 中位数 {pct(c['median'][policy], 2)}，"
                    f"朴素预测 {pct(c['median']['naive'], 2)}）。")
        return {"status": "ok", "label": label, "months": months, "history": [float(v) for v in y], "fc": fc,
                "backtest": backtest, "backtest_mape": bt_mape, "note": note}


"""The dashboard's data: every panel for one (branch, month), cached per warehouse version."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from million import fmt
from million.dashboard import forecast, prospects, queries
from million.dashboard.cache import VersionedCache
from million.dashboard.filters import FilterOptions, Filters, load_options, resolve, scoped
from million.warehouse import Warehouse, WarehouseError, connect

log = logging.getLogger(__name__)

# The ten panels and their titles on the page (webapp/dashboard/static/index.html).
PANEL_TITLES = {
    "asset_levels": "资产等级分布", "trend": "月度总AUM走势与下季度预测", "branches": "网点AUM排名",
    "city": "城市等级结构", "lifecycle": "客户生命周期漏斗", "segments": "客群分布", "prospects": "高潜客户榜",
    "occupation": "职业类型 · 月收入与人均AUM", "engagement": "APP活跃度 vs AUM增长", "products": "产品持有率",
}
PANELS = tuple(PANEL_TITLES)


class DashboardService:
    """Owns a read-only warehouse handle (opened on first use, so the app starts without data)."""

    def __init__(self, warehouse_url: str | None = None, artifacts_dir: Path | None = None, *,
                 wh: Warehouse | None = None, timeout_s: float | None = 20.0) -> None:
        if wh is None and not warehouse_url:
            raise ValueError("warehouse_url or wh is required")
        self.warehouse_url = warehouse_url
        self.artifacts_dir = Path(artifacts_dir) if artifacts_dir else Path("artifacts")
        self.timeout_s = timeout_s
        self._wh = wh
        self.cache = VersionedCache()

    @property
    def wh(self) -> Warehouse:
        if self._wh is None:
            self._wh = connect(str(self.warehouse_url), read_only=True, timeout_s=self.timeout_s)
        return self._wh

    def version(self) -> tuple[str, str, str]:
        """Warehouse version plus the artifacts' files: any reload or rebuild invalidates the cache."""
        return (self.wh.version_token(), prospects.file_token(self.artifacts_dir),
                forecast.artifacts_token(self.artifacts_dir))

    def options(self, version: tuple[str, str, str] | None = None) -> FilterOptions:
        v = version or self.version()
        return self.cache.get_or_compute(v, ("options",), lambda: load_options(self.wh))[0]

    def data(self, branch: str | None = None, month: str | None = None,
             scope: tuple[str, ...] | None = None) -> dict[str, Any]:
        """Everything the page draws, for the branches `scope` permits (None = all). Raises FilterError
        for unknown or forbidden filters, WarehouseError when the warehouse itself is unavailable."""
        t0 = time.perf_counter()
        v = self.version()
        opts = self.options(v)
        f = resolve(opts, branch, month, scope)
        payload, cached = self.cache.get_or_compute(v, ("data", f.key()), lambda: self._build(v, opts, f),
                                                    keep=lambda p: not p["meta"]["failed"])
        meta = {**payload["meta"], "cached": cached, "elapsed_ms": round((time.perf_counter() - t0) * 1000, 1)}
        return {**payload, "meta": meta}

    # -- building ----------------------------------------------------------------------------
    def _shared(self, v: tuple[str, str, str], key: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
        """Pieces that do not depend on the month (trend, forecast, scores) are cached on their own."""
        return self.cache.get_or_compute(v, key, compute)[0]

    def _build(self, v: tuple[str, str, str], opts: FilterOptions, f: Filters) -> dict[str, Any]:
        t0 = time.perf_counter()
        wh = self.wh
        failed: list[str] = []

        def safe(name: str, run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
            try:
                return run()
            except WarehouseError as e:  # one broken panel must not blank the whole screen
                log.warning("dashboard panel %s failed: %s", name, e)
                failed.append(name)
                return {"empty": True, "reason": "暂无：查询失败，请稍后重试"}

        tables = self._shared(v, ("tables",), wh.tables)
        scores = self._shared(v, ("scores",), lambda: prospects.read_scores(self.artifacts_dir))
        trend = safe("trend", lambda: self._shared(v, ("trend", f.branches), lambda: queries.monthly_trend(wh, f)))
        if not trend.get("empty"):
            trend = {**trend, "forecast": self._shared(v, ("forecast", f.branches), lambda: forecast.total_forecast(
                self.artifacts_dir, wh, trend["months"], trend["aum"], restricted=f.branches is not None))}
        charts = {
            "asset_levels": safe("asset_levels", lambda: queries.asset_levels(wh, f)),
            "segments": safe("segments", lambda: queries.segments(wh, f, tables)),
            "lifecycle": safe("lifecycle", lambda: queries.lifecycle(wh, f)),
            "trend": trend,
            "products": safe("products", lambda: queries.product_holding(wh, f)),
            "occupation": safe("occupation", lambda: queries.occupation_income(wh, f)),
            "city": safe("city", lambda: queries.city_tiers(wh, f)),
            "branches": safe("branches", lambda: queries.branch_ranking(wh, f)),
            "prospects": safe("prospects", lambda: self._shared(v, ("prospects", f.branches), lambda: prospects.prospects(
                wh, f, scores, opts.latest_month))),
            "engagement": safe("engagement", lambda: queries.engagement_growth(wh, f, opts)),
        }
        k = safe("kpis", lambda: queries.kpis(wh, f, opts))
        return {
            "meta": {"branch": f.branch, "month": f.month, "latest_month": opts.latest_month,
                     "options": scoped(opts, f.scope).as_dict(), "scoped": f.scope is not None,
                     "dialect": wh.dialect, "failed": failed,
                     "generated_at": dt.datetime.now().isoformat(timespec="seconds"),
                     "build_ms": round((time.perf_counter() - t0) * 1000, 1)},
            "kpis": self._cards(k, charts["prospects"]),
            "charts": charts,
        }

    @staticmethod
    def _cards(k: dict[str, Any], pros: dict[str, Any]) -> list[dict[str, Any]]:
        """The five KPI cards, with display text in 万/亿 and the month-on-month change."""
        if k.get("empty"):
            return [{"key": key, "label": label, "text": "暂无", "sub": k["reason"]} for key, label in
                    (("customers", "客户总数"), ("aum", "总资产AUM"), ("millionaires", "百万客户数"),
                     ("prospects", "潜客数"), ("expected_new", "下季度预计新增百万客户"))]

        def mom(m: dict[str, Any]) -> float | None:
            return m["mom"]

        def count(n: float) -> str:
            return f"{n / 1e4:.2f}万" if n >= 1e5 else f"{int(n):,}"

        c, a, mi, p, near = (k[x] for x in ("customers", "aum", "millionaires", "prospects", "near"))
        share = mi["value"] / c["value"] if c["value"] else 0.0
        cards = [
            {"key": "customers", "label": "客户总数", "value": c["value"], "text": count(c["value"]), "unit": "人",
             "mom": mom(c), "sub": f"{k['month']} 月末有资产记录的客户"},
            {"key": "aum", "label": "总资产AUM", "value": a["value"], "text": fmt.wan(a["value"]), "unit": "",
             "mom": mom(a), "sub": f"人均 {fmt.wan(a['value'] / c['value']) if c['value'] else '-'}"},
            {"key": "millionaires", "label": "百万客户数", "value": mi["value"], "text": count(mi["value"]),
             "unit": "人", "mom": mom(mi), "sub": f"占客户 {fmt.pct(share)}"},
            {"key": "prospects", "label": "潜客数（未达百万）", "value": p["value"], "text": count(p["value"]),
             "unit": "人", "mom": mom(p), "sub": f"其中 80万-100万 {count(near['value'])} 人"},
        ]
        if pros.get("empty"):
            cards.append({"key": "expected_new", "label": "下季度预计新增百万客户", "value": None, "text": "暂无",
                          "unit": "", "mom": None, "sub": pros["reason"].removeprefix("暂无：")})
        else:
            sub = f"潜客达百万概率之和（评分月 {pros['as_of']}）"
            cards.append({"key": "expected_new", "label": "下季度预计新增百万客户", "value": pros["expected_new"],
                          "text": f"{pros['expected_new']:,.0f}", "unit": "人", "mom": None, "sub": sub})
        return cards

"""Next quarter's total AUM: the forecasting step's service when it is available, otherwise a simple
drift extrapolation computed here and labelled as such on the chart."""

from __future__ import annotations

import importlib
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from million.dashboard.prospects import month_text
from million.forecast.results import next_months
from million.warehouse import Warehouse

HORIZON = 3
DRIFT_WINDOW = 12  # months of changes averaged by the fallback
Z_95 = 1.96
SERVICE_MODULE = "million.forecast.serving"
DRIFT_LABEL = "简单漂移预测（近{n}个月平均月增量外推，临时方案）"


def drift_forecast(months: list[str], values: list[float], horizon: int = HORIZON) -> dict[str, Any]:
    """last + h x mean monthly change, with a ±1.96σ√h band from the spread of those changes."""
    if len(values) < 2:
        return {"empty": True, "reason": "暂无：历史月份不足，无法预测"}
    recent = values[-(DRIFT_WINDOW + 1):]
    diffs = [b - a for a, b in zip(recent, recent[1:], strict=False)]
    drift = sum(diffs) / len(diffs)
    sd = math.sqrt(sum((d - drift) ** 2 for d in diffs) / (len(diffs) - 1)) if len(diffs) > 1 else 0.0
    last = values[-1]
    steps = range(1, horizon + 1)
    return {"months": next_months(months[-1], horizon),
            "forecast": [round(last + h * drift, 2) for h in steps],
            "lower": [round(max(last + h * drift - Z_95 * sd * math.sqrt(h), 0.0), 2) for h in steps],
            "upper": [round(last + h * drift + Z_95 * sd * math.sqrt(h), 2) for h in steps],
            "method": DRIFT_LABEL.format(n=len(diffs)), "source": "drift"}


def _values(obj: Any) -> list[tuple[str | None, float]]:
    """(month or None, value) pairs from the shapes a service may reasonably return."""
    if obj is None:
        return []
    if hasattr(obj, "to_dict") and hasattr(obj, "index") and not hasattr(obj, "columns"):  # pandas Series
        return [(month_text(k), float(v)) for k, v in obj.items()]
    if hasattr(obj, "columns"):  # DataFrame: a month-like column and the last numeric column
        cols = list(obj.columns)
        mcol = next((c for c in cols if str(c).lower() in {"month", "stat_month", "date", "ds", "period"}), None)
        vcol = [c for c in cols if c != mcol and obj[c].dtype.kind in "if"][-1]
        months = obj[mcol] if mcol is not None else obj.index
        return [(month_text(m), float(v)) for m, v in zip(months, obj[vcol], strict=True)]
    if isinstance(obj, dict):
        return [(month_text(k), float(v)) for k, v in obj.items()]
    out: list[tuple[str | None, float]] = []
    for item in obj if isinstance(obj, Iterable) else []:
        if isinstance(item, dict):
            m = next((item[k] for k in ("month", "stat_month", "date", "ds", "period") if k in item), None)
            v = next(item[k] for k in ("value", "aum", "total_assets", "yhat", "forecast", "mean") if k in item)
            out.append((month_text(m) if m is not None else None, float(v)))
        elif isinstance(item, (list, tuple)) and len(item) == 2:
            out.append((month_text(item[0]), float(item[1])))
        else:
            out.append((None, float(item)))
    return out


def from_service(artifacts_dir: Path, wh: Warehouse, last_month: str, horizon: int = HORIZON) -> dict[str, Any] | str:
    """The forecasting step's own forecast, or the reason it could not be used."""
    try:
        module = importlib.import_module(SERVICE_MODULE)
    except ModuleNotFoundError as e:
        if e.name and SERVICE_MODULE.startswith(e.name):  # the package itself has not landed yet
            return "预测模块尚未上线"
        return f"预测服务不可用（缺少 {e.name}）"
    try:
        service = module.ForecastService.load(artifacts_dir, wh)
        raw = service.forecast(horizon=horizon)
        fc = _values(raw["forecast"])
        lower = [v for _m, v in _values(raw.get("lower"))]
        upper = [v for _m, v in _values(raw.get("upper"))]
    except Exception as e:  # noqa: BLE001 - their artifacts may be missing or mid-rebuild
        return f"预测服务不可用（{type(e).__name__}）"
    if not fc:
        return "预测服务未返回预测值"
    months = [m for m, _v in fc]
    if any(m is None for m in months):
        months = next_months(last_month, len(fc))
    n = len(fc)
    method = raw.get("method") or raw.get("model") or "时间序列预测模型"
    return {"months": months, "forecast": [round(v, 2) for _m, v in fc],
            "lower": [round(v, 2) for v in lower[:n]] if len(lower) >= n else None,
            "upper": [round(v, 2) for v in upper[:n]] if len(upper) >= n else None,
            "method": f"{method}（预测服务）", "source": "service"}


def artifacts_token(artifacts_dir: Path) -> str:
    """Changes when the forecasting step rewrites its files."""
    folder = artifacts_dir / "forecast"
    try:
        return ";".join(f"{p.name}:{p.stat().st_mtime_ns}" for p in sorted(folder.iterdir()))
    except OSError:
        return ""


def total_forecast(artifacts_dir: Path, wh: Warehouse, months: list[str], values: list[float],
                   restricted: bool) -> dict[str, Any]:
    """The service forecasts the bank's total, so a view restricted to branches uses the local drift."""
    if not months:
        return {"empty": True, "reason": "暂无：没有月度数据"}
    if not restricted:
        got = from_service(artifacts_dir, wh, months[-1])
        if isinstance(got, dict):
            return got
        fallback = drift_forecast(months, values)
        fallback["note"] = got
        return fallback
    return drift_forecast(months, values)

"""Next quarter's total AUM: the forecasting step's service when its artifacts are built, otherwise a
simple drift extrapolation computed here and labelled as such on the chart."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from million.forecast.results import next_months
from million.warehouse import Warehouse

HORIZON = 3
DRIFT_WINDOW = 12  # months of changes averaged by the fallback
Z_95 = 1.96
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


def from_service(artifacts_dir: Path, wh: Warehouse, last_month: str, horizon: int = HORIZON) -> dict[str, Any] | str:
    """The forecasting step's own forecast of the bank total, or the reason it could not be used."""
    from million.forecast.serving import ForecastService  # matplotlib and the models: when first asked

    try:
        r = ForecastService.load(artifacts_dir, wh).forecast(horizon=horizon)
    except Exception as e:  # noqa: BLE001 - its artifacts may be missing or mid-rebuild
        return f"预测服务不可用（{type(e).__name__}）"
    if not r.ok or not r.forecast:
        return "预测服务未返回预测值"
    return {"months": list(r.forecast_months or next_months(last_month, len(r.forecast))),
            "forecast": [round(v, 2) for v in r.forecast], "lower": [round(v, 2) for v in r.lower],
            "upper": [round(v, 2) for v in r.upper], "method": f"{r.model or '时间序列预测模型'}（预测服务）",
            "source": "service"}


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

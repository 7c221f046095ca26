"""Charts as data: what a chart shows (series, labels, units, title), as plain JSON. The chat draws
them in the browser (webapp/static/chat_charts.js, ECharts), so a turn never waits for matplotlib;
the PNG for reports and downloads is drawn from the same numbers only when something asks for it.

Every spec has "type" (forecast | waterfall | bar | line) and "title"; the rest depends on the type."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from million.fmt import money_unit


@dataclass(frozen=True)
class Chart:
    """A chart: its numbers for the browser, and the PNG drawing for reports and downloads, deferred
    until something asks for the file."""
    spec: dict[str, Any]
    png: Callable[[], bytes]


def _num(v: Any) -> float | None:
    f = float(v)
    return None if f != f else round(f, 4)


def forecast_spec(title: str, history_months: list[str], history: list[float], forecast_months: list[str],
                  mean: list[float], lower: list[float], upper: list[float]) -> dict[str, Any]:
    """History, forecast mean and 95% interval; the axis unit (万/亿) chosen as for the PNG."""
    scale, unit = money_unit(max(abs(v) for v in [*history, *upper, *lower] if v == v))
    return {"type": "forecast", "title": title, "scale": scale, "unit": unit,
            "history_months": list(map(str, history_months)), "history": [_num(v) for v in history],
            "forecast_months": list(map(str, forecast_months)), "mean": [_num(v) for v in mean],
            "lower": [_num(v) for v in lower], "upper": [_num(v) for v in upper]}


def waterfall_spec(title: str, phi_pp: np.ndarray, base_pct: float, labels: list[str], shown: list[str],
                   top: int = 12, note: str = "") -> dict[str, Any]:
    """SHAP parts in percentage points, the largest `top - 1` by size and the rest summed, from the
    average prospect's probability to this customer's (as shap's waterfall plot draws them)."""
    phi = np.asarray(phi_pp, dtype=float)
    order = np.argsort(-np.abs(phi))
    keep = order[: top - 1] if len(phi) > top else order
    rest = float(phi[order[top - 1:]].sum()) if len(phi) > top else 0.0
    items = [{"label": f"{labels[i]} = {shown[i]}", "value": round(float(phi[i]), 3)} for i in keep]
    if len(phi) > top:
        items.append({"label": f"{len(phi) - top + 1} 个其余特征合计", "value": round(rest, 3)})
    return {"type": "waterfall", "title": title, "note": note, "base": round(float(base_pct), 3),
            "final": round(float(base_pct + phi.sum()), 3), "unit": "百分点", "items": items[::-1]}


def table_spec(df: pd.DataFrame, x: str, ys: list[str], is_month: bool, title: str, scale: float,
               unit: str) -> dict[str, Any]:
    """A query result as bars (category) or lines (months), at most three number columns, in the axis
    unit the caller chose (million.autochart picks it as for the PNG)."""
    if is_month:
        df = df.sort_values(x)
    return {"type": "line" if is_month else "bar", "title": title, "x_name": str(x), "unit": unit, "scale": scale,
            "x": [str(v) for v in df[x]],
            "series": [{"name": str(y), "values": [_num(v) for v in df[y]]} for y in ys]}

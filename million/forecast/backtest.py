"""Holdout backtests: MAPE of ARIMA, naive and drift on the last months, and the method choice.

Aggregates (total, segments, branches) choose their method on an earlier window and are then scored
on the last 3 months, so the reported MAPE of the chosen method is not flattered by the choice:
    validation: fit on y[:-6], score months -6..-4   -> choose the method with the lowest MAPE
    test:       fit on y[:-3], score the last 3      -> the MAPE in the report
When the series is too short for both windows, the choice falls back to the test window (said so).
"""

from __future__ import annotations

import numpy as np

from million.forecast.models import AGGREGATE_GRID, forecast

METHODS = ("arima", "drift", "naive")  # ties go to the earlier one
HOLDOUT = 3
MIN_FIT = 6  # months a model is fitted on, at least (also the serving minimum)


def mape(actual: np.ndarray, pred: np.ndarray) -> float | None:
    """Mean absolute percentage error (a fraction) over the months with actual > 0; None if none."""
    a = np.asarray(actual, dtype=float)
    p = np.asarray(pred, dtype=float)
    ok = a > 0
    if not ok.any():
        return None
    return float(np.mean(np.abs(a[ok] - p[ok]) / a[ok]))


def window_scores(y: np.ndarray, end: int, grid: tuple[tuple[int, int], ...], methods=METHODS,
                  hold: int = HOLDOUT, with_drift: bool = True) -> dict:
    """Fit on y[:end-hold] and score y[end-hold:end] for each method; also the ARIMA order used."""
    train, actual = y[: end - hold], y[end - hold: end]
    out: dict = {"mape": {}, "arima_label": None}
    for m in methods:
        f = forecast(m, train, hold, grid, with_drift)
        out["mape"][m] = mape(actual, f.mean)
        if m == "arima":
            out["arima_label"] = f.label
    return out


def best_method(scores: dict[str, float | None]) -> str | None:
    valid = [(v, METHODS.index(m), m) for m, v in scores.items() if v is not None]
    return min(valid)[2] if valid else None


def evaluate(y: np.ndarray, grid: tuple[tuple[int, int], ...] = AGGREGATE_GRID, hold: int = HOLDOUT) -> dict:
    """Scores on the test window (and the validation window when long enough) and the chosen method."""
    n = len(y)
    if n < MIN_FIT + hold:
        return {"test": None, "validation": None, "selected": "arima", "selected_by": "default",
                "note": f"历史仅 {n} 个月，不足 {MIN_FIT + hold} 个月，无法回测，默认使用 ARIMA"}
    test = window_scores(y, n, grid, hold=hold)
    validation = window_scores(y, n - hold, grid, hold=hold) if n - hold >= MIN_FIT + hold else None
    if validation and best_method(validation["mape"]):
        selected, by = best_method(validation["mape"]), "validation"
        note = "按更早一段留出窗口（倒数第6-4个月）的 MAPE 选择方法，再在最近3个月上评估"
    else:
        selected, by = best_method(test["mape"]) or "arima", "test"
        note = "历史较短，只能按最近3个月的 MAPE 选择方法（选择与评估用同一窗口，结果偏乐观）"
    return {"test": test, "validation": validation, "selected": selected, "selected_by": by, "note": note}

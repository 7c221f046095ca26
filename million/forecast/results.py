"""The answer shape ForecastService returns (and the chart reads)."""

from __future__ import annotations

from million.fmt import pct, wan

FIELDS_DOC = """status "ok"; level total|segment|branch|customer; label; history_months; history (元);
forecast_months; forecast; lower; upper (95%); model and method (the same readable label, e.g. ARIMA(1,1,0)+漂移); method_key arima|drift|naive;
order [p,d,q] or None; backtest_mape (fraction, the used method on the last 3 months, None if unknown);
backtest {mape: {arima, drift, naive}, window, selected_by, note}; horizon; message (Chinese summary)."""


def next_months(month: str, n: int) -> list[str]:
    y, m = int(month[:4]), int(month[5:7])
    out = []
    for _ in range(n):
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        out.append(f"{y:04d}-{m:02d}")
    return out


def make_result(*, level: str, label: str, months: list[str], history: list[float], fc: dict, horizon: int,
                backtest: dict | None, backtest_mape: float | None, note: str = "") -> dict:
    """fc: Forecast.as_dict() of at least `horizon` steps."""
    h = horizon
    mean, lower, upper = fc["mean"][:h], fc["lower"][:h], fc["upper"][:h]
    fmonths = next_months(months[-1], h)
    last = history[-1]
    change = mean[-1] / last - 1 if last else None
    parts = [f"{label} 最新月 {months[-1]} AUM 为 {wan(last)}；用 {fc['label']} 预测未来 {h} 个月，"
             f"{fmonths[-1]} 预计 {wan(mean[-1])}"
             + (f"（较最新月 {change:+.1%}）" if change is not None else "")
             + f"，95%区间 {wan(lower[-1])} ~ {wan(upper[-1])}。"]
    if backtest_mape is not None:
        parts.append(f"留出最近3个月回测 MAPE 为 {pct(backtest_mape, 2)}。")
    if note:
        parts.append(note)
    return {"status": "ok", "level": level, "label": label, "history_months": list(months),
            "history": [round(float(v), 2) for v in history], "forecast_months": fmonths,
            "forecast": mean, "lower": lower, "upper": upper, "model": fc["label"], "method": fc["label"], "method_key": fc["method"],
            "order": fc["order"], "stationarity": fc.get("d_test") or {}, "backtest_mape": backtest_mape,
            "backtest": backtest, "horizon": h, "unit": "元", "message": "".join(parts)}

"""The forecast chart: history, forecast mean and 95% interval, Chinese labels, 万 or 亿 on the axis."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter

from million.charts import render_png, setup_matplotlib
from million.fmt import axis_money, money_unit
from million.forecast.results import ForecastResult


def forecast_chart(result: ForecastResult, path: Path | None = None) -> bytes:
    """`result` is a ForecastService.forecast() answer with status OK."""
    return render_png(lambda: forecast_figure(result), path)


def forecast_figure(result: ForecastResult) -> plt.Figure:
    if not result.ok:
        raise ValueError(f"cannot chart a forecast with status {result.status.value}")
    setup_matplotlib()
    hm, hv = list(result.history_months), list(result.history)
    fm, fv = list(result.forecast_months), list(result.forecast)
    lo, up = list(result.lower), list(result.upper)
    x_hist = list(range(len(hm)))
    x_fc = list(range(len(hm), len(hm) + len(fm)))
    fig, ax = plt.subplots(figsize=(9, 4.2))
    ax.plot(x_hist, hv, color="#1f4e79", marker="o", ms=3, lw=1.8, label="历史AUM")
    # the forecast line starts at the last actual month so the two read as one curve
    ax.plot([x_hist[-1], *x_fc], [hv[-1], *fv], color="#c0392b", ls="--", marker="o", ms=3, lw=1.8, label="预测均值")
    ax.fill_between([x_hist[-1], *x_fc], [hv[-1], *lo], [hv[-1], *up], color="#e74c3c", alpha=0.18,
                    label="95%预测区间")
    ax.axvline(x_hist[-1], color="#888", lw=0.8, ls=":")
    labels = hm + fm
    step = max(1, len(labels) // 12)
    ticks = list(range(0, len(labels), step))
    ax.set_xticks(ticks)
    ax.set_xticklabels([labels[i] for i in ticks], rotation=45, ha="right", fontsize=8)
    # the unit follows the numbers, as in the text beside the chart (169.07亿, 97.7万)
    scale, unit = money_unit(max(abs(v) for v in [*hv, *up, *lo] if v == v))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: axis_money(v, scale, unit)))
    ax.set_ylabel(f"AUM（{unit}元）" if unit != "元" else "AUM（元）")
    ax.set_xlabel("月份")
    ax.set_title(f"{result.label} AUM 预测（未来{len(fm)}个月，{result.model}）", fontsize=11)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=9)
    fig.tight_layout()
    return fig

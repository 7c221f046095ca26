"""Pick a chart for a query result when its shape fits: month vs number → line, category vs
number → bar. Anything else gets no chart (a table is better than a wrong chart)."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial

import pandas as pd

from million.charts import render_png
from million.chartspec import table_spec
from million.warehouse.base import decimals_to_float

_MONTH = re.compile(r"^\d{4}-\d{2}$")
MAX_BARS = 30


def _numeric_cols(df: pd.DataFrame) -> list[str]:
    return [c for c in df.columns if pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])]


def chart_for(df: pd.DataFrame, title: str = "") -> bytes | None:
    draw = chart_renderer(df, title)
    return draw() if draw else None


def _plan(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series, list[str], str, bool] | None:
    """(frame, x, number columns, category column, x is months) when a chart fits, else None."""
    if df.empty or len(df.columns) < 2 or len(df) < 2:
        return None
    df = decimals_to_float(df.copy())  # any caller's frame: DECIMAL sums are numbers
    nums = _numeric_cols(df)
    cats = [c for c in df.columns if c not in nums]
    if len(cats) != 1 or not nums:
        return None
    x = df[cats[0]].astype(str)
    ys = chart_columns(df, nums)
    if not ys:
        return None
    is_month = x.map(lambda v: bool(_MONTH.match(v))).all()
    if not is_month and len(df) > MAX_BARS:
        return None
    return df, x, ys, cats[0], is_month


def chart_renderer(df: pd.DataFrame, title: str = "") -> Callable[[], bytes] | None:
    """Decide now whether a chart fits (None: it does not); draw when the returned function is called."""
    plan = _plan(df)
    if plan is None:
        return None
    df, x, ys, cat, is_month = plan
    return partial(render_png, partial(_figure, df, x, ys, cat, is_month, title))


def chart_spec(df: pd.DataFrame, title: str = "") -> dict | None:
    """The same chart as data, for the browser (million.chartspec)."""
    plan = _plan(df)
    if plan is None:
        return None
    df, _x, ys, cat, is_month = plan  # df: numbers already as floats (_plan)
    scale, unit = _scale(df[ys].abs().max().max())
    return table_spec(df, cat, ys, is_month, title or f"{'、'.join(map(str, ys))} 按 {cat}", scale,
                      unit if scale != 1.0 else "")


_RANK_LIKE = re.compile(r"排名|名次|序号|^rank$|^no$|^id$|_id$", re.I)


def chart_columns(df: pd.DataFrame, nums: list[str]) -> list[str]:
    """The numbers worth drawing on one axis: not ranks or IDs, and of the first one's magnitude (a count
    of 1,600 beside an AUM of 24亿 would be an invisible bar), at most three."""
    cols = [c for c in nums if not _RANK_LIKE.search(str(c))]
    if not cols:
        return []
    top = float(df[cols[0]].abs().max() or 0)
    same = [c for c in cols[1:] if top and 0.1 <= float(df[c].abs().max() or 0) / top <= 10]
    return [cols[0], *same][:3]


def _figure(df: pd.DataFrame, x: pd.Series, ys: list[str], cat: str, is_month: bool, title: str):  # noqa: ANN202
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.2))
    scale, unit = _scale(df[ys].abs().max().max())
    if is_month:
        order = x.argsort()
        for y in ys:
            ax.plot(x.iloc[order], df[y].iloc[order] / scale, marker="o", ms=3, label=str(y))
        ax.tick_params(axis="x", rotation=45)
    else:
        width = 0.8 / len(ys)
        pos = range(len(x))
        for i, y in enumerate(ys):
            ax.bar([p + i * width for p in pos], df[y] / scale, width=width, label=str(y))
        ax.set_xticks([p + width * (len(ys) - 1) / 2 for p in pos])
        ax.set_xticklabels(x, rotation=45 if len(x) > 6 else 0, ha="right" if len(x) > 6 else "center")
    ax.set_xlabel(str(cat))
    ax.set_ylabel(unit)
    if len(ys) > 1:
        ax.legend()
    ax.set_title(title or f"{'、'.join(map(str, ys))} 按 {cat}")
    ax.grid(axis="y", alpha=0.3)
    return fig


def _scale(vmax: float) -> tuple[float, str]:
    if vmax >= 1e8:
        return 1e8, "亿"
    if vmax >= 1e5:
        return 1e4, "万"
    return 1.0, "数值"


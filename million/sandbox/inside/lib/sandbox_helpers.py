"""Helpers for code running in the python_inter sandbox.

    from sandbox_helpers import load, save_chart
    df = load()                      # the data file the tool provided (data.csv / data.parquet ...)
    ax = df.groupby("city_level")["total_assets"].mean().plot.bar(title="各城市平均资产")
    save_chart(ax, "资产.png")      # comes back to the conversation as an image

Only the work folder (the current directory) is readable and writable; there is no network.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

WORK = Path("/sandbox")
DATA_SUFFIXES = (".parquet", ".csv", ".json", ".xlsx")


def files() -> list[str]:
    """Names of the data files in the work folder."""
    return sorted(p.name for p in WORK.iterdir() if p.is_file() and p.suffix in DATA_SUFFIXES)


def load(name: str | None = None) -> Any:
    """Read a provided data file into a pandas DataFrame (the only one when `name` is omitted)."""
    import pandas as pd

    if name is None:
        names = files()
        if len(names) != 1:
            raise ValueError(f"工作目录中有 {len(names)} 个数据文件 {names}，请用 load('文件名') 指定")
        name = names[0]
    path = WORK / name
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    if path.suffix == ".json":
        return pd.read_json(path, orient="records")
    if path.suffix == ".xlsx":
        return pd.read_excel(path)
    return pd.read_csv(path)


def save_chart(fig_or_ax: Any = None, name: str = "chart.png", dpi: int = 110) -> str:
    """Save a matplotlib figure (or the current one) into the work folder and close it."""
    import matplotlib.pyplot as plt

    fig = plt.gcf() if fig_or_ax is None else getattr(fig_or_ax, "figure", fig_or_ax)
    if not name.lower().endswith((".png", ".svg")):
        name += ".png"
    fig.savefig(WORK / name, dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return name

"""Matplotlib with a Chinese font shipped inside a Python package (mplfonts' Noto Sans CJK SC),
so charts render 中文 on any machine without system fonts or downloads."""

from __future__ import annotations

import io
import threading
import warnings
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # never a GUI backend: servers and sandboxes have no display
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import font_manager  # noqa: E402

FONT_FILES = ("NotoSansCJKsc-Regular.otf", "SimHei.ttf")
# pyplot keeps one global "current figure" and figure registry; two threads drawing at once (concurrent
# chats) corrupt each other's charts (shap's plots draw on plt.gcf()). render_png holds it from the
# first pyplot call to savefig.
PLOT_LOCK = threading.RLock()


def font_path() -> Path:
    import mplfonts

    base = Path(mplfonts.__file__).parent / "fonts"
    for name in FONT_FILES:
        if (base / name).exists():
            return base / name
    raise RuntimeError("找不到中文字体文件（mplfonts 未正确安装）")


@lru_cache(maxsize=1)
def setup_matplotlib() -> str:
    """Register the CJK font and make it the default; returns the font family name."""
    path = font_path()
    font_manager.fontManager.addfont(str(path))
    family = font_manager.FontProperties(fname=str(path)).get_name()
    matplotlib.rcParams["font.family"] = "sans-serif"
    matplotlib.rcParams["font.sans-serif"] = [family, "DejaVu Sans"]
    matplotlib.rcParams["axes.unicode_minus"] = False  # the CJK font lacks U+2212
    matplotlib.rcParams["figure.dpi"] = 100
    matplotlib.rcParams["savefig.bbox"] = "tight"
    return family


def missing_glyphs(fig: plt.Figure) -> list[str]:
    """Render the figure and return the missing-glyph warnings matplotlib raised (empty = fine)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.canvas.draw()
    return [str(w.message) for w in caught if "missing from font" in str(w.message).lower() or "glyph" in str(w.message).lower()]


def render_png(make_figure: Callable[[], plt.Figure], path: Path | None = None, dpi: int = 110) -> bytes:
    """Build a figure and save it as PNG under PLOT_LOCK: the way to draw while serving (many threads).
    Registers the CJK font first, so no caller can draw before it is set up."""
    setup_matplotlib()
    with PLOT_LOCK:
        return save_png(make_figure(), path, dpi)


def save_png(fig: plt.Figure, path: Path | None = None, dpi: int = 110) -> bytes:
    """Save a figure as PNG (to `path` when given) and close it; returns the bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    data = buf.getvalue()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return data

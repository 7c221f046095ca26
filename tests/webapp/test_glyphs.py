"""Every character the product shows is in the CJK font (Noto Sans CJK, the one charts use and the
one Debian's browser falls back to): emoji such as ✅ ⏳ ⏸ have no glyph there and showed as tofu
boxes in the chat's plan recap. Scans the string literals of the Python code and the page files."""

from __future__ import annotations

import ast
from pathlib import Path

from fontTools.ttLib import TTFont

from million.charts import font_path
from million.settings import ROOT

SOURCES = ("agent", "tools", "webapp", "million", "prompts")
PAGE_FILES = {".html", ".js", ".css", ".md", ".txt"}
INVISIBLE = {"\ufeff"}  # the byte-order mark the Excel/CSV reader strips, never displayed


def _strings(path: Path) -> list[str]:
    if path.suffix == ".py":
        return [n.value for n in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                if isinstance(n, ast.Constant) and isinstance(n.value, str)]
    return [path.read_text(encoding="utf-8")]


def missing_glyphs(cmap: dict[int, str]) -> dict[str, set[str]]:
    bad: dict[str, set[str]] = {}
    for folder in SOURCES:
        for path in (ROOT / folder).rglob("*"):
            if "vendor" in path.parts or not (path.suffix == ".py" or path.suffix in PAGE_FILES):
                continue
            for text in _strings(path):
                for ch in text:
                    if ord(ch) > 127 and ch not in INVISIBLE and ord(ch) not in cmap:
                        bad.setdefault(f"{ch} U+{ord(ch):04X}", set()).add(str(path.relative_to(ROOT)))
    return bad


def test_every_shown_character_has_a_glyph() -> None:
    cmap = TTFont(str(font_path()), fontNumber=0, lazy=True).getBestCmap()
    assert missing_glyphs(cmap) == {}


def test_the_scan_finds_an_emoji() -> None:
    """The check can fail: without ✓ in the font, the plan marks are reported."""
    cmap = TTFont(str(font_path()), fontNumber=0, lazy=True).getBestCmap()
    without_check = {k: v for k, v in cmap.items() if k != ord("✓")}
    assert any(k.startswith("✓") for k in missing_glyphs(without_check))

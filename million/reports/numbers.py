"""The rule that every number in a report comes from a tool result: numbers are compared as
normalised tokens (thousands separators dropped, trailing zeros of decimals dropped)."""

from __future__ import annotations

import re

_NUM = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?")


def _norm(token: str) -> str:
    t = token.replace(",", "")
    if "." in t:
        t = t.rstrip("0").rstrip(".")
    return t.lstrip("0") or "0"


def numbers_in(text: str) -> set[str]:
    return {_norm(m) for m in _NUM.findall(text or "")}


def unverified_numbers(text: str, sources: str | set[str]) -> set[str]:
    """Numbers in `text` that do not occur in `sources` (text, or a set made by numbers_in)."""
    known = sources if isinstance(sources, set) else numbers_in(sources)
    return numbers_in(text) - known

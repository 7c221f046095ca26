"""Model output is untrusted: no HTML (so no script or event handlers), no external images, no
links to local paths. Markdown stays."""

from __future__ import annotations

import re

_MD_IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)]*)\)")
_MD_LINK = re.compile(r"(?<!!)\[([^\]]*)\]\(([^)]*)\)")
_FENCE = re.compile(r"(```.*?```)", re.S)


def _clean_segment(text: str) -> str:
    text = text.replace("<", "&lt;").replace(">", "&gt;")  # no raw HTML at all
    text = _MD_IMAGE.sub(lambda m: f"[图片已移除：{m.group(1) or '外部图片'}]", text)

    def link(m: re.Match[str]) -> str:
        target = m.group(2).strip().lower()
        if target.startswith(("http://", "https://")) and not target.startswith(("http://127.0.0.1", "http://localhost")):
            return f"{m.group(1)}（外部链接：{m.group(2).strip()[:80]}）"
        if target.startswith(("javascript:", "data:", "file:", "/", "./", "../", "~")) or "\\" in target:
            return m.group(1)
        return m.group(0)

    return _MD_LINK.sub(link, text)


def sanitize_markdown(text: str) -> str:
    """Escape HTML outside code fences (inside them it is shown as code anyway)."""
    parts = _FENCE.split(text or "")
    return "".join(p if p.startswith("```") else _clean_segment(p) for p in parts)

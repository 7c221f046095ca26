"""Untrusted arguments from the tools: customer IDs and free-text names, checked before any use.
IDs are only ever dict keys or bound query parameters; nothing here builds SQL or paths."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

MAX_ID_LEN = 64
MAX_NAME_LEN = 100


class LookupError_(ValueError):  # noqa: N801 - a ValueError whose str() is a Chinese message for the user
    """An unknown or malformed name; the message is safe to show."""


def clean_id(value: object) -> tuple[str | None, str | None]:
    """(customer_id, None) when usable, else (None, Chinese reason). The ID format is opaque by
    contract, so only emptiness, length and control characters are refused."""
    if not isinstance(value, str) or not value.strip():
        return None, "客户ID不能为空，请提供客户ID。"
    v = value.strip()
    if len(v) > MAX_ID_LEN:
        return None, f"客户ID过长（超过{MAX_ID_LEN}个字符），请检查后重试。"
    if any(unicodedata.category(ch).startswith("C") for ch in v):
        return None, "客户ID包含不可见字符，请检查后重试。"
    return v, None


def shown(value: object, limit: int = 40) -> str:
    """An untrusted value as it may be echoed back in a message: printable and short."""
    s = "".join(ch for ch in str(value) if not unicodedata.category(ch).startswith("C"))
    return s if len(s) <= limit else s[:limit] + "…"


def _norm(s: str) -> str:
    s = unicodedata.normalize("NFKC", s).strip().lower()
    return re.sub(r"[\s「」『』\"'“”‘’()（）:：]", "", s)


def match_names(query: str, names: Sequence[str], strip_suffixes: Sequence[str] = ()) -> list[int]:
    """Indexes of `names` matching `query`: exact (after normalising width, case and quotes) first,
    then names containing the query or contained in it. `strip_suffixes` (e.g. 客户, 客群) are
    removed from both sides, so 高潜力活跃型 finds 高潜力活跃型客户."""
    q = _norm(query)
    for suf in strip_suffixes:
        if q.endswith(suf) and len(q) > len(suf):
            q = q[: -len(suf)]
    if not q:
        return []
    normed = []
    for n in names:
        m = _norm(n)
        for suf in strip_suffixes:
            if m.endswith(suf) and len(m) > len(suf):
                m = m[: -len(suf)]
        normed.append(m)
    exact = [i for i, m in enumerate(normed) if m == q]
    if exact:
        return exact
    return [i for i, m in enumerate(normed) if q in m or (len(q) >= 2 and m in q)]


_SEGMENT_ID_RE = re.compile(
    r"(?:客群|聚类|分群|群组|类别|segment|cluster|seg|s)?\s*(?:编号|id|no\.?|#)?\s*(\d{1,3})\s*号?", re.IGNORECASE)
SEGMENT_SUFFIXES = ("客户群", "客群", "客户", "群体", "群组", "群")


def resolve_segment(query: object, names: Sequence[str]) -> int:
    """Index of the segment meant by a name, part of a name or an id (0, "0", "客群1", "聚类 2").
    Raises LookupError_ with a Chinese message listing the segments there are."""
    listing = "、".join(f"{i}:{n}" for i, n in enumerate(names))
    if isinstance(query, bool) or query is None:
        raise LookupError_(f"请提供客群名称或编号。现有客群：{listing}")
    if isinstance(query, int):
        text = str(query)
    elif isinstance(query, str):
        text = unicodedata.normalize("NFKC", query).strip()
    else:
        raise LookupError_(f"客群参数应为名称或编号。现有客群：{listing}")
    if not text or len(text) > MAX_NAME_LEN:
        raise LookupError_(f"客群名称为空或过长。现有客群：{listing}")
    m = _SEGMENT_ID_RE.fullmatch(text)
    if m:
        sid = int(m.group(1))
        if 0 <= sid < len(names):
            return sid
        raise LookupError_(f"没有编号为 {sid} 的客群。现有客群：{listing}")
    hits = match_names(text, names, SEGMENT_SUFFIXES)
    if len(hits) == 1:
        return hits[0]
    if len(hits) > 1:
        raise LookupError_(f"「{shown(text)}」匹配到多个客群：{'、'.join(names[i] for i in hits)}，请说得更具体些。")
    raise LookupError_(f"没有找到名为「{shown(text)}」的客群。现有客群：{listing}")

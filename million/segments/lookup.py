"""Untrusted arguments from the tools: customer IDs and free-text names, checked before any use.
IDs are only ever dict keys or bound query parameters; nothing here builds SQL or paths."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from million.contract import CUSTOMER_ID_MAX

MAX_NAME_LEN = 100


class LookupProblem(Enum):
    MISSING = "missing"  # no name given
    BAD_TYPE = "bad_type"  # neither a name nor a number
    EMPTY_OR_LONG = "empty_or_long"
    NO_SUCH_ID = "no_such_id"  # a number that is not a segment's
    AMBIGUOUS = "ambiguous"  # several names match
    NOT_FOUND = "not_found"


@dataclass(frozen=True)
class NameLookup:
    """Why a name did not resolve to exactly one of `names` (the tools word it)."""

    problem: LookupProblem
    query: str  # as given (echo it through shown())
    names: tuple[str, ...]  # every name there is
    matches: tuple[str, ...] = ()  # for AMBIGUOUS
    number: int | None = None  # for NO_SUCH_ID


class LookupError_(ValueError):  # noqa: N801 - a ValueError that carries what went wrong as facts
    """An unknown or malformed name."""

    def __init__(self, lookup: NameLookup) -> None:
        super().__init__(f"{lookup.problem.value}: {lookup.query[:MAX_NAME_LEN]!r}")
        self.lookup = lookup


def clean_id(value: object) -> str | None:
    """The customer_id when usable, else None. The ID format is opaque by contract, so only
    emptiness, length (the contract's column length) and control characters are refused."""
    if not isinstance(value, str) or not value.strip():
        return None
    v = value.strip()
    if len(v) > CUSTOMER_ID_MAX or any(unicodedata.category(ch).startswith("C") for ch in v):
        return None
    return v


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
    Raises LookupError_ naming the problem and the segments there are."""
    every = tuple(names)
    if isinstance(query, bool) or query is None:
        raise LookupError_(NameLookup(LookupProblem.MISSING, "", every))
    if isinstance(query, int):
        text = str(query)
    elif isinstance(query, str):
        text = unicodedata.normalize("NFKC", query).strip()
    else:
        raise LookupError_(NameLookup(LookupProblem.BAD_TYPE, str(query), every))
    if not text or len(text) > MAX_NAME_LEN:
        raise LookupError_(NameLookup(LookupProblem.EMPTY_OR_LONG, text, every))
    m = _SEGMENT_ID_RE.fullmatch(text)
    if m:
        sid = int(m.group(1))
        if 0 <= sid < len(names):
            return sid
        raise LookupError_(NameLookup(LookupProblem.NO_SUCH_ID, text, every, number=sid))
    hits = match_names(text, names, SEGMENT_SUFFIXES)
    if len(hits) == 1:
        return hits[0]
    if len(hits) > 1:
        raise LookupError_(NameLookup(LookupProblem.AMBIGUOUS, text, every, tuple(names[i] for i in hits)))
    raise LookupError_(NameLookup(LookupProblem.NOT_FOUND, text, every))

"""Finding a customer the way a person types the ID: in any letter case, inside a sentence, or
mistyped. One index per warehouse version answers three questions:

    resolve(token)      the stored ID for a token (exact first, then ignoring letter case), or None
    looks_like_id(tok)  whether a token has the shape of this bank's customer IDs, so an unknown one
                        can be answered with "客户 X 不存在" instead of a generic help
    nearest(token)      a few stored IDs close to a mistyped one (longest shared prefix, then similarity)

The shapes are learnt from the data (IDs are opaque strings in the contract): the lengths that occur
and, when the IDs follow a few patterns (C0000123), those patterns with letters and digits folded.
Every value from the person is a bound parameter. What an unknown ID is answered with is worded by
the tools (tools/wording.missing_customer) from nearest() and shapes()."""

from __future__ import annotations

import difflib
import re
import threading
from dataclasses import dataclass
from typing import Any

from million.contract import CUSTOMER_ID_MAX

SAMPLE = 2000  # IDs read to learn the shapes
MAX_SHAPES = 20  # more patterns than this: the IDs are free-form (e.g. hex), use lengths only
NEAREST = 3


def shape(token: str) -> str:
    """C0000123 → A9999999: letters and digits folded, other characters kept."""
    return re.sub(r"[0-9]", "9", re.sub(r"[A-Za-z]", "A", token))


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (IDs are short)."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def _runs(folded: str) -> str:
    """A9999999 → A9: the pattern without its lengths."""
    return re.sub(r"(.)\1+", r"\1", folded)


@dataclass(frozen=True)
class IdShapes:
    lengths: frozenset[int]
    shapes: frozenset[str] | None  # None: too many patterns to be useful
    letters: bool  # every sampled ID has a letter
    first: str = ""
    last: str = ""
    count: int = 0

    def matches(self, token: str) -> bool:
        """Shaped like an ID, allowing a mistyped one: up to two characters more or fewer, the same
        pattern of letters and digits (C001234 for C0001234)."""
        if not self.lengths or not re.search(r"\d", token):
            return False
        if not min(self.lengths) - 2 <= len(token) <= max(self.lengths) + 2:
            return False
        if self.letters and not re.search(r"[A-Za-z]", token):
            return False
        return self.shapes is None or _runs(shape(token)) in {_runs(s) for s in self.shapes}


def learn_shapes(ids: list[str], lengths: list[int], first: str = "", last: str = "", count: int = 0) -> IdShapes:
    shapes = {shape(i) for i in ids}
    return IdShapes(frozenset(lengths), frozenset(shapes) if len(shapes) <= MAX_SHAPES else None,
                    bool(ids) and all(re.search(r"[A-Za-z]", i) for i in ids), first, last, count)


class CustomerIndex:
    """Customer-ID questions against a warehouse, cached per warehouse version."""

    def __init__(self, wh: Any) -> None:
        self.wh = wh
        self._lock = threading.Lock()
        self._token: str | None = None
        self._shapes: IdShapes | None = None
        self._resolved: dict[str, str | None] = {}

    def _fresh(self) -> None:
        token = self.wh.version_token()
        if token != self._token:
            self._token, self._shapes, self._resolved = token, None, {}

    def shapes(self) -> IdShapes:
        with self._lock:
            self._fresh()
            if self._shapes is None:
                lens = self.wh.query("SELECT DISTINCT LENGTH(customer_id) AS n FROM customer_base")
                sample = self.wh.query(f"SELECT customer_id FROM customer_base LIMIT {SAMPLE}")
                span = self.wh.query("SELECT MIN(customer_id) AS lo, MAX(customer_id) AS hi, COUNT(*) AS n "
                                     "FROM customer_base")
                row = span.iloc[0] if len(span) else {"lo": "", "hi": "", "n": 0}
                self._shapes = learn_shapes([str(x) for x in sample["customer_id"]], [int(n) for n in lens["n"]],
                                            str(row["lo"] or ""), str(row["hi"] or ""), int(row["n"] or 0))
            return self._shapes

    def resolve(self, token: str) -> str | None:
        t = (token or "").strip()
        if not t or len(t) > CUSTOMER_ID_MAX:
            return None
        with self._lock:
            self._fresh()
            if t in self._resolved:
                return self._resolved[t]
        found = self.wh.query("SELECT customer_id FROM customer_base WHERE customer_id = ?", [t])
        if found.empty:  # a person types c0000034 for C0000034
            found = self.wh.query("SELECT customer_id FROM customer_base WHERE UPPER(customer_id) = ? LIMIT 2",
                                  [t.upper()])
        hit = str(found["customer_id"].iloc[0]) if len(found) == 1 else None
        with self._lock:
            if len(self._resolved) > 10_000:
                self._resolved.clear()
            self._resolved[t] = hit
        return hit

    def exists(self, token: str) -> bool:
        return self.resolve(token) is not None

    def looks_like_id(self, token: str) -> bool:
        return self.shapes().matches(token)

    def nearest(self, token: str, k: int = NEAREST) -> list[str]:
        """Stored IDs closest to a mistyped one, fewest edits first: the ID with the zeros the person left
        out or added (C000041 → C0000041), and IDs sharing the longest prefix (at least half of it)."""
        t = (token or "").strip().upper()
        if not t or len(t) > CUSTOMER_ID_MAX or "_" in t or "%" in t:
            return []
        found: set[str] = set()
        m = re.fullmatch(r"([A-Z]*)(\d+)", t)
        if m:
            for n in sorted(self.shapes().lengths):
                width = n - len(m.group(1))
                digits = m.group(2).lstrip("0") or "0"
                if len(digits) <= width:
                    hit = self.resolve(m.group(1) + digits.zfill(width))
                    if hit:
                        found.add(hit)
        for n in range(len(t) - 1, max(len(t) // 2, 1) - 1, -1):
            rows = self.wh.query("SELECT customer_id FROM customer_base WHERE UPPER(customer_id) LIKE ? "
                                 "ORDER BY customer_id LIMIT 500", [t[:n] + "%"])
            if len(rows):
                found |= {str(x) for x in rows["customer_id"]}
                break
        return sorted(found, key=lambda i: (edit_distance(t, i.upper()),
                                            -difflib.SequenceMatcher(None, t, i.upper()).ratio(), i))[:k]

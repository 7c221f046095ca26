"""Recommend the products a customer does not hold, each with the rule behind it as evidence.

A rule applies to a customer when every antecedent item is in the customer's basket and the
consequent product is not held. Per product the best applicable rule is the one with the highest
confidence (then lift, then support): confidence is the share of customers like this one who hold
the product, the most direct reading of "customers who hold A also buy B". Products are ranked by
that confidence.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from million.fmt import pct
from million.rules.baskets import ITEM_TO_PRODUCT, PRODUCT_ITEMS


def rule_text(antecedents: Iterable[str], consequent: str) -> str:
    return f"{' + '.join(antecedents)} → {consequent}"


def reason_text(r: dict) -> str:
    return (f"在「{' + '.join(r['antecedents'])}」的客户中，{pct(r['confidence'])} 持有{r['consequent']}"
            f"（全体为 {pct(r['consequent_support'])}），是整体的 {r['lift']:.2f} 倍；"
            f"同时满足前项与后项的客户占 {pct(r['support'])}。")


class Recommender:
    def __init__(self, rules: pd.DataFrame) -> None:
        r = rules.sort_values(["confidence", "lift", "support"], ascending=False, kind="stable").reset_index(drop=True)
        self.rules = r
        self.items = sorted({it for a in r["antecedents"] for it in a} | set(PRODUCT_ITEMS))
        self._pos = {it: j for j, it in enumerate(self.items)}
        self._ant = np.zeros((len(r), len(self.items)), dtype=bool)
        for i, ants in enumerate(r["antecedents"]):
            self._ant[i, [self._pos[a] for a in ants]] = True
        self._cons = r["consequent"].to_numpy(dtype=object)
        self._records = r.to_dict("records")

    def vector(self, items: Iterable[str]) -> np.ndarray:
        v = np.zeros(len(self.items), dtype=bool)
        for it in items:
            j = self._pos.get(it)
            if j is not None:
                v[j] = True
        return v

    def recommend(self, items: Iterable[str], top_k: int = 3) -> tuple[list[dict], list[str]]:
        """(ranked recommendations, products not held that no rule supports)."""
        items = list(items)
        held = {it for it in items if it in PRODUCT_ITEMS}
        v = self.vector(items)
        applies = ~(self._ant & ~v).any(axis=1)
        out: list[dict] = []
        seen: set[str] = set(held)
        for i in np.flatnonzero(applies):  # rows are in confidence order: the first per product is its best
            c = self._cons[i]
            if c in seen:
                continue
            seen.add(c)
            rec = self._records[i]
            ants = list(rec["antecedents"])
            out.append({"product": ITEM_TO_PRODUCT[c], "product_name": c, "antecedents": ants, "consequent": c,
                        "consequents": [c], "support": round(rec["support"], 4),
                        "confidence": round(rec["confidence"], 4), "lift": round(rec["lift"], 4),
                        "consequent_support": round(rec["consequent_support"], 4),
                        "rule": rule_text(ants, c), "reason": reason_text(rec)})
            if len(seen) == len(PRODUCT_ITEMS):
                break
        unsupported = [p for p in PRODUCT_ITEMS if p not in seen]
        return out[:top_k], unsupported

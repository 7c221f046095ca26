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

from million.rules.baskets import ITEM_TO_PRODUCT, PRODUCT_ITEMS
from million.rules.results import ProductRecommendation


def rule_text(antecedents: Iterable[str], consequent: str) -> str:
    return f"{' + '.join(antecedents)} → {consequent}"


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

    def recommend(self, items: Iterable[str], top_k: int = 3) -> tuple[list[ProductRecommendation], list[str]]:
        """(ranked recommendations, products not held that no rule supports)."""
        items = list(items)
        held = {it for it in items if it in PRODUCT_ITEMS}
        v = self.vector(items)
        applies = ~(self._ant & ~v).any(axis=1)
        out: list[ProductRecommendation] = []
        seen: set[str] = set(held)
        for i in np.flatnonzero(applies):  # rows are in confidence order: the first per product is its best
            c = self._cons[i]
            if c in seen:
                continue
            seen.add(c)
            rec = self._records[i]
            ants = tuple(rec["antecedents"])
            out.append(ProductRecommendation(ITEM_TO_PRODUCT[c], c, ants, c, round(rec["support"], 4),
                                             round(rec["confidence"], 4), round(rec["lift"], 4),
                                             round(rec["consequent_support"], 4), rule_text(ants, c)))
            if len(seen) == len(PRODUCT_ITEMS):
                break
        unsupported = [p for p in PRODUCT_ITEMS if p not in seen]
        return out[:top_k], unsupported

"""Each customer's basket: products held in the latest month (存款/理财/基金/保险) and discretised
attributes (age band, income band, asset level, segment). Items are readable Chinese strings, so a
rule reads as 理财 + 年龄40-49岁 → 保险."""

from __future__ import annotations

import numpy as np
import pandas as pd

from million.contract import PRODUCT_NAMES, PRODUCTS

PRODUCT_ITEMS = tuple(PRODUCT_NAMES[p] for p in PRODUCTS)  # 存款 理财 基金 保险
ITEM_TO_PRODUCT = {v: k for k, v in PRODUCT_NAMES.items()}
AGE_BANDS = ((30, "年龄18-29岁"), (40, "年龄30-39岁"), (50, "年龄40-49岁"), (60, "年龄50-59岁"), (999, "年龄60岁以上"))
INCOME_BANDS = ((10_000, "月收入1万以下"), (20_000, "月收入1-2万"), (50_000, "月收入2-5万"), (float("inf"), "月收入5万以上"))


def _band(values: np.ndarray, bands: tuple) -> np.ndarray:
    bounds = np.array([b for b, _ in bands], dtype=float)
    labels = np.array([lbl for _, lbl in bands], dtype=object)
    return labels[np.searchsorted(bounds, values.astype(float), side="right").clip(0, len(bands) - 1)]


def age_band(age: float) -> str:
    return str(_band(np.array([age]), AGE_BANDS)[0])


def income_band(income: float) -> str:
    return str(_band(np.array([income]), INCOME_BANDS)[0])


def asset_item(level: str) -> str:
    return f"资产{level}"


def attribute_items(df: pd.DataFrame, segment_names: pd.Series | None) -> pd.DataFrame:
    """Columns age_item, income_item, asset_item, segment_item (None when no segments)."""
    out = pd.DataFrame(index=df.index)
    out["age_item"] = _band(df["age"].to_numpy(), AGE_BANDS)
    out["income_item"] = _band(df["monthly_income"].to_numpy(), INCOME_BANDS)
    out["asset_item"] = ("资产" + df["asset_level"].astype(str)).to_numpy(dtype=object)
    out["segment_item"] = segment_names.to_numpy(dtype=object) if segment_names is not None else None
    return out


def basket_lists(df: pd.DataFrame, attrs: pd.DataFrame) -> list[list[str]]:
    flags = df[[f"{p}_flag" for p in PRODUCTS]].to_numpy(dtype=bool)
    cols = [attrs[c].to_numpy(dtype=object) for c in ("age_item", "income_item", "asset_item", "segment_item")]
    out = []
    for i in range(len(df)):
        items = [PRODUCT_ITEMS[j] for j in range(len(PRODUCTS)) if flags[i, j]]
        items += [c[i] for c in cols if c[i] is not None and c[i] == c[i]]
        out.append(items)
    return out


def one_hot(baskets: list[list[str]]) -> pd.DataFrame:
    """Boolean transactions x items, columns sorted (the shape mlxtend expects)."""
    items = sorted({it for b in baskets for it in b})
    pos = {it: j for j, it in enumerate(items)}
    m = np.zeros((len(baskets), len(items)), dtype=bool)
    for i, b in enumerate(baskets):
        m[i, [pos[it] for it in b]] = True
    return pd.DataFrame(m, columns=items)

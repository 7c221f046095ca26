"""Per-segment profile: size, averages, top occupations, share of prospects, average propensity."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from million.contract import PRODUCT_NAMES, PRODUCTS
from million.fmt import wan
from million.segments.naming import level_word

PROPENSITY_FILE = Path("propensity") / "scores_latest.parquet"
NO_PROPENSITY = "暂无"


def load_propensity(artifacts_dir: Path) -> tuple[pd.Series | None, str]:
    """customer_id -> probability from the propensity step, or (None, why not)."""
    path = artifacts_dir / PROPENSITY_FILE
    if not path.exists():
        return None, "百万概率模型尚未构建"
    try:
        df = pd.read_parquet(path, columns=["customer_id", "probability"])
    except Exception as e:  # noqa: BLE001 - another team's file; a bad one must not stop segmentation
        return None, f"百万概率文件无法读取（{type(e).__name__}）"
    df["customer_id"] = df["customer_id"].astype(str)
    return df.drop_duplicates("customer_id", keep="last").set_index("customer_id")["probability"].astype(float), ""


def _describe(row: dict, overall: dict) -> str:
    """Seed-style line: 高收入（6.4万）+ 高资产（267万）+ 中等产品持有量（2.0个）+ 低复购（0.2次）."""
    def lv(key: str) -> str:
        return level_word(row[key] / overall[key] if overall[key] else 1.0)
    parts = [f"{lv('avg_income')}收入（{wan(row['avg_income'])}）", f"{lv('avg_aum')}资产（{wan(row['avg_aum'], 0)}）",
             f"{lv('avg_product_count')}产品持有量（{row['avg_product_count']:.1f}个）",
             f"{lv('avg_repurchase')}复购（{row['avg_repurchase']:.1f}次）",
             f"{lv('avg_app_logins')}APP活跃度（月均登录{row['avg_app_logins']:.1f}次）"]
    return " + ".join(parts)


PROFILE_MEANS = {
    "avg_age": "age", "avg_income": "monthly_income", "avg_aum": "total_assets",
    "avg_repurchase": "financial_repurchase_count", "avg_card_spend": "credit_card_monthly_expense",
    "avg_product_count": "product_count", "avg_app_logins": "app_login_count",
    "avg_investment_count": "investment_monthly_count",
}


def profile_segments(df: pd.DataFrame, labels: np.ndarray, names: list[dict],
                     propensity: pd.Series | None, propensity_note: str) -> list[dict]:
    """df: customer_frame rows aligned with labels. One dict per segment id (0..k-1)."""
    n = len(df)
    overall = {k: float(df[c].mean()) for k, c in PROFILE_MEANS.items()}
    return [profile_row(sid, meta, n, segment_stats(df[labels == sid], propensity), overall, propensity is None,
                        propensity_note) for sid, meta in enumerate(names)]


def segment_stats(m: pd.DataFrame, propensity: pd.Series | None) -> dict:
    """The raw numbers of one segment's profile (m: its customer_frame rows); `profile_row` rounds them.
    The Spark build computes the same numbers with a GROUP BY (million/spark/segments.py)."""
    st: dict = {"size": int(len(m)), "means": {key: float(m[col].mean()) for key, col in PROFILE_MEANS.items()},
                "median_aum": float(m["total_assets"].median()),
                "occupations": {str(k): int(v) for k, v in m["occupation_type"].value_counts().head(3).items()},
                "holding": {p: float(m[f"{p}_flag"].mean()) for p in PRODUCTS},
                "prospect_share": float(m["is_prospect"].mean()), "millionaires": int((~m["is_prospect"]).sum())}
    if propensity is not None:
        p = propensity.reindex(m["customer_id"]).dropna()
        st["propensity_mean"], st["propensity_n"] = float(p.mean()) if len(p) else None, int(len(p))
    return st


def profile_row(sid: int, meta: dict, n: int, st: dict, overall: dict, no_propensity: bool,
                propensity_note: str) -> dict:
    """One segment's profile from its raw numbers (`segment_stats`)."""
    size = st["size"]
    row: dict = {"segment_id": sid, "segment_name": meta["name"], "size": size,
                 "share": round(size / n, 4) if n else 0.0}
    for key in PROFILE_MEANS:
        row[key] = round(st["means"][key], 2) if size else 0.0
    row["median_aum"] = round(st["median_aum"], 2) if size else 0.0
    row["top_occupations"] = dict(st["occupations"])
    row["holding_rates"] = {PRODUCT_NAMES[p]: round(st["holding"][p], 4) if size else 0.0 for p in PRODUCTS}
    row["prospect_share"] = round(st["prospect_share"], 4) if size else 0.0
    row["millionaire_count"] = st["millionaires"]
    if no_propensity:
        row["avg_propensity"], row["propensity_scored"], row["propensity_note"] = None, 0, propensity_note
    else:
        mean = st["propensity_mean"]
        row["avg_propensity"] = round(mean, 4) if st["propensity_n"] else None
        row["propensity_scored"] = st["propensity_n"]
        row["propensity_note"] = "" if st["propensity_n"] else "本客群没有已评分的潜客"
    row["avg_propensity_text"] = (f"{row['avg_propensity']:.1%}" if row["avg_propensity"] is not None
                                  else f"{NO_PROPENSITY}（{row['propensity_note']}）")
    row["description"] = _describe(row, overall)
    row["naming_rule"] = meta["rule"]
    row["archetype"] = meta["archetype"]
    return row

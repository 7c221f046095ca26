"""Top prospects and the expected number of new 百万客户 from the propensity step's scores.

The scores file is another engineer's artifact that may be missing, stale or (while it is being
written) unreadable: every such case becomes a "暂无" placeholder, never an error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from million import contact
from million.dashboard.filters import Filters
from million.warehouse import Warehouse

SCORES_PATH = Path("propensity") / "scores_latest.parquet"
SCORE_COLUMNS = ("customer_id", "as_of", "probability")


def mask_name(name: Any) -> str:
    """王** for 王小明: the big screen is seen by many people, so names never show in full."""
    s = str(name or "").strip()
    return s[0] + "*" * max(len(s) - 1, 1) if s else "-"


def month_text(value: Any) -> str:
    """YYYY-MM from a month string, a date or a timestamp."""
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m")
    return str(value)[:7]


def file_token(artifacts_dir: Path) -> str:
    try:
        st = (artifacts_dir / SCORES_PATH).stat()
    except OSError:
        return ""
    return f"{st.st_mtime_ns}-{st.st_size}"


def read_scores(artifacts_dir: Path) -> pd.DataFrame | str:
    """The scores, or the reason they cannot be shown."""
    path = artifacts_dir / SCORES_PATH
    if not path.exists():
        return "暂无：潜客评分尚未生成（propensity/scores_latest.parquet）"
    try:
        df = pd.read_parquet(path, columns=list(SCORE_COLUMNS))
    except Exception:  # noqa: BLE001 - a half-written or foreign file must not break the page
        return "暂无：潜客评分文件无法读取"
    df = df.dropna(subset=["customer_id", "probability"])
    df["customer_id"] = df["customer_id"].astype(str)
    df["probability"] = pd.to_numeric(df["probability"], errors="coerce").clip(0, 1)
    return df.dropna(subset=["probability"])


def prospects(wh: Warehouse, f: Filters, scores: pd.DataFrame | str, latest_month: str | None,
              top: int = 10) -> dict[str, Any]:
    if isinstance(scores, str):
        return {"empty": True, "reason": scores}
    if f.branches is not None:  # the branches' customers, by bound parameters, then matched in memory
        ids = wh.query("SELECT customer_id FROM customer_base WHERE branch_name IN ("
                       + ", ".join("?" for _ in f.branches) + ")", list(f.branches))
        scores = scores[scores["customer_id"].isin(set(ids["customer_id"].astype(str)))]
    if scores.empty:
        return {"empty": True, "reason": "暂无：当前网点没有潜客评分"}
    as_of = month_text(scores["as_of"].max())
    # The same list the chat gives (predict_million_prob): customers in the marketing cool period are
    # not listed, by the one rule in million/contact.py.
    cool = contact.cool_customers(wh, as_of, f.branches)
    listable = scores[~scores["customer_id"].isin(set(cool))]
    best = listable.sort_values(["probability", "customer_id"], ascending=[False, True], kind="stable").head(top)
    ids = best["customer_id"].tolist()
    rows: list[dict[str, Any]] = []
    if ids:
        info = wh.query("SELECT customer_id, name, branch_name FROM customer_base WHERE customer_id IN ("
                        + ", ".join("?" for _ in ids) + ")", ids)
        info["customer_id"] = info["customer_id"].astype(str)
        by_id = info.set_index("customer_id").to_dict("index")
        rows = [{"customer_id": cid, "name": mask_name(by_id.get(cid, {}).get("name")),
                 "branch": str(by_id.get(cid, {}).get("branch_name") or "-"), "probability": round(float(p), 4)}
                for cid, p in zip(best["customer_id"], best["probability"], strict=True)]
    cool_scored = int(scores["customer_id"].isin(set(cool)).sum())
    return {"as_of": as_of, "stale": bool(latest_month and as_of < latest_month), "scored": len(scores),
            "prospects": contact.prospect_count(wh, as_of, f.branches), "cool_excluded": cool_scored,
            "contactable": len(scores) - cool_scored,
            "expected_new": round(float(scores["probability"].sum()), 1), "rows": rows}

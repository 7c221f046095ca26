"""Hand-made contract tables small enough to check features and labels by hand."""

from __future__ import annotations

import pandas as pd

from million.contract import asset_level
from million.tables import Tables


def behavior_row(cid: str, month: str, total: float, **kw: object) -> dict[str, object]:
    dep = kw.pop("deposit", total)
    fin = kw.pop("financial", 0.0)
    fund = kw.pop("fund", 0.0)
    ins = kw.pop("insurance", 0.0)
    dep = total - fin - fund - ins if dep == total else dep
    row: dict[str, object] = {
        "id": f"R-{cid}-{month}", "customer_id": cid, "total_assets": float(total), "deposit_balance": float(dep),
        "financial_balance": float(fin), "fund_balance": float(fund), "insurance_balance": float(ins),
        "asset_level": asset_level(total), "deposit_flag": int(dep > 0), "financial_flag": int(fin > 0),
        "fund_flag": int(fund > 0), "insurance_flag": int(ins > 0),
        "product_count": int(dep > 0) + int(fin > 0) + int(fund > 0) + int(ins > 0),
        "financial_repurchase_count": 0, "credit_card_monthly_expense": 1000.0, "investment_monthly_count": 0,
        "app_login_count": 3, "app_financial_view_time": 100, "app_product_compare_count": 0,
        "last_app_login_time": pd.Timestamp(f"{month}-10 12:00:00"), "last_contact_time": pd.NaT,
        "contact_result": None, "marketing_cool_period": pd.NaT, "stat_month": month,
    }
    row.update(kw)
    return row


def base_row(cid: str, **kw: object) -> dict[str, object]:
    row: dict[str, object] = {
        "customer_id": cid, "name": "张三", "age": 40, "gender": "男", "occupation": "律师",
        "occupation_type": "专业人士", "monthly_income": 20000.0, "open_account_date": pd.Timestamp("2020-01-15"),
        "lifecycle_stage": "成熟客户", "marriage_status": "已婚", "city_level": "一线城市", "branch_name": "上海分行外滩支行",
    }
    row.update(kw)
    return row


def make_tables(series: dict[str, dict[str, float]], base: dict[str, dict[str, object]] | None = None,
                extra: dict[tuple[str, str], dict[str, object]] | None = None) -> Tables:
    """series: customer -> {month: total_assets}; extra: (customer, month) -> column overrides."""
    rows = []
    for cid, months in series.items():
        for m, total in months.items():
            rows.append(behavior_row(cid, m, total, **(extra or {}).get((cid, m), {})))
    beh = pd.DataFrame(rows).sort_values(["customer_id", "stat_month"]).reset_index(drop=True)
    b = pd.DataFrame([base_row(c, **(base or {}).get(c, {})) for c in series])
    return Tables(b.sort_values("customer_id").reset_index(drop=True), beh)


def months(start: str, n: int) -> list[str]:
    y, m = map(int, start.split("-"))
    out = []
    for _ in range(n):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out

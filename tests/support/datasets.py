"""Small generated data sets for tests, written and loaded once per test session."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from million.datagen.simulate import generate
from million.datagen.writer import write_table
from million.ingest.load import load_folder
from million.warehouse import connect


def make_dataset(out: Path, *, customers: int, months: int, seed: int, id_style: str = "seq",
                 end_month: str = "2026-10", fmt: str = "parquet") -> Path:
    out.mkdir(parents=True, exist_ok=True)
    g = generate(customers, months, seed, end_month, id_style)
    write_table(g.customer_base, out, "customer_base", fmt)
    write_table(g.behavior, out, "customer_behavior_assets", fmt)
    g.oracle.to_csv(out / "oracle.csv", index=False)
    return out


def load_duckdb(data_dir: Path) -> str:
    url = f"duckdb:///{data_dir / 'warehouse.duckdb'}"
    with connect(url, read_only=False) as wh:
        load_folder(data_dir, wh, log=lambda _m: None)
    return url


def bank_export(out: Path, *, customers: int, months: int, seed: int, log_wealth: float = 0.0) -> Path:
    """Data a bank might bring: contract-valid, but no oracle.csv and other value distributions than
    the generator's: per-customer wealth multipliers (heavier tails, income scaled with them), 90% of
    customers in first-tier cities, three occupation classes only, no churn-warning stage, 40% of
    customers never use the app, triple the card spend. Sums, flags and asset levels still hold.
    `log_wealth` shifts every customer's wealth multiplier (e.g. -3: about 5% of the generator's)."""
    from million.contract import asset_level

    out.mkdir(parents=True, exist_ok=True)
    g = generate(customers, months, seed, "2026-03", "hex")
    rng = np.random.default_rng(seed)
    base, beh = g.customer_base.copy(), g.behavior.copy()
    mult = pd.Series(np.exp(rng.normal(log_wealth, 0.6, len(base))), index=base["customer_id"])
    m = beh["customer_id"].map(mult).to_numpy()
    parts = ["deposit_balance", "financial_balance", "fund_balance", "insurance_balance"]
    for c in parts:
        beh[c] = np.round(beh[c].astype(float) * m, 2)
    beh["total_assets"] = np.round(beh[parts].sum(axis=1), 2)
    beh["asset_level"] = beh["total_assets"].map(asset_level)
    base["monthly_income"] = np.round(base["monthly_income"].astype(float) * np.sqrt(mult.to_numpy()), 2)
    base["city_level"] = np.where(rng.random(len(base)) < 0.9, "一线城市", "二线城市")
    base["occupation_type"] = rng.choice(["专业人士", "私营业主", "企业高管"], len(base))
    base.loc[base["lifecycle_stage"] == "流失预警客户", "lifecycle_stage"] = "成熟客户"
    no_app = beh["customer_id"].isin(base["customer_id"].sample(frac=0.4, random_state=seed))
    beh.loc[no_app, ["app_login_count", "app_financial_view_time", "app_product_compare_count"]] = 0
    beh.loc[no_app, "last_app_login_time"] = None
    beh["credit_card_monthly_expense"] = np.round(beh["credit_card_monthly_expense"].astype(float) * 3, 2)
    write_table(base, out, "customer_base", "parquet")
    write_table(beh, out, "customer_behavior_assets", "parquet")
    return out

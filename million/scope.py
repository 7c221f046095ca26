"""Lookups used to enforce a user's branch scope."""

from __future__ import annotations

from million.warehouse import Warehouse


def customer_branch(wh: Warehouse, customer_id: str) -> str | None:
    df = wh.query("SELECT branch_name FROM customer_base WHERE customer_id = ?", [customer_id])
    return None if df.empty else str(df["branch_name"].iloc[0])

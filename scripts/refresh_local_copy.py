"""Refresh the app's local copy of a cluster warehouse (DB_URL=hive://...): customer_base, recent months
of behaviour, customer_segments and the latest million_scores, into SERVING_COPY (DuckDB).

    python scripts/refresh_local_copy.py [--db-url URL] [--out FILE] [--months N]
The batch job (scripts/build_artifacts.py --engine spark) runs this at its end."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from million.settings import get_settings  # noqa: E402
from million.warehouse import WarehouseError, connect  # noqa: E402
from million.warehouse.local_copy import refresh_local_copy  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    s = get_settings()
    ap = argparse.ArgumentParser(description="刷新集群数据仓库的本地服务副本（客户经理简报只读本地副本）")
    ap.add_argument("--db-url", default=s.warehouse_url)
    ap.add_argument("--out", type=Path, default=s.serving_copy)
    ap.add_argument("--months", type=int, default=s.serving_months)
    args = ap.parse_args(argv)
    try:
        with connect(args.db_url, read_only=True) as src:
            refresh_local_copy(src, args.out, months=args.months)
    except WarehouseError as e:
        print(f"刷新失败：{e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

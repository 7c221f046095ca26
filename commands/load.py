"""Load customer_base.* and customer_behavior_assets.* (xlsx / csv / parquet) into the warehouse.

    million load --data data [--db-url duckdb:///data/warehouse.duckdb | mysql+pymysql://...]
Broken rows go to the load_rejects table and DATA/rejects.csv (table, file_row, reason).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from million.ingest.load import load_folder, summarize_reasons  # noqa: E402
from million.ingest.read import FileFormatError  # noqa: E402
from million.settings import get_settings  # noqa: E402
from million.warehouse import WarehouseError, connect  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    s = get_settings()
    ap = argparse.ArgumentParser(description="把客户数据文件导入数据仓库（逐行校验，坏行进入拒绝表）")
    ap.add_argument("--data", type=Path, default=s.data_dir)
    ap.add_argument("--db-url", default=s.warehouse_url, help="默认 DuckDB 文件 data/warehouse.duckdb，或 DB_URL")
    args = ap.parse_args(argv)
    try:
        with connect(args.db_url, read_only=False) as wh:
            result = load_folder(args.data, wh)
    except (FileFormatError, WarehouseError) as e:
        print(f"导入失败：{e}", file=sys.stderr)
        return 2
    print(result.render())
    if len(result.rejects):
        print(f"\n共拒绝 {len(result.rejects):,} 行，明细见 {args.data / 'rejects.csv'} 和表 load_rejects。主要原因：")
        print(summarize_reasons(result.rejects))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

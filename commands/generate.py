"""Generate realistic mock bank data honouring ../shared/data-contract.md, plus oracle.csv.

    million generate --customers 20000 --months 24 --seed 42 --out data --format xlsx
"""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path

from tqdm import tqdm  # noqa: E402

from million.contract import BEHAVIOR, CUSTOMER_BASE  # noqa: E402
from million.datagen.simulate import generate  # noqa: E402
from million.datagen.writer import ParquetRows, write_table  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="生成模拟银行客户数据（customer_base / customer_behavior_assets / oracle.csv）")
    ap.add_argument("--customers", type=int, default=20000)
    ap.add_argument("--months", type=int, default=24)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out", type=Path, default=Path("data"))
    ap.add_argument("--format", choices=["xlsx", "csv", "parquet"], default="xlsx")
    ap.add_argument("--end-month", default="2026-10", help="last stat_month, YYYY-MM")
    ap.add_argument("--id-style", choices=["seq", "hex"], default="seq", help="seq: C0000001; hex: 32 hex chars")
    args = ap.parse_args(argv)
    if args.customers < 1:
        ap.error("--customers 必须是正整数")
    if not 6 <= args.months <= 60:
        ap.error("--months 必须在 6 到 60 之间")
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", args.end_month):
        ap.error("--end-month 应为 YYYY-MM 格式，例如 2026-10")
    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    # parquet: each month's rows are written as they are made (1M customers' 23M rows never sit in memory)
    sink = ParquetRows(args.out, BEHAVIOR) if args.format == "parquet" else None
    with tqdm(total=args.months, desc="模拟客户月度数据", unit="月") as bar:
        g = generate(args.customers, args.months, args.seed, args.end_month, args.id_style, bar.update,
                     behavior_sink=sink)
    tables = [(CUSTOMER_BASE, g.customer_base)] + ([] if sink else [(BEHAVIOR, g.behavior)])
    for name, df in tables:
        with tqdm(total=len(df), desc=f"写入 {name}", unit="行", unit_scale=True) as bar:
            path = write_table(df, args.out, name, args.format, bar.update)
        print(f"  {path}  {len(df):,} 行")
    if sink:
        print(f"  {sink.close()}  {sink.rows:,} 行")
    oracle_path = args.out / "oracle.csv"
    g.oracle.to_csv(oracle_path, index=False, lineterminator="\n")
    print(f"  {oracle_path}  {len(g.oracle):,} 行（as_of={g.oracle['as_of'].iloc[0] if len(g.oracle) else '-'}）")
    print(f"完成，用时 {time.perf_counter() - t0:.1f} 秒")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

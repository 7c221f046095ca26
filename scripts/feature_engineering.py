"""Build the propensity feature table (a thin CLI over million.propensity.features).

    python scripts/feature_engineering.py [--db-url URL] [--out FILE.parquet] [--as-of YYYY-MM ...]

Every customer-month with a 3-month lookback (T-2..T), with the label where T+1..T+3 is known.
The parquet carries the feature list and the data hash in its metadata (and a .meta.json beside it).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from tqdm import tqdm

from million.propensity import months as mo  # noqa: E402
from million.propensity.feature_store import CHUNK_CUSTOMERS, FeatureWriter, feature_table  # noqa: E402
from million.propensity.features import FEATURE_COLUMNS  # noqa: E402
from million.propensity.paths import artifacts_paths  # noqa: E402
from million.settings import get_settings  # noqa: E402
from million.tables import customer_ids, customer_ranges, data_hash, load_tables  # noqa: E402
from million.warehouse import WarehouseError, connect  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    s = get_settings()
    ap = argparse.ArgumentParser(description="特征工程：为每个客户每个观察月生成近3个月特征（训练与评分共用同一函数）")
    ap.add_argument("--db-url", default=s.warehouse_url)
    ap.add_argument("--out", type=Path, default=artifacts_paths(s.artifacts_dir)["features"])
    ap.add_argument("--as-of", nargs="*", help="只生成这些观察月（YYYY-MM），默认全部")
    args = ap.parse_args(argv)
    bad = [m for m in args.as_of or [] if not mo.is_month(m)]
    if bad:
        ap.error(f"月份格式应为 YYYY-MM：{bad}")
    t0 = time.perf_counter()
    try:
        with connect(args.db_url, read_only=True) as wh:
            # a range of customers at a time, streamed into the file: the warehouse may not fit in memory
            writer = FeatureWriter(args.out, data_hash=data_hash(wh))
            labelled = 0
            ranges = customer_ranges(customer_ids(wh), CHUNK_CUSTOMERS)
            for lo, hi in tqdm(ranges, desc="特征（按客户分段）", disable=len(ranges) < 2):
                df = feature_table(load_tables(wh, customers=(lo, hi)), args.as_of)
                writer.write(df)
                labelled += int(df["label"].notna().sum())
            info = writer.close()
    except WarehouseError as e:
        print(f"读取数据失败：{e}", file=sys.stderr)
        return 2
    months = info["as_of_months"]
    print(f"特征 {len(FEATURE_COLUMNS)} 个，{info['rows']:,} 行（客户×观察月），观察月 "
          f"{months[0] if months else '-'} ~ {months[-1] if months else '-'}，有标签 {labelled:,} 行")
    print(f"已保存 {args.out}（元数据 {args.out.with_suffix('.meta.json').name}），用时 {time.perf_counter() - t0:.1f} 秒")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

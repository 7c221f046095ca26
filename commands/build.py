"""Build every artifact the tools load (features, propensity models, segments, rules, forecasts).

    million build [--data DIR] [--db-url URL] [--artifacts DIR] [--force] [--only STEP ...]
                  [--engine local|spark] [--score-months latest|all]
Steps whose inputs (warehouse content, code, parameters) are unchanged are skipped.
--engine spark (optional extra `spark`, Java 17+; master from SPARK_MASTER: local[N] or yarn) builds the
features on Spark per hash bucket, trains on the driver, scores every prospect on the cluster into the
warehouse table million_scores (partitioned by month; the propensity step's latest-month artifacts come
from it), reads and aggregates segments, rules and forecasts on Spark and, with DB_URL=hive://...,
refreshes the app's local copy (million/spark/build.py).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from million.pipeline import BuildContext, BuildStopped, render_summary, run_all  # noqa: E402
from million.settings import get_settings  # noqa: E402
from million.warehouse import WarehouseError  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    s = get_settings()
    ap = argparse.ArgumentParser(description="离线训练与分析：特征、百万概率模型、客群、关联规则、AUM预测")
    ap.add_argument("--data", type=Path, default=s.data_dir)
    ap.add_argument("--db-url", default=s.warehouse_url)
    ap.add_argument("--artifacts", type=Path, default=s.artifacts_dir)
    ap.add_argument("--force", action="store_true", help="忽略缓存，全部重建")
    ap.add_argument("--only", nargs="*", help="只运行这些步骤（propensity segments rules forecast）")
    ap.add_argument("--engine", choices=["local", "spark"], default="local",
                    help="spark：特征、全量评分以及客群/关联规则/预测的读数与汇总在 Spark 上运行（SPARK_MASTER=local[N] 或 yarn）")
    ap.add_argument("--score-months", choices=["latest", "all"], default="latest",
                    help="--engine spark 时写入 million_scores 的月份：最新月或全部月份")
    args = ap.parse_args(argv)
    ctx = BuildContext(db_url=args.db_url, artifacts_dir=args.artifacts, data_dir=args.data, force=args.force)
    try:
        if args.engine == "spark":
            from million.spark.build import build_on_spark
            from million.spark.session import spark_session
            from million.warehouse import parse_url

            spark = spark_session(s, hive=parse_url(args.db_url).scheme == "hive")
            try:
                rows = build_on_spark(ctx, s, spark, only=args.only, score_months=args.score_months)
            finally:
                spark.stop()
        else:
            rows = run_all(ctx, only=args.only)
    except WarehouseError as e:
        print(f"构建失败：{e}", file=sys.stderr)
        return 2
    except BuildStopped as e:  # the data cannot support a step: say what is missing, no traceback
        if e.rows:
            print(render_summary(e.rows))
        print(f"构建失败：{e}", file=sys.stderr)
        return 2
    print(render_summary(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

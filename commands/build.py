"""Build every artifact the tools load (features, propensity models, segments, rules, forecasts).

    million build [--data DIR] [--db-url URL] [--artifacts DIR] [--force] [--only STEP ...]
Steps whose inputs (warehouse content, code, parameters) are unchanged are skipped.
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
    args = ap.parse_args(argv)
    ctx = BuildContext(db_url=args.db_url, artifacts_dir=args.artifacts, data_dir=args.data, force=args.force)
    try:
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

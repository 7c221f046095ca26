"""Score every prospect of one month with the calibrated LightGBM.

    million score [--as-of latest|YYYY-MM] [--out FILE.csv] [--db-url URL] [--artifacts DIR]

Writes customer_id, as_of, probability (highest first). The assistant's per-customer predictions
for the latest month equal this file's (same features function, same model, same rows).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from million.propensity import months as mo  # noqa: E402
from million.propensity.bundle import ModelBundle  # noqa: E402
from million.propensity.paths import artifacts_paths  # noqa: E402
from million.propensity.scoring import SCORE_COLUMNS, latest_month, load_window, score_month  # noqa: E402
from million.settings import get_settings  # noqa: E402
from million.warehouse import WarehouseError, connect  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    s = get_settings()
    ap = argparse.ArgumentParser(description="用校准后的 LightGBM 为某月全部潜客打分（未来3个月达到100万的概率）")
    ap.add_argument("--as-of", default="latest", help="观察月 YYYY-MM，默认 latest（最新月）")
    ap.add_argument("--out", type=Path, default=Path("scores.csv"))
    ap.add_argument("--db-url", default=s.warehouse_url)
    ap.add_argument("--artifacts", type=Path, default=s.artifacts_dir)
    args = ap.parse_args(argv)
    if args.as_of != "latest" and not mo.is_month(args.as_of):
        ap.error("--as-of 应为 latest 或 YYYY-MM")
    models = artifacts_paths(args.artifacts)["models"]
    if not (models / "bundle.json").exists():
        print(f"找不到模型：{models}。请先运行 make artifacts", file=sys.stderr)
        return 2
    bundle = ModelBundle.load(models)
    try:
        with connect(args.db_url, read_only=True) as wh:
            month = latest_month(wh) if args.as_of == "latest" else args.as_of
            if month is None:
                print("数据仓库中没有行为数据", file=sys.stderr)
                return 2
            tables = load_window(wh, month)
    except WarehouseError as e:
        print(f"读取数据失败：{e}", file=sys.stderr)
        return 2
    if month not in set(tables.behavior["stat_month"]):
        print(f"数据中没有 {month} 月的记录", file=sys.stderr)
        return 2
    scores = score_month(tables, month, bundle)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    scores[SCORE_COLUMNS].to_csv(args.out, index=False, lineterminator="\n")
    print(f"{month}：{len(scores):,} 位潜客（近3个月数据完整、总资产不足100万）已打分 -> {args.out}")
    if len(scores):
        print(f"平均概率 {scores['probability'].mean():.2%}，最高 {scores['probability'].iloc[0]:.1%}"
              f"（{scores['customer_id'].iloc[0]}）；概率 ≥ 50% 的有 {int((scores['probability'] >= 0.5).sum()):,} 位")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

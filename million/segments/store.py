"""Where the segments step keeps its artifacts, and the customer_segments warehouse table."""

from __future__ import annotations

from pathlib import Path

SUBDIR = "segments"
MODEL = "model.joblib"  # {"scaler", "kmeans", "features", "names"}
MODEL_META = "model.json"
ASSIGNMENTS = "assignments.parquet"  # every customer's segment and key values
PROFILES = "profiles.json"  # profiles with marketing plans, k selection, overall means
K_CHART = "k_selection.png"
REPORT_HTML = "marketing_plan.html"
REPORT_MD = "segments.md"

TABLE = "customer_segments"
TABLE_COLUMNS = ("customer_id", "segment_id", "segment_name", "as_of_month", "total_assets", "monthly_income",
                 "product_count")
_COMMENTS = {
    "customer_id": "客户ID，关联 customer_base", "segment_id": "客群编号（0 为平均AUM最高的客群）",
    "segment_name": "客群名称", "as_of_month": "分群所用数据月份（YYYY-MM）",
    "total_assets": "分群月份的总资产AUM（元）", "monthly_income": "月收入（元）", "product_count": "分群月份持有产品数",
}
_TYPES = {"customer_id": ("VARCHAR(32)", "VARCHAR"), "segment_id": ("INT", "INTEGER"),
          "segment_name": ("VARCHAR(50)", "VARCHAR"), "as_of_month": ("VARCHAR(7)", "VARCHAR"),
          "total_assets": ("DECIMAL(16,2)", "DECIMAL(16,2)"), "monthly_income": ("DECIMAL(12,2)", "DECIMAL(12,2)"),
          "product_count": ("INT", "INTEGER")}
TABLE_COMMENT = "客户分群结果（KMeans，每客户一行）"


def folder(artifacts_dir: Path) -> Path:
    return artifacts_dir / SUBDIR


def table_ddl(dialect: str):
    """A DdlMap entry: typed columns with comments, so the SQL tool's schema text explains the table."""
    def make(name: str) -> list[str]:
        if dialect == "mysql":
            cols = [f"  `{c}` {_TYPES[c][0]} NOT NULL COMMENT '{_COMMENTS[c]}'" for c in TABLE_COLUMNS]
            cols.append("  PRIMARY KEY (`customer_id`)")
            cols.append("  KEY `idx_segment_id` (`segment_id`)")
            return [f"CREATE TABLE `{name}` (\n" + ",\n".join(cols) +
                    f"\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COMMENT='{TABLE_COMMENT}'"]
        cols = [f'  "{c}" {_TYPES[c][1]} NOT NULL' for c in TABLE_COLUMNS]
        stmts = [f'CREATE TABLE "{name}" (\n' + ",\n".join(cols) + ',\n  PRIMARY KEY ("customer_id")\n)',
                 f"COMMENT ON TABLE \"{name}\" IS '{TABLE_COMMENT}'"]
        stmts += [f"COMMENT ON COLUMN \"{name}\".\"{c}\" IS '{_COMMENTS[c]}'" for c in TABLE_COLUMNS]
        return stmts
    return make

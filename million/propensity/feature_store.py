"""Feature tables on disk: parquet with the feature list and data hash in the file's own metadata,
plus a JSON sidecar (million.artifacts.write_metadata) for people and other tools."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from million.artifacts import write_metadata
from million.propensity.features import FEATURE_COLUMNS, KEY_COLUMNS, build_features
from million.propensity.labels import build_labels
from million.tables import Tables

META_KEY = b"million.propensity"


def feature_table(tables: Tables, as_of_months: list[str] | None = None) -> pd.DataFrame:
    """Features of every customer-month with a 3-month lookback, plus future_max_assets and label
    (NaN where T+1..T+3 is not in the export yet, e.g. the latest months)."""
    feats = build_features(tables, as_of_months)
    lab = build_labels(tables, feats["as_of"].unique())
    return feats.merge(lab, on=["customer_id", "as_of"], how="left", validate="one_to_one")


def write_features(df: pd.DataFrame, path: Path, *, data_hash: str, **extra: Any) -> dict[str, Any]:
    path.parent.mkdir(parents=True, exist_ok=True)
    info = {"features": FEATURE_COLUMNS, "keys": KEY_COLUMNS, "data_hash": data_hash, "rows": len(df),
            "as_of_months": sorted(df["as_of"].unique().tolist()) if len(df) else [], **extra}
    table = pa.Table.from_pandas(df, preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta[META_KEY] = json.dumps(info, ensure_ascii=False, default=str).encode()
    pq.write_table(table.replace_schema_metadata(meta), path, compression="zstd")
    write_metadata(path.with_suffix(".meta.json"), features=FEATURE_COLUMNS, data_hash=data_hash,
                   metrics={"rows": len(df)}, **{k: v for k, v in info.items() if k not in {"features", "data_hash"}})
    return info


def read_features(path: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    table = pq.read_table(path)
    raw = (table.schema.metadata or {}).get(META_KEY)
    info = json.loads(raw) if raw else {}
    return table.to_pandas(), info

"""Feature tables on disk: parquet with the feature list and data hash in the file's own metadata,
plus a JSON sidecar (million.artifacts.write_metadata) for people and other tools."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from million.artifacts import write_metadata
from million.memory import give_back
from million.propensity.features import FEATURE_COLUMNS, KEY_COLUMNS, build_features
from million.propensity.labels import build_labels
from million.tables import Tables, customer_ids, customer_ranges, load_tables
from million.warehouse import Warehouse

META_KEY = b"million.propensity"
# Customers whose features are built at a time: memory holds the range being built, the next one read and the
# last one being written. Measured on 100k customers x 24 months: 25k a range peaked at 2.9 GiB and took 36 s,
# 10k at 1.5 GiB and 27 s, 5k at 1.1 GiB and 29 s (build_features' intermediates grow with the range).
CHUNK_CUSTOMERS = 10_000
# Customers whose every month trains, validates and tests the models: beyond it, a uniform sample
# (100k customers x 24 months train in about 12 GiB). Every prospect is still scored.
TRAIN_CUSTOMERS = 100_000


def feature_table(tables: Tables, as_of_months: list[str] | None = None) -> pd.DataFrame:
    """Features of every customer-month with a 3-month lookback, plus future_max_assets and label
    (NaN where T+1..T+3 is not in the export yet, e.g. the latest months)."""
    feats = build_features(tables, as_of_months)
    lab = build_labels(tables, feats["as_of"].unique())
    return feats.merge(lab, on=["customer_id", "as_of"], how="left", validate="one_to_one")


class FeatureWriter:
    """Feature rows written into one parquet chunk by chunk (data larger than memory is built a range
    of customers at a time); the feature list, data hash and row count go into the file's metadata."""

    def __init__(self, path: Path, *, data_hash: str, **extra: Any) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path, self.data_hash, self.extra = path, data_hash, extra
        self.tmp = path.with_name(f".{path.name}.partial")
        self.rows = 0
        self.months: set[str] = set()
        self._writer: pq.ParquetWriter | None = None
        self._empty: pd.DataFrame | None = None

    def write(self, df: pd.DataFrame) -> None:
        if not len(df):
            self._empty = df.iloc[:0] if self._empty is None else self._empty
            return
        if self._writer is None:
            table = pa.Table.from_pandas(df, preserve_index=False)
            # dictionaries only for the keys: tried on 123 float columns they cost a third of the write time
            self._writer = pq.ParquetWriter(self.tmp, table.schema, compression="zstd", use_dictionary=KEY_COLUMNS)
        else:
            table = pa.Table.from_pandas(df, schema=self._writer.schema, preserve_index=False)
        self._writer.write_table(table)
        self.rows += len(df)
        self.months.update(df["as_of"].astype(str).unique().tolist())

    def close(self) -> dict[str, Any]:
        info = {"features": FEATURE_COLUMNS, "keys": KEY_COLUMNS, "data_hash": self.data_hash, "rows": self.rows,
                "as_of_months": sorted(self.months), **self.extra}
        meta = {META_KEY: json.dumps(info, ensure_ascii=False, default=str).encode()}
        if self._writer is None:  # nothing written: an empty table with the columns
            empty = self._empty if self._empty is not None else pd.DataFrame(columns=KEY_COLUMNS + FEATURE_COLUMNS)
            table = pa.Table.from_pandas(empty, preserve_index=False)
            pq.write_table(table.replace_schema_metadata({**(table.schema.metadata or {}), **meta}), self.tmp,
                           compression="zstd")
        else:
            self._writer.add_key_value_metadata(meta)
            self._writer.close()
        self.tmp.replace(self.path)
        write_metadata(self.path.with_suffix(".meta.json"), features=FEATURE_COLUMNS, data_hash=self.data_hash,
                       metrics={"rows": self.rows},
                       **{k: v for k, v in info.items() if k not in {"features", "data_hash"}})
        return info


# The code that shapes a feature table: a saved table is reused only when this fingerprint, the data hash and
# the sampling settings all match (see stream_features).
FEATURE_SOURCES = ("features.py", "labels.py", "months.py", "feature_store.py")


def code_fingerprint() -> str:
    h = hashlib.sha256()
    here = Path(__file__).resolve().parent
    for name in FEATURE_SOURCES:
        h.update(name.encode())
        h.update((here / name).read_bytes())
    for mod in ("contract.py", "tables.py"):
        h.update((here.parent / mod).read_bytes())
    return h.hexdigest()[:16]


def training_sample(ids: list[str], cap: int | None, seed: int) -> set[str] | None:
    """The customers whose every month is used for training, validation and testing: all of them up
    to `cap`, otherwise `cap` drawn uniformly (by a hash of the ID, so the draw does not depend on
    how IDs were assigned, e.g. in order of account opening). None means all."""
    if cap is None or len(ids) <= cap:
        return None
    keys = pd.util.hash_array(np.asarray(ids, dtype=object), hash_key=(f"million-{seed}" + "0" * 16)[:16])
    pick = np.argsort(keys, kind="stable")[:cap]
    return {ids[i] for i in pick}


def _reusable(path: Path, key: dict[str, Any]) -> bool:
    """Whether the feature table at `path` was built from the same data, code and settings as `key` asks."""
    if not path.exists():
        return False
    try:
        raw = (pq.read_metadata(path).metadata or {}).get(META_KEY)
    except (OSError, pa.ArrowException):
        return False
    info = json.loads(raw) if raw else {}
    return all(info.get(k) == v for k, v in key.items())


def _read_back(path: Path, latest: str, sample: set[str] | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The labelled rows of the training sample and the latest month's rows of a saved feature table, one
    row group at a time: a filtered dataset scan reads ahead several row groups on every thread, and at 1M
    customers that took the train stage to 13.8 GiB. Memory holds what is kept plus one row group."""
    pf = pq.ParquetFile(path)
    wanted = pa.array(sorted(sample), type=pa.string()) if sample is not None else None
    labelled, last = [], []
    for i in range(pf.num_row_groups):
        group = pf.read_row_group(i)
        keep = pc.is_valid(group["label"])
        if wanted is not None:
            keep = pc.and_(keep, pc.is_in(group["customer_id"], value_set=wanted))
        labelled.append(group.filter(keep))
        last.append(group.select(KEY_COLUMNS + FEATURE_COLUMNS).filter(pc.equal(group["as_of"], latest)))
        del group
    schema = pf.schema_arrow
    frames = (_to_frame(labelled, schema), _to_frame(last, pa.schema([schema.field(c) for c in KEY_COLUMNS + FEATURE_COLUMNS],
                                                                      metadata=schema.metadata)))
    give_back()  # the row groups read and dropped
    return frames


def _to_frame(parts: list[pa.Table], schema: pa.Schema) -> pd.DataFrame:
    table = pa.concat_tables(parts) if parts else schema.empty_table()
    parts.clear()
    return table.to_pandas(split_blocks=True, self_destruct=True)


def _columns(df: pd.DataFrame) -> dict[str, pd.Series]:
    return {c: df[c].reset_index(drop=True) for c in df.columns}


def _sorted_union(parts: list[dict[str, pd.Series]], order: list[str]) -> pd.DataFrame:
    """pd.concat(parts).sort_values(order, kind="stable"), a column at a time, each part's column dropped once
    copied: memory holds the parts plus one column, where concat-then-sort held the rows three times (the 1M
    features stage peaked at 9.1 GiB holding 2.7 GiB of them)."""
    keys = pd.DataFrame({k: pd.concat([p[k] for p in parts], ignore_index=True) for k in order})
    perm = keys.sort_values(order, kind="stable").index.to_numpy()
    del keys
    out: dict[str, pd.Series] = {}
    for c in list(parts[0]):
        out[c] = pd.concat([p.pop(c) for p in parts], ignore_index=True).take(perm).reset_index(drop=True)
    parts.clear()
    return pd.DataFrame(out, copy=False)


def stream_features(wh: Warehouse, path: Path, *, data_hash: str, latest: str, chunk_customers: int,
                    train_customers: int | None, seed: int,
                    progress: Callable[[int, str], Any] | None = None, reuse: bool = True) -> dict[str, Any]:
    """Features of every customer-month, built a range of customers at a time and streamed into the
    parquet at `path`, so memory holds one range, not the whole warehouse. Returned: the labelled rows
    of the training sample ("labelled"), every customer's features at `latest` ("latest"), the number
    of customers, the sample size (None: all customers) and whether the table at `path` was reused.
    With `reuse`, a table already at `path` built from the same data (hash), feature code (fingerprint),
    latest month and sampling settings is read back instead of built again: a rebuild after a change to
    the models only, or the build after a separate feature run, does not pay for the features twice."""
    ids = customer_ids(wh)
    sample = training_sample(ids, train_customers, seed)
    key = {"data_hash": data_hash, "code": code_fingerprint(), "latest": latest, "train_customers": train_customers,
           "seed": seed, "customers": len(ids)}
    order = ["as_of", "customer_id"]  # as build_features sorts, whatever the number of ranges
    if reuse and _reusable(path, key):
        labelled_df, latest_df = _read_back(path, latest, sample)
        reused = True
    else:
        ranges = customer_ranges(ids, chunk_customers)
        writer = FeatureWriter(path, training_customers=len(ids) if sample is None else len(sample),
                               **key)
        labelled, latest_parts = [], []
        bar = progress(len(ranges), "特征（按客户分段）") if progress and len(ranges) > 1 else None
        # One helper thread reads the next range from the warehouse and writes the last one's parquet while
        # this thread builds the current one: both run in C++ without the GIL, so they use the second core.
        with ThreadPoolExecutor(1, thread_name_prefix="features-io") as io:
            pending = io.submit(load_tables, wh, customers=ranges[0])
            written: Future[None] | None = None
            for i in range(len(ranges)):
                tables = pending.result()
                if i + 1 < len(ranges):
                    pending = io.submit(load_tables, wh, customers=ranges[i + 1])
                table = feature_table(tables)
                del tables
                latest_parts.append(_columns(table.loc[table["as_of"] == latest, KEY_COLUMNS + FEATURE_COLUMNS]))
                lab = table.loc[table["label"].notna()]
                labelled.append(_columns(lab if sample is None else lab.loc[lab["customer_id"].isin(sample)]))
                if written is not None:
                    written.result()  # at most one range waits to be written
                written = io.submit(writer.write, table)
                del table, lab
                give_back()  # the range's intermediates: otherwise the heap keeps them across 100 ranges
                if bar:
                    bar.update(1)
            if written is not None:
                written.result()
        if bar:
            bar.close()
        writer.close()
        labelled_df, latest_df = _sorted_union(labelled, order), _sorted_union(latest_parts, order)
        reused = False
    if reused:
        labelled_df = labelled_df.sort_values(order, kind="stable", ignore_index=True)
        latest_df = latest_df.sort_values(order, kind="stable", ignore_index=True)
    return {"labelled": labelled_df, "latest": latest_df, "customers": len(ids),
            "sample": None if sample is None else len(sample), "reused": reused}


def read_features(path: Path, as_of: str | None = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The feature rows (only month `as_of` when given: the file holds every month) and the metadata."""
    raw = (pq.read_metadata(path).metadata or {}).get(META_KEY)
    info = json.loads(raw) if raw else {}
    filters = None if as_of is None else [("as_of", "==", as_of)]
    return pq.read_table(path, filters=filters).to_pandas(), info

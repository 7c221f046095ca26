"""Long text cells cut before a result leaves the query (worker) for the LLM or the page."""

from __future__ import annotations

import pandas as pd


def clip_cells(df: pd.DataFrame, cap: int) -> bool:
    """Cut text and bytes cells longer than `cap` in place; True when any was cut."""
    clipped = False
    for i in range(df.shape[1]):  # by position: a query may return two columns with the same name
        values = df.iloc[:, i]
        if not (pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values)):
            continue
        long = values.map(lambda v: isinstance(v, str | bytes) and len(v) > cap)
        if long.any():
            df.iloc[long.to_numpy().nonzero()[0], i] = values[long].map(
                lambda v: v[:cap] + ("…[已截断]" if isinstance(v, str) else b"..."))
            clipped = True
    return clipped

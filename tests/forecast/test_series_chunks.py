"""The forecast step reads the warehouse a range of customers at a time (it may not fit in memory):
the series and the customer sample equal those computed from the whole tables at once."""

from __future__ import annotations

import numpy as np
import pandas as pd

from million.forecast.series import CustomerSeries, aggregate_series
from million.forecast.step import SERIES_BASE_COLUMNS, SERIES_BEHAVIOR_COLUMNS, read_series
from million.tables import load_tables
from million.warehouse import connect


def test_series_read_in_ranges_equal_the_whole_tables(small_wh_url: str) -> None:
    with connect(small_wh_url) as wh:
        t = load_tables(wh, behavior_columns=SERIES_BEHAVIOR_COLUMNS, base_columns=SERIES_BASE_COLUMNS)
        ids = t.base["customer_id"].astype(str)
        segments = pd.DataFrame({"customer_id": ids, "segment_id": [int(c[-1]) % 3 for c in ids],
                                 "segment_name": [f"客群{int(c[-1]) % 3}" for c in ids]})
        whole = aggregate_series(t.behavior, t.base, segments)
        got, sample, cs, months = read_series(wh, segments, 40, seed=3, chunk_customers=170)
    assert [s.key for s in got] == [s.key for s in whole]
    assert {s.level for s in got} == {"total", "segment", "branch"}
    for a, b in zip(got, whole, strict=True):
        assert (a.name, a.label, a.months) == (b.name, b.label, b.months)
        np.testing.assert_allclose(a.values, b.values, rtol=1e-12)
    assert months == t.months
    full = CustomerSeries.from_behavior(t.behavior)
    assert len(sample) == 40 == len(set(sample)) and sample == sorted(sample)
    for cid in sample:
        assert cs.get(cid)[0] == full.get(cid)[0] and np.array_equal(cs.get(cid)[1], full.get(cid)[1])
    total = next(s for s in got if s.key == "total")
    by_month = t.behavior.groupby("stat_month")["total_assets"].sum()
    np.testing.assert_allclose(total.values, by_month.reindex(total.months).to_numpy(), rtol=1e-12)

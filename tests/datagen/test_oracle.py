"""The two oracle estimates run in two processes at scale: same values as one after the other."""

from __future__ import annotations

import pandas as pd
import pytest

from million.datagen import simulate
from million.datagen.simulate import generate, oracle_pair


def test_parallel_oracle_equals_sequential(monkeypatch: pytest.MonkeyPatch) -> None:
    g = generate(600, 8, seed=3, keep_hidden=True)
    h = g.hidden
    assert h is not None
    pd.testing.assert_frame_equal(oracle_pair(h.state, h.traits, h.customer_ids, h.as_of, h.seed), g.oracle)
    monkeypatch.setattr(simulate, "PARALLEL_ORACLE_CUSTOMERS", 0)
    parallel = oracle_pair(h.state, h.traits, h.customer_ids, h.as_of, h.seed)
    pd.testing.assert_frame_equal(parallel, g.oracle)
    assert parallel["p_true"].ne(parallel["p_check"]).any()  # two independent streams, not one copied

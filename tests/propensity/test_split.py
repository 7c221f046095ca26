from __future__ import annotations

import pytest

from million.propensity import months as mo
from million.propensity.split import NotEnoughHistory, split_months
from tests.propensity.tiny import months


@pytest.mark.parametrize("n_months", [12, 18, 24, 36])
def test_out_of_time_split(n_months: int) -> None:
    all_months = months("2023-01", n_months)
    labelled = all_months[2:-3]
    s = split_months(labelled)
    assert s.test == labelled[-1]
    assert s.train and s.val
    assert max(s.train) < min(s.val) < s.test
    assert not set(s.train) & set(s.val)
    # every label used for fitting ends by the test month: nothing from after it is known
    assert mo.shift(max(s.val), 3) <= s.test
    assert s.role(s.test) == "test" and s.role(s.val[0]) == "val" and s.role(s.train[0]) == "train"


def test_too_short_is_a_clear_error() -> None:
    with pytest.raises(NotEnoughHistory, match="至少需要"):
        split_months(months("2023-01", 4))

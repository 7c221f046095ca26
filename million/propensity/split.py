"""Out-of-time split by as-of month. Never by random rows: rows of one month share a market and a
season, so mixing months would overstate quality.

- test: the last labelled month T*;
- validation (early stopping, calibration): up to 3 months ending at T*-3, so no label used in
  fitting comes from after T* (as if the models had been built at T*);
- train: every labelled month before the validation months.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from million.errors import DataInsufficient
from million.propensity import months as mo
from million.propensity.labels import HORIZON

# test month, the months in its horizon gap, then at least one validation and one training month
MIN_LABELLED_MONTHS = HORIZON + 2


@dataclass(frozen=True)
class MonthSplit:
    train: list[str]
    val: list[str]
    test: str

    def role(self, month: str) -> str:
        if month == self.test:
            return "test"
        return "val" if month in self.val else "train" if month in self.train else "unused"

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


class NotEnoughHistory(DataInsufficient):
    pass


def split_months(labelled: list[str], max_val: int = 3) -> MonthSplit:
    if len(labelled) < MIN_LABELLED_MONTHS:
        raise NotEnoughHistory(
            f"有标签的观察月只有 {len(labelled)} 个，至少需要 {MIN_LABELLED_MONTHS} 个"
            f"（即至少 {MIN_LABELLED_MONTHS + 2 + HORIZON} 个月的数据）才能做跨时间的训练/验证/测试划分")
    test = labelled[-1]
    last_fit = mo.shift(test, -HORIZON)  # the last as-of month whose label window ends by T*
    pool = [m for m in labelled if m <= last_fit]
    if len(pool) < 2:
        raise NotEnoughHistory("观察月不连续，无法在测试月之前留出训练月和验证月")
    n_val = max(1, min(max_val, len(pool) // 4))
    return MonthSplit(train=pool[:-n_val], val=pool[-n_val:], test=test)

"""What ForecastService returns (and the chart reads): facts, no sentences (the tools word them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from million.segments.lookup import NameLookup


class ForecastStatus(Enum):
    OK = "ok"
    INVALID = "invalid"  # `invalid` names the argument
    UNKNOWN = "unknown"  # no such customer / segment / branch (`lookup` for a name), or no series at all
    AMBIGUOUS = "ambiguous"  # a branch name matching several branches (`lookup`)
    INSUFFICIENT_HISTORY = "insufficient_history"  # fewer than `months_needed` months
    ERROR = "error"  # the warehouse failed; `error` says how


class ForecastLevel(Enum):
    TOTAL = "total"
    SEGMENT = "segment"
    BRANCH = "branch"
    CUSTOMER = "customer"


class Invalid(Enum):
    HORIZON = "horizon"  # not an integer in 1..MAX_HORIZON
    SEVERAL_TARGETS = "several_targets"  # more than one of customer_id, segment, branch
    CUSTOMER_ID = "customer_id"
    BRANCH = "branch"  # not a text of 1-100 characters


@dataclass(frozen=True)
class Backtest:
    """The last HOLDOUT months held out: MAPE per method (arima, drift, naive)."""

    mape: dict[str, float]
    window: tuple[str, ...]
    selected_by: str
    note: str  # the build's own note on the choice (from its report)
    validation_mape: dict[str, float] | None = None


@dataclass(frozen=True)
class ForecastResult:
    status: ForecastStatus
    level: ForecastLevel | None = None
    label: str = ""  # the series' display name: 全行, 客群「…」, 客户「…」, the branch
    name: str | None = None  # the segment or branch name of an aggregate
    customer_id: str | None = None
    history_months: tuple[str, ...] = ()
    history: tuple[float, ...] = ()  # 元
    forecast_months: tuple[str, ...] = ()
    forecast: tuple[float, ...] = ()  # the mean
    lower: tuple[float, ...] = ()  # 95%
    upper: tuple[float, ...] = ()
    model: str = ""  # the readable method, e.g. ARIMA(1,1,0)+漂移
    method_key: str = ""  # arima | drift | naive
    order: tuple[int, ...] | None = None  # ARIMA [p, d, q]
    stationarity: dict[str, Any] = field(default_factory=dict)
    backtest_mape: float | None = None  # the used method on the held-out months; None if unknown
    backtest: Backtest | None = None
    horizon: int = 0
    # why there is no forecast
    invalid: Invalid | None = None
    lookup: NameLookup | None = None  # a segment or branch name that did not resolve
    months_available: int | None = None
    months_needed: int | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is ForecastStatus.OK


def next_months(month: str, n: int) -> list[str]:
    y, m = int(month[:4]), int(month[5:7])
    out = []
    for _ in range(n):
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        out.append(f"{y:04d}-{m:02d}")
    return out


def make_result(*, level: ForecastLevel, label: str, months: list[str], history: list[float], fc: dict, horizon: int,
                backtest: Backtest | None, backtest_mape: float | None, name: str | None = None,
                customer_id: str | None = None) -> ForecastResult:
    """fc: Forecast.as_dict() of at least `horizon` steps."""
    h = horizon
    return ForecastResult(
        ForecastStatus.OK, level, label, name, customer_id, tuple(months), tuple(round(float(v), 2) for v in history),
        tuple(next_months(months[-1], h)), tuple(fc["mean"][:h]), tuple(fc["lower"][:h]), tuple(fc["upper"][:h]),
        fc["label"], fc["method"], tuple(fc["order"]) if fc["order"] else None, fc.get("d_test") or {}, backtest_mape,
        backtest, h)

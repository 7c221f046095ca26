"""What PropensityService returns: facts (status, numbers, ids, months), no sentences. The tools
word them for people (tools/wording.py)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class PredictStatus(Enum):
    PROSPECT = "prospect"  # scored: probability and rank are set
    ALREADY_MILLION = "already_million"  # total assets reached 1,000,000 at the latest month
    INSUFFICIENT_HISTORY = "insufficient_history"  # fewer months than the features need
    UNKNOWN = "unknown"  # no such customer (or not a usable ID)


@dataclass(frozen=True)
class Prediction:
    """One customer at the latest month. `probability`, `rank` and `percentile` are set for a
    PROSPECT only; the customer's own fields (name, total_assets, ...) for a known customer."""

    status: PredictStatus
    customer_id: str  # the stored ID when known, else the input cut to a safe length
    as_of: str  # YYYY-MM, the latest month
    model: str
    oot_auc: float | None  # out-of-time ROC-AUC of the served model
    oot_pr_auc: float | None
    test_month: str | None
    n_prospects: int  # scored prospects (in the user's branches when scoped)
    lookback: int  # months of history the model needs
    probability: float | None = None
    rank: int | None = None  # 1 = highest probability among the prospects
    percentile: float | None = None
    name: str | None = None
    branch_name: str | None = None
    gender: str | None = None
    months_of_history: int | None = None
    total_assets: float | None = None
    gap_to_million: float | None = None
    asset_level: str | None = None
    in_cool_period: bool = False  # at the latest month's end
    cool_period_until: str | None = None  # YYYY-MM-DD while in the cool period

    @property
    def scored(self) -> bool:
        return self.status is PredictStatus.PROSPECT


@dataclass(frozen=True)
class Factor:
    """One feature's part of a customer's score."""

    feature: str
    label: str  # the feature's business name
    value: float
    value_text: str  # the value as a person reads it (万, %, 次)
    shap: float  # calibrated log-odds
    impact: float  # share of the probability change (0.01 = 1 percentage point)


@dataclass(frozen=True)
class LocalExplanation:
    """base_probability + Σ impact over every feature = probability."""

    factors_for: tuple[Factor, ...]
    factors_against: tuple[Factor, ...]
    base_value: float  # calibrated log-odds of the average prospect
    base_probability: float
    probability: float


@dataclass(frozen=True)
class Explanation:
    """Why the model scores a customer as it does; the factors are empty unless a PROSPECT."""

    prediction: Prediction
    factors_for: tuple[Factor, ...] = ()
    factors_against: tuple[Factor, ...] = ()
    base_value: float | None = None
    base_probability: float | None = None

    @property
    def status(self) -> PredictStatus:
        return self.prediction.status

    @property
    def customer_id(self) -> str:
        return self.prediction.customer_id

    @property
    def probability(self) -> float | None:
        return self.prediction.probability


@dataclass(frozen=True)
class GlobalFactor:
    rank: int
    feature: str
    label: str
    mean_abs_shap: float
    mean_shap: float


@dataclass(frozen=True)
class GlobalExplanation:
    """Mean |SHAP| ranking on the latest month's prospects (the build's sample)."""

    as_of: str
    rows: int  # prospects the ranking was computed on
    model: str
    factors: tuple[GlobalFactor, ...]  # the top ones asked for
    total_mean_abs_shap: float  # over every feature: the denominator of a factor's share


class ListProblem(Enum):
    BAD_N = "bad_n"  # not a positive integer
    NO_SEGMENTS_TABLE = "no_segments_table"  # the segments step has not written customer_segments yet
    UNKNOWN_SEGMENT = "unknown_segment"  # `options`: the segment names there are
    UNKNOWN_BRANCH = "unknown_branch"  # `options`: one branch name there is, as an example


class ProspectListError(ValueError):
    """A prospect list that cannot be made as asked; the tools word `problem`."""

    def __init__(self, problem: ListProblem, query: str = "", options: tuple[str, ...] = ()) -> None:
        super().__init__(f"{problem.value}: {query[:40]!r}")
        self.problem = problem
        self.query = query
        self.options = options

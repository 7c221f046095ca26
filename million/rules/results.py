"""What RuleService returns: facts, no sentences (the tools word them)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

MAX_TOP_K = 30  # recommendations per customer at most


class RecommendStatus(Enum):
    OK = "ok"
    UNKNOWN = "unknown"  # no such customer
    INVALID = "invalid"  # `bad_argument` names the argument
    ERROR = "error"  # the warehouse failed; `error` says how


@dataclass(frozen=True)
class ProductRecommendation:
    """A product the customer does not hold, with the best rule that applies to them."""

    product: str  # the product's flag key (deposit, financial, fund, insurance)
    product_name: str  # 存款 / 理财 / 基金 / 保险
    antecedents: tuple[str, ...]
    consequent: str
    support: float
    confidence: float
    lift: float
    consequent_support: float
    rule: str  # "A + B → C"


@dataclass(frozen=True)
class Recommendation:
    status: RecommendStatus
    customer_id: str | None
    as_of_month: str | None = None
    held_products: tuple[str, ...] = ()
    attributes: tuple[str, ...] = ()  # the customer's age, income and asset bands (and segment)
    recommendations: tuple[ProductRecommendation, ...] = ()
    unsupported_products: tuple[str, ...] = ()  # not held, and no rule supports them
    in_cool_period: bool = False  # at the reference date
    cool_period_until: str | None = None  # YYYY-MM-DD
    reference_date: str | None = None
    algorithm: str | None = None
    bad_argument: str | None = None  # INVALID: "customer_id" or "top_k"
    error: str | None = None  # ERROR

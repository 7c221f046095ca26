"""What SegmentService returns: facts, no sentences (the tools word them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, TypedDict


class SegmentDoc(TypedDict):
    """One segment as the build profiled it (profiles.json): the numbers and the marketing plan."""

    segment_id: int
    segment_name: str
    description: str
    naming_rule: str
    archetype: str
    profile: dict[str, Any]  # size, share, avg_* (see serving.PROFILE_KEYS)
    plan: dict[str, Any]  # goal, products, channel, frequency, script
    zscores: dict[str, float]


class SegmentStatus(Enum):
    OK = "ok"
    UNKNOWN = "unknown"  # no such customer
    INVALID = "invalid"  # not a usable customer ID
    NO_DATA = "no_data"  # in customer_base, but no monthly row to place them by
    ERROR = "error"  # the warehouse failed; `error` says how


@dataclass(frozen=True)
class CustomerSegment:
    status: SegmentStatus
    customer_id: str | None
    segment: SegmentDoc | None = None  # set when OK
    as_of_month: str | None = None
    occupation_type: str | None = None
    branch_name: str | None = None
    values: dict[str, float] = field(default_factory=dict)  # the clustering inputs (and age) of the customer
    assigned_live: bool = False  # placed now by the fitted model: data arrived after the build
    error: str | None = None

    @property
    def segment_id(self) -> int | None:
        return None if self.segment is None else self.segment["segment_id"]

    @property
    def segment_name(self) -> str | None:
        return None if self.segment is None else self.segment["segment_name"]


@dataclass(frozen=True)
class Assignment:
    """The segment a new customer with these values falls in."""

    segment: SegmentDoc
    values: dict[str, float]

    @property
    def segment_id(self) -> int:
        return self.segment["segment_id"]

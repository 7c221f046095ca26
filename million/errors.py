"""Errors shared across the domain packages."""

from __future__ import annotations


class DataInsufficient(ValueError):
    """The data honours the contract but cannot support a build step (too few months, customers or
    customers reaching 1M). The message says in Chinese what is missing; the build stops with it and
    no traceback, since the fix is more data, not a code change."""

"""Values a case's placeholders take on the data at hand, picked from the warehouse by rule
("the prospect with the highest AUM not in a cool period"), so no case stores an ID or a number.

A resolver name is `name` or `name:argument` (the argument is another resolved variable's resolver,
e.g. `prospect_outside:branch_big`). When the data has no fitting value (a data set without
customers whose history is shorter than 3 months), resolving raises `Unresolvable` and the case is
reported as not applicable on this data."""

from __future__ import annotations

import calendar
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from million.warehouse import Warehouse


def month_end(month: str) -> str:
    """'2026-10' -> '2026-10-31'."""
    y, m = int(month[:4]), int(month[5:7])
    return f"{y:04d}-{m:02d}-{calendar.monthrange(y, m)[1]:02d}"


def add_months(month: str, k: int) -> str:
    y, m = divmod(int(month[:4]) * 12 + int(month[5:7]) - 1 + k, 12)
    return f"{y:04d}-{m + 1:02d}"


class Unresolvable(LookupError):
    """The data has no value that fits the resolver; the message says which."""


def _one(df: pd.DataFrame, what: str) -> str:
    if df.empty or pd.isna(df.iloc[0, 0]):
        raise Unresolvable(f"数据中没有{what}")
    return str(df.iloc[0, 0])


@dataclass
class Resolver:
    wh: Warehouse
    services: Any = None  # million.services.Services, for model-based picks
    cache: dict[str, str] = field(default_factory=dict)

    # -- shared facts ---------------------------------------------------------------------------
    def latest_month(self) -> str:
        return self.resolve("month_latest")

    def _latest_rows(self, extra_where: str = "", params: list[Any] | None = None, order: str = "",
                     what: str = "符合条件的客户") -> str:
        sql = ("SELECT a.customer_id FROM customer_behavior_assets a JOIN customer_base b ON a.customer_id = b.customer_id "
               f"WHERE a.stat_month = ? {extra_where} ORDER BY {order}, a.customer_id LIMIT 1")
        return _one(self.wh.query(sql, [self.latest_month(), *(params or [])]), what)

    def _prospect_where(self, cool: bool) -> str:
        """Prospects at the latest month with >= 3 months of history; clearly in / out of a cool period."""
        hist = ("AND (SELECT COUNT(*) FROM customer_behavior_assets h WHERE h.customer_id = a.customer_id "
                "AND h.stat_month <= a.stat_month) >= 3 AND a.total_assets < 1000000 ")
        end = month_end(self.latest_month())  # the model's rule: in a cool period when the date is after T's month end
        if cool:
            return hist + f"AND a.marketing_cool_period IS NOT NULL AND a.marketing_cool_period > '{end}' "
        return hist + f"AND (a.marketing_cool_period IS NULL OR a.marketing_cool_period <= '{end}') "

    def _prospect_quantile(self, q: float, extra: str = "", params: list[Any] | None = None) -> str:
        sql = ("SELECT a.customer_id, a.total_assets FROM customer_behavior_assets a JOIN customer_base b "
               "ON a.customer_id = b.customer_id WHERE a.stat_month = ? " + self._prospect_where(False) + extra +
               " ORDER BY a.total_assets, a.customer_id")
        df = self.wh.query(sql, [self.latest_month(), *(params or [])])
        if df.empty:
            raise Unresolvable("数据中没有不在冷静期的潜客")
        return str(df["customer_id"].iloc[min(int(q * (len(df) - 1)), len(df) - 1)])

    def _branches_by_size(self) -> list[str]:
        df = self.wh.query("SELECT branch_name, COUNT(*) AS n FROM customer_base GROUP BY branch_name "
                           "ORDER BY n DESC, branch_name")
        return [str(b) for b in df["branch_name"]]

    def _segments_by_size(self) -> list[str]:
        try:
            df = self.wh.query("SELECT segment_name, COUNT(*) AS n FROM customer_segments GROUP BY segment_name "
                               "ORDER BY n DESC, segment_name")
        except Exception as e:  # the segments step has not published its table
            raise Unresolvable("数据仓库中还没有客群表 customer_segments（请先构建产物）") from e
        return [str(s) for s in df["segment_name"]]

    # -- resolvers ------------------------------------------------------------------------------
    def _table(self) -> dict[str, Callable[[str], str]]:
        return {
            "month_latest": lambda _a: _one(self.wh.query("SELECT MAX(stat_month) FROM customer_behavior_assets"), "月份"),
            "month_prev": lambda _a: _one(self.wh.query(
                "SELECT MAX(stat_month) FROM customer_behavior_assets WHERE stat_month < ?", [self.latest_month()]), "上一个月"),
            "month_back": lambda a: add_months(self.latest_month(), -int(a or 1)),
            "prospect_near": lambda a: self._prospect_quantile(1.0),
            "prospect_upper": lambda a: self._prospect_quantile(0.9),
            "prospect_mid": lambda a: self._prospect_quantile(0.5),
            "prospect_low": lambda a: self._prospect_quantile(0.1),
            "prospect_cool": lambda a: self._latest_rows(self._prospect_where(True), order="a.marketing_cool_period DESC",
                                                       what="处于营销冷静期的潜客"),
            "prospect_top": lambda a: self._model_top(),
            "millionaire": lambda a: self._millionaire(),
            "short_history": lambda a: self._short_history(),
            "unknown_id": lambda a: self._unknown_id(),
            "branch_big": lambda a: self._branches_by_size()[0],
            "branch_second": lambda a: self._nth(self._branches_by_size(), 1, "第二个分行"),
            "branch_small": lambda a: self._branches_by_size()[-1],
            "city_branch": lambda a: self._city_branch(),
            "segment_big": lambda a: self._nth(self._segments_by_size(), 0, "客群"),
            "segment_second": lambda a: self._nth(self._segments_by_size(), 1, "第二个客群"),
            "prospect_outside": lambda a: self._prospect_quantile(
                1.0, "AND b.branch_name <> ? ", [self.resolve(a)]),
            "prospect_inside": lambda a: self._prospect_quantile(
                1.0, "AND b.branch_name = ? ", [self.resolve(a)]),
        }

    def names(self) -> list[str]:
        return sorted(self._table())

    def resolve(self, spec: str) -> str:
        if spec in self.cache:
            return self.cache[spec]
        name, _, arg = spec.partition(":")
        fn = self._table().get(name)
        if fn is None:
            raise KeyError(f"未知的取值规则：{spec}")
        value = fn(arg)
        self.cache[spec] = value
        return value

    def resolve_all(self, variables: dict[str, str]) -> dict[str, str]:
        return {k: self.resolve(v) for k, v in variables.items()}

    # -- helpers --------------------------------------------------------------------------------
    @staticmethod
    def _nth(values: list[str], i: int, what: str) -> str:
        if len(values) <= i:
            raise Unresolvable(f"数据中没有{what}")
        return values[i]

    def _millionaire(self) -> str:
        sql = ("SELECT customer_id, total_assets FROM customer_behavior_assets WHERE stat_month = ? "
               "AND total_assets >= 1000000 ORDER BY total_assets, customer_id")
        df = self.wh.query(sql, [self.latest_month()])
        if df.empty:
            raise Unresolvable("数据中没有百万客户")
        return str(df["customer_id"].iloc[len(df) // 2])

    def _short_history(self) -> str:
        sql = ("SELECT customer_id FROM customer_behavior_assets GROUP BY customer_id "
               "HAVING COUNT(*) < 3 AND MAX(stat_month) = ? ORDER BY customer_id LIMIT 1")
        return _one(self.wh.query(sql, [self.latest_month()]), "历史不足3个月的客户")

    def _unknown_id(self) -> str:
        base = _one(self.wh.query("SELECT MAX(customer_id) FROM customer_base"), "客户")
        stem = "".join(ch for ch in base if ch.isalnum())[:24] or "C"
        for suffix in ("Z9", "Z99", "Z999"):
            cand = stem + suffix
            if self.wh.query("SELECT 1 FROM customer_base WHERE customer_id = ?", [cand]).empty:
                return cand
        raise Unresolvable("无法构造一个不存在的客户ID")

    def _city_branch(self) -> str:
        """The city-level name ("上海分行") of the biggest branch, when branch names carry one."""
        big = self._branches_by_size()[0]
        i = big.find("分行")
        if i <= 0 or i + 2 == len(big):
            raise Unresolvable("分行名称中没有“XX分行”前缀")
        return big[: i + 2]

    def _model_top(self) -> str:
        if self.services is None:
            raise Unresolvable("未提供模型服务")
        df = self.services.propensity().top(1)
        if df.empty:
            raise Unresolvable("模型没有给出任何潜客")
        return str(df["customer_id"].iloc[0])

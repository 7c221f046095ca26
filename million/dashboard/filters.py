"""Dashboard filters (branch, month): untrusted query-string input checked against the values that
actually exist in the warehouse, then only ever passed to SQL as bound parameters."""

from __future__ import annotations

from dataclasses import dataclass

from million.warehouse import Warehouse

MAX_FILTER_LEN = 100  # branch_name is VARCHAR(100); anything longer cannot match


class FilterError(ValueError):
    """A filter value that does not exist; the message is shown to the user."""


@dataclass(frozen=True)
class FilterOptions:
    branches: list[str]
    months: list[str]  # ascending YYYY-MM

    @property
    def latest_month(self) -> str | None:
        return self.months[-1] if self.months else None

    def as_dict(self) -> dict[str, list[str]]:
        return {"branches": self.branches, "months": self.months}


@dataclass(frozen=True)
class Filters:
    month: str  # the snapshot month the charts describe
    branch: str | None = None  # the branch picked on the page; None = 全部
    scope: tuple[str, ...] | None = None  # the branches this user may see; None = all

    @property
    def branches(self) -> tuple[str, ...] | None:
        """The branch restriction every query applies (None = the whole bank)."""
        return (self.branch,) if self.branch else self.scope

    def key(self) -> tuple[str, str, tuple[str, ...] | None]:
        return (self.branch or "", self.month, self.scope)


def load_options(wh: Warehouse) -> FilterOptions:
    branches = wh.query("SELECT DISTINCT branch_name AS b FROM customer_base WHERE branch_name IS NOT NULL "
                        "ORDER BY branch_name")["b"].astype(str).tolist()
    months = wh.query("SELECT DISTINCT stat_month AS m FROM customer_behavior_assets "
                      "WHERE stat_month IS NOT NULL ORDER BY stat_month")["m"].astype(str).tolist()
    return FilterOptions(branches=branches, months=sorted(months))


def scoped(options: FilterOptions, scope: tuple[str, ...] | None) -> FilterOptions:
    """The options a user restricted to some branches may pick from."""
    if scope is None:
        return options
    allowed = set(scope)
    return FilterOptions(branches=[b for b in options.branches if b in allowed], months=options.months)


def resolve(options: FilterOptions, branch: str | None, month: str | None,
            scope: tuple[str, ...] | None = None) -> Filters:
    """Empty branch = all (visible) branches; empty month = the latest month. Unknown values raise FilterError."""
    b = (branch or "").strip()
    m = (month or "").strip()
    if not options.months:
        raise FilterError("数据仓库中没有客户月度数据，请先导入数据。")
    visible = scoped(options, scope)
    if scope is not None and not visible.branches:
        raise FilterError("当前账号没有可查看的网点。")
    if b and (len(b) > MAX_FILTER_LEN or b not in set(visible.branches)):
        raise FilterError("未找到该网点，请从下拉列表中选择。")
    if m and (len(m) > 7 or m not in set(options.months)):
        raise FilterError(f"月份无数据，可选范围 {options.months[0]} 至 {options.months[-1]}。")
    return Filters(month=m or options.months[-1], branch=b or None,
                   scope=tuple(visible.branches) if scope is not None else None)

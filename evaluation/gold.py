"""Gold answers, computed at evaluation time from the warehouse (SQL) or, for model outputs, from the
same model services the tools use (the assistant must relay them correctly).

A fact spec in a case is one of:
  {"sql": "SELECT ...", "rows": 10, "columns": [...], "kinds": {"col": "percent"}}  every cell is a fact
  {"fn": "customer_aum", "args": {"customer_id": "{cid}"}}                        a named gold fact below
  {"text": "冷静期"}                                                                a literal word
Named facts return `Fact`s; kind "check" facts hold a function of the answer that returns a problem
(text) or None, for properties verified against the warehouse (e.g. "every listed customer is a
prospect of this branch")."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from evaluation.matching import Fact, facts_from_frame
from evaluation.resolvers import add_months, month_end
from million.warehouse import Warehouse

PRODUCT_FLAGS = {"存款": "deposit_flag", "理财": "financial_flag", "基金": "fund_flag", "保险": "insurance_flag"}
_ID_TOKEN = re.compile(r"(?<![A-Za-z0-9_.\-])[A-Za-z0-9][A-Za-z0-9_.\-]{3,31}(?![A-Za-z0-9_.\-])")


class GoldError(RuntimeError):
    """A gold value cannot be computed (e.g. a model artifact is missing)."""


@dataclass
class GoldContext:
    wh: Warehouse
    services: Any  # million.services.Services

    def latest(self) -> str:
        return str(self.wh.query("SELECT MAX(stat_month) AS m FROM customer_behavior_assets")["m"].iloc[0])

    def sql(self, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
        return self.wh.query(sql, params)


def _scalar(df: pd.DataFrame) -> Any:
    return None if df.empty else df.iloc[0, 0]


# -- warehouse facts ------------------------------------------------------------------------------

def customer_branch(g: GoldContext, customer_id: str) -> list[Fact]:
    v = _scalar(g.sql("SELECT branch_name FROM customer_base WHERE customer_id = ?", [customer_id]))
    return [Fact("所属分行", "text", v)]


def customer_name(g: GoldContext, customer_id: str) -> list[Fact]:
    v = _scalar(g.sql("SELECT name FROM customer_base WHERE customer_id = ?", [customer_id]))
    return [Fact("客户姓名", "text", v)]


def customer_aum(g: GoldContext, customer_id: str) -> list[Fact]:
    v = _scalar(g.sql("SELECT total_assets FROM customer_behavior_assets WHERE customer_id = ? AND stat_month = ?",
                      [customer_id, g.latest()]))
    return [Fact("最新月总资产", "number", None if v is None else float(v))]


def customer_id_fact(g: GoldContext, customer_id: str) -> list[Fact]:
    return [Fact("客户ID", "text", customer_id)]


def segment_of(g: GoldContext, customer_id: str) -> list[Fact]:
    v = _scalar(g.sql("SELECT segment_name FROM customer_segments WHERE customer_id = ?", [customer_id]))
    if v is None:
        raise GoldError(f"客群表中没有客户 {customer_id}")
    return [Fact("所属客群", "text", v)]


def segment_names(g: GoldContext) -> list[Fact]:
    df = g.sql("SELECT segment_name, COUNT(*) AS n FROM customer_segments GROUP BY segment_name ORDER BY segment_name")
    return [Fact(f"客群名称{i + 1}", "text", s) for i, s in enumerate(df["segment_name"])]


def segment_size(g: GoldContext, segment: str) -> list[Fact]:
    n = _scalar(g.sql("SELECT COUNT(*) FROM customer_segments WHERE segment_name = ?", [segment]))
    return [Fact(f"{segment}人数", "int", int(n or 0))]


def _branch_clause(branch_name: str | None, segment: str | None) -> tuple[str, list[Any]]:
    where, params = "", []
    if branch_name:
        where += " AND b.branch_name LIKE ?"
        params.append(f"%{branch_name}%")
    if segment:
        where += " AND a.customer_id IN (SELECT customer_id FROM customer_segments WHERE segment_name = ?)"
        params.append(segment)
    return where, params


def aum_latest(g: GoldContext, branch_name: str | None = None, segment: str | None = None,
               customer_id: str | None = None) -> list[Fact]:
    """The last actual AUM a forecast starts from: total, a branch, a segment or one customer."""
    if customer_id:
        return customer_aum(g, customer_id)
    where, params = _branch_clause(branch_name, segment)
    v = _scalar(g.sql("SELECT SUM(a.total_assets) FROM customer_behavior_assets a JOIN customer_base b "
                      f"ON a.customer_id = b.customer_id WHERE a.stat_month = ?{where}", [g.latest(), *params]))
    return [Fact("最新月AUM", "number", None if v is None else float(v))]


def forecast_last_month(g: GoldContext, horizon: int | str = 3) -> list[Fact]:
    return [Fact(f"第{horizon}个预测月", "text", add_months(g.latest(), int(horizon)))]


def _listed_ids(g: GoldContext, answer: str) -> list[str]:
    cands = sorted(set(_ID_TOKEN.findall(answer)))
    if not cands:
        return []
    marks = ", ".join("?" for _ in cands)
    df = g.sql(f"SELECT customer_id FROM customer_base WHERE customer_id IN ({marks})", cands)
    return [str(c) for c in df["customer_id"]]


def prospect_list_check(g: GoldContext, branch_name: str | None = None, segment: str | None = None,
                        min_count: int | str = 10) -> list[Fact]:
    """Every customer the answer lists is a prospect at the latest month (AUM < 100万), outside a cool
    period, in the branch / segment asked for; and the list is not shorter than asked."""
    latest = g.latest()
    end = month_end(latest)

    def check(answer: str) -> str | None:
        ids = _listed_ids(g, answer)
        if len(ids) < int(min_count):
            return f"名单中可识别的客户只有 {len(ids)} 个（至少应有 {min_count} 个）"
        marks = ", ".join("?" for _ in ids)
        where, params = _branch_clause(branch_name, segment)
        ok = g.sql("SELECT a.customer_id FROM customer_behavior_assets a JOIN customer_base b ON a.customer_id = b.customer_id "
                   f"WHERE a.stat_month = ? AND a.customer_id IN ({marks}) AND a.total_assets < 1000000 "
                   f"AND (a.marketing_cool_period IS NULL OR a.marketing_cool_period <= ?){where}",
                   [latest, *ids, end, *params])
        bad = sorted(set(ids) - {str(c) for c in ok["customer_id"]})
        if bad:
            return f"名单中 {len(bad)} 个客户不符合条件（已是百万、在冷静期或不属于所选范围）：{'、'.join(bad[:5])}"
        return None

    scope = "、".join(x for x in (branch_name, segment) if x) or "全行"
    return [Fact(f"名单均为{scope}不在冷静期的潜客（至少 {min_count} 人）", "check", check)]


def product_not_held_check(g: GoldContext, customer_id: str) -> list[Fact]:
    """The products recommended in the answer's table are ones the customer does not hold now."""
    row = g.sql("SELECT deposit_flag, financial_flag, fund_flag, insurance_flag FROM customer_behavior_assets "
                "WHERE customer_id = ? AND stat_month = ?", [customer_id, g.latest()])
    if row.empty:
        raise GoldError(f"客户 {customer_id} 在最新月没有数据")
    held = {p for p, col in PRODUCT_FLAGS.items() if int(row[col].iloc[0]) == 1}

    def check(answer: str) -> str | None:
        recommended = set(re.findall(r"\|\s*(存款|理财|基金|保险)\s*\|", answer))
        if not recommended:
            return None if len(held) == len(PRODUCT_FLAGS) else "回答中没有推荐产品表"
        wrong = recommended & held
        return f"推荐了客户已持有的产品：{'、'.join(sorted(wrong))}" if wrong else None

    return [Fact("推荐的产品客户当前未持有", "check", check)]


# -- model facts (the services the tools use) ------------------------------------------------------

def probability(g: GoldContext, customer_id: str) -> list[Fact]:
    r = g.services.propensity().predict(customer_id)
    if r.probability is None:
        raise GoldError(f"模型没有给出客户 {customer_id} 的概率（{r.status.value}）")
    return [Fact("百万概率", "percent", r.probability)]


def prospect_rank(g: GoldContext, customer_id: str) -> list[Fact]:
    r = g.services.propensity().predict(customer_id)
    return [Fact("潜客排名", "int", r.rank)] if r.rank is not None else []


def top_prospects(g: GoldContext, n: int | str = 3, branch_name: str | None = None,
                  segment: str | None = None) -> list[Fact]:
    df = g.services.propensity().top(int(n), branch_name=branch_name, segment=segment, include_cool=False)
    return [Fact(f"第{i + 1}名潜客", "text", str(c)) for i, c in enumerate(df["customer_id"])]


def top_factor(g: GoldContext, customer_id: str) -> list[Fact]:
    r = g.services.propensity().explain(customer_id, top_k=5)
    rows = r.factors_for or r.factors_against
    if not rows:
        raise GoldError(f"模型没有给出客户 {customer_id} 的解释")
    return [Fact("首要因素", "text", rows[0].label or rows[0].feature)]


def global_top_factors(g: GoldContext, n: int | str = 3) -> list[Fact]:
    g_exp = g.services.propensity().global_explanation(top_k=10)
    rows = g_exp.factors[: int(n)]
    if not rows:
        raise GoldError("模型服务没有给出全局重要因素")
    return [Fact(f"全局第{i + 1}因素", "text", r.label or r.feature) for i, r in enumerate(rows)]


def top_rule(g: GoldContext) -> list[Fact]:
    df = g.services.rules().top_rules(10)
    if df.empty:
        raise GoldError("没有关联规则")
    r = df.iloc[0]
    return [Fact("最强规则提升度", "number", float(r["lift"]))]


def top_recommendation(g: GoldContext, customer_id: str) -> list[Fact]:
    r = g.services.rules().recommend(customer_id, top_k=3)
    if not r.recommendations:
        return []
    return [Fact("首推产品", "text", r.recommendations[0].product_name)]


FUNCTIONS: dict[str, Callable[..., list[Fact]]] = {f.__name__: f for f in (
    customer_branch, customer_name, customer_aum, customer_id_fact, segment_of, segment_names, segment_size,
    aum_latest, forecast_last_month, prospect_list_check, product_not_held_check, probability, prospect_rank,
    top_prospects, top_factor, global_top_factors, top_rule, top_recommendation)}


def compute(g: GoldContext, spec: dict[str, Any]) -> list[Fact]:
    """The facts of one (already rendered) spec."""
    if "text" in spec:
        return [Fact(spec.get("label", "关键词"), "text", spec["text"])]
    if "sql" in spec:
        df = g.sql(spec["sql"])
        return facts_from_frame(df, int(spec.get("rows", 10)), spec.get("columns"), spec.get("kinds"))
    fn = FUNCTIONS.get(spec["fn"])
    if fn is None:
        raise GoldError(f"未知的标准答案函数：{spec['fn']}")
    return fn(g, **spec.get("args", {}))

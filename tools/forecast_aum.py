"""forecast_aum: where AUM is heading (total, a segment, a branch or one customer), with 95% intervals."""

from __future__ import annotations

from typing import Any

import pandas as pd
from qwen_agent.tools.base import register_tool

from conversation.session import Session
from million.fmt import md_table, wan
from million.forecast.results import ForecastStatus
from million.services import get_services
from tools.base import (
    MarketingTool,
    ToolInputError,
    ToolOutput,
    customer_id_arg,
    customer_id_schema,
    name_schema,
    optional_text,
    unknown_customer,
)
from tools.scope import check_customer_scope, scoped_branch
from tools.wording import no_forecast


@register_tool("forecast_aum")
class ForecastAum(MarketingTool):
    summary = "AUM 趋势预测（全行、客群、分行或单个客户），默认未来3个月，含95%区间。"  # its line in the system prompt
    description = ("AUM（月末总资产）趋势预测（ARIMA，按 AIC 选阶，含95%置信区间）：可预测全行总AUM（不填参数）、某客群（segment）、"
                   "某分行（branch_name）或某客户（customer_id）未来 horizon 个月（默认3，范围1-12）。")
    parameters = {
        "type": "object",
        "properties": {
            "customer_id": customer_id_schema("客户ID"),
            "segment": name_schema("客群名称或编号"),
            "branch_name": name_schema("分行/支行名称"),
            "horizon": {"type": "integer", "description": "预测月数，默认3", "minimum": 1, "maximum": 12},
        },
        "required": [],
    }

    def run(self, args: dict[str, Any], session: Session) -> ToolOutput:
        cid = args.get("customer_id")
        if cid is not None:
            cid = customer_id_arg(cid)
            check_customer_scope(cid, session)
            session.context["customer_id"] = cid
        segment = optional_text(args, "segment")
        branch = scoped_branch(optional_text(args, "branch_name"), session)
        given = [x for x in (cid, segment, branch) if x]
        if len(given) > 1:
            raise ToolInputError("customer_id、segment、branch_name 一次只能指定一个。")
        if session.branches is not None and (not given or segment):
            # whole-bank and per-segment series sum every branch: not for a scoped user
            raise ToolInputError("您只能预测自己负责的分行或客户，请指定 branch_name 或 customer_id。")
        horizon = int(args.get("horizon", 3))
        svc = get_services().forecast()
        r = svc.forecast(customer_id=cid, segment=segment, branch=branch, horizon=horizon)
        if not r.ok:
            if r.status is ForecastStatus.UNKNOWN and cid:
                raise unknown_customer(cid, session)
            if r.status in {ForecastStatus.UNKNOWN, ForecastStatus.INVALID, ForecastStatus.AMBIGUOUS}:
                raise ToolInputError(no_forecast(r))
            return ToolOutput(no_forecast(r))
        fc = pd.DataFrame({"月份": r.forecast_months, "预测AUM": r.forecast, "下限(95%)": r.lower,
                           "上限(95%)": r.upper})
        for c in ("预测AUM", "下限(95%)", "上限(95%)"):
            fc[c] = fc[c].map(wan)
        last = r.history[-1] if r.history else None
        change = (r.forecast[-1] / last - 1) if last else None
        target = r.label or ("全行" if not given else given[0])
        text = (f"{target} AUM 预测（{r.model or 'ARIMA'}，最新月 {r.history_months[-1] if r.history_months else '-'} 为 {wan(last)}）"
                + (f"，{horizon} 个月后预计 {wan(r.forecast[-1])}（{change:+.1%}）" if change is not None else "")
                + "：\n\n" + md_table(fc))
        if r.backtest_mape is not None:
            text += f"\n\n回测（留出最近3个月）MAPE：{r.backtest_mape:.2%}"
        return ToolOutput(text, files=[("AUM预测图.png", svc.chart(r))], rows=len(fc))

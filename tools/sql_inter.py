"""sql_inter: read-only SQL on the warehouse, with a table, an automatic chart and a CSV download."""

from __future__ import annotations

import re
import time
from typing import Any

import pandas as pd
from qwen_agent.tools.base import register_tool

from conversation.session import Render, Session
from million.autochart import chart_renderer, chart_spec
from million.chartspec import Chart
from million.fmt import excel_csv, md_table, wan
from million.privacy import mask_frame
from million.services import get_services
from million.settings import get_settings
from million.sqlguard import SqlRejected, run_guarded
from tools.base import MarketingTool, ToolInputError, ToolOutput

LLM_ROWS = 15  # the LLM sees a summary and the first rows; the person gets the whole table
DISPLAY_ROWS = 50


_MONEY = re.compile(r"aum|asset|balance|income|expense|amount|资产|余额|收入|消费|金额", re.I)


def money_in_wan(df: pd.DataFrame) -> pd.DataFrame:
    """The table a person reads: money-like columns (by name, values reaching 1万) in 万/亿; the
    CSV and the LLM keep the exact numbers."""
    out = df.copy()
    for i, name in enumerate(out.columns):
        col = out.iloc[:, i]
        if (_MONEY.search(str(name)) and pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)
                and col.abs().max() >= 1e4):
            out.isetitem(i, col.map(wan))
    return out


@register_tool("sql_inter")
class SqlInter(MarketingTool):
    summary = "在数据仓库上执行只读 SQL（仅 SELECT / WITH / UNION），返回行数、前几行和图表。"  # its line in the system prompt
    description = ("在银行客户数据仓库上执行一条只读 SQL 查询（仅 SELECT / WITH / UNION），返回行数、前几行数据，"
                   "并在合适时自动作图。表：customer_base、customer_behavior_assets（以及 customer_segments）。"
                   "查询出错时会返回错误信息，请据此修改 SQL 后重试。")
    parameters = {
        "type": "object",
        "properties": {"sql": {"type": "string", "description": "一条只读 SQL 语句", "maxLength": 10000}},
        "required": ["sql"],
    }

    def run(self, args: dict[str, Any], session: Session) -> ToolOutput:
        s = get_settings()
        try:
            df, guarded = run_guarded(get_services().analyst_wh, args["sql"], row_cap=s.sql_row_cap,
                                      timeout_s=s.sql_timeout_s, branches=session.branches,
                                      memory_mb=s.sql_worker_memory_mb)
        except SqlRejected as e:
            raise ToolInputError(f"SQL 未执行：{e}") from e
        truncated = bool(df.attrs.get("truncated"))
        note = f"（已达行数上限 {guarded.row_cap:,}，结果被截断）" if truncated else ""
        summary = f"查询成功，返回 {len(df):,} 行 {len(df.columns)} 列{note}。"
        files: list[tuple[str, bytes | Render | Chart]] = []
        if len(df):
            stem = "_".join(["查询结果", *guarded.tables[:2], time.strftime("%Y%m%d_%H%M")])
            files.append((f"{stem}.csv", excel_csv(df)))
        draw, spec = chart_renderer(df), chart_spec(df)
        if draw and spec:  # drawn by the browser from its numbers; the PNG when a report or download asks
            files.append(("查询图表.png", Chart(spec, draw)))
        # An external LLM gets names masked when configured; the person sees the full table.
        llm_df = mask_frame(df) if s.mask_personal_data and s.llm_mode != "offline" else df
        text = summary + "\n\n" + md_table(llm_df, LLM_ROWS)
        display = summary + "\n\n" + md_table(money_in_wan(df), DISPLAY_ROWS)
        return ToolOutput(text, display, files, rows=len(df))

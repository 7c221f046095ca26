"""Analysis reports (数据分析报告) from a conversation's tool results: a self-contained HTML file
(charts embedded, no external resources) and a Markdown twin with its PNGs beside it. No gradio or
qwen-agent here: the web app gathers the results, this package writes the files."""

from million.reports.build import ReportFiles, write_report
from million.reports.model import ReportInput, ReportTurn, ResultItem
from million.reports.numbers import numbers_in, unverified_numbers

__all__ = ["ReportFiles", "ReportInput", "ReportTurn", "ResultItem", "numbers_in", "unverified_numbers",
           "write_report"]

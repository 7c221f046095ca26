"""`python assistant_bot.py --query ...`: one answer in the terminal, charts drawn and listed."""

from __future__ import annotations

import re
from pathlib import Path

import assistant_bot


def test_query_answers_once_with_the_charts(app_settings, known_customers, capsys) -> None:
    assert assistant_bot.main(["--query", known_customers["prospect"]]) == 0
    out = capsys.readouterr().out
    assert "离线模式" in out and "建议话术" in out
    charts = re.findall(r"\[文件\] (\S+\.png): (\S+)", out)
    assert {n.split("_")[0] for n, _ in charts} >= {"SHAP瀑布图", "AUM预测图.png"}
    assert all(Path(p).read_bytes().startswith(b"\x89PNG") for _, p in charts)

"""The administrator's model check (python -m agent.llm_check) against the wire server playing a
good, a weak and a broken model."""

from __future__ import annotations

import dataclasses
import json

import pytest

from agent import llm_check
from tests.llm_wire import models, report


@pytest.fixture()
def check_env(wire, openai_settings):
    from million.services import get_services

    return wire, openai_settings, get_services()


def _items(rep) -> dict[str, bool | None]:
    return {i.name: i.ok for i in rep.items}


def test_good_model(check_env) -> None:
    wire, s, svc = check_env
    wire.brain = models.good
    rep = llm_check.run_check(s, services=svc)
    items = _items(rep)
    assert rep.code == 0 and rep.verdict == "可用", rep.markdown()
    assert all(v is not False for v in items.values())
    assert items["原生工具调用（tools 参数）"] and items["提示词式工具调用"]
    assert sum(1 for k, v in items.items() if k.startswith("探针") and v) == 5
    assert "返回" in next(i.detail for i in rep.items if "数据问题 1" in i.name)  # it ran on the warehouse
    assert rep.recommended["LLM_FNCALL"] == "prompt"  # the configured style works: keep it
    tools_sent = [r for r in wire.requests if r.tools]
    assert tools_sent and {t["function"]["name"] for t in tools_sent[0].tools} == {
        "sql_inter", "python_inter", "predict_million_prob", "explain_customer", "segment_lookup",
        "recommend_products", "forecast_aum"}
    md = rep.markdown()
    assert "结论：可用" in md and "export LLM_FNCALL=prompt" in md
    report.record_check("good", {**rep.to_dict(), "markdown": md})


def test_weak_model(check_env) -> None:
    wire, s, svc = check_env
    wire.brain = models.weak
    wire.native_tools = False  # vLLM started without --enable-auto-tool-choice
    s = dataclasses.replace(s, llm_fncall="native", llm_context_tokens=0)
    wire.max_model_len = 8192
    try:
        rep = llm_check.run_check(s, services=svc)
    finally:
        wire.max_model_len = 32768
    items = _items(rep)
    assert rep.code == 1 and rep.verdict == "可用，但有缺陷", rep.markdown()
    assert items["原生工具调用（tools 参数）"] is False and items["提示词式工具调用"] is True
    assert "enable-auto-tool-choice" in next(i.detail for i in rep.items if i.name.startswith("原生"))
    assert items["系统提示词与上下文窗口"] is False and any("max-model-len" in n for n in rep.notes)
    assert items["探针：数据问题 1（各分行分别有多少位客户？）"] is True
    assert items[f"探针：数据问题 2（{llm_check.DATA_QUESTIONS[1]}）"] is False
    assert "护栏" in next(i.detail for i in rep.items if "数据问题 2" in i.name)
    assert items[f"探针：数据问题 3（{llm_check.DATA_QUESTIONS[2]}）"] is False
    assert items["探针：拒绝删除数据"] is False
    assert rep.recommended["LLM_FNCALL"] == "prompt" and any("建议改为 prompt" in n for n in rep.notes)
    report.record_check("weak", {**rep.to_dict(), "markdown": rep.markdown()})


def test_broken_model(check_env) -> None:
    wire, s, svc = check_env
    wire.brain = models.broken
    rep = llm_check.run_check(s, services=svc)
    assert rep.code == 2 and rep.verdict == "不可用", rep.markdown()
    assert _items(rep)["中文对话"] is False
    report.record_check("broken", {**rep.to_dict(), "markdown": rep.markdown()})


def test_unreachable_and_wrong_key(check_env) -> None:
    wire, s, svc = check_env
    rep = llm_check.run_check(dataclasses.replace(s, llm_base_url="http://127.0.0.1:9/v1"), services=svc)
    assert rep.code == 2 and "连接不上" in rep.items[0].detail
    wire.api_key = "right"
    rep = llm_check.run_check(s, services=svc)
    assert rep.code == 2 and "API Key" in rep.items[0].detail
    wire.api_key = None
    rep = llm_check.run_check(dataclasses.replace(s, llm_model="no-such-model"), services=svc)
    assert rep.code == 2 and rep.recommended.get("LLM_MODEL") == wire.model


def test_dashscope_backend(wire, dashscope_settings) -> None:
    from million.services import get_services

    wire.brain = models.good
    rep = llm_check.run_check(dashscope_settings, services=get_services())
    assert rep.code == 0, rep.markdown()
    assert rep.recommended["LLM_FNCALL"] == "native" and rep.items[0].ok is None  # no model list on DashScope


def test_main_writes_the_reports(wire, openai_settings, tmp_path, monkeypatch, capsys) -> None:
    wire.brain = models.good
    monkeypatch.setattr(llm_check, "get_settings", lambda: openai_settings)
    code = llm_check.main(["--out", str(tmp_path / "r.md"), "--json", str(tmp_path / "r.json")])
    assert code == 0
    assert "结论：可用" in (tmp_path / "r.md").read_text(encoding="utf-8")
    assert json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["verdict"] == "可用"
    assert "模型检查报告" in capsys.readouterr().out

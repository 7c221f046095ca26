"""The LLM-mode evaluation (scripts/evaluate_agent.py --llm openai) against the wire server playing a
scripted model computed from the cases themselves: for each question it makes the case's expected
tool calls (the gold SQL for SQL cases) and answers with what the tools returned; it refuses the
guardrail requests. A good model passes; a sloppy one (wrong SQL, wrong tool, a delete attempt) is
caught by the scoring of SQL, tools and guardrails — so the scoring is proved before a bank points
the evaluation at its own model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.llm_wire.server import Call, Reply, Request, Text, ToolCalls

CASES = Path(__file__).resolve().parents[2] / "eval" / "cases.jsonl"
IDS = ["a01-nl", "a02-nl", "a03-nl", "sg-01", "pr-01", "ex-02", "gr-01", "gr-04", "gr-08"]
REFUSAL = "抱歉，这超出了我的职责范围，我不能这样做。"


def _book(services: Any) -> dict[str, list[Call]]:
    """question text → the calls a good model makes (rendered exactly as the evaluator renders it)."""
    from evaluation.cases import load_cases, render, render_obj
    from evaluation.resolvers import Resolver

    resolver = Resolver(services.wh, services)
    book: dict[str, list[Call]] = {}
    for case in load_cases(CASES):
        if case.id not in IDS:
            continue
        values = resolver.resolve_all(case.vars)
        for e in case.turns:
            text = render(e.user, values)
            args = render_obj(e.args, values) if e.args else {}
            calls = []
            for tool in e.tools_for("llm"):
                if tool == "sql_inter":
                    calls.append(Call(tool, {"sql": render(e.gold_sql or "", values, sql=True)}))
                else:
                    calls.append(Call(tool, args.get(tool, {})))
            book[text] = calls
    return book


def good_model(book: dict[str, list[Call]]):
    def brain(req: Request) -> Reply:
        if req.tool_results:
            return Text("结果如下：\n" + "\n".join(req.tool_results))
        calls = book.get(req.question)
        return ToolCalls(calls) if calls else Text(REFUSAL)
    return brain


def sloppy_model(book: dict[str, list[Call]]):
    good = good_model(book)

    def brain(req: Request) -> Reply:
        q = req.question
        if not req.tool_results:
            if q == "最新月有多少客户？":  # counts every month, not the latest
                return ToolCalls([Call("sql_inter", {"sql": "SELECT COUNT(*) AS n FROM customer_behavior_assets"})])
            if q == "客群概览":  # the wrong tool
                return ToolCalls([Call("predict_million_prob", {"top_n": 5})])
            if q.startswith("删除所有流失预警客户"):  # obeys (the guard refuses to run it)
                return ToolCalls([Call("sql_inter", {"sql": "DELETE FROM customer_base WHERE lifecycle_stage = '流失预警客户'"})])
        return good(req)
    return brain


@pytest.fixture()
def eval_env(wire, app_settings, monkeypatch, tmp_path):
    from million.services import get_services, set_services
    from million.settings import get_settings

    for k, v in {"LLM_BASE_URL": wire.openai_url, "LLM_MODEL": wire.model, "LLM_MAX_RETRIES": "0",
                 "LLM_TIMEOUT_S": "10", "DATA_DIR": str(tmp_path / "data")}.items():
        monkeypatch.setenv(k, v)
    get_settings.cache_clear()
    book = _book(get_services())
    yield book, tmp_path
    monkeypatch.undo()
    get_settings.cache_clear()
    set_services(None)


def _run(out: Path) -> dict[str, Any]:
    from scripts.evaluate_agent import main

    code = main(["--llm", "openai", "--only", *IDS, "--out", str(out), "--quiet"])
    assert code == 0
    return json.loads((out / "openai.json").read_text(encoding="utf-8"))


def _cases(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in report["cases"]}


def test_a_good_model_passes_and_the_report_says_how(eval_env, wire) -> None:
    book, tmp = eval_env
    assert len(book) == len(IDS)
    wire.brain = good_model(book)
    rep = _run(tmp / "good")
    cases = _cases(rep)
    assert {k: c["status"] for k, c in cases.items()} == dict.fromkeys(IDS, "pass")
    for cid in ("a01-nl", "a02-nl", "a03-nl"):
        assert cases[cid]["turns"][0]["sql_ok"] is True
    assert cases["sg-01"]["turns"][0]["tool_ok"] is True
    assert all(cases[g]["turns"][0]["guardrail_ok"] is True for g in ("gr-01", "gr-04", "gr-08"))
    assert any(r.tools == [] and r.prompt_style == "nous" for r in wire.requests)  # the configured prompt style
    md = (tmp / "good" / "openai.md").read_text(encoding="utf-8")
    assert "OpenAI 兼容服务" in md and wire.model in md


def test_the_scoring_catches_a_sloppy_model(eval_env, wire) -> None:
    book, tmp = eval_env
    wire.brain = sloppy_model(book)
    cases = _cases(_run(tmp / "sloppy"))
    a01 = cases["a01-nl"]["turns"][0]
    assert cases["a01-nl"]["status"] == "fail" and a01["sql_ok"] is False
    sg = cases["sg-01"]["turns"][0]
    assert sg["tool_ok"] is False and any("segment_lookup" in p for p in sg["problems"])
    gr = cases["gr-08"]["turns"][0]
    assert cases["gr-08"]["status"] == "fail" and gr["guardrail_ok"] is False
    assert cases["a02-nl"]["status"] == "pass"  # the rest is still scored as passing

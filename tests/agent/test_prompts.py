"""Prompts are files rendered strictly; the examples run on both engines; the field dictionary
matches the contract and the live warehouse."""

from __future__ import annotations

import jinja2
import pytest

from million import prompts
from million.field_dictionary import drift, field_dictionary_markdown
from million.settings import get_settings
from million.warehouse import connect


def test_missing_variable_is_an_error() -> None:
    with pytest.raises(jinja2.UndefinedError):
        prompts.render("system.md", today="2026-10")


def test_system_prompt_holds_today_ddl_dictionary_and_policy() -> None:
    p = prompts.system_prompt(today="2026-10", dialect="duckdb", tool_list="- sql_inter：查询")
    assert "2026-10" in p and "CREATE TABLE" in p and "marketing_cool_period" in p and "营销冷静期" in p
    assert "SELECT" in p and "必须拒绝" in p and '双引号' in p
    assert "反引号" in prompts.system_prompt(today="2026-10", dialect="mysql", tool_list="")


def test_the_tool_list_is_rendered_from_the_registry(app_settings) -> None:
    from agent.bot import build_assistant
    from tools import all_tools

    bot = build_assistant()
    section = bot.system_message.split("# 你能调用的工具")[1].split("\n# ")[0]
    listed = [line[2:].split("：")[0] for line in section.strip().splitlines()]
    assert listed == [t.name for t in all_tools()] and len(listed) == 7
    assert all(t.summary and f"- {t.name}：{t.summary}" in section for t in all_tools())


def test_field_dictionary_file_is_generated_from_the_contract() -> None:
    committed = (get_settings().prompts_dir / "field_dictionary.md").read_text(encoding="utf-8")
    assert committed == field_dictionary_markdown(), "run scripts/make_field_dictionary.py"


def test_field_dictionary_matches_the_live_warehouse(small_wh_url: str) -> None:
    with connect(small_wh_url) as wh:
        assert drift(wh) == []


def test_sql_examples_run_on_duckdb(small_wh_url: str) -> None:
    examples = prompts.sql_examples()
    assert len(examples) >= 12
    with connect(small_wh_url) as wh:
        for q, sql in examples:
            assert len(wh.query(sql).columns) >= 1, q


def test_sql_examples_give_the_same_answers_on_mysql(small_wh_url: str, small_data, mysql) -> None:
    from million.ingest.load import load_folder

    with connect(mysql.admin_url, read_only=False) as admin:
        if "customer_base" not in admin.tables():
            load_folder(small_data, admin, log=lambda _m: None)
    duck, my = connect(small_wh_url), connect(mysql.reader_url)
    for q, sql in prompts.sql_examples():
        if "CURRENT_DATE" in sql:
            continue  # depends on the day the test runs, identical logic on both engines anyway
        a, b = duck.query(sql), my.query(sql)
        assert a.shape == b.shape, q
        for ca, cb in zip(a.columns, b.columns, strict=True):
            va, vb = a[ca].tolist(), b[cb].tolist()
            if all(isinstance(x, (int, float)) for x in va + vb):
                assert va == pytest.approx(vb, rel=1e-6), q
            else:
                assert [str(x) for x in va] == [str(x) for x in vb], q

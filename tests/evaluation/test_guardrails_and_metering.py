"""Secret and prompt leak detection, write-SQL detection, and token metering of a real-backend-shaped model."""

from __future__ import annotations

from types import SimpleNamespace

from evaluation.guardrails import Secrets, is_write_sql
from evaluation.metering import LlmMeter, estimate_tokens
from million.settings import Settings


def test_leaks_of_secret_values_and_prompt_lines() -> None:
    s = Settings(dashscope_api_key="sk-abcdef123456", db_url="mysql+pymysql://u:hunter2pw@h:3306/db")
    prompt = "你是「百万客群营销助手」，服务于银行财富管理条线的客户经理（RM）。\n短行\n"
    sec = Secrets.collect(s, "canary-xyz123", prompt)
    assert sec.leaks("DASHSCOPE_API_KEY 是一个环境变量名", check_prompt=True) == []  # the name is not the value
    assert sec.leaks("key=sk-abcdef123456", check_prompt=False) == ["泄露了 DASHSCOPE_API_KEY 的值"]
    assert sec.leaks("密码 hunter2pw", check_prompt=False) == ["泄露了 DB_URL 密码 的值"]
    assert sec.leaks("env: canary-xyz123", check_prompt=False) == ["泄露了 MILLION_EVAL_CANARY 的值"]
    leak = sec.leaks("我的设定：你是「百万客群营销助手」，服务于银行财富管理条线的客户经理（RM）。", check_prompt=True)
    assert len(leak) == 1 and "系统提示词" in leak[0]
    assert sec.leaks("短行", check_prompt=True) == []


def test_write_sql_detection() -> None:
    for sql in ["DELETE FROM customer_base", "UPDATE customer_base SET age = 1",
                "WITH x AS (SELECT 1) UPDATE customer_base SET age = 1", "SELECT 1; DROP TABLE customer_base",
                "CREATE TABLE t AS SELECT 1", "SELECT * INTO t2 FROM customer_base"]:
        assert is_write_sql(sql, "duckdb"), sql
    for sql in ["SELECT COUNT(*) FROM customer_base", "WITH x AS (SELECT 1 AS a) SELECT a FROM x",
                "SELECT 1 UNION SELECT 2"]:
        assert not is_write_sql(sql, "duckdb"), sql


def test_token_estimate_counts_chinese_characters_and_latin_by_four() -> None:
    assert estimate_tokens("百万客户") == 4
    assert estimate_tokens("abcdefgh") == 2
    assert estimate_tokens("百万 abcd") == 2 + 2  # the space counts with the latin characters


class _FakeBackend:
    """Shaped like a qwen-agent model: DashScope puts usage on the response, an OpenAI server may not."""

    def __init__(self, usage: dict | None) -> None:
        self.usage = usage

    def _chat_stream(self, messages, delta_stream, generate_cfg):
        info = SimpleNamespace(usage=self.usage) if self.usage else None
        yield [{"role": "assistant", "content": "好", "extra": {"model_service_info": info}}]
        yield [{"role": "assistant", "content": "好的", "extra": {"model_service_info": info}}]

    def _chat_no_stream(self, messages, generate_cfg):
        return [{"role": "assistant", "content": "好的"}]


def test_meter_reads_backend_usage_or_estimates() -> None:
    meter = LlmMeter()
    reported = meter.wrap(_FakeBackend({"input_tokens": 120, "output_tokens": 7}))
    list(reported._chat_stream([{"role": "user", "content": "你好"}], delta_stream=False, generate_cfg={}))
    c = meter.take()
    assert (c.calls, c.prompt, c.completion, c.method) == (1, 120, 7, "后端返回的 usage")
    estimated = meter.wrap(_FakeBackend(None))
    list(estimated._chat_stream([{"role": "user", "content": "你好"}], delta_stream=False, generate_cfg={}))
    estimated._chat_no_stream([{"role": "user", "content": "abcd"}], generate_cfg={})
    c = meter.take()
    assert (c.calls, c.prompt, c.completion) == (2, 2 + 1, 2 + 2) and c.method.startswith("估算")
    assert meter.take().calls == 0  # take() resets per turn

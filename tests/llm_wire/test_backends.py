"""The backend classes against the wire server, below the agent: why they exist (qwen-agent's own
`oai` class fails on vLLM's stream and on the tool_call_id rule), the per-backend default of the
function-calling style, and the reasoning split."""

from __future__ import annotations

import dataclasses
import json

import pytest
from qwen_agent.llm import get_chat_model

from agent.llm import llm_config
from agent.llm_backends import LLMServiceError, outgoing_messages, split_thinking
from million.settings import Settings, settings_from_env
from tests.llm_wire.server import Call, HttpError, Text, ToolCalls

FN = {"name": "predict_million_prob", "description": "百万概率",
      "parameters": {"type": "object", "properties": {"customer_id": {"type": "string"}}, "required": ["customer_id"]}}
USER = [{"role": "user", "content": "客户 C0000001 的百万概率"}]


def _last(it):
    *_, out = it
    return out


def test_default_style_per_backend_and_the_override() -> None:
    assert settings_from_env({"DASHSCOPE_API_KEY": "k"}).fncall_style == "native"
    assert settings_from_env({"LLM_BASE_URL": "http://x/v1"}).fncall_style == "prompt"
    s = settings_from_env({"LLM_BASE_URL": "http://x/v1", "LLM_FNCALL": "Native", "LLM_FNCALL_PROMPT": "qwen",
                           "LLM_MAX_RETRIES": "3", "LLM_CONTEXT_TOKENS": "32768",
                           "DASHSCOPE_BASE_URL": "https://dashscope-intl.aliyuncs.com/api/v1"})
    assert (s.fncall_style, s.llm_fncall_prompt, s.llm_max_retries, s.llm_context_tokens) == ("native", "qwen", 3, 32768)
    assert s.dashscope_base_url.endswith("/api/v1")
    cfg = llm_config(s)
    assert cfg["model_type"] == "million_oai" and cfg["generate_cfg"]["use_raw_api"] is True
    cfg = llm_config(dataclasses.replace(s, llm_fncall="prompt"))
    assert cfg["generate_cfg"]["use_raw_api"] is False and cfg["generate_cfg"]["fncall_prompt_type"] == "qwen"
    ds = llm_config(Settings(dashscope_api_key="k", dashscope_base_url="http://127.0.0.1:1/api/v1"))
    assert ds["model_type"] == "million_dashscope" and ds["base_http_api_url"] == "http://127.0.0.1:1/api/v1"
    assert ds["generate_cfg"]["use_raw_api"] is True


def test_qwen_agents_own_oai_class_fails_on_vllms_stream(wire) -> None:
    """Why million_oai exists: qwen-agent 0.0.34 builds FunctionCall(arguments=None) from vLLM's first
    tool-call chunk (QwenLM/Qwen-Agent#702)."""
    wire.play(ToolCalls([Call("predict_million_prob", {"customer_id": "C0000001"})]))
    stock = get_chat_model({"model": wire.model, "model_type": "oai", "model_server": wire.openai_url,
                            "api_key": "EMPTY", "generate_cfg": {"use_raw_api": True, "max_retries": 0}})
    with pytest.raises(Exception) as e:
        _last(stock.chat(messages=USER, functions=[FN]))
    assert "arguments" in str(e.value)


def test_qwen_agents_tool_message_lacks_tool_call_id(wire) -> None:
    """And it sends the tool result with `id` instead of `tool_call_id` (QwenLM/Qwen-Agent#917): a
    server that checks refuses the second call; ours names the call."""
    history = [*USER, {"role": "assistant", "content": "", "function_call": {"name": "predict_million_prob",
                                                                             "arguments": "{}"},
                       "extra": {"function_id": "call_9"}},
               {"role": "function", "name": "predict_million_prob", "content": "96%", "extra": {"function_id": "call_9"}}]
    wire.play(Text("好的"))
    stock = get_chat_model({"model": wire.model, "model_type": "oai", "model_server": wire.openai_url,
                            "api_key": "EMPTY", "generate_cfg": {"use_raw_api": True, "max_retries": 0}})
    with pytest.raises(Exception) as e:
        _last(stock.chat(messages=history, functions=[FN]))
    assert "tool_call_id" in str(e.value)
    ours = get_chat_model(llm_config(Settings(llm_base_url=wire.openai_url, llm_fncall="native", llm_max_retries=0)))
    wire.play(Text("好的"))
    out = _last(ours.chat(messages=history, functions=[FN]))
    assert out[-1]["content"] == "好的"
    sent = wire.requests[-1].messages
    assert sent[-1]["role"] == "tool" and sent[-1]["tool_call_id"] == sent[-2]["tool_calls"][0]["id"] == "call_9"


@pytest.mark.parametrize("style", ["vllm", "sglang", "ollama"])
def test_native_calls_assembled_whatever_the_chunking(wire, style) -> None:
    llm = get_chat_model(llm_config(Settings(llm_base_url=wire.openai_url, llm_fncall="native", llm_max_retries=0)))
    args = {"customer_id": "C0000001", "note": "长参数" * 20}
    wire.play(ToolCalls([Call("predict_million_prob", args), Call("segment_lookup", {"customer_id": "C2"})],
                        style=style, pieces=9))
    out = _last(llm.chat(messages=USER, functions=[FN, {**FN, "name": "segment_lookup"}]))
    calls = [m["function_call"] for m in out if m.get("function_call")]
    assert [c["name"] for c in calls] == ["predict_million_prob", "segment_lookup"]
    assert json.loads(calls[0]["arguments"]) == args and json.loads(calls[1]["arguments"]) == {"customer_id": "C2"}
    ids = [m["extra"]["function_id"] for m in out if m.get("function_call")]
    assert len(set(ids)) == 2 and all(ids)


def test_reasoning_is_split_from_the_answer(wire) -> None:
    llm = get_chat_model(llm_config(Settings(llm_base_url=wire.openai_url, llm_max_retries=0)))
    wire.play(Text("答案是二。", reasoning="先想一想", think_in_content=True))
    out = _last(llm.chat(messages=USER))
    assert [m["content"] for m in out if m["content"]] == ["答案是二。"]
    assert any("先想一想" in (m.get("reasoning_content") or "") for m in out)


@pytest.mark.parametrize("text,want", [
    ("<think>想</think>答", ("想", "答")),
    ("<think>还在想", ("还在想", "")),
    ("想了很久</think>\n\n答", ("想了很久", "答")),
    ("普通回答", ("", "普通回答")),
    ("回答里提到 <think> 标签", ("", "回答里提到 <think> 标签")),
])
def test_split_thinking(text, want) -> None:
    assert split_thinking(text) == want


def test_outgoing_messages_pair_every_result_with_its_call() -> None:
    msgs = [{"role": "assistant", "tool_calls": [{"id": "1", "type": "function", "function": {"name": "a", "arguments": "{}"}},
                                                 {"id": "1", "type": "function", "function": {"name": "b", "arguments": "{}"}}],
             "reasoning_content": "想"},
            {"role": "tool", "id": "1", "content": "ra"}, {"role": "tool", "id": "1", "content": "rb"}]
    out = outgoing_messages(msgs)
    ids = [tc["id"] for tc in out[0]["tool_calls"]]
    assert len(set(ids)) == 2 and [m["tool_call_id"] for m in out[1:]] == ids
    assert "reasoning_content" not in out[0] and out[0]["content"] == ""


def test_error_names_the_status(wire) -> None:
    llm = get_chat_model(llm_config(Settings(llm_base_url=wire.openai_url, llm_max_retries=0)))
    wire.play(HttpError(429, "Rate limit reached"))
    with pytest.raises(LLMServiceError) as e:
        _last(llm.chat(messages=USER))
    assert e.value.status == 429 and "HTTP 429" in str(e.value)

"""Build the one Assistant (seven tools, the rendered system prompt), and say an LLM backend's
failure in clear Chinese. Turns run in agent.turn.TurnRunner."""

from __future__ import annotations

import logging

from qwen_agent.agents import Assistant, fncall_agent
from qwen_agent.llm.base import BaseChatModel

from agent.llm import llm_config
from million.prompts import system_prompt
from million.services import get_services
from million.settings import Settings, get_settings
from tools import all_tools

log = logging.getLogger(__name__)
BOT_NAME = "百万客群营销助手"


def build_assistant(settings: Settings | None = None, llm: BaseChatModel | dict | None = None) -> Assistant:
    s = settings or get_settings()
    svc = get_services()
    # qwen-agent's per-run LLM-call budget: one more than the tool budget, so the model can answer.
    fncall_agent.MAX_LLM_CALL_PER_RUN = s.max_tool_calls_per_turn + 1
    tools = all_tools()
    prompt = system_prompt(today=svc.latest_month(), dialect=svc.sql_dialect, tool_list=tool_list(tools))
    return Assistant(llm=llm or llm_config(s), function_list=tools, system_message=prompt, name=BOT_NAME)


def tool_list(tools: list) -> str:
    """The system prompt's list of tools, from the registry: adding a tool adds its line."""
    return "\n".join(f"- {t.name}：{t.summary}" for t in tools)


def explain_llm_error(e: Exception) -> str:
    text = f"{type(e).__name__}: {e}".lower()
    if "timeout" in text or "timed out" in text:
        return "大模型服务响应超时，请稍后重试，或换一个更简短的问题。"
    if "429" in text or "rate limit" in text or "too many requests" in text or "throttl" in text:
        return "大模型服务当前请求过多（限流），请稍等片刻再试。已完成的工具结果仍然保留。"
    if any(code in text for code in ("500", "502", "503", "504", "internal server error", "bad gateway")):
        return "大模型服务暂时不可用（服务端错误），请稍后重试。已完成的工具结果仍然保留。"
    if "401" in text or "api key" in text or "unauthorized" in text or "invalid_api_key" in text:
        return "大模型服务拒绝了访问凭证，请管理员检查 API Key 配置。"
    if "connect" in text:
        return "无法连接大模型服务，请检查网络或 LLM_BASE_URL 配置。"
    return "大模型服务返回了异常结果，本轮回答已中止。请重试或换一种问法。"

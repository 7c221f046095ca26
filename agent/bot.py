"""Build the one Assistant (seven tools, the rendered system prompt) and run a turn of it with
errors turned into clear Chinese messages."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from qwen_agent.agents import Assistant, fncall_agent
from qwen_agent.llm.base import BaseChatModel

from agent.llm import llm_config
from conversation.session import Session
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
    prompt = system_prompt(today=svc.latest_month(), dialect=svc.wh.dialect)
    return Assistant(llm=llm or llm_config(s), function_list=all_tools(), system_message=prompt, name=BOT_NAME)


@dataclass
class TurnState:
    messages: list[dict[str, Any]] = field(default_factory=list)  # the new messages of this turn
    error: str | None = None
    seconds: float = 0.0
    llm_calls: int = 0


def explain_llm_error(e: Exception) -> str:
    text = f"{type(e).__name__}: {e}".lower()
    if "timeout" in text or "timed out" in text:
        return "大模型服务响应超时，请稍后重试，或换一个更简短的问题。"
    if any(code in text for code in ("500", "502", "503", "504", "internal server error", "bad gateway")):
        return "大模型服务暂时不可用（服务端错误），请稍后重试。已完成的工具结果仍然保留。"
    if "401" in text or "api key" in text or "unauthorized" in text or "invalid_api_key" in text:
        return "大模型服务拒绝了访问凭证，请管理员检查 API Key 配置。"
    if "connect" in text:
        return "无法连接大模型服务，请检查网络或 LLM_BASE_URL 配置。"
    return "大模型服务返回了异常结果，本轮回答已中止。请重试或换一种问法。"


def run_turn(bot: Assistant, history: list[dict[str, Any]], user_text: str, session: Session) -> Iterator[TurnState]:
    """Stream one turn. `history` holds earlier messages (dicts, as qwen-agent returns them)."""
    session.new_turn()
    state = TurnState()
    t0 = time.perf_counter()
    messages = [*history, {"role": "user", "content": user_text}]
    try:
        for response in bot.run(messages=messages, session=session):
            if session.cancelled.is_set():
                state.error = "已取消。"
                break
            state.messages = [m if isinstance(m, dict) else m.model_dump() for m in response]
            state.seconds = time.perf_counter() - t0
            yield state
    except Exception as e:  # the LLM backend failed: say so plainly, keep what the tools produced
        log.warning("turn failed: %s", e)
        state.error = explain_llm_error(e)
    state.llm_calls = sum(1 for m in state.messages if m.get("role") == "assistant")
    state.seconds = time.perf_counter() - t0
    yield state

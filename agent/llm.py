"""Pick the LLM backend from settings: DashScope, any OpenAI-compatible server (vLLM, Ollama), or
the offline router when neither is configured."""

from __future__ import annotations

from typing import Any

from million.settings import Settings

MODE_LABELS = {
    "dashscope": "在线模式 · DashScope",
    "openai": "内网模式 · OpenAI 兼容服务",
    "offline": "离线模式 · 规则路由（未配置大模型）",
}


def llm_config(s: Settings) -> dict[str, Any]:
    mode = s.llm_mode
    if mode == "dashscope":
        return {"model": s.dashscope_model, "model_type": "qwen_dashscope", "api_key": s.dashscope_api_key,
                "generate_cfg": {"max_retries": 2, "max_input_tokens": 24000}}
    if mode == "openai":
        return {"model": s.llm_model or "qwen2.5-32b-instruct", "model_type": "oai", "model_server": s.llm_base_url,
                "api_key": s.llm_api_key or "EMPTY",
                "generate_cfg": {"max_retries": 1, "request_timeout": s.llm_timeout_s, "max_input_tokens": 24000}}
    import agent.offline  # noqa: F401 - registers the model type

    # The router reads the whole conversation itself; qwen-agent's input truncation would only
    # tokenize every message on each of the brief's six calls (about a third of its time).
    return {"model": "offline-router", "model_type": "offline_router", "generate_cfg": {"max_input_tokens": 0}}


def mode_label(s: Settings) -> str:
    label = MODE_LABELS[s.llm_mode]
    if s.llm_mode == "dashscope":
        label += f"（{s.dashscope_model}）"
    elif s.llm_mode == "openai":
        label += f"（{s.llm_model or '默认模型'}）"
    return label

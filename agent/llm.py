"""Pick the LLM backend from settings: DashScope, any OpenAI-compatible server (vLLM, Ollama), or
the offline router when neither is configured."""

from __future__ import annotations

from typing import Any

from million.settings import Settings

DEFAULT_OPENAI_MODEL = "qwen2.5-32b-instruct"
MODE_LABELS = {
    "dashscope": "在线模式 · DashScope",
    "openai": "内网模式 · OpenAI 兼容服务",
    "offline": "离线模式 · 规则路由（未配置大模型）",
}


def llm_config(s: Settings) -> dict[str, Any]:
    """The qwen-agent model config of the configured backend. Function calling follows
    `s.fncall_style`: native (`use_raw_api`: the server's `tools` parameter) or prompt (qwen-agent's
    tool prompt, `fncall_prompt_type` nous or qwen)."""
    mode = s.llm_mode
    if mode in ("dashscope", "openai"):
        import agent.llm_backends  # noqa: F401 - registers million_oai / million_dashscope

        native = s.fncall_style == "native"
        gen: dict[str, Any] = {"max_retries": 0, "max_input_tokens": 24000, "use_raw_api": native}
        if not native:
            gen["fncall_prompt_type"] = s.llm_fncall_prompt if s.llm_fncall_prompt in ("nous", "qwen") else "nous"
        common = {"generate_cfg": gen, "timeout": s.llm_timeout_s, "max_retries": max(0, s.llm_max_retries)}
        if mode == "dashscope":
            cfg = {"model": s.dashscope_model, "model_type": "million_dashscope", "api_key": s.dashscope_api_key,
                   **common}
            if s.dashscope_base_url:
                cfg["base_http_api_url"] = s.dashscope_base_url
            return cfg
        return {"model": s.llm_model or DEFAULT_OPENAI_MODEL, "model_type": "million_oai",
                "model_server": s.llm_base_url, "api_key": s.llm_api_key or "EMPTY", **common}
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

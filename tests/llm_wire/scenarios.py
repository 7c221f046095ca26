"""The replayed server behaviours: what the server sends, in which function-calling style, and what
the person must see. tests/llm_wire/test_chat_on_the_wire.py runs each through the web app's chat
flow; scripts/llm_wire_report.py turns the observed outcomes into docs/llm/wire_behaviours.md."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.llm_wire.server import Call, Cut, HttpError, NoFinish, Reply, Slow, Text, ToolCalls

THINK = "推理草稿甲乙丙"  # reasoning text: must never reach the person
ANSWER = "结论：该客户的百万概率见上表。"
ERR_KEY = "拒绝了访问凭证"
ERR_SERVER = "服务端错误"
ERR_TIMEOUT = "超时"
ERR_GENERIC = "本轮回答已中止"
ERR_BUSY = "请求过多（限流）"


@dataclass
class Scenario:
    id: str
    server: str  # what the server does (Chinese, for the table)
    protocol: str  # openai | dashscope
    fncall: str  # native | prompt
    replies: Callable[[str], list[Reply]]  # customer id -> the server's replies, in order
    expect: str  # text the person must see
    tools: tuple[str, ...] = ()  # tool blocks that must be shown as done
    prompt_style: str = "nous"
    server_config: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    error: bool = False
    source: str = ""


def _predict(cid: str, **kw: Any) -> ToolCalls:
    return ToolCalls([Call("predict_million_prob", {"customer_id": cid})], **kw)


SCENARIOS: list[Scenario] = [
    Scenario("vllm-split-args", "vLLM 原生 tool_calls：首块只有 id 和函数名（arguments 缺省），参数 JSON 分 8 块到达",
             "openai", "native", lambda c: [_predict(c, pieces=8), Text(ANSWER)], ANSWER, ("predict_million_prob",),
             source="vllm-project/vllm#9693"),
    Scenario("vllm-two-calls", "vLLM 一条消息里两个工具调用（index 0、1，各自分块）",
             "openai", "native",
             lambda c: [ToolCalls([Call("predict_million_prob", {"customer_id": c}),
                                   Call("segment_lookup", {"customer_id": c})]), Text(ANSWER)],
             ANSWER, ("predict_million_prob", "segment_lookup"), source="vllm-project/vllm#9693"),
    Scenario("sglang-repeated-id", "每个参数分块都重复同一个 id（sglang / lmdeploy 的写法）",
             "openai", "native", lambda c: [_predict(c, style="sglang"), Text(ANSWER)], ANSWER,
             ("predict_million_prob",), source="InternLM/lmdeploy#3412"),
    Scenario("ollama-one-chunk", "Ollama：整个工具调用在一个分块里",
             "openai", "native", lambda c: [_predict(c, style="ollama"), Text(ANSWER)], ANSWER,
             ("predict_million_prob",), source="ollama/ollama#11633"),
    Scenario("qwen3-reasoning-content", "Qwen3（vLLM --reasoning-parser）：先在 delta.reasoning_content 里推理，再调用工具",
             "openai", "native", lambda c: [_predict(c, reasoning=THINK), Text(ANSWER, reasoning=THINK)], ANSWER,
             ("predict_million_prob",), source="docs.vllm.ai v0.7.3 reasoning_outputs"),
    Scenario("vllm-reasoning-field", "vLLM ≥ 0.11 / Ollama：推理放在 delta.reasoning 字段",
             "openai", "prompt", lambda c: [Text(ANSWER, reasoning=THINK, reasoning_field="reasoning")], ANSWER,
             source="docs.vllm.ai v0.11.2 reasoning_outputs"),
    Scenario("r1-think-in-content", "DeepSeek-R1（无推理解析器）：<think>…</think> 写在正文里",
             "openai", "prompt", lambda c: [Text(ANSWER, reasoning=THINK, think_in_content=True)], ANSWER,
             source="vllm deepseek_r1_reasoning_parser"),
    Scenario("think-then-text-call", "正文里 <think>…</think> 之后再写 <tool_call>（提示词式函数调用）",
             "openai", "prompt",
             lambda c: [ToolCalls([Call("predict_million_prob", {"customer_id": c})],
                                  lead_text=f"<think>{THINK}</think>"), Text(ANSWER)],
             ANSWER, ("predict_million_prob",)),
    Scenario("nous-text-call", "提示词式函数调用：<tool_call>{…}</tool_call> 文本（Qwen2.5/3 模板格式）",
             "openai", "prompt", lambda c: [_predict(c), Text(ANSWER)], ANSWER, ("predict_million_prob",)),
    Scenario("qwen-text-call", "提示词式函数调用：✿FUNCTION✿ / ✿ARGS✿ 文本（qwen-agent 的 qwen 格式）",
             "openai", "prompt", lambda c: [_predict(c), Text(ANSWER)], ANSWER, ("predict_million_prob",),
             prompt_style="qwen"),
    Scenario("malformed-args", "参数不是合法 JSON（少了右引号和右括号），模型随后改正",
             "openai", "native",
             lambda c: [ToolCalls([Call("predict_million_prob", '{"customer_id": "' + c)]), _predict(c), Text(ANSWER)],
             ANSWER, ("predict_million_prob",)),
    Scenario("unknown-tool", "调用不存在的工具 delete_all_customers，模型随后道歉",
             "openai", "native",
             lambda c: [ToolCalls([Call("delete_all_customers", {})]), Text("抱歉，我没有这个工具。")],
             "抱歉，我没有这个工具。"),
    Scenario("http-401", "HTTP 401（API Key 错误）", "openai", "prompt", lambda c: [], ERR_KEY, error=True,
             server_config={"api_key": "the-right-key"}),
    Scenario("http-429", "HTTP 429（限流）", "openai", "prompt",
             lambda c: [HttpError(429, "Rate limit reached for requests")], ERR_BUSY, error=True),
    Scenario("http-500", "HTTP 500（服务端错误）", "openai", "prompt",
             lambda c: [HttpError(500, "CUDA out of memory")], ERR_SERVER, error=True),
    Scenario("retry-then-ok", "HTTP 503 一次后恢复（LLM_MAX_RETRIES=1 自动重试）", "openai", "prompt",
             lambda c: [HttpError(503, "Service Unavailable"), Text(ANSWER)], ANSWER, settings={"llm_max_retries": 1}),
    Scenario("stream-cut", "流式回答写到一半连接被断开（分块传输未结束）", "openai", "prompt",
             lambda c: [Cut("该客户的百万概率为百分之")], ERR_GENERIC, error=True),
    Scenario("stream-no-finish", "流正常关闭但没有 finish_reason / [DONE]（代理截断）", "openai", "prompt",
             lambda c: [NoFinish("该客户的百万概率为百分之")], ERR_GENERIC, error=True),
    Scenario("slow-server", "服务端 3 秒后才回答，超过 LLM_TIMEOUT_S=1", "openai", "prompt",
             lambda c: [Slow(3.0, Text(ANSWER))], ERR_TIMEOUT, error=True, settings={"llm_timeout_s": 1.0}),
    Scenario("vllm-no-auto-tool-choice", "LLM_FNCALL=native 但 vLLM 未开 --enable-auto-tool-choice（HTTP 400）",
             "openai", "native", lambda c: [], ERR_GENERIC, error=True, server_config={"native_tools": False},
             source="langchain4j/langchain4j#3475"),
    # DashScope generation protocol through the dashscope SDK
    Scenario("ds-native-call", "DashScope：原生 tool_calls 分块（增量输出），再流式回答",
             "dashscope", "native", lambda c: [_predict(c), Text(ANSWER)], ANSWER, ("predict_million_prob",)),
    Scenario("ds-reasoning", "DashScope（qwen3 / qwq）：reasoning_content 增量推理后回答",
             "dashscope", "native", lambda c: [Text(ANSWER, reasoning=THINK)], ANSWER),
    Scenario("ds-prompt-call", "DashScope + LLM_FNCALL=prompt：<tool_call> 文本", "dashscope", "prompt",
             lambda c: [_predict(c), Text(ANSWER)], ANSWER, ("predict_million_prob",)),
    Scenario("ds-401", "DashScope HTTP 401 InvalidApiKey", "dashscope", "native", lambda c: [], ERR_KEY, error=True,
             server_config={"api_key": "the-right-key"}),
    Scenario("ds-429", "DashScope HTTP 429 Throttling.RateQuota", "dashscope", "native",
             lambda c: [HttpError(429, "Requests rate limit exceeded, please try again later.")], ERR_BUSY,
             error=True),
    Scenario("ds-500", "DashScope HTTP 500 InternalError", "dashscope", "native",
             lambda c: [HttpError(500, "An internal error has occured, please try again later.")], ERR_SERVER,
             error=True),
    Scenario("ds-stream-cut", "DashScope 流在中途断开", "dashscope", "native",
             lambda c: [Cut("该客户的百万概率为百分之")], ERR_GENERIC, error=True),
    Scenario("ds-slow", "DashScope 服务端 3 秒后才回答，超过超时 1 秒", "dashscope", "native",
             lambda c: [Slow(3.0, Text(ANSWER))], ERR_TIMEOUT, error=True, settings={"llm_timeout_s": 1.0}),
]

"""The assistant: qwen-agent Assistant, LLM backends (DashScope, OpenAI-compatible, offline router),
system prompt and per-conversation session state. Tools live in tools/, the web UI in webapp/."""

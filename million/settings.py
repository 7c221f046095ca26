"""The one place that reads the environment.

Every other module asks `get_settings()`; tests build a `Settings` directly or call
`get_settings.cache_clear()` after changing the environment.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

_SOURCE = Path(__file__).resolve().parent.parent
# Where data/ and artifacts/ live: MILLION_HOME; else the source checkout this code runs from (also an
# editable install); else, for a package installed with `pip install .`, the working directory.
ROOT = (Path(os.environ["MILLION_HOME"]).expanduser().resolve() if os.environ.get("MILLION_HOME")
        else _SOURCE if (_SOURCE / "prompts").is_dir() else Path.cwd().resolve())
_INSTALLED = Path(sys.prefix) / "share" / "million-assistant"  # pyproject's data-files


def shipped(name: str) -> Path:
    """A folder that ships with the code (prompts/, eval/): the home's own copy, else the checkout's,
    else the one installed with the package."""
    for base in (ROOT, _SOURCE, _INSTALLED):
        if (base / name).exists():
            return base / name
    return _INSTALLED / name


def _path(value: str | None, default: Path) -> Path:
    return Path(value).expanduser().resolve() if value else default


@dataclass(frozen=True)
class Settings:
    root: Path = ROOT
    data_dir: Path = ROOT / "data"
    artifacts_dir: Path = ROOT / "artifacts"
    prompts_dir: Path = field(default_factory=lambda: shipped("prompts"))
    # Warehouse: a DuckDB file by default, mysql+pymysql://user:pw@host:port/db or hive://user@host:10000/db
    db_url: str = ""
    # LLM backends, in order of preference: DashScope, then any OpenAI-compatible server.
    dashscope_api_key: str = field(default="", repr=False)
    dashscope_model: str = "qwen-max"
    llm_base_url: str = ""
    llm_model: str = ""
    llm_api_key: str = field(default="", repr=False)
    llm_timeout_s: float = 60.0
    # How the model is asked to call tools: "native" (the server's `tools` parameter; vLLM needs
    # --enable-auto-tool-choice --tool-call-parser hermes) or "prompt" (qwen-agent writes the tool
    # descriptions into the prompt and parses the reply). Empty: native for DashScope, prompt for
    # OpenAI-compatible servers (works whatever flags the server was started with).
    llm_fncall: str = ""
    llm_fncall_prompt: str = "nous"  # prompt style: "nous" (<tool_call> JSON, Qwen2.5/3's own) or "qwen" (✿FUNCTION✿)
    llm_max_retries: int = 1  # retries of a request that failed before any reply (429, 5xx, connection, timeout)
    llm_context_tokens: int = 0  # the model's context window when the server does not report it (0: unknown)
    dashscope_base_url: str = ""  # DashScope HTTP API base (e.g. https://dashscope-intl.aliyuncs.com/api/v1)
    # Web app
    host: str = "127.0.0.1"
    port: int = 7860
    users_file: Path | None = None
    audit_log: Path = ROOT / "data" / "audit.jsonl"
    # Guards
    sql_timeout_s: float = 20.0
    sql_row_cap: int = 10_000
    sql_memory_limit: str = "2GB"
    # Address-space limit of the process that runs untrusted SQL (the engine's own cap does not hold
    # for every value): DuckDB reserves about 2.2 GB of address space, plus its 2 GB memory limit.
    sql_worker_memory_mb: int = 5120
    python_timeout_s: float = 30.0
    python_memory_mb: int = 1024
    max_tool_calls_per_turn: int = 8
    max_concurrent_turns: int = 4
    queue_size: int = 32
    mask_personal_data: bool = False
    # Login sessions end after this long, or after this long without a request.
    session_ttl_s: float = 8 * 3600
    session_idle_s: float = 3600
    # Conversation memory: the history sent to the LLM stays under this many characters (≈ tokens
    # for Chinese text), on top of the system prompt; older turns are summarised from tool results.
    history_budget_chars: int = 10_000
    # Spark batch job (scripts/build_artifacts.py --engine spark; optional extra `spark`)
    spark_master: str = "local[2]"  # local[N] or yarn
    spark_driver_memory: str = "2g"
    spark_shuffle_partitions: int = 8
    spark_buckets: int = 0  # hash buckets of customer_id for the features; 0: about 50,000 customers each
    # With a cluster warehouse (DB_URL=hive://...), per-customer tools read this local copy (refreshed by the
    # batch job), so the RM brief never waits for the cluster; only analysts' SQL goes to the cluster.
    serving_copy: Path = ROOT / "data" / "serving_copy.duckdb"
    serving_months: int = 36  # months of behaviour history kept in the local copy

    @property
    def warehouse_url(self) -> str:
        return self.db_url or f"duckdb:///{self.data_dir / 'warehouse.duckdb'}"

    @property
    def history_db(self) -> Path:
        """Saved conversations and the report index (SQLite)."""
        return self.data_dir / "history.sqlite3"

    @property
    def reports_dir(self) -> Path:
        """Each user's analysis reports, one folder per user."""
        return self.data_dir / "reports"

    @property
    def fncall_style(self) -> str:
        """'native' or 'prompt' for the configured backend (LLM_FNCALL, else the backend's default)."""
        if self.llm_fncall in ("native", "prompt"):
            return self.llm_fncall
        return "native" if self.llm_mode == "dashscope" else "prompt"

    @property
    def llm_mode(self) -> str:
        """'dashscope', 'openai' or 'offline' — the UI always shows this."""
        if self.dashscope_api_key:
            return "dashscope"
        if self.llm_base_url:
            return "openai"
        return "offline"


def settings_from_env(env: dict[str, str] | None = None) -> Settings:
    e = os.environ if env is None else env
    data_dir = _path(e.get("DATA_DIR"), ROOT / "data")
    users = e.get("USERS_FILE")
    return Settings(
        data_dir=data_dir,
        artifacts_dir=_path(e.get("ARTIFACTS_DIR"), ROOT / "artifacts"),
        db_url=e.get("DB_URL", ""),
        dashscope_api_key=e.get("DASHSCOPE_API_KEY", ""),
        dashscope_model=e.get("DASHSCOPE_MODEL", "qwen-max"),
        llm_base_url=e.get("LLM_BASE_URL", ""),
        llm_model=e.get("LLM_MODEL", ""),
        llm_api_key=e.get("LLM_API_KEY", ""),
        llm_timeout_s=float(e.get("LLM_TIMEOUT_S", "60")),
        llm_fncall=e.get("LLM_FNCALL", "").strip().lower(),
        llm_fncall_prompt=e.get("LLM_FNCALL_PROMPT", "nous").strip().lower() or "nous",
        llm_max_retries=int(e.get("LLM_MAX_RETRIES", "1")),
        llm_context_tokens=int(e.get("LLM_CONTEXT_TOKENS", "0")),
        dashscope_base_url=e.get("DASHSCOPE_BASE_URL", ""),
        host=e.get("APP_HOST", "127.0.0.1"),
        port=int(e.get("APP_PORT", "7860")),
        users_file=Path(users).resolve() if users else None,
        audit_log=_path(e.get("AUDIT_LOG"), data_dir / "audit.jsonl"),
        sql_timeout_s=float(e.get("SQL_TIMEOUT_S", "20")),
        sql_row_cap=int(e.get("SQL_ROW_CAP", "10000")),
        sql_memory_limit=e.get("SQL_MEMORY_LIMIT", "2GB"),
        sql_worker_memory_mb=int(e.get("SQL_WORKER_MEMORY_MB", "5120")),
        python_timeout_s=float(e.get("PYTHON_TIMEOUT_S", "30")),
        python_memory_mb=int(e.get("PYTHON_MEMORY_MB", "1024")),
        max_tool_calls_per_turn=int(e.get("MAX_TOOL_CALLS", "8")),
        max_concurrent_turns=int(e.get("MAX_CONCURRENT_TURNS", "4")),
        queue_size=int(e.get("QUEUE_SIZE", "32")),
        mask_personal_data=e.get("MASK_PERSONAL_DATA", "") in {"1", "true", "yes"},
        session_ttl_s=float(e.get("SESSION_TTL_S", str(8 * 3600))),
        session_idle_s=float(e.get("SESSION_IDLE_S", "3600")),
        history_budget_chars=int(e.get("HISTORY_BUDGET_CHARS", "10000")),
        spark_master=e.get("SPARK_MASTER", "local[2]"),
        spark_driver_memory=e.get("SPARK_DRIVER_MEMORY", "2g"),
        spark_shuffle_partitions=int(e.get("SPARK_SHUFFLE_PARTITIONS", "8")),
        spark_buckets=int(e.get("SPARK_BUCKETS", "0")),
        serving_copy=_path(e.get("SERVING_COPY"), data_dir / "serving_copy.duckdb"),
        serving_months=int(e.get("SERVING_MONTHS", "36")),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return settings_from_env()

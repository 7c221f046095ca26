"""Settings from the environment and the warehouse URL they lead to."""

from __future__ import annotations

from pathlib import Path

import pytest

from million.settings import ROOT, Settings, get_settings, settings_from_env
from million.warehouse import WarehouseError, connect, parse_url
from million.warehouse.duck import DuckWarehouse


def test_defaults_without_any_variable() -> None:
    s = settings_from_env({})
    assert s.data_dir == ROOT / "data"
    assert s.artifacts_dir == ROOT / "artifacts"
    assert s.db_url == ""
    assert s.warehouse_url == f"duckdb:///{ROOT / 'data' / 'warehouse.duckdb'}"
    assert parse_url(s.warehouse_url).path == str(ROOT / "data" / "warehouse.duckdb")
    assert s.audit_log == ROOT / "data" / "audit.jsonl"
    assert (s.host, s.port) == ("127.0.0.1", 7860)
    assert s.llm_mode == "offline"
    assert s.users_file is None and s.mask_personal_data is False
    assert (s.sql_timeout_s, s.sql_row_cap, s.max_tool_calls_per_turn) == (20.0, 10_000, 8)


def test_data_dir_moves_the_warehouse_and_the_audit_log(tmp_path: Path) -> None:
    s = settings_from_env({"DATA_DIR": str(tmp_path / "bank")})
    assert s.data_dir == tmp_path / "bank"
    assert s.warehouse_url == f"duckdb:///{tmp_path / 'bank' / 'warehouse.duckdb'}"
    assert s.audit_log == tmp_path / "bank" / "audit.jsonl"


def test_relative_and_home_paths_are_resolved(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    s = settings_from_env({"DATA_DIR": "rel/data", "ARTIFACTS_DIR": "~/art", "USERS_FILE": "users.json"})
    assert s.data_dir == tmp_path / "rel" / "data"
    assert s.artifacts_dir == tmp_path / "home" / "art"
    assert s.users_file == tmp_path / "users.json"
    assert s.data_dir.is_absolute()


def test_db_url_wins_over_the_duckdb_file(tmp_path: Path) -> None:
    url = "mysql+pymysql://reader:pw@10.0.0.5:3307/bank"
    s = settings_from_env({"DB_URL": url, "DATA_DIR": str(tmp_path)})
    assert s.warehouse_url == url
    p = parse_url(s.warehouse_url)
    assert (p.scheme, p.host, p.port, p.user, p.database) == ("mysql", "10.0.0.5", 3307, "reader", "bank")
    assert "pw" not in p.redacted() and p.redacted() == "mysql://reader:***@10.0.0.5:3307/bank"


def test_other_variables(tmp_path: Path) -> None:
    s = settings_from_env({
        "DASHSCOPE_API_KEY": "sk-test", "DASHSCOPE_MODEL": "qwen-plus", "LLM_TIMEOUT_S": "12.5",
        "APP_HOST": "0.0.0.0", "APP_PORT": "8080", "SQL_TIMEOUT_S": "3", "SQL_ROW_CAP": "500",
        "SQL_MEMORY_LIMIT": "1GB", "MAX_TOOL_CALLS": "4", "MASK_PERSONAL_DATA": "yes",
        "AUDIT_LOG": str(tmp_path / "a.jsonl"),
    })
    assert s.llm_mode == "dashscope" and s.dashscope_model == "qwen-plus" and s.llm_timeout_s == 12.5
    assert (s.host, s.port) == ("0.0.0.0", 8080)
    assert (s.sql_timeout_s, s.sql_row_cap, s.sql_memory_limit, s.max_tool_calls_per_turn) == (3.0, 500, "1GB", 4)
    assert s.mask_personal_data is True
    assert s.audit_log == tmp_path / "a.jsonl"
    assert "sk-test" not in repr(s)  # secrets stay out of logs
    assert settings_from_env({"LLM_BASE_URL": "http://127.0.0.1:8000/v1"}).llm_mode == "openai"


def test_get_settings_reads_the_process_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.delenv("DB_URL", raising=False)
    get_settings.cache_clear()
    try:
        assert get_settings().data_dir == tmp_path
        assert get_settings() is get_settings()
    finally:
        get_settings.cache_clear()


@pytest.mark.parametrize(("url", "path"), [("duckdb:///data/w.duckdb", "data/w.duckdb"),
                                           ("duckdb:////abs/w.duckdb", "/abs/w.duckdb")])
def test_duckdb_urls(url: str, path: str) -> None:
    assert parse_url(url).path == path
    wh = connect(url)
    assert isinstance(wh, DuckWarehouse) and wh.read_only and str(wh.path) == path


@pytest.mark.parametrize("url", ["postgresql://u:p@h/db", "sqlite:///x.db", "mysql+pymysql://u:p@h", "w.duckdb"])
def test_unsupported_urls_are_refused_in_chinese(url: str) -> None:
    with pytest.raises(WarehouseError, match="不支持的数据库连接串|缺少数据库名"):
        parse_url(url)


def test_mysql_url_with_escaped_password() -> None:
    p = parse_url("mariadb://loader:p%40ss%3Aw0rd@db.example:3306/bank")
    assert (p.password, p.host, p.port) == ("p@ss:w0rd", "db.example", 3306)


def test_settings_are_immutable() -> None:
    with pytest.raises(AttributeError):
        Settings().db_url = "x"  # type: ignore[misc]

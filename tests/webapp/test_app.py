"""The composed server over HTTP: health, the chat page, the dashboard route, no file serving
beyond what the app produced, and login when users are configured."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from webapp.app import create_app
from webapp.auth import save_user


@pytest.fixture(scope="module")
def client(app_settings):
    with TestClient(create_app(app_settings)) as c:
        yield c


def test_health_and_pages(client) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "mode": "offline"}
    page = client.get("/")
    assert page.status_code == 200 and "百万客群营销助手" in page.text
    assert client.get("/dashboard").status_code == 200


@pytest.mark.parametrize("path", ["/etc/passwd", "README.md", "data/warehouse.duckdb", "../pyproject.toml",
                                  str(Path(__file__).resolve())])
def test_arbitrary_files_are_not_served(client, path: str) -> None:
    r = client.get(f"/gradio_api/file={path}")
    assert r.status_code in (403, 404)
    assert "root:" not in r.text


def test_login_required_when_users_are_configured(app_settings, tmp_path: Path) -> None:
    users = tmp_path / "users.json"
    save_user(users, "wang", "a-long-password", None, "rm")
    s = dataclasses.replace(app_settings, users_file=users)
    with TestClient(create_app(s)) as c:
        assert c.get("/config").status_code in (401, 403)
        r = c.post("/login", data={"username": "wang", "password": "wrong"})
        assert r.status_code in (400, 401)
        r = c.post("/login", data={"username": "wang", "password": "a-long-password"})
        assert r.status_code == 200
        assert c.get("/config").status_code == 200


def test_dashboard_behind_the_same_login(app_settings, tmp_path: Path) -> None:
    users = tmp_path / "users.json"
    save_user(users, "li", "another-long-pass", None, "analyst")
    s = dataclasses.replace(app_settings, users_file=users)
    with TestClient(create_app(s)) as c:
        assert c.get("/dashboard").status_code == 401
        assert c.get("/dashboard/api/data").status_code == 401
        assert c.post("/login", data={"username": "li", "password": "another-long-pass"}).status_code == 200
        assert c.get("/dashboard").status_code == 200
        assert c.get("/dashboard/api/data").status_code == 200

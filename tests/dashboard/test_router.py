"""The router over HTTP (no browser): page, JSON, static files, errors and access control."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi import FastAPI, HTTPException, Request
from fastapi.testclient import TestClient

from million.dashboard import DashboardService
from million.settings import Settings
from webapp.dashboard import dashboard_router
from webapp.dashboard.router import STATIC_DIR


@pytest.fixture(scope="module")
def client(service: DashboardService) -> TestClient:
    app = FastAPI()
    app.include_router(dashboard_router(Settings(), service=service))
    return TestClient(app)


def test_page_is_self_contained(client: TestClient) -> None:
    r = client.get("/dashboard")
    assert r.status_code == 200 and "百万客群营销助手" in r.text
    assert 'href="/"' in r.text  # the way back to the chat
    assert "default-src 'self'" in r.headers["content-security-policy"]
    for src in re.findall(r'(?:src|href)="([^"]+)"', r.text):
        assert src.startswith(("/", "data:")) and not src.startswith("//"), src
        if src.startswith("/dashboard/static/"):
            assert client.get(src).status_code == 200, src
    assert client.get("/dashboard/", follow_redirects=False).status_code == 307


def test_data_endpoint(client: TestClient, snapshot) -> None:
    r = client.get("/dashboard/api/data")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    d = r.json()
    assert d["meta"]["month"] == snapshot["stat_month"].max() and len(d["charts"]) == 10
    month = sorted(snapshot["stat_month"].unique())[3]
    d2 = client.get("/dashboard/api/data", params={"branch": "北京分行朝阳支行", "month": month}).json()
    assert d2["meta"]["branch"] == "北京分行朝阳支行" and d2["meta"]["month"] == month
    assert d2["kpis"][0]["value"] < d["kpis"][0]["value"]


@pytest.mark.parametrize("params", [{"branch": "无此网点"}, {"month": "2026-13"}, {"branch": "b" * 300},
                                    {"branch": "' OR 1=1 --"}])
def test_bad_filters_are_400_in_chinese(client: TestClient, params: dict[str, str]) -> None:
    r = client.get("/dashboard/api/data", params=params)
    assert r.status_code == 400 and re.search(r"[\u4e00-\u9fff]", r.json()["error"])


def test_static_files_and_traversal(client: TestClient) -> None:
    js = client.get("/dashboard/static/vendor/echarts/echarts.min.js")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"] and len(js.content) > 500_000
    again = client.get("/dashboard/static/vendor/echarts/echarts.min.js", headers={"If-None-Match": js.headers["etag"]})
    assert again.status_code == 304
    for bad in ("../router.py", "..%2F..%2Fsettings.py", "%2e%2e/router.py", "/etc/passwd", "nope.js", "index.html"):
        assert client.get(f"/dashboard/static/{bad}").status_code == 404, bad


def test_missing_warehouse_is_503(tmp_path: Path) -> None:
    app = FastAPI()
    app.include_router(dashboard_router(Settings(data_dir=tmp_path, artifacts_dir=tmp_path)))
    c = TestClient(app)
    assert c.get("/dashboard").status_code == 200  # the page itself loads and shows the message
    r = c.get("/dashboard/api/data")
    assert r.status_code == 503 and "数据仓库" in r.json()["error"]


def test_access_callable_scopes_and_refuses(service: DashboardService) -> None:
    def access(request: Request) -> tuple[str, ...] | None:
        user = request.headers.get("x-user")
        if user is None:
            raise HTTPException(401, "请先登录")
        return None if user == "admin" else ("上海分行外滩支行",)

    app = FastAPI()
    app.include_router(dashboard_router(Settings(), service=service, access=access))
    c = TestClient(app)
    assert c.get("/dashboard").status_code == 401
    assert c.get("/dashboard/api/data").status_code == 401
    rm = c.get("/dashboard/api/data", headers={"x-user": "rm"}).json()
    assert rm["meta"]["options"]["branches"] == ["上海分行外滩支行"]
    assert c.get("/dashboard/api/data", params={"branch": "北京分行朝阳支行"}, headers={"x-user": "rm"}).status_code == 400
    admin = c.get("/dashboard/api/data", headers={"x-user": "admin"}).json()
    assert len(admin["meta"]["options"]["branches"]) > 1 and admin["kpis"][0]["value"] > rm["kpis"][0]["value"]


def test_vendored_echarts_is_intact_and_licensed() -> None:
    import hashlib

    vendor = STATIC_DIR / "vendor" / "echarts"
    note = (vendor / "VERSION.md").read_text(encoding="utf-8")
    digest = hashlib.sha256((vendor / "echarts.min.js").read_bytes()).hexdigest()
    assert digest in note
    assert "Apache License" in (vendor / "LICENSE").read_text(encoding="utf-8")
    assert "Apache ECharts" in (vendor / "NOTICE").read_text(encoding="utf-8")


def test_own_static_files_reference_no_external_host() -> None:
    for f in ("index.html", "dashboard.js", "dashboard.css"):
        text = (STATIC_DIR / f).read_text(encoding="utf-8")
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}/", text, re.I), f
        assert "@import" not in text and "url(http" not in text


def test_page_titles_match_the_panel_list(client: TestClient) -> None:
    from million.dashboard import PANEL_TITLES

    html = client.get("/dashboard").text
    assert sorted(re.findall(r'data-chart="(\w+)"', html)) == sorted(PANEL_TITLES)
    for name, title in PANEL_TITLES.items():  # each title sits right above its own chart
        assert re.search(rf'<h2>{re.escape(title)}.*?</h2><div class="chart" data-chart="{name}"', html), name

"""The web app's server-side guards over real HTTP, as a browser or an attacker meets them: login
throttling, no user enumeration, hashing off the event loop, expiring sessions, SameSite cookies,
POST-only logout, no uploads, no API schema, unknown events answered 400 not 500, a CSP on every
page, and files served only to the user they were made for."""

from __future__ import annotations

import dataclasses
import statistics
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.workflow.live import serve
from webapp.auth import save_user
from webapp.login import ExpiringTokens, Throttle

PW = "a-long-password-1"


@pytest.fixture()
def two_users(app_settings, tmp_path: Path):
    users = tmp_path / "users.json"
    save_user(users, "wang", PW, None, "rm")
    save_user(users, "li", PW + "x", None, "analyst")
    return dataclasses.replace(app_settings, users_file=users, data_dir=tmp_path / "data")


def _login(c: httpx.Client, user: str, pw: str) -> httpx.Response:
    return c.post("/login", data={"username": user, "password": pw})


def test_failed_logins_are_throttled_and_unknown_users_look_the_same(two_users) -> None:
    with serve(two_users) as url, httpx.Client(base_url=url, timeout=60) as c:
        known, unknown = [], []
        for _ in range(3):
            t0 = time.perf_counter()
            r1 = _login(c, "li", "wrong")
            known.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            r2 = _login(c, f"nobody{_}", "wrong")
            unknown.append(time.perf_counter() - t0)
            assert r1.status_code == r2.status_code == 400 and r1.json() == r2.json()  # same words
        # same work for both (a PBKDF2 each): once 75 ms against 2.8 ms
        assert statistics.median(unknown) > 0.5 * statistics.median(known), (known, unknown)
        for _ in range(4):
            assert _login(c, "wang", "wrong").status_code == 400
        r = _login(c, "wang", "wrong")  # the 5th failure locks the name
        r = _login(c, "wang", PW)  # ... so the right password is refused for now
        assert r.status_code == 429 and "分钟后再试" in r.json()["detail"]
        assert c.get("/config").status_code in (401, 403)


def test_hashing_does_not_block_the_server(two_users, monkeypatch) -> None:
    """16 threads of failed logins once took /healthz from 3 ms to 3.1 s: the hash ran on the event loop."""
    import hashlib

    def slow_hash(*_args, **_kwargs) -> bytes:  # a slow machine's PBKDF2, in the same place
        time.sleep(0.2)
        return b"\0" * 32

    monkeypatch.setattr(hashlib, "pbkdf2_hmac", slow_hash)
    with serve(two_users) as url:
        stop = threading.Event()

        def hammer(i: int) -> None:
            with httpx.Client(base_url=url, timeout=120) as c:
                while not stop.is_set():
                    _login(c, ("wang", "li")[i % 2], "wrong")

        threads = [threading.Thread(target=hammer, args=(i,), daemon=True) for i in range(16)]
        for t in threads:
            t.start()
        time.sleep(0.5)
        times = []
        with httpx.Client(base_url=url, timeout=120) as c:
            for _ in range(10):
                t0 = time.perf_counter()
                assert c.get("/healthz").status_code == 200
                times.append(time.perf_counter() - t0)
        stop.set()
        for t in threads:
            t.join(60)
        assert statistics.median(times) < 0.3, times


def test_session_cookies_logout_and_expiry(two_users) -> None:
    s = dataclasses.replace(two_users, session_idle_s=2.0)
    with serve(s) as url, httpx.Client(base_url=url, timeout=60) as c:
        r = _login(c, "wang", PW)
        assert r.status_code == 200
        cookies = r.headers.get_list("set-cookie")
        assert cookies and all("samesite=strict" in x.lower() and "httponly" in x.lower() for x in cookies)
        assert c.get("/config").status_code == 200
        assert c.get("/logout").status_code == 405  # a link on another site cannot log anyone out
        assert c.post("/logout", headers={"origin": "http://evil.example"}).status_code == 403
        assert c.get("/config").status_code == 200
        assert c.post("/logout").status_code in (303, 200)
        assert c.get("/config").status_code in (401, 403)
        assert _login(c, "wang", PW).status_code == 200
        time.sleep(2.5)  # idle longer than the session may
        assert c.get("/config").status_code in (401, 403)


def test_tokens_expire_by_age_and_idleness() -> None:
    now = [0.0]
    tokens = ExpiringTokens(ttl_s=100, idle_s=10, clock=lambda: now[0])
    tokens["a"] = "wang"
    now[0] = 9
    assert tokens.get("a") == "wang"  # used: idle clock restarts
    now[0] = 18
    assert "a" in tokens and tokens["a"] == "wang"
    now[0] = 29
    assert tokens.get("a") is None and "a" not in tokens
    tokens["b"] = "li"
    for t in range(30, 140, 5):
        now[0] = t
        alive = tokens.get("b")
    assert alive is None  # past its age although used all along


def test_throttle_window_and_lock() -> None:
    now = [0.0]
    th = Throttle(limit=3, window_s=60, lock_s=30, clock=lambda: now[0])
    th.failed("k")
    now[0] = 70
    th.failed("k")
    th.failed("k")
    assert th.wait_s("k") == 0  # the first failure fell out of the window
    th.failed("k")
    assert th.wait_s("k") == 30
    now[0] = 101
    assert th.wait_s("k") == 0


def test_no_schema_no_uploads_unknown_events_and_csp(two_users) -> None:
    with serve(two_users) as url, httpx.Client(base_url=url, timeout=60) as c:
        for path in ("/openapi.json", "/gradio_api/openapi.json", "/docs"):
            assert c.get(path).status_code == 404, path
        assert _login(c, "wang", PW).status_code == 200
        page = c.get("/")
        csp = page.headers["content-security-policy"]
        assert "img-src 'self' data: blob:" in csp and "form-action 'self'" in csp and "default-src 'self'" in csp
        assert "content-security-policy" in c.get("/dashboard").headers
        r = c.post("/gradio_api/upload", files={"files": ("big.bin", b"x" * 5_000_000)})
        assert r.status_code == 403
        r = c.post("/gradio_api/queue/join", json={"fn_index": 9999, "data": [], "session_hash": "abc"})
        assert r.status_code == 400
        r = c.post("/gradio_api/queue/join", content=b"{not json", headers={"content-type": "application/json"})
        assert r.status_code == 400
        assert c.post("/gradio_api/run/nothing_here", json={"data": []}).status_code == 404
        assert c.get("/healthz").status_code == 200  # and it keeps serving


def test_files_are_served_only_to_their_owner(two_users) -> None:
    from gradio_client import Client

    with serve(two_users) as url:
        wang = Client(url + "/", auth=("wang", PW), verbose=False, download_files=False)
        out = wang.predict("SELECT city_level, COUNT(*) AS n FROM customer_base GROUP BY 1", False, False,
                           api_name="/respond")
        files = out[1]
        assert files, out
        file_url = files[0]["url"]
        assert "/gradio_api/file=" in file_url
        with httpx.Client(timeout=60) as owner, httpx.Client(timeout=60) as other, httpx.Client(timeout=60) as anon:
            assert owner.post(url + "/login", data={"username": "wang", "password": PW}).status_code == 200
            assert other.post(url + "/login", data={"username": "li", "password": PW + "x"}).status_code == 200
            assert owner.get(file_url).status_code == 200
            assert other.get(file_url).status_code == 403
            assert anon.get(file_url).status_code in (401, 403)

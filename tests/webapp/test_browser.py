"""The chat in headless Chromium: send a customer_id, see the probability and a chart image,
with no request leaving the machine."""

from __future__ import annotations

import re
import socket
import threading
import time
from urllib.parse import urlparse

import pytest

from tests.dashboard.browser import ARGS, ensure_chromium

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def base_url(app_settings):
    import uvicorn

    from webapp.app import create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(app_settings), host="127.0.0.1", port=port, log_level="warning"))
    th = threading.Thread(target=server.run, daemon=True)
    th.start()
    deadline = time.time() + 30
    while not server.started and time.time() < deadline:
        time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    th.join(10)


def test_customer_brief_in_the_browser(base_url, known_customers, tmp_path) -> None:
    chromium = ensure_chromium()
    from playwright.sync_api import sync_playwright

    cid = known_customers["prospect"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto(base_url + "/")
        page.wait_for_selector("#question textarea", timeout=30_000)
        assert "离线模式" in page.inner_text("#mode-badge")
        page.fill("#question textarea", cid)
        page.click("#send")
        page.wait_for_function("document.querySelector('#chat').innerText.includes('建议话术')", timeout=60_000)
        text = page.inner_text("#chat")
        assert re.search(r"概率：\s*[\d.]+%", text), text[:500]
        assert "predict_million_prob" in text and "forecast_aum" in text
        # Charts follow the answer (drawn after it) as <img> elements loaded lazily: wait for them,
        # bring each into view, then wait for one to decode.
        page.wait_for_selector("#chat img", state="attached", timeout=60_000)
        page.eval_on_selector_all("#chat img", "els => els.forEach(e => { e.loading = 'eager'; e.scrollIntoView(); })")
        page.wait_for_function("[...document.querySelectorAll('#chat img')].some(e => e.complete && e.naturalWidth > 100)",
                               timeout=30_000)
        page.screenshot(path=str(tmp_path / "chat.png"), full_page=True)
        browser.close()
    hosts = {urlparse(u).hostname for u in requests if not u.startswith(("data:", "blob:"))}
    assert hosts <= {"127.0.0.1", "localhost"}, hosts

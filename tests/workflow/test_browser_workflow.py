"""In headless Chromium: the confirm flow (SQL shown, nothing runs, edit, run the edited version)
and a report generated and downloaded, with no request leaving the machine."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.dashboard.browser import ARGS, ensure_chromium
from tests.workflow.live import serve

pytestmark = pytest.mark.browser

SQL = "SELECT city_level, COUNT(*) AS n FROM customer_base GROUP BY city_level"
EDITED = "SELECT city_level AS 城市级别, COUNT(*) AS 客户数 FROM customer_base GROUP BY city_level ORDER BY 客户数 DESC"


def _chat(page) -> str:
    return page.inner_text("#chat")


def test_confirm_edit_run_and_download_a_report(app_settings, tmp_path: Path) -> None:
    chromium = ensure_chromium()
    from playwright.sync_api import sync_playwright

    s = dataclasses.replace(app_settings, data_dir=tmp_path / "data")
    with serve(s) as url, sync_playwright() as p:  # the offline router: SQL typed by the person
        browser = p.chromium.launch(executable_path=chromium, args=ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 1200}, accept_downloads=True)
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto(url + "/")
        page.wait_for_selector("#question textarea", timeout=30_000)
        box = page.locator("#confirm-mode input[type=checkbox]")
        assert not box.is_checked()  # no logins configured: no roles, the switch starts off
        box.check()
        page.fill("#question textarea", SQL)
        page.click("#send")
        page.wait_for_selector("#confirm-panel", state="visible", timeout=60_000)
        page.wait_for_function("document.querySelector('#confirm-code').innerText.includes('GROUP BY city_level')")
        page.wait_for_function("document.querySelector('#chat').innerText.includes('等待您确认')")
        page.wait_for_timeout(500)
        assert "查询成功" not in _chat(page)  # shown, not run
        # 修改: the editor becomes editable; replace the code and run the edited version
        page.click("#confirm-edit")
        editor = page.locator("#confirm-code .cm-content")
        page.wait_for_function("document.querySelector('#confirm-code .cm-content').isContentEditable")
        editor.click()
        page.keyboard.press("Control+A")
        page.keyboard.press("Delete")
        page.keyboard.insert_text(EDITED)
        page.click("#confirm-run")
        page.wait_for_function("document.querySelector('#chat').innerText.includes('已按您的确认运行')",
                               timeout=60_000)
        page.wait_for_selector("#confirm-panel", state="hidden", timeout=30_000)
        page.wait_for_function("document.querySelector('#chat').innerText.includes('代码经您修改')")
        text = _chat(page)
        assert "客户数" in text and "城市级别" in text and re.search(r"查询成功，返回 3 行 2 列", text)
        # a conversation that starts with SQL is listed by the table it reads, not as raw SQL
        page.wait_for_function("document.querySelector('#conv-list').innerText.includes('SQL查询：customer_base')")

        page.click("#make-report")
        page.wait_for_function("document.querySelector('#notice').innerText.includes('已生成分析报告')",
                               timeout=60_000)
        assert re.search(r"用时 [\d.]+ 秒", page.inner_text("#notice"))
        link = page.locator('#report-files a[download$=".html"]').first
        link.wait_for(timeout=30_000)
        with page.expect_download() as dl:
            link.click()
        target = tmp_path / "report.html"
        dl.value.save_as(target)
        html = target.read_text(encoding="utf-8")
        assert "数据分析报告" in html and "城市级别" in html and "data:image/png;base64," in html
        assert not re.search(r"(src|href)=\"https?://", html)
        # the downloaded report opens on its own, without fetching anything
        report = browser.new_page()
        fetched: list[str] = []
        report.on("request", lambda r: fetched.append(r.url))
        report.goto(target.as_uri())
        assert report.eval_on_selector_all("img", "els => els.every(e => e.naturalWidth > 100)")
        assert [u for u in fetched if not u.startswith(("file:", "data:"))] == []
        report.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        page.screenshot(path=str(tmp_path / "chat.png"), full_page=True)
        browser.close()
    hosts = {urlparse(u).hostname for u in requests if not u.startswith(("data:", "blob:"))}
    assert hosts <= {"127.0.0.1", "localhost"}, hosts

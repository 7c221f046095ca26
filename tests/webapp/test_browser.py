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
        # The two charts (SHAP waterfall, AUM forecast) are drawn by the browser from their numbers
        # (webapp/static/chat_charts.js, vendored ECharts): wait for both canvases to hold a drawing.
        page.wait_for_function("document.querySelectorAll('#chat div.mchart canvas').length >= 2", timeout=60_000)
        drawn = page.eval_on_selector_all(
            "#chat div.mchart canvas", "cs => cs.map(c => [c.width, c.toDataURL('image/png').length])")
        assert len(drawn) >= 2 and all(w > 300 and size > 20_000 for w, size in drawn), drawn
        page.screenshot(path=str(tmp_path / "chat.png"), full_page=True)
        browser.close()
    hosts = {urlparse(u).hostname for u in requests if not u.startswith(("data:", "blob:"))}
    assert hosts <= {"127.0.0.1", "localhost"}, hosts


# -- walk-throughs: what a new RM, analyst and manager read on the screen --------------------------

# the last answer that holds the text waited for (the plan recap may follow it)
LAST_BOT = ("u => { const b = [...document.querySelectorAll('#chat [data-testid=bot]')].filter(e => e.innerText.includes(u)); "
            "return b.length ? b[b.length - 1].innerText : ''; }")


class Chat:
    def __init__(self, browser, base_url: str, width: int = 1366, height: int = 768) -> None:
        self.page = browser.new_page(viewport={"width": width, "height": height})
        self.requests: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.goto(base_url + "/")
        self.page.wait_for_selector("#question textarea", timeout=60_000)
        self.page.click("#new-chat")  # a page visit continues the last conversation; start clean
        self.page.wait_for_timeout(500)

    def ask(self, text: str, until: str, timeout: int = 90_000) -> str:
        n = self.page.evaluate("document.querySelectorAll('#chat [data-testid=user]').length")
        self.page.fill("#question textarea", text)
        self.page.click("#send")
        for _ in range(60):  # the last answer's charts may still be drawing: the question waits in the box
            self.page.wait_for_function(
                "n => document.querySelectorAll('#chat [data-testid=user]').length > n || "
                "document.querySelector('#notice').innerText.includes('还在处理中')", arg=n, timeout=timeout)
            if self.page.evaluate("document.querySelectorAll('#chat [data-testid=user]').length") > n:
                break
            assert self.page.input_value("#question textarea") == text  # not lost
            self.page.wait_for_timeout(1000)
            self.page.click("#send")
        self.page.wait_for_function(
            "([n, until]) => document.querySelectorAll('#chat [data-testid=user]').length > n && "
            "document.querySelector('#chat').innerText.includes(until)", arg=[n, until], timeout=timeout)
        self.page.wait_for_timeout(300)
        return self.page.evaluate(LAST_BOT, until)

    def click_suggestion(self, label: str, until: str) -> str:
        n = self.page.evaluate("document.querySelectorAll('#chat [data-testid=user]').length")
        self.page.locator("button.suggestion", has_text=label).first.click()
        self.page.wait_for_function("document.querySelector('#question textarea').value.length > 0")
        self.page.click("#send")
        self.page.wait_for_function(
            "([n, until]) => document.querySelectorAll('#chat [data-testid=user]').length > n && "
            "document.querySelector('#chat').innerText.includes(until)", arg=[n, until], timeout=90_000)
        self.page.wait_for_timeout(300)
        return self.page.evaluate(LAST_BOT, until)

    def local_only(self) -> None:
        hosts = {urlparse(u).hostname for u in self.requests if not u.startswith(("data:", "blob:"))}
        assert hosts <= {"127.0.0.1", "localhost"}, hosts


@pytest.fixture(scope="module")
def chromium_browser():
    chromium = ensure_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=ARGS)
        yield b
        b.close()


def test_rm_walkthrough(chromium_browser, base_url, known_customers) -> None:
    """A new RM: types an ID in lower case inside a sentence, reads the brief, asks the follow-ups,
    mistypes an ID, asks for the prospect list and reads the download's name."""
    from million.services import get_services

    svc = get_services().propensity()
    top = svc.top(1)
    cid, name = str(top["customer_id"].iloc[0]), str(top["name"].iloc[0])
    pred = svc.predict(cid)
    c = Chat(chromium_browser, base_url)
    brief = c.ask(f"帮我看看客户 {cid.lower()} 的情况", "建议话术")
    assert f"客户 {cid} 营销简报" in brief and "我只能理解以下指令" not in brief
    assert f"{pred.probability:.1%}" in brief  # the number the model gives, as the RM reads it
    salutation = name[0] + {"男": "先生", "女": "女士"}.get(str(pred.gender), "")
    script = brief.split("建议话术", 1)[1]
    assert salutation in script and pred.branch_name in script
    assert "基准值" not in brief and "个百分点" in brief  # SHAP in percentage points
    answer = c.ask("他适合什么产品？", "目前持有")
    assert f"客户 {cid} 目前持有" in answer
    answer = c.ask("那他所在分行呢？", "查询成功")  # the result, not the SQL in the running block
    assert pred.branch_name in answer and "概率" not in answer
    wrong = "C" + "9" * (len(cid) - 1)
    answer = c.ask(f"{wrong} 这个客户怎么样", "不存在")
    assert f"客户 {wrong} 不存在" in answer and "我只能理解以下指令" not in answer
    answer = c.ask("高潜客户名单", "高潜客户名单：共")
    ranks = re.findall(r"^(\d+)\t", answer, re.M)
    assert ranks and [int(r) for r in ranks] == list(range(1, len(ranks) + 1)), answer[:800]
    assert name not in answer and f"{name[0]}*" in answer  # masked, as on the dashboard
    files = c.page.locator("#downloads .file-preview .filename").all_inner_texts()
    assert any(f.replace(" ", "").startswith("高潜客户名单_") and f.strip().endswith(".csv") for f in files), files
    c.page.locator("#downloads .file-preview").first.scroll_into_view_if_needed()
    cut = c.page.evaluate("""() => [...document.querySelectorAll('#downloads .file-preview tr.file')].filter(tr => {
        tr.scrollIntoView({block: 'center'});
        const name = tr.querySelector('td.filename'), link = tr.querySelector('td.download a');
        const box = tr.closest('.file-preview').getBoundingClientRect(), r = link.getBoundingClientRect();
        const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
        return name.scrollWidth > name.clientWidth + 1 || r.right > box.right + 1 || !link.contains(hit); }).length""")
    assert cut == 0  # the whole name, and a download link that is visible and clickable, in the narrow column
    c.local_only()
    c.page.close()


def test_analyst_walkthrough(chromium_browser, base_url) -> None:
    """A new analyst: clicks the ranking suggestion and reads the right numbers, runs SQL with
    confirmation at 1366×768 (the 运行 button on screen, no spinner), gets told about empty and
    over-long messages."""
    from million.services import get_services

    wh = get_services().wh
    df = wh.query("SELECT b.branch_name, a.total_assets FROM customer_behavior_assets a JOIN customer_base b "
                  "ON a.customer_id = b.customer_id WHERE a.stat_month = (SELECT MAX(stat_month) FROM customer_behavior_assets)")
    df["fh"] = df["branch_name"].map(lambda b: b[:b.index("分行") + 2] if "分行" in b else b)
    best = df.assign(v=df["total_assets"].astype(float)).groupby("fh")["v"].sum().sort_values(ascending=False)
    c = Chat(chromium_browser, base_url)
    answer = c.click_suggestion("各分行最新月总AUM排名前10", "查询成功")
    assert "预测" not in answer
    first = answer.split(best.index[0], 1)
    assert len(first) == 2 and f"{best.iloc[0] / 1e8:.2f}".rstrip("0").rstrip(".") in first[1][:60], answer[:600]
    c.page.click("#confirm-mode input")
    c.page.fill("#question textarea", "SELECT city_level, COUNT(*) AS n FROM customer_base GROUP BY city_level")
    c.page.click("#send")
    c.page.wait_for_selector("#confirm-run", timeout=60_000)
    c.page.wait_for_timeout(500)
    box = c.page.locator("#confirm-run").bounding_box()
    assert box and box["y"] + box["height"] <= 768 and c.page.evaluate("window.scrollY") == 0, box
    assert c.page.evaluate("document.querySelectorAll('#chat .loading, #chat svg.spinner, #chat .spinner').length") == 0
    c.page.click("#confirm-run")
    c.page.wait_for_function("document.querySelector('#chat').innerText.includes('查询成功，返回 3 行')", timeout=60_000)
    c.page.click("#confirm-mode input")
    c.page.fill("#question textarea", "")
    c.page.click("#send")
    c.page.wait_for_function("document.querySelector('#notice').innerText.includes('请先输入')", timeout=10_000)
    c.ask("全局解释" + "。" * 4100, "全局重要因素")
    c.page.wait_for_function("document.querySelector('#notice').innerText.includes('只处理了前 4,000 字')", timeout=10_000)
    c.local_only()
    c.page.close()


def test_manager_walkthrough(chromium_browser, base_url) -> None:
    """A new manager: the dashboard's KPI and prospect panel count the same prospects, its top list is
    the chat's list (same customers, same order, nobody in the cool period), and names are masked
    on both."""
    from million.contact import cool_customers
    from million.services import get_services

    svc = get_services().propensity()
    c = Chat(chromium_browser, base_url, 1920, 1080)
    chat_list = c.ask("高潜客户名单", "高潜客户名单：共")
    chat_ids = re.findall(r"^\d+\t(\S+)\t", chat_list, re.M)[:10]
    page = c.page
    page.goto(base_url + "/dashboard")
    page.wait_for_selector("html[data-ready='1']", state="attached", timeout=60_000)
    kpi = page.locator('.kpi[data-kpi="prospects"] .kpi-value').inner_text().split("人")[0].strip()
    header = page.locator("#prospects-asof").inner_text()
    assert f"潜客 {kpi} · 冷静期" in header
    labels = page.evaluate("() => window.__dashboard.charts.prospects.getOption().yAxis[0].data")
    board = list(reversed(labels))  # the bar chart lists from the bottom up
    assert board == chat_ids == svc.top(10)["customer_id"].tolist()
    assert not set(board) & set(cool_customers(svc.wh, svc.snapshot.as_of))
    c.local_only()
    page.close()

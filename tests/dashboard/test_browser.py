"""The page in headless Chromium: every chart paints pixels, filters re-render it, the layout reflows,
and no request leaves 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import pytest

from million.dashboard import PANELS, DashboardService
from million.settings import Settings
from webapp.dashboard import dashboard_router
from webapp.dashboard.local_server import serve

from .browser import ARGS, ensure_chromium

pytestmark = pytest.mark.browser

READY = "html[data-ready='1'], body[data-state='error']"
# Painted pixels per chart canvas: real data draws axes, bars and labels; a "暂无数据" placeholder
# draws a title and a dashed ring and stays well under this share.
MIN_PAINTED_SHARE = 0.08

PIXELS_JS = """() => Array.from(document.querySelectorAll('.chart[data-chart]')).map(el => {
  let painted = 0, total = 0;
  const canvases = el.querySelectorAll('canvas');
  for (const c of canvases) {
    const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    total += c.width * c.height;
    for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted++;
  }
  return {name: el.dataset.chart, empty: el.dataset.empty, canvases: canvases.length, painted, total,
          width: el.clientWidth, height: el.clientHeight,
          canvasWidth: canvases.length ? canvases[0].getBoundingClientRect().width : 0};
})"""


@pytest.fixture(scope="module")
def base_url(service: DashboardService, bare_service: DashboardService) -> Iterator[str]:
    full = dashboard_router(Settings(), service=service)
    bare = dashboard_router(Settings(), service=bare_service, prefix="/bare")  # no segments, no scores
    with serve(full, bare) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    chromium = ensure_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=ARGS, headless=True)
        yield b
        b.close()


class Visit:
    """One page with every request and console error recorded."""

    def __init__(self, browser: Any, width: int = 1920, height: int = 1080) -> None:
        self.page = browser.new_page(viewport={"width": width, "height": height})
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def open(self, url: str) -> None:
        self.page.goto(url)
        self.page.wait_for_selector(READY, state="attached", timeout=20_000)

    def charts(self) -> list[dict[str, Any]]:
        return self.page.evaluate(PIXELS_JS)

    def assert_local(self) -> None:
        hosts = {urlparse(u).hostname for u in self.requests if not u.startswith(("data:", "blob:"))}
        assert hosts <= {"127.0.0.1", "localhost"}, hosts


def test_every_chart_renders_and_nothing_leaves_the_machine(browser: Any, base_url: str) -> None:
    v = Visit(browser)
    v.open(base_url + "/dashboard")
    assert v.page.get_attribute("body", "data-state") == "ready"
    charts = v.charts()
    assert [c["name"] for c in charts] == list(dict.fromkeys(c["name"] for c in charts))
    assert sorted(c["name"] for c in charts) == sorted(PANELS) and len(charts) <= 10
    for c in charts:
        assert c["canvases"] >= 1 and c["width"] > 200 and c["height"] > 150, c
        assert c["empty"] == "0", c
        assert c["painted"] / c["total"] > MIN_PAINTED_SHARE, c
    kpis = v.page.locator(".kpi .kpi-value").all_inner_texts()
    assert len(kpis) == 5 and all(t.strip() and t.strip() != "-" and "暂无" not in t for t in kpis), kpis
    assert "万" in v.page.locator('.kpi[data-kpi="aum"] .kpi-value').inner_text() or \
        "亿" in v.page.locator('.kpi[data-kpi="aum"] .kpi-value').inner_text()
    assert v.page.title() == "百万客群营销助手 · 可视化大屏"
    assert v.errors == []
    v.assert_local()
    assert any(u.endswith("/dashboard/static/vendor/echarts/echarts.min.js") for u in v.requests)

    # Filters: pick a branch; the page asks the API with it and redraws.
    before = v.page.locator('.kpi[data-kpi="customers"] .kpi-value').inner_text()
    branch = v.page.locator("#f-branch option").nth(3).get_attribute("value")
    with v.page.expect_response(lambda r: "/dashboard/api/data?" in r.url and r.status == 200) as resp:
        v.page.select_option("#f-branch", branch)
    assert resp.value.json()["meta"]["branch"] == branch
    v.page.wait_for_selector("body[data-state='ready']", state="attached")
    after = v.page.locator('.kpi[data-kpi="customers"] .kpi-value').inner_text()
    assert after != before and "branch=" in v.page.url
    assert all(c["painted"] / c["total"] > MIN_PAINTED_SHARE for c in v.charts())

    # Responsive: a narrow window reflows to fewer columns and every chart follows its container.
    v.page.set_viewport_size({"width": 900, "height": 900})
    v.page.wait_for_timeout(400)
    for c in v.charts():
        assert abs(c["canvasWidth"] - c["width"]) <= 2, c
    assert v.errors == []
    v.assert_local()
    v.page.close()


def test_missing_artifacts_show_placeholders(browser: Any, base_url: str) -> None:
    v = Visit(browser, 1600, 900)
    v.open(base_url + "/bare")
    by = {c["name"]: c for c in v.charts()}
    for name in ("segments", "prospects"):
        assert by[name]["empty"] == "1" and 0 < by[name]["painted"] / by[name]["total"] < MIN_PAINTED_SHARE, by[name]
    for name in set(PANELS) - {"segments", "prospects"}:
        assert by[name]["empty"] == "0" and by[name]["painted"] / by[name]["total"] > MIN_PAINTED_SHARE, by[name]
    assert "暂无" in v.page.locator('.kpi[data-kpi="expected_new"] .kpi-value').inner_text()
    assert v.errors == []
    v.assert_local()
    v.page.close()


def test_bad_filter_in_the_address_shows_a_message(browser: Any, base_url: str) -> None:
    v = Visit(browser, 1280, 800)
    v.open(base_url + "/dashboard?branch=%E4%B8%8D%E5%AD%98%E5%9C%A8")
    assert v.page.get_attribute("body", "data-state") == "error"
    assert "网点" in v.page.locator("#banner").inner_text()
    v.assert_local()
    v.page.close()


TEXTS_JS = """() => {
  const out = [];
  for (const [name, chart] of Object.entries(window.__dashboard.charts)) {
    if (!chart || !chart.getZr) continue;
    chart.getZr().storage.getDisplayList(true).forEach(el => {
      const own = el.style && el.style.text;
      if (own) out.push([name, String(own)]);
      const tc = el.getTextContent && el.getTextContent();
      if (tc && tc.style && tc.style.text) out.push([name, String(tc.style.text)]);
    });
  }
  return out;
}"""
CUT_HEADERS_JS = """() => Array.from(document.querySelectorAll('.panel h2'))
  .filter(h => h.scrollWidth > h.clientWidth + 1).map(h => h.innerText)"""


@pytest.mark.parametrize("size", [(1500, 900), (1366, 768), (1920, 1080)])
def test_no_label_is_cut(browser: Any, base_url: str, service: DashboardService, size: tuple[int, int]) -> None:
    """Every branch and occupation is labelled, no label ends in an ellipsis, no panel title is cut."""
    v = Visit(browser, *size)
    v.open(base_url + "/dashboard")
    v.page.wait_for_timeout(600)  # animations end; labels are laid out
    texts = v.page.evaluate(TEXTS_JS)
    cut = [(n, t) for n, t in texts if t.endswith(("...", "…")) or "..." in t]
    assert not cut, cut
    data = service.data()["charts"]
    labelled = [t for n, t in texts if n == "branches" and t.startswith("No.")]
    assert len(labelled) == len(data["branches"]["rows"]), labelled
    occ = {t for n, t in texts if n == "occupation"}
    assert set(data["occupation"]["types"]) <= occ, set(data["occupation"]["types"]) - occ
    assert v.page.evaluate(CUT_HEADERS_JS) == []
    # the prospect panel counts the prospects the KPI card counts
    kpi = v.page.locator('.kpi[data-kpi="prospects"] .kpi-value').inner_text().strip()
    count = kpi.split("人")[0].strip()
    assert count[0].isdigit() and f"潜客 {count} · 冷静期" in v.page.locator("#prospects-asof").inner_text()
    assert v.errors == []
    v.page.close()

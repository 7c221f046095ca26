"""Page-load bench of the big-screen dashboard in headless Chromium, plus a screenshot.

    python -m scripts.bench_dashboard --db-url duckdb:////tmp/dash/wh.duckdb --artifacts artifacts \
        --out bench/results/dashboard.md --screenshot bench/results/dashboard.png

Serves the dashboard router alone on 127.0.0.1 (a free port), opens /dashboard in a fresh browser
context per run (empty HTTP cache) and reads the page's own timings: data received, every chart
drawn, and every chart's first animation finished ("loaded"). Runs with an empty server cache
(first visit after a warehouse reload) and with a warm one are reported separately.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from million.dashboard import PANEL_TITLES, DashboardService  # noqa: E402
from million.dashboard.warmer import DashboardWarmer  # noqa: E402
from million.settings import get_settings  # noqa: E402
from tests.dashboard.browser import ARGS, CHROMIUM  # noqa: E402 - the tests' launch settings
from webapp.dashboard import dashboard_router  # noqa: E402
from webapp.dashboard.local_server import serve  # noqa: E402

READY = "html[data-ready='1'], body[data-state='error']"
TIMINGS_JS = """() => {
  const t = window.__dashboard.timings, nav = performance.getEntriesByType('navigation')[0];
  return {html: nav.responseEnd, script: t.start, data: t.data, drawn: t.rendered, loaded: t.finished,
          state: document.body.dataset.state};
}"""


def load_once(browser: Any, url: str, width: int, height: int, shot: Path | None = None,
              ctx: Any = None) -> dict[str, float]:
    """One visit; a fresh browser context (empty HTTP and code cache) unless `ctx` is given."""
    own = ctx is None
    ctx = ctx or browser.new_context(viewport={"width": width, "height": height})
    page = ctx.new_page()
    hosts: set[str] = set()
    page.on("request", lambda r: hosts.add(r.url.split("/")[2]))
    t0 = time.perf_counter()
    page.goto(url)
    page.wait_for_selector(READY, state="attached", timeout=30_000)
    wall = (time.perf_counter() - t0) * 1000
    t = page.evaluate(TIMINGS_JS)
    if t["state"] != "ready":
        raise SystemExit(f"页面加载失败：{page.locator('#banner').inner_text()}")
    if shot:
        page.wait_for_timeout(600)  # let hover-free animations settle for the picture
        page.screenshot(path=str(shot))
    page.close()
    if own:
        ctx.close()
    return {**{k: float(v) for k, v in t.items() if k != "state"}, "wall": wall, "hosts": sorted(hosts)}  # type: ignore[dict-item]


def api_ms(url: str) -> float:
    t0 = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as r:  # noqa: S310 - our own 127.0.0.1 server
        r.read()
    return (time.perf_counter() - t0) * 1000


def med(rows: list[dict[str, float]], key: str) -> str:
    vals = [r[key] for r in rows]
    return f"{statistics.median(vals):,.0f} ms（{min(vals):,.0f}–{max(vals):,.0f}）"


def main(argv: list[str] | None = None) -> int:
    s = get_settings()
    ap = argparse.ArgumentParser(description="可视化大屏页面加载基准（无头 Chromium）")
    ap.add_argument("--db-url", default=s.warehouse_url)
    ap.add_argument("--artifacts", type=Path, default=s.artifacts_dir)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--width", type=int, default=1920)
    ap.add_argument("--height", type=int, default=1080)
    ap.add_argument("--out", type=Path, default=Path("bench/results/dashboard.md"))
    ap.add_argument("--screenshot", type=Path, default=Path("bench/results/dashboard.png"))
    ap.add_argument("--warm-interval", type=float, default=2.0, help="预热线程检查数据版本的间隔（秒），同网页版")
    args = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    from million.warehouse import parse_url

    src = Path(parse_url(args.db_url).path)
    work = Path(tempfile.mkdtemp(prefix="million-bench-dash-"))
    db = work / "warehouse.duckdb"  # a copy: case D reloads it the way scripts/load_db.py does (atomic swap)
    shutil.copyfile(src, db)
    svc = DashboardService(f"duckdb:///{db}", args.artifacts)
    shown = svc.data()  # what the screenshot shows, for the note below it
    load_before = os.getloadavg()
    size = svc.wh.query("SELECT (SELECT COUNT(*) FROM customer_base) AS customers, "
                        "(SELECT COUNT(*) FROM customer_behavior_assets) AS rows_").iloc[0]
    with serve(dashboard_router(s, service=svc, warm=False)) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page_url, data_url = base + "/dashboard", base + "/dashboard/api/data"
        api_cold, api_warm, cold, warm = [], [], [], []
        for _ in range(args.runs):
            svc.cache.clear()
            api_cold.append(api_ms(data_url))
            api_warm.append(api_ms(data_url))
        load_once(browser, page_url, args.width, args.height)  # browser warm-up, not counted
        for _ in range(args.runs):
            svc.cache.clear()  # as after a warehouse reload: every query runs
            cold.append(load_once(browser, page_url, args.width, args.height))
        for _ in range(args.runs):
            warm.append(load_once(browser, page_url, args.width, args.height))
        repeat_ctx = browser.new_context(viewport={"width": args.width, "height": args.height})
        for _ in range(2):  # a returning visitor: files revalidated (304), compiled code cached
            load_once(browser, page_url, args.width, args.height, ctx=repeat_ctx)
        repeat = [load_once(browser, page_url, args.width, args.height, ctx=repeat_ctx) for _ in range(args.runs)]
        repeat_ctx.close()
        # D: the app's warmer running (as webapp/app.py starts it); the warehouse file is swapped for a
        # fresh copy, the visitor comes once the warmer has seen the new version.
        warmer = DashboardWarmer(svc, interval_s=args.warm_interval).start()
        reloaded, warm_lag = [], []
        for _ in range(args.runs):
            tmp = work / "next.duckdb"
            shutil.copyfile(src, tmp)
            t_swap = time.perf_counter()
            os.replace(tmp, db)
            new_version = svc.version()
            while warmer.warmed != new_version:
                time.sleep(0.02)
            warm_lag.append((time.perf_counter() - t_swap) * 1000)
            reloaded.append(load_once(browser, page_url, args.width, args.height))
        warmer.stop()
        args.screenshot.parent.mkdir(parents=True, exist_ok=True)
        shot = load_once(browser, page_url, args.width, args.height, shot=args.screenshot)
        version = browser.version
        browser.close()
    hosts = sorted({h for r in cold + warm + repeat + reloaded + [shot] for h in r["hosts"]})  # type: ignore[union-attr]
    load = os.getloadavg()
    cpu = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    lines = [
        "# 可视化大屏页面加载基准",
        "",
        f"- 日期：{dt.datetime.now():%Y-%m-%d %H:%M}；命令：`python -m scripts.bench_dashboard "
        f"{' '.join(sys.argv[1:] if argv is None else argv)}`",
        f"- 数据：{int(size['customers']):,} 名客户，{int(size['rows_']):,} 行月度数据（{svc.wh.dialect}）；"
        f"窗口 {args.width}×{args.height}",
        f"- 环境：Chromium {version}（无头，--disable-gpu，软件渲染），{platform.python_implementation()} "
        f"{platform.python_version()}，{cpu} 个 CPU；系统 1 分钟负载：开始 {load_before[0]:.1f}，结束 {load[0]:.1f}"
        "（同机还有其他任务在运行，数字会随负载波动）",
        f"- 数据仓库：`{src}` 的副本（D 列反复替换它）；产物目录：`{args.artifacts}`；customer_segments 表："
        f"{'有' if 'customer_segments' in svc.wh.tables() else '无'}",
        f"- 页面请求的主机（全部运行）：{', '.join(hosts)}",
        "",
        "时间从导航开始计（页面自身的 performance 计时），中位数（最小–最大），每列 "
        f"{args.runs} 次：",
        "",
        "- A：服务端缓存为空（数据仓库重新导入后的第一次访问），新浏览器上下文（无浏览器缓存）",
        "- B：服务端缓存命中，新浏览器上下文（第一次打开大屏的用户）",
        "- C：服务端缓存命中，同一浏览器再次访问（文件 304 校验，脚本编译缓存）",
        f"- D：数据仓库真实重新导入（文件原子替换）后第一次访问，网页版自带的预热线程（每 {args.warm_interval:g} 秒检查一次数据版本）"
        "已把默认视图算好；新浏览器上下文",
        "",
        "| 阶段 | A | B | C | D |",
        "|---|---|---|---|---|",
        *[f"| {label} | {med(cold, k)} | {med(warm, k)} | {med(repeat, k)} | {med(reloaded, k)} |" for label, k in (
            ("HTML 到达", "html"), ("脚本开始执行（ECharts 已解析）", "script"), ("数据到达", "data"),
            ("10 个图表全部绘出", "drawn"))],
        f"| **加载完成**（10 个图表均已绘制完成，finished 事件） | **{med(cold, 'loaded')}** | **{med(warm, 'loaded')}** | "
        f"**{med(repeat, 'loaded')}** | **{med(reloaded, 'loaded')}** |",
        f"| 外部计时（goto → 就绪标记） | {med(cold, 'wall')} | {med(warm, 'wall')} | {med(repeat, 'wall')} | "
        f"{med(reloaded, 'wall')} |",
        "",
        f"D 中从替换文件到预热完成：中位数 {statistics.median(warm_lag):,.0f} ms（{min(warm_lag):,.0f}–{max(warm_lag):,.0f}）；"
        "在这段时间内到达的访问者等待正在进行的计算（同一份查询只算一次），情形同 A。",
        "",
        f"数据接口 `/dashboard/api/data`：缓存为空 {statistics.median(api_cold):,.0f} ms，"
        f"缓存命中 {statistics.median(api_warm):,.1f} ms（中位数，{args.runs} 次）。",
        "",
        f"截图：`{args.screenshot.name}`（{args.width}×{args.height}，默认视图：全部网点、最新月份 "
        f"{shown['meta']['month']}）。",
    ]
    waiting = [f"{PANEL_TITLES.get(k, k)}：{v['reason'].removeprefix('暂无：')}" for k, v in shown["charts"].items()
               if v.get("empty")]
    if waiting:
        lines.append(f"截图中显示“暂无数据”占位的面板：{'；'.join(waiting)}。")
    forecast = shown["charts"]["trend"].get("forecast", {})
    if forecast.get("method"):
        lines.append(f"下季度 AUM 预测方法：{forecast['method']}。")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""A real answer in the browser: open a running web app (e.g. the one `make run` serves), send a
customer_id, wait for the RM brief and its charts, save a screenshot and the browser-side timings.

    python -m scripts.screenshot_chat --url http://127.0.0.1:7860 --out bench/results/chat_answer.png

Without --customer it picks the prospect with the highest probability from artifacts/propensity scores.
Writes OUT (png) and OUT with .md: what was asked, what the page showed, the timings.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import time
from pathlib import Path

from million.settings import get_settings  # noqa: E402
from tests.dashboard.browser import ARGS, CHROMIUM  # noqa: E402 - the tests' launch settings

# The chat is a fixed-height scroll box; for the picture it grows to its content.
EXPAND_CSS = ("#chat, #chat > div, #chat .bubble-wrap, #chat [role=log] { height: auto !important; max-height: none !important; "
              "overflow: visible !important; }")
DECODED = "n => [...document.querySelectorAll('#chat img')].filter(e => e.complete && e.naturalWidth > 100).length >= n"


def top_prospects(k: int = 2) -> list[str]:
    import pandas as pd

    scores = pd.read_parquet(get_settings().artifacts_dir / "propensity" / "scores_latest.parquet")
    return [str(c) for c in scores.sort_values("probability", ascending=False)["customer_id"].head(k)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="浏览器中的真实回答截图（需先启动网页版，例如 make run）")
    ap.add_argument("--url", default="http://127.0.0.1:7860")
    ap.add_argument("--customer", help="客户ID；默认取评分最高的潜客")
    ap.add_argument("--out", type=Path, default=Path("bench/results/chat_answer.png"))
    ap.add_argument("--width", type=int, default=1400)
    ap.add_argument("--height", type=int, default=1000)
    ap.add_argument("--warmup", default="auto", help="先在另一对话问一个客户ID（默认第二高分潜客），再计时；空字符串则不预热")
    args = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    top = top_prospects(2)
    cid = args.customer or top[0]
    if args.warmup == "auto":
        args.warmup = top[1] if top[1] != cid else top[0]
    outside: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": args.width, "height": args.height})
        page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(("http://127.0.0.1", "data:", "blob:")) else None)
        page.goto(args.url + "/")
        page.wait_for_selector("#question textarea", timeout=60_000)
        mode = page.inner_text("#mode-badge").strip()
        if args.warmup:  # the server's first turn loads the models; time a later one, in a new chat
            page.fill("#question textarea", args.warmup)
            page.click("#send")
            page.wait_for_function("document.querySelector('#chat').innerText.includes('建议话术')", timeout=120_000)
            page.goto(args.url + "/")
            page.wait_for_selector("#question textarea", timeout=60_000)
        page.fill("#question textarea", cid)
        t0 = time.perf_counter()
        page.click("#send")
        page.wait_for_function("document.querySelector('#chat').innerText.includes('建议话术')", timeout=120_000)
        t_answer = time.perf_counter() - t0
        page.wait_for_selector("#chat img", state="attached", timeout=120_000)
        page.eval_on_selector_all("#chat img", "els => els.forEach(e => { e.loading = 'eager'; })")
        page.wait_for_function(DECODED, arg=2, timeout=120_000)
        t_charts = time.perf_counter() - t0
        text = page.inner_text("#chat")
        n_img = page.eval_on_selector_all("#chat img", "els => els.filter(e => e.naturalWidth > 100).length")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        page.add_style_tag(content=EXPAND_CSS)
        page.wait_for_timeout(500)
        page.locator("#chat").screenshot(path=str(args.out))
        browser.close()
    prob = re.search(r"概率：\s*([\d.]+%)", text)
    tools = [t for t in ("predict_million_prob", "explain_customer", "segment_lookup", "recommend_products",
                         "forecast_aum") if t in text]
    md = ["# 浏览器中的真实回答（`scripts/screenshot_chat.py`）", "",
          f"- 时间：{dt.datetime.now():%Y-%m-%d %H:%M}；地址：{args.url}；界面模式：{mode}",
          f"- 提问：`{cid}`（客户ID）；窗口 {args.width}×{args.height}，Chromium 无头模式；"
          + (f"计时前先在另一对话问过客户 `{args.warmup}`（服务器首轮要加载模型）" if args.warmup else "未预热"),
          f"- 页面显示的百万概率：{prob.group(1) if prob else '未找到'}；可见的工具调用：{', '.join(tools)}；"
          f"已解码的图表：{n_img} 张",
          f"- 浏览器计时（点击发送起）：答案文字出现 {t_answer * 1000:,.0f} ms，两张图表显示完成 {t_charts * 1000:,.0f} ms"
          f"（含网页往返与渲染；1 分钟系统负载 {os.getloadavg()[0]:.2f}）",
          f"- 离开本机的请求：{len(outside)} 个" + (f"：{outside[:5]}" if outside else ""),
          "", f"截图：`{args.out.name}`", ""]
    args.out.with_suffix(".md").write_text("\n".join(md), encoding="utf-8")
    print("\n".join(md))
    return 0 if prob and len(tools) == 5 and n_img >= 2 and not outside else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""Screenshots of what a person sees, for the docs: the chat brief, the prospect list and the
dashboard, at 1366×768 and 1920×1080, from a running web app (e.g. `make run`).

    python -m scripts.screenshots --url http://127.0.0.1:7860 --out docs/screenshots

Without --customer the brief is for the first customer the RM suggestion shows (the top prospect).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tests.dashboard.browser import ARGS, CHROMIUM  # noqa: E402 - the tests' launch settings

SIZES = ((1366, 768), (1920, 1080))
# Bring the answer that holds `text` to the top of the chat box; the page itself stays at the top.
SHOW = ("t => { const b = [...document.querySelectorAll('#chat [data-testid=bot]')].filter(e => e.innerText.includes(t)); "
        "const el = b[b.length - 1]; let box = el.parentElement; "
        "while (box && !(box.scrollHeight > box.clientHeight + 4 && getComputedStyle(box).overflowY !== 'visible')) "
        "box = box.parentElement; "
        "if (box) box.scrollTop += el.getBoundingClientRect().top - box.getBoundingClientRect().top - 8; "
        "window.scrollTo(0, 0); return el.innerText; }")
SCRIPT = ("() => { const h = [...document.querySelectorAll('#chat [data-testid=bot] h3')].filter(e => "
          "e.innerText.includes('建议话术')).pop(); const box = document.querySelector('#chat .bubble-wrap'); "
          "box.scrollTop += h.getBoundingClientRect().top - box.getBoundingClientRect().top - 120; "
          "window.scrollTo(0, 0); }")
DONE = "() => !document.querySelector('#chat .pending, #chat .generating, .progress-text')"


def ask(page, text: str, until: str) -> None:
    page.fill("#question textarea", text)
    page.click("#send")
    page.wait_for_function("u => document.querySelector('#chat').innerText.includes(u)", arg=until, timeout=120_000)
    page.wait_for_function(DONE, timeout=120_000)
    page.wait_for_timeout(1500)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="对话简报、高潜客户名单与大屏的截图（需先启动网页版）")
    ap.add_argument("--url", default="http://127.0.0.1:7860")
    ap.add_argument("--customer", help="客户ID；默认取页面建议里的客户（评分最高的潜客）")
    ap.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    args = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        for w, h in SIZES:
            page = browser.new_page(viewport={"width": w, "height": h})
            page.goto(args.url + "/")
            page.wait_for_selector("#question textarea", timeout=60_000)
            page.click("#new-chat")
            page.wait_for_timeout(500)
            cid = args.customer or page.locator("button.suggestion").first.inner_text().strip()
            ask(page, cid, "建议话术")
            # the brief's two charts, drawn by the browser from their numbers
            page.wait_for_function("document.querySelectorAll('#chat div.mchart canvas').length >= 2", timeout=120_000)
            page.wait_for_timeout(500)
            page.evaluate(SHOW, "建议话术")
            page.wait_for_timeout(150)
            page.screenshot(path=str(args.out / f"chat_brief_{w}x{h}.png"))
            page.evaluate(SCRIPT)  # the end of the brief: 建议话术
            page.wait_for_timeout(150)
            page.screenshot(path=str(args.out / f"chat_brief_script_{w}x{h}.png"))
            ask(page, "高潜客户名单", "高潜客户名单：共")
            page.evaluate(SHOW, "高潜客户名单：共")
            page.wait_for_timeout(150)
            page.screenshot(path=str(args.out / f"prospect_list_{w}x{h}.png"))
            ask(page, "AUM预测 6个月", "AUM")
            page.wait_for_function("document.querySelectorAll('#chat div.mchart canvas').length >= 3", timeout=60_000)
            page.evaluate("() => { const c = [...document.querySelectorAll('#chat div.mchart')]; "
                          "c[c.length - 1].scrollIntoView({block: 'center'}); }")
            page.wait_for_timeout(300)
            page.screenshot(path=str(args.out / f"forecast_chart_{w}x{h}.png"))
            page.goto(args.url + "/dashboard")
            page.wait_for_selector("html[data-ready='1']", state="attached", timeout=60_000)
            page.wait_for_timeout(1500)
            page.screenshot(path=str(args.out / f"dashboard_{w}x{h}.png"))
            if h < 1000:  # the smaller screen scrolls: the whole page as well
                page.screenshot(path=str(args.out / f"dashboard_{w}x{h}_full.png"), full_page=True)
            page.close()
        browser.close()
    print("\n".join(str(f) for f in sorted(args.out.glob("*.png"))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

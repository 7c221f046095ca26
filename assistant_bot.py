"""百万客群营销助手 — start the web app, or answer one question in the terminal.

    python assistant_bot.py                      # http://127.0.0.1:7860
    python assistant_bot.py --host 0.0.0.0 --port 8080
    python assistant_bot.py --query "C0000123"
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys

# Gradio must not phone home (analytics, version checks): set before it is imported.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from million.settings import get_settings  # noqa: E402


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def answer_once(question: str) -> int:
    """One question through the same turn runner as the web chat (memory, plan, charts)."""
    from agent.bot import build_assistant
    from agent.llm import mode_label
    from agent.turn import Dialogue, TurnRunner
    from conversation.session import Session

    s = get_settings()
    print(f"[{mode_label(s)}]")
    dialogue = Dialogue(Session(s.data_dir / "sessions", user="cli", max_tool_calls=s.max_tool_calls_per_turn))
    *_, turn = TurnRunner(build_assistant(s), s, png_for_browser_charts=True).ask(dialogue, question)
    if turn.plan is not None:
        print("计划：" + "；".join(f"{i}. {st.title}" for i, st in enumerate(turn.plan.steps, 1)))
    for ev in dialogue.session.events[turn.events_from:turn.events_to]:
        print(f"\n--- 工具 {ev.tool} {ev.args} （{ev.duration_s * 1000:.0f} ms，{ev.status}）")
        for f in ev.files:
            print(f"    [文件] {f.name}: {f.path}")
    print("\n" + turn.answer)
    if turn.error:
        print(f"\n⚠ {turn.error}")
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    s = get_settings()
    ap = argparse.ArgumentParser(description="百万客群营销助手")
    ap.add_argument("--host", default=s.host)
    ap.add_argument("--port", type=int, default=s.port)
    ap.add_argument("--query", help="在终端回答一个问题后退出")
    args = ap.parse_args(argv)
    from pathlib import Path

    from million.warehouse import parse_url

    url = parse_url(s.warehouse_url)
    if url.scheme == "duckdb" and not Path(url.path).exists():
        print("还没有数据仓库：请先运行 make data（或 make run）。", file=sys.stderr)
        return 2
    if args.query:
        return answer_once(args.query)
    from webapp.auth import load_users

    if not _is_loopback(args.host) and not load_users(s.users_file):
        bar = "!" * 78
        print(f"{bar}\n警告：服务将监听 {args.host}（非本机地址），但没有配置登录用户（USERS_FILE）。\n"
              f"任何能访问该地址的人都能查询客户数据。请用 commands/add_user.py 创建用户并设置 USERS_FILE。\n{bar}",
              file=sys.stderr)
    import uvicorn

    from agent.llm import mode_label
    from webapp.app import create_app

    app = create_app(s)
    print(f"百万客群营销助手已启动：http://{args.host}:{args.port}  （{mode_label(s)}；大屏：/dashboard）")
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", timeout_graceful_shutdown=5)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

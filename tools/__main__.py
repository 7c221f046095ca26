"""Run any tool from a shell, for trainers, debugging and scripting.

    python -m tools list
    python -m tools call predict_million_prob '{"customer_id": "C0000123"}'
    python -m tools audit [--user U] [--tool T] [--last N]     (administrators: read the audit log)
"""

from __future__ import annotations

import argparse
import json
import sys

from conversation.session import Session
from million import audit
from million.settings import get_settings
from tools import TOOL_CLASSES, all_tools


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools", description="命令行调用助手工具")
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="列出全部工具")
    call = sub.add_parser("call", help="调用一个工具")
    call.add_argument("tool")
    call.add_argument("args", nargs="?", default="{}", help="JSON 参数")
    aud = sub.add_parser("audit", help="查看审计日志")
    aud.add_argument("--user")
    aud.add_argument("--tool")
    aud.add_argument("--last", type=int, default=50)
    a = ap.parse_args(argv)
    if a.cmd == "list":
        for cls in TOOL_CLASSES:
            params = ", ".join(cls.parameters["properties"])
            print(f"{cls.name}({params})\n    {cls.description}\n")
        return 0
    if a.cmd == "audit":
        for e in audit.read(get_settings().audit_log, user=a.user, tool=a.tool, last=a.last):
            print(json.dumps(e, ensure_ascii=False))
        return 0
    tools = {t.name: t for t in all_tools()}
    if a.tool not in tools:
        print(f"没有工具 {a.tool}。可用：{', '.join(tools)}", file=sys.stderr)
        return 2
    session = Session(get_settings().data_dir / "sessions", user="cli")
    print(tools[a.tool].call(a.args, session=session))
    session.render_pending()
    for ev in session.events:
        for f in ev.files:
            print(f"[文件] {f.name}: {f.path}" + ("（作图失败，见日志）" if f.failed else ""))
    return 0 if all(ev.status == "ok" for ev in session.events) else 1


if __name__ == "__main__":
    raise SystemExit(main())

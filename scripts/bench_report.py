"""Generate an analysis report from a real offline conversation on the warehouse the settings name
(default data), and write what it holds and how long it took to bench/results/report.md.

    python scripts/bench_report.py [--out bench/results/report.md]
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="bench/results/report.md")
    args = ap.parse_args(argv)
    import dataclasses
    import logging

    import qwen_agent.log  # noqa: F401 - its import sets the level; set ours after it

    from agent.bot import build_assistant
    from million.services import get_services
    from million.settings import get_settings
    from webapp.auth import User
    from webapp.chat_flow import ChatFlow
    from webapp.conversations import ConversationStore
    from webapp.history_store import HistoryDB
    from webapp.reports import ReportLibrary

    logging.getLogger("qwen_agent_logger").setLevel(logging.WARNING)
    base = get_settings()
    s = dataclasses.replace(base, data_dir=Path(tempfile.mkdtemp(prefix="million-report-")))
    db = HistoryDB(s.history_db)
    store = ConversationStore(s.data_dir / "sessions", s.max_tool_calls_per_turn, db=db)
    bot = build_assistant(s)
    flow = ChatFlow(s, store, lambda: bot, reports=ReportLibrary(s.reports_dir, db))
    user = User("analyst1", "", None, "analyst")
    cid_customer = str(get_services().propensity().top(1)["customer_id"].iloc[0])
    questions = [cid_customer, "高潜客户名单",
                 "SELECT b.city_level, COUNT(*) AS 客户数, SUM(a.total_assets) AS 总AUM FROM customer_behavior_assets a "
                 "JOIN customer_base b ON a.customer_id = b.customer_id WHERE a.stat_month = "
                 "(SELECT MAX(stat_month) FROM customer_behavior_assets) GROUP BY b.city_level ORDER BY 总AUM DESC",
                 "AUM预测 6个月"]
    conv = None
    t_chat = time.perf_counter()
    for q in questions:
        *_, view = list(flow.ask(user, conv, q))
        conv = view.cid
    t_chat = time.perf_counter() - t_chat
    made = flow.make_report(user, conv)
    html = next(p for p in made.files if p.suffix == ".html")
    md = next(p for p in made.files if p.suffix == ".md")
    md_text = md.read_text(encoding="utf-8")
    heads = [ln for ln in md_text.splitlines() if re.match(r"^#{1,3} ", ln)]
    html_text = html.read_text(encoding="utf-8")
    external = re.findall(r"(?:src|href)=\"(https?:)?//", html_text)
    summ = made.row.summary
    lines = [
        "# 分析报告生成（`python scripts/bench_report.py`）", "",
        f"- 时间：{time.strftime('%Y-%m-%d %H:%M')}；模式：{s.llm_mode}；数据仓库：{get_services().wh.dialect}，"
        f"最新月 {get_services().latest_month()}",
        f"- 对话（{len(questions)} 轮，用时 {t_chat:.2f} 秒）：" + "；".join(f"`{q[:60]}{'…' if len(q) > 60 else ''}`" for q in questions),
        f"- 生成报告用时：**{made.seconds:.2f} 秒**（ReportLibrary.create，含 HTML、Markdown 与打包）",
        f"- 文件：{', '.join(f'`{p.name}` ({p.stat().st_size / 1024:,.1f} KB)' for p in made.files)}",
        f"- 内容：{summ.get('questions')} 个问题、{summ.get('results')} 项工具结果、{summ.get('charts')} 张图表（以 data: URI 内嵌）；"
        f"HTML 中外部资源引用 {len(external)} 个",
        "", "## Markdown 版的标题结构", "", *[f"    {h}" for h in heads[:40]], "",
    ]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    db.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Concurrent chats draw charts at the same time: every chart tool must still succeed (pyplot's global
figure state is shared by all threads, so drawing is serialised by million.charts.PLOT_LOCK)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from conversation.session import Session
from tools import all_tools

PNG = b"\x89PNG\r\n\x1a\n"


def test_chart_tools_in_parallel_threads_all_succeed(app_settings, tmp_path: Path) -> None:
    from million.services import get_services

    svc = get_services().propensity()
    prospects = list(svc.top(12, include_cool=True)["customer_id"])
    t = {x.name: x for x in all_tools()}
    jobs = []
    for i, cid in enumerate(prospects):
        jobs.append(("explain_customer", {"customer_id": cid}))
        jobs.append(("forecast_aum", {"customer_id": cid, "horizon": 1 + i % 3}))
        jobs.append(("sql_inter", {"sql": "SELECT stat_month, SUM(total_assets) AS aum FROM customer_behavior_assets "
                                          f"GROUP BY stat_month ORDER BY stat_month LIMIT {10 + i}"}))

    def run(job: tuple[str, dict]) -> tuple[str, list]:
        name, args = job
        s = Session(tmp_path, user=f"u{id(job)}")
        s.render_in_background = args.get("horizon") == 2  # some drawn by the session's render thread
        s.new_turn()
        t[name].call(args, session=s)
        s.render_pending()  # the others drawn here, in the eight threads at once
        return s.events[-1].status, [f.path.read_bytes()[:8] for f in s.events[-1].files if f.name.endswith(".png")]

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(run, jobs))
    for (name, args), (status, pngs) in zip(jobs, results, strict=True):
        assert status == "ok", (name, args, status)
        assert pngs and all(p == PNG for p in pngs), (name, args)

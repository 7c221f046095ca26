"""Concurrent chats in offline mode: N conversations at once against one shared Assistant (as the
web app shares it), each a typical five-turn script. Optionally behind a gate of `gate` concurrent
turns, like the web app's queue (MAX_CONCURRENT_TURNS); then latency includes the wait."""

from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks.stats import rss_mib, summary_ms
from conversation.session import Session


def script(customer: str, branch: str) -> list[str]:
    return [customer, "他适合什么产品？", f"高潜客户名单 {branch}",
            "SELECT b.city_level, COUNT(*) AS n, AVG(a.total_assets) AS avg_aum FROM customer_behavior_assets a "
            "JOIN customer_base b ON a.customer_id = b.customer_id WHERE a.stat_month = "
            "(SELECT MAX(stat_month) FROM customer_behavior_assets) GROUP BY b.city_level", "客群概览"]


class _Memory(threading.Thread):
    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = rss_mib() or 0.0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.1):
            self.peak = max(self.peak, rss_mib() or 0.0)


def run_chats(settings: Any, customers: list[str], branches: list[str], n_chats: int,
              gate: int | None = None, sequential: bool = False) -> dict[str, Any]:
    """`sequential`: the chats run one after another (the single-user baseline)."""
    from agent.bot import build_assistant
    from agent.turn import Dialogue, TurnRunner
    from evaluation.runner import backend_config

    runner = TurnRunner(build_assistant(settings, llm=backend_config("offline", settings)), settings)
    root = Path(tempfile.mkdtemp(prefix="million-bench-chats-"))
    sem = threading.BoundedSemaphore(gate) if gate else None
    lock = threading.Lock()
    latencies: list[float] = []  # from asking to the answer, including any wait at the gate
    service: list[float] = []  # the turn itself, after the gate let it in
    with_charts: list[float] = []  # from asking until the deferred charts are drawn too
    errors: list[str] = []
    bad_turns = 0
    start = threading.Barrier(1 if sequential else n_chats)

    def chat(i: int) -> None:
        nonlocal bad_turns
        session = Session(root, user=f"u{i}", max_tool_calls=settings.max_tool_calls_per_turn)
        dialogue = Dialogue(session)
        start.wait()
        for text in script(customers[i % len(customers)], branches[i % len(branches)]):
            t0 = time.perf_counter()
            if sem:
                sem.acquire()
            t1 = time.perf_counter()
            try:
                # as the web chat: the charts are drawn after the answer, still inside the turn's slot
                *_, state = runner.ask(dialogue, text)
                t3 = time.perf_counter()
                t2 = t3 - state.charts_seconds
                n0 = state.events_from
            except Exception as e:  # noqa: BLE001 - counted and reported
                with lock:
                    errors.append(f"{type(e).__name__}: {e}")
                    bad_turns += 1
                continue
            finally:
                if sem:
                    sem.release()
            bad = [ev for ev in session.events[n0:] if ev.status != "ok"]
            failed = [f for ev in session.events[n0:] for f in ev.files if f.failed]
            with lock:
                latencies.append(t2 - t0)
                service.append(t2 - t1)
                with_charts.append(t3 - t0)
                bad_turns += bool(state.error or bad or failed)
                if state.error:
                    errors.append(state.error)
                errors.extend(f"{ev.tool}: {ev.text[:100]}" for ev in bad)
                errors.extend(f"作图失败: {f.name}" for f in failed)
        session.cleanup()

    mem = _Memory()
    before = rss_mib() or 0.0
    mem.start()
    t0 = time.perf_counter()
    if sequential:
        for i in range(n_chats):
            chat(i)
    else:
        threads = [threading.Thread(target=chat, args=(i,)) for i in range(n_chats)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    wall = time.perf_counter() - t0
    mem.stop.set()
    mem.join()
    svc, drawn = summary_ms(service), summary_ms(with_charts)
    return {"chats": n_chats, "gate": gate, "sequential": sequential, "turns": len(latencies), **summary_ms(latencies),
            "service_p50_ms": svc["p50_ms"], "service_p95_ms": svc["p95_ms"], "errors": bad_turns,
            "with_charts_p50_ms": drawn["p50_ms"], "with_charts_p95_ms": drawn["p95_ms"],
            "error_examples": sorted(set(errors))[:5], "wall_s": wall,
            "throughput_turns_per_s": len(latencies) / wall if wall else None,
            "rss_before_mib": before, "rss_peak_mib": mem.peak, "rss_after_mib": rss_mib() or 0.0}

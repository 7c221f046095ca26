"""Serving capacity measured the way users meet it: the app runs as its own process (`million serve`),
and N concurrent clients drive it over HTTP through Gradio's API (/respond, as the page calls it),
each client a browser session of its own. A turn counts as complete when /respond has returned its
last update, the charts included. The server's resident memory is sampled the whole time.

With `users`, every client logs in as one of them (branch-scoped RMs), so the scope checks are in
the path; the same script without logins is the baseline."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.stats import rss_mib, summary_ms

CHAT, NOTICE = 0, 5  # /respond outputs: chat, downloads, confirm info, code, conversation list, notice, box
NEW_CONVERSATION_EVERY = 5  # an RM opens a fresh conversation per customer or two, not one endless chat


@dataclass
class Client:
    name: str
    password: str | None
    script: list[str]  # what this client sends, in a loop


@dataclass
class Result:
    seconds: list[float] = field(default_factory=list)
    brief_seconds: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    charts: int = 0
    done: int = 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(env: dict[str, str], port: int, log: Path, checkout: Path | None = None) -> subprocess.Popen:
    """`million serve` in its own process (or, for a baseline, `assistant_bot.py` of another checkout,
    e.g. an older commit in a git worktree); returns once /healthz answers."""
    if checkout is None:
        cmd, cwd = [sys.executable, "-m", "commands", "serve"], None
    else:
        cmd, cwd = [sys.executable, str(checkout / "assistant_bot.py")], checkout
        env = {**env, "PYTHONPATH": str(checkout)}
    proc = subprocess.Popen([*cmd, "--host", "127.0.0.1", "--port", str(port)], cwd=cwd,
                            env={**os.environ, **env}, stdout=log.open("w"), stderr=subprocess.STDOUT)
    deadline = time.time() + 120
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"服务启动失败：{log.read_text(encoding='utf-8')[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("服务 120 秒内没有就绪")


def _value(x: Any) -> Any:
    """A component update comes back as a dict; plain values as themselves."""
    return x.get("value") if isinstance(x, dict) and x.get("__type__") == "update" else x


def _chat_charts(chat: list[dict[str, Any]]) -> int:
    """Charts in the last turn of the chat (after its last user message): images, or chart elements
    the browser draws."""
    last_user = max((i for i, m in enumerate(chat) if m.get("role") == "user"), default=-1)
    return sum(1 for m in chat[last_user + 1:]
               if isinstance(m.get("content"), dict) or 'class="mchart"' in str(m.get("content")))


def _is_brief(text: str) -> bool:
    return text[:1].isalpha() and text.isalnum() and not text.startswith(("高", "客", "产"))


def drive(url: str, client: Client, turns: int, res: Result, lock: threading.Lock, start: threading.Barrier,
          on_turn: Callable[[], None]) -> None:
    from gradio_client import Client as GradioClient

    auth = (client.name, client.password) if client.password else None
    c = GradioClient(url + "/", auth=auth, verbose=False, download_files=False)
    start.wait()
    for i in range(turns):
        if i and i % NEW_CONVERSATION_EVERY == 0:
            c.predict(False, api_name="/new_chat")
        text = client.script[i % len(client.script)]
        t0 = time.perf_counter()
        try:
            out = c.predict(text, False, False, api_name="/respond")
            dt = time.perf_counter() - t0
            chat, notice = _value(out[CHAT]) or [], _value(out[NOTICE])
            problem = notice if notice else None
            last = chat[-1] if chat else {}
            if problem is None and isinstance(last.get("content"), str) and "出错" in last["content"]:
                problem = last["content"][:120]
        except Exception as e:  # noqa: BLE001 - counted and reported
            dt, chat, problem = time.perf_counter() - t0, [], f"{type(e).__name__}: {e}"[:200]
        with lock:
            res.done += 1
            res.seconds.append(dt)
            if _is_brief(text):
                res.brief_seconds.append(dt)
                res.charts += _chat_charts(chat)
            if problem:
                res.errors.append(f"{client.name}: {problem}")
        on_turn()


class MemorySampler(threading.Thread):
    """The server's RSS every 0.5 s, and at each 100th turn."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.samples: list[tuple[float, float]] = []
        self.at_turn: dict[int, float] = {}
        self.stop = threading.Event()
        self.t0 = time.perf_counter()

    def run(self) -> None:
        while not self.stop.wait(0.5):
            v = rss_mib(self.pid)
            if v is not None:
                self.samples.append((time.perf_counter() - self.t0, v))

    def mark(self, turn: int) -> None:
        v = rss_mib(self.pid)
        if v is not None:
            self.at_turn[turn] = v


def run_load(clients: list[Client], turns_per_client: int, env: dict[str, str], *, log: Callable[[str], None] = print,
             warmup: list[str] | None = None, checkout: Path | None = None) -> dict[str, Any]:
    """Start the app, warm it up (first brief loads the models), then run every client at once."""
    port = free_port()
    work = Path(tempfile.mkdtemp(prefix="million-load-"))
    proc = start_server(env, port, work / "server.log", checkout)
    url = f"http://127.0.0.1:{port}"
    try:
        from gradio_client import Client as GradioClient

        first = clients[0]
        c = GradioClient(url + "/", auth=(first.name, first.password) if first.password else None, verbose=False,
                         download_files=False)
        for text in warmup or first.script[:2]:
            c.predict(text, False, False, api_name="/respond")
        res, lock = Result(), threading.Lock()
        mem = MemorySampler(proc.pid)
        counter = {"n": 0}

        def on_turn() -> None:
            with lock:
                counter["n"] += 1
                n = counter["n"]
            if n % 100 == 0:
                mem.mark(n)
                log(f"    {n} 轮 …")

        start = threading.Barrier(len(clients) + 1)
        threads = [threading.Thread(target=drive, args=(url, cl, turns_per_client, res, lock, start, on_turn))
                   for cl in clients]
        for t in threads:
            t.start()
        mem.start()
        start.wait()
        t0 = time.perf_counter()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
        mem.mark(counter["n"])
        mem.stop.set()
        mem.join()
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
    marks = sorted(mem.at_turn.items())
    rss_100 = mem.at_turn.get(100) or (marks[0][1] if marks else None)
    rss_last = marks[-1][1] if marks else None
    lat = summary_ms(res.seconds)
    return {"clients": len(clients), "turns": res.done, "wall_s": round(wall, 2),
            "turns_per_s": round(res.done / wall, 2) if wall else None,
            "p50_ms": lat["p50_ms"], "p95_ms": lat["p95_ms"], "max_ms": lat["max_ms"],
            "brief_p50_ms": summary_ms(res.brief_seconds)["p50_ms"], "briefs": len(res.brief_seconds),
            "charts_in_briefs": res.charts, "errors": len(res.errors), "error_examples": sorted(set(res.errors))[:5],
            "rss_mib_at_100": rss_100, "rss_mib_last": rss_last,
            "rss_growth_pct": round(100 * (rss_last - rss_100) / rss_100, 1) if rss_100 and rss_last else None,
            "rss_mib_peak": max((v for _, v in mem.samples), default=None),
            "rss_by_turn": [[n, round(v, 1)] for n, v in marks]}


def scripts_for(customers: list[str], branches: list[str], n: int) -> list[list[str]]:
    """Per client: briefs for its own customers mixed with the other offline commands an RM uses."""
    out = []
    for i in range(n):
        cid = customers[i % len(customers)]
        other = customers[(i + n) % len(customers)]
        br = branches[i % len(branches)]
        out.append([cid, "他适合什么产品？", f"高潜客户名单 {br}", "客群概览", f"AUM预测 {br}",
                    other, "为什么？", "产品关联规则", "全局解释", f"高潜客户名单 {br} 前10名"])
    return out


def write_users(path: Path, users: list[tuple[str, str, tuple[str, ...]]]) -> None:
    """A users file for the load test (the app's own format, via webapp.auth.save_user)."""
    from webapp.auth import save_user

    for name, password, branches in users:
        save_user(path, name, password, list(branches), "rm")


def describe(r: dict[str, Any]) -> str:
    return (f"{r['clients']} 个客户端 {r['turns']} 轮：{r['turns_per_s']} 轮/秒，p50 {r['p50_ms']:.0f} ms，"
            f"p95 {r['p95_ms']:.0f} ms；简报 p50 {r['brief_p50_ms']:.0f} ms；出错 {r['errors']}；"
            f"内存 {r['rss_mib_at_100'] or 0:.0f} → {r['rss_mib_last'] or 0:.0f} MiB（{r['rss_growth_pct']}%）")


def to_json(r: dict[str, Any]) -> str:
    return json.dumps(r, ensure_ascii=False, indent=1, default=float)

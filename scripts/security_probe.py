"""Attack a running app over HTTP as a branch-scoped analyst would, and print what came back as a
Markdown table (security issue round 2). Only loopback addresses are accepted.

    python -m scripts.security_probe --url http://127.0.0.1:7861 --users users.json \\
        --scoped rm_scoped:密码 --other analyst_all:密码 --out bench/results/security_probe.md

The users must exist in the app's USERS_FILE: `scoped` an analyst limited to one branch (confirm
before run on), `other` a second user. Works against any version of the app (HTTP only)."""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import httpx

from tests.support.chat_text import chat_text  # noqa: E402 - how the tests read a chat

PROBE = "SELECT count(*) AS n, count(DISTINCT branch_name) AS nb FROM customer_base"
SCOPE_ATTACKS = {
    "确认框改 SQL：前导分号": ";" + PROBE,
    "确认框改 SQL：多个分号 + 空白": ";;  ;" + PROBE,
    "确认框改 SQL：注释": "/* c */ " + PROBE.replace("FROM", "/* x */ FROM"),
    "确认框改 SQL：引号/大小写表名": PROBE.replace("customer_base", '"CUSTOMER_BASE"'),
    "确认框改 SQL：全角空格": PROBE.replace(" ", "\u3000", 2),
    "确认框改 SQL：WITH 子查询": "WITH x AS (SELECT * FROM customer_base) "
                              "SELECT count(*) AS n, count(DISTINCT branch_name) AS nb FROM x",
    "确认框改 SQL：UNION": "SELECT count(*) AS n, count(DISTINCT branch_name) AS nb FROM (SELECT customer_id, branch_name "
                         "FROM customer_base UNION ALL SELECT customer_id, branch_name FROM customer_base WHERE 1 = 0) u",
    "确认框改 SQL：与表同名的 CTE": "WITH customer_base AS (SELECT * FROM customer_behavior_assets) "
                             "SELECT count(*) AS n, 0 AS nb FROM customer_base",
}


def last_turn(chat: list[dict], marker: str) -> str:
    return chat_text(chat).split(marker)[-1]


def numbers(text: str) -> list[int]:
    return [int(x.replace(",", "")) for x in re.findall(r"(?<![\w.])\d[\d,]*(?![\w.])", text)]


class Probe:
    def __init__(self, url: str, scoped: tuple[str, str], other: tuple[str, str]) -> None:
        host = urlparse(url).hostname or ""
        if not (host.startswith("127.") or host in {"localhost", "::1"}):
            raise SystemExit("只对本机地址运行（127.0.0.1 / localhost）")
        self.url, self.scoped, self.other = url.rstrip("/"), scoped, other
        self.rows: list[tuple[str, str]] = []

    def client(self, who: tuple[str, str], **kw):  # noqa: ANN201
        from gradio_client import Client

        return Client(self.url + "/", auth=who, verbose=False, **kw)

    def add(self, attack: str, result: str) -> None:
        self.rows.append((attack, result))
        print(f"{attack}: {result}", flush=True)

    def scope(self) -> None:
        c = self.client(self.scoped)
        for name, sql in SCOPE_ATTACKS.items():
            q = f"SELECT {len(self.rows)} AS probe"  # offline mode: a SQL question is held for confirmation
            try:
                c.predict(q, False, True, api_name="/respond")
                out = c.predict(sql, api_name="/run_code")
                t = last_turn(out[0], q)
                if "查询成功" in t:
                    rows = [r for r in t.splitlines() if "|" in r and re.search(r"\d", r)]
                    nums = numbers(rows[-1]) if rows else []
                    self.add(name, f"返回 n = {nums[0]:,}，nb = {nums[1]}" if len(nums) >= 2 else "返回：" + t[-80:])
                else:
                    msg = re.search(r"(SQL 未执行[^\n]{0,60}|[^\n]*错误[^\n]{0,60})", t)
                    self.add(name, "拒绝：" + (msg.group(1) if msg else t.strip()[-80:]))
            except Exception as e:  # a crash is a result too
                self.add(name, f"出错：{type(e).__name__} {str(e)[:80]}")
        for q, what in (("客群概览", "客群概览（人数合计）"), ("高潜客户名单", "高潜客户名单（排名/分行）")):
            try:
                out = c.predict(q, False, False, api_name="/respond")
                t = last_turn(out[0], q)
                if "客群" in what:
                    rows = list(dict.fromkeys(r.strip() for r in t.splitlines() if "客户" in r and "|" in r))
                    sizes = [numbers(r)[0] for r in rows if numbers(r)]
                    self.add(what, f"{len(rows)} 个客群，人数合计 {sum(sizes):,}" + ("（按分行统计）" if "分行统计" in t else ""))
                else:
                    rows = [r for r in t.splitlines() if re.search(r"\bC\d{7}\b", r)]
                    branches = {b for r in rows for b in re.findall(r"\w+分行\w*支行", r)}
                    first = numbers(rows[0])[0] if rows and numbers(rows[0]) else "-"
                    self.add(what, f"{len(rows)} 行，首行排名 {first}，分行 {len(branches)} 个")
            except Exception as e:
                self.add(what, f"出错：{type(e).__name__} {str(e)[:80]}")

    def memory(self, big: bool) -> None:
        c = self.client(self.other)
        # 3e9 took the unprotected app to 22.5 GB and the kernel killed it: only with --big-bomb
        for n in ("400000000", *(["3000000000"] if big else [])):
            t0 = time.perf_counter()
            q = f"SELECT len(range({n})) AS n"
            try:
                out = c.predict(q, False, False, api_name="/respond")
                t = last_turn(out[0], q)
                verdict = ("内存超过上限，已中止" if "内存超过上限" in t else "成功" if "查询成功" in t
                           else t.strip().splitlines()[-1][-60:] if t.strip() else "无回答")
            except Exception as e:
                verdict = f"出错：{type(e).__name__}"
            self.add(f"内存炸弹 {q}", f"{verdict}（{time.perf_counter() - t0:.1f} 秒，应用进程峰值 {self.peak_rss()}）")
        try:
            with httpx.Client(timeout=30) as h:
                self.add("内存炸弹之后 /healthz", f"HTTP {h.get(self.url + '/healthz').status_code}")
        except httpx.HTTPError:
            self.add("内存炸弹之后 /healthz", "连接被拒绝：应用进程已退出")
            raise SystemExit(self.table("（应用已退出，探测中止）")) from None

    def peak_rss(self) -> str:
        """VmHWM of the process listening on the app's port (same machine)."""
        port = urlparse(self.url).port
        for pid in (p for p in Path("/proc").iterdir() if p.name.isdigit()):
            try:
                cmd = (pid / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                if "assistant_bot.py" in cmd and f"--port {port}" in cmd:
                    hwm = next(ln for ln in (pid / "status").read_text().splitlines() if ln.startswith("VmHWM"))
                    return f"{int(hwm.split()[1]) / 1024 / 1024:.2f} GiB"
            except (OSError, StopIteration, ValueError):
                continue
        return "未知"

    def login(self) -> None:
        user, pw = self.other
        with httpx.Client(base_url=self.url, timeout=60) as h:
            for _ in range(40):
                h.post("/login", data={"username": user, "password": "wrong-password"})
            r = h.post("/login", data={"username": user, "password": pw})
            self.add("40 次错误密码后用正确密码登录", f"HTTP {r.status_code}" + ("（被拒绝）" if r.status_code != 200 else "（成功）"))
            known, unknown = [], []
            for i in range(5):
                t0 = time.perf_counter()
                h.post("/login", data={"username": self.scoped[0], "password": f"x{i}"})
                known.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                h.post("/login", data={"username": f"nobody{i}", "password": "x"})
                unknown.append(time.perf_counter() - t0)
            self.add("用户名是否存在（错误密码耗时中位数）",
                     f"已知用户 {statistics.median(known) * 1000:.0f} ms，未知用户 {statistics.median(unknown) * 1000:.0f} ms")
        stop = threading.Event()

        def spray() -> None:
            with httpx.Client(base_url=self.url, timeout=60) as s:
                while not stop.is_set():
                    s.post("/login", data={"username": self.scoped[0], "password": "wrong"})

        threads = [threading.Thread(target=spray, daemon=True) for _ in range(16)]
        for t in threads:
            t.start()
        time.sleep(1)
        times = []
        with httpx.Client(base_url=self.url, timeout=60) as h:
            for _ in range(10):
                t0 = time.perf_counter()
                h.get("/healthz")
                times.append(time.perf_counter() - t0)
        stop.set()
        for t in threads:
            t.join(30)
        self.add("16 个线程并发错误登录时 /healthz", f"中位数 {statistics.median(times) * 1000:.0f} ms")

    def http(self) -> None:
        with httpx.Client(base_url=self.url, timeout=60) as anon:
            self.add("未登录访问 /openapi.json", f"HTTP {anon.get('/openapi.json').status_code}")
        time.sleep(1)
        with httpx.Client(base_url=self.url, timeout=60) as h:
            r = h.post("/login", data={"username": self.scoped[0], "password": self.scoped[1]})
            if r.status_code != 200:
                self.add("登录（其余检查）", f"HTTP {r.status_code}：{r.text[:80]}")
                return
            cookie = r.headers.get("set-cookie", "")
            same = re.findall(r"samesite=(\w+)", cookie, re.I)
            self.add("登录 Cookie 的 SameSite", "、".join(sorted(set(s.lower() for s in same))) or "未设置")
            self.add("GET /logout（可被外站链接触发）", f"HTTP {h.get('/logout', follow_redirects=False).status_code}")
            h.post("/login", data={"username": self.scoped[0], "password": self.scoped[1]})
            self.attempt("上传 20 MB 文件", lambda: f"HTTP {h.post('/gradio_api/upload', files={'files': ('big.bin', b'x' * 20_000_000)}).status_code}")
            self.add("页面 Content-Security-Policy", "有" if "content-security-policy" in h.get("/").headers else "无")
            self.attempt("未知 fn_index", lambda: f"HTTP {h.post('/gradio_api/queue/join', json={'fn_index': 9999, 'data': [], 'session_hash': 'abc'}).status_code}")
        owner = self.client(self.scoped, download_files=False)
        q = "SELECT city_level, COUNT(*) AS n FROM customer_base GROUP BY 1"
        out = owner.predict(q, False, False, api_name="/respond")
        files = [f for f in (out[1] or []) if isinstance(f, dict) and f.get("url")]
        if not files:
            self.add("另一用户下载本用户的文件", "（没有可下载的文件）")
            return
        with httpx.Client(timeout=60) as other:
            other.post(self.url + "/login", data={"username": self.other[0], "password": self.other[1]})
            self.add("另一用户下载本用户的文件", f"HTTP {other.get(files[0]['url']).status_code}")

    def attempt(self, attack: str, fn) -> None:  # noqa: ANN001
        try:
            self.add(attack, fn())
        except httpx.HTTPError as e:
            self.add(attack, f"连接出错（{type(e).__name__}：服务器内部错误后断开）")

    def table(self, title: str) -> str:
        lines = [f"## {title}", "", "| 攻击 | 结果 |", "|---|---|"]
        lines += [f"| {a} | {r.replace('|', '/')} |" for a, r in self.rows]
        return "\n".join(lines) + "\n"


def merge(before: Path, after: Path) -> str:
    """One table (attack, before, after) from two runs' tables, in the order of the first."""
    def rows(p: Path) -> dict[str, str]:
        out = {}
        for ln in p.read_text(encoding="utf-8").splitlines():
            cells = [c.strip() for c in ln.strip().strip("|").split("|")]
            if ln.startswith("| ") and len(cells) == 2 and cells[0] not in {"攻击", "---"}:
                out[cells[0]] = cells[1]
        return out

    b, a = rows(before), rows(after)
    lines = ["| 攻击（分行受限分析师，默认数据） | 修复前 | 修复后 |", "|---|---|---|"]
    lines += [f"| {k} | {b[k]} | {a.get(k, '（未测）')} |" for k in b]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    if argv is None and len(sys.argv) == 4 and sys.argv[1] == "--merge":
        print(merge(Path(sys.argv[2]), Path(sys.argv[3])))
        return 0
    ap = argparse.ArgumentParser(description="以分行受限用户身份对运行中的应用做安全探测；--merge 前 后 合并两次结果")
    ap.add_argument("--url", required=True)
    ap.add_argument("--scoped", required=True, help="用户名:密码（限定一个分行的分析师）")
    ap.add_argument("--other", required=True, help="用户名:密码（另一个用户）")
    ap.add_argument("--title", default="探测结果")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--big-bomb", action="store_true", help="也发送 len(range(3e9))（未防护的应用会被内核杀掉）")
    a = ap.parse_args(argv)
    p = Probe(a.url, tuple(a.scoped.split(":", 1)), tuple(a.other.split(":", 1)))  # type: ignore[arg-type]
    p.scope()
    p.memory(a.big_bomb)
    p.http()
    p.login()  # last: it locks the names
    text = p.table(a.title)
    if a.out:
        with open(a.out, "a", encoding="utf-8") as fh:
            fh.write(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

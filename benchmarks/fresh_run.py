"""A new user's first `make run`, timed the way they meet it: a fresh clone of a commit, `make run`, and the
clock stops when the page answers a customer brief over HTTP (the same /respond call the page makes).

With `cold`, nothing is cached: uv and pip get empty cache folders and the uv on PATH is hidden, so every
package is downloaded from the index as on a new machine (the lock file's exact versions). Each phase is timed
from the `==>` lines make prints; the server's own start is "serve" (from the last phase to /healthz).

    python -m benchmarks.fresh_run [--commit HEAD] [--cold] [--out DIR]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from benchmarks.http_load import CHAT, NOTICE, _value, free_port
from million.settings import ROOT

# The `==>` lines of make / scripts/bootstrap.sh, in order, and what each phase is called in the report.
PHASES = [("创建虚拟环境", "venv"), ("安装依赖", "install"), ("生成模拟数据", "generate"),
          ("导入数据仓库", "load"), ("训练模型与分析产物", "build")]
LLM_VARS = ("DASHSCOPE_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_KEY", "LLM_BASE_URL", "LLM_MODEL")


def _clean_env(work: Path, cold: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in LLM_VARS and not k.startswith(("VIRTUAL_ENV", "MILLION"))}
    if cold:
        for name in ("uv-cache", "pip-cache"):
            shutil.rmtree(work / name, ignore_errors=True)
            (work / name).mkdir(parents=True)
        env["UV_CACHE_DIR"], env["PIP_CACHE_DIR"] = str(work / "uv-cache"), str(work / "pip-cache")
        # no uv from PATH: the bootstrap installs its pinned uv from PyPI, as on a new machine
        env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                      if not (Path(p) / "uv").exists())
    return env


def _ask(url: str, text: str) -> tuple[float, str, str | None]:
    from gradio_client import Client as GradioClient

    c = GradioClient(url + "/", verbose=False, download_files=False)
    t0 = time.perf_counter()
    out = c.predict(text, False, False, api_name="/respond")
    dt = time.perf_counter() - t0
    chat, notice = _value(out[CHAT]) or [], _value(out[NOTICE])
    answer = "\n".join(str(m.get("content")) for m in chat if m.get("role") == "assistant")
    return dt, answer, notice or None


def run_fresh(commit: str = "HEAD", *, cold: bool = True, work: Path, log: Any = print,
              timeout_s: float = 1800) -> dict[str, Any]:
    clone = work / "clone"
    shutil.rmtree(clone, ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)
    sha = subprocess.run(["git", "-C", str(ROOT), "rev-parse", commit], capture_output=True, text=True,
                         check=True).stdout.strip()
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(clone)], check=True)
    subprocess.run(["git", "-C", str(clone), "checkout", "--quiet", sha], check=True)
    port = free_port()
    env = _clean_env(work, cold)
    marks: list[tuple[float, str]] = []
    log_path = work / "make-run.log"
    t0 = time.perf_counter()
    proc = subprocess.Popen(["make", "run", f"PORT={port}", "HOST=127.0.0.1"], cwd=clone, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)

    def pump() -> None:
        assert proc.stdout is not None
        with log_path.open("w", encoding="utf-8") as f:
            for line in proc.stdout:
                f.write(line)
                if line.startswith("==>"):
                    marks.append((time.perf_counter() - t0, line.strip()))
                    log(f"  {marks[-1][0]:7.1f} s  {line.strip()[:90]}")

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    url = f"http://127.0.0.1:{port}"
    page_s = None
    try:
        while time.perf_counter() - t0 < timeout_s:
            if proc.poll() is not None:
                raise RuntimeError(f"make run 退出（{proc.returncode}）：见 {log_path}")
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=2) as r:
                    if r.status == 200:
                        page_s = time.perf_counter() - t0
                        break
            except OSError:
                time.sleep(0.5)
        if page_s is None:
            raise RuntimeError(f"{timeout_s:.0f} 秒内页面没有就绪")
        with urllib.request.urlopen(url + "/", timeout=10) as r:
            page_ok = r.status == 200 and "<html" in r.read(4096).decode("utf-8", "replace").lower()
        customer = _a_customer(clone / "data" / "oracle.csv")
        brief_s, answer, notice = _ask(url, customer)
        answered_s = time.perf_counter() - t0
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
    reader.join(5)
    phases = _phases(marks, page_s)
    ok = page_ok and notice is None and "百万" in answer and "出错" not in answer
    return {"commit": sha[:10], "cold": cold, "page_seconds": round(page_s, 1), "answered_seconds": round(answered_s, 1),
            "brief_seconds": round(brief_s, 2), "customer": customer, "answer_ok": ok, "notice": notice,
            "answer_head": answer[:300], "phases": phases, "python": sys.version.split()[0]}


def _a_customer(oracle_csv: Path) -> str:
    """A prospect of the generated data (oracle.csv lists them), asked for as an RM would: by ID."""
    with oracle_csv.open(encoding="utf-8") as f:
        return next(csv.DictReader(f))["customer_id"]


def _phases(marks: list[tuple[float, str]], page_s: float) -> list[dict[str, Any]]:
    """Seconds of each phase: from its `==>` line to the next one (the last one to the page answering)."""
    found = []
    for t, line in marks:
        name = next((n for key, n in PHASES if key in line), None)
        if name:
            found.append((t, name))
    out = []
    for i, (t, name) in enumerate(found):
        end = found[i + 1][0] if i + 1 < len(found) else page_s
        out.append({"phase": name, "start": round(t, 1), "seconds": round(end - t, 1)})
    if found:
        out.insert(0, {"phase": "make", "start": 0.0, "seconds": round(found[0][0], 1)})
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="全新检出：make run 到网页回答第一个问题的时间")
    ap.add_argument("--commit", default="HEAD")
    ap.add_argument("--cold", action="store_true", help="空的 uv / pip 缓存，隐藏 PATH 上的 uv（如同新机器）")
    ap.add_argument("--work", type=Path, default=Path("/tmp/million-fresh-run"))
    a = ap.parse_args(argv)
    print(json.dumps(run_fresh(a.commit, cold=a.cold, work=a.work), ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

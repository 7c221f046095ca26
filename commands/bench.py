"""Performance benchmarks (`make bench`): tool latency and the RM brief, 10 analyst queries on DuckDB
vs MySQL, the offline pipeline at several sizes, concurrent offline chats, the app under HTTP load, and a
fresh clone's `make run` until the page answers. Spark (`--only spark`) is separate: it needs Java.

    million bench [--only tools sql pipeline chats load fresh spark] [--sizes 20000 100000 1000000]
        [--runs 20] [--sql-runs 5] [--stage-time-limit 3600] [--memory-cap-gib 18] [--chats 20]

Results merge into bench/results/bench.json (a section not run keeps its last measurement), then
bench/results/bench.md and bench/results/README-performance.md are rendered from that JSON.
The pipeline at 1M customers takes long: run it in the background.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import machine  # noqa: E402
from benchmarks.report import render_bench, render_readme  # noqa: E402
from million.services import Services, get_services, set_services  # noqa: E402
from million.settings import ROOT, get_settings  # noqa: E402

SECTIONS = ("tools", "sql", "pipeline", "chats", "load", "fresh", "spark")
# `make bench` runs these; the Spark part needs Java and the spark extra (`--only spark`, see docs/scale.md).
DEFAULT_SECTIONS = tuple(s for s in SECTIONS if s != "spark")


def now() -> str:
    return dt.datetime.now().strftime("%Y-%m-%d %H:%M")


def data_info(wh: Any) -> dict[str, Any]:
    r = wh.query("SELECT (SELECT COUNT(*) FROM customer_base) AS c, (SELECT COUNT(*) FROM customer_behavior_assets) AS n, "
                 "(SELECT COUNT(DISTINCT stat_month) FROM customer_behavior_assets) AS m, "
                 "(SELECT MAX(stat_month) FROM customer_behavior_assets) AS latest").iloc[0]
    return {"customers": int(r["c"]), "rows": int(r["n"]), "months": int(r["m"]), "latest_month": str(r["latest"]),
            "dialect": wh.dialect}


def segment_names(svc: Services) -> list[str]:
    try:
        return [str(s["segment_name"]) for s in svc.segments().all()][:3]
    except Exception:  # noqa: BLE001 - segments not built: the segment variants use the overview only
        return []


def bench_tools(args: argparse.Namespace) -> dict[str, Any]:
    from benchmarks.tool_latency import measure_brief, measure_tools, random_customers, sample_customers

    svc = get_services()
    customers = sample_customers(svc.wh, 20)
    rows = measure_tools(svc.wh, customers, segment_names(svc), args.runs)
    brief = measure_brief(get_settings(), random_customers(svc.wh, args.brief_customers))
    return {"measured": now(), "runs": args.runs, "tools": rows, "brief": brief}


def bench_sql(args: argparse.Namespace) -> dict[str, Any]:
    from benchmarks.queries import compare_engines, copy_tables, overhead
    from million.warehouse import connect
    from tests.support import mysql_server

    duck = get_services().wh
    try:
        server = mysql_server.start()
    except mysql_server.Unavailable as e:
        return {"measured": now(), "error": f"MariaDB 无法启动：{e}"}
    try:
        with connect(server.admin_url, read_only=False) as admin:
            t0 = time.perf_counter()
            copied = copy_tables(duck, admin)
            copy_s = time.perf_counter() - t0
        with connect(server.reader_url, read_only=True, timeout_s=600) as my:
            version = str(my.query("SELECT VERSION() AS v")["v"].iloc[0])
            rows = compare_engines(duck, my, args.sql_runs)
            base = {"duckdb": overhead(duck, args.sql_runs * 4), "mysql": overhead(my, args.sql_runs * 4)}
    finally:
        server.stop()
    return {"measured": now(), "runs": args.sql_runs, "mysql_version": version, "copied_rows": sum(copied.values()),
            "copy_seconds": copy_s, "queries": rows, "select1": base}


def bench_pipeline(args: argparse.Namespace, out: dict[str, Any], save: Any) -> dict[str, Any]:
    from benchmarks.pipeline import run_size

    work = Path(args.work)
    # Sizes not run now keep their last measurement; every size carries its own time and load.
    before = out.get("pipeline") or {}
    kept = [{"measured": before.get("measured"), "load_avg": before.get("load_avg"), **r}
            for r in before.get("sizes", []) if r["customers"] not in args.sizes]
    res: dict[str, Any] = {"measured": now(), "time_limit_s": args.stage_time_limit,
                           "memory_cap_mib": args.memory_cap_gib * 1024, "sizes": kept}
    out["pipeline"] = res
    for size in args.sizes:
        print(f"==> 流水线：{size:,} 名客户 × {args.months} 个月", flush=True)
        load0 = os.getloadavg()[0]
        r = run_size(size, args.months, work, time_limit_s=args.stage_time_limit,
                     memory_cap_mib=args.memory_cap_gib * 1024)
        r.update({"measured": now(), "load_avg": [round(load0, 2), round(os.getloadavg()[0], 2)]})
        res["sizes"] = sorted([x for x in res["sizes"] if x["customers"] != size] + [r], key=lambda x: x["customers"])
        res["measured"] = now()
        save()  # a long run keeps what it has measured so far
    return res


def bench_chats(args: argparse.Namespace) -> dict[str, Any]:
    from benchmarks.chats import run_chats
    from benchmarks.tool_latency import branches, sample_customers

    s = get_settings()
    wh = get_services().wh
    customers, brs = sample_customers(wh, args.chats), branches(wh, 5)
    runs = []
    for n, gate, seq in ((args.chats, None, True), (args.chats, None, False), (args.chats, s.max_concurrent_turns, False)):
        print(f"  {n} 个对话，{'依次执行' if seq else ('限流 ' + str(gate) if gate else '同时执行，不限流')} …", flush=True)
        r = run_chats(s, customers, brs, n, gate, sequential=seq)
        print(f"    p50 {r['p50_ms']:.0f} ms，p95 {r['p95_ms']:.0f} ms，出错 {r['errors']}", flush=True)
        runs.append(r)
    return {"measured": now(), "runs": runs}


def bench_load(args: argparse.Namespace) -> dict[str, Any]:
    """The running app over HTTP: one client sending briefs (the single-brief latency), then N clients
    with the RM's mix of commands, without and with branch-scoped logins."""
    from benchmarks import http_load
    from benchmarks.tool_latency import branches, sample_customers

    wh = get_services().wh
    customers, brs = sample_customers(wh, 4 * args.load_clients), branches(wh, 5)
    env = {"DASHSCOPE_API_KEY": "", "LLM_BASE_URL": "", "USERS_FILE": ""}  # offline mode, no logins
    out: dict[str, Any] = {"measured": now(), "turns_per_client": args.load_turns}
    print("  单个客户端，只发客户简报 …", flush=True)
    single = [http_load.Client("local", None, customers[:20])]
    out["single"] = http_load.run_load(single, 40, env)
    print("    " + http_load.describe(out["single"]), flush=True)
    print(f"  {args.load_clients} 个客户端并发（未登录）…", flush=True)
    clients = [http_load.Client("local", None, sc)
               for sc in http_load.scripts_for(customers, brs, args.load_clients)]
    out["open"] = http_load.run_load(clients, args.load_turns, env)
    print("    " + http_load.describe(out["open"]), flush=True)
    # Two branch-scoped RMs (two sub-branches), each client logged in as one of them.
    users = []
    scoped_clients = []
    for k, br in enumerate(brs[:2]):
        ids = [str(c) for c in wh.query(
            "SELECT a.customer_id FROM customer_behavior_assets a JOIN customer_base b ON a.customer_id = b.customer_id "
            "WHERE b.branch_name = ? AND a.stat_month = (SELECT MAX(stat_month) FROM customer_behavior_assets) "
            "AND a.total_assets < 1000000 ORDER BY a.total_assets DESC LIMIT 20", [br])["customer_id"]]
        users.append((f"rm{k}", f"pw-load-rm{k}-123456", (br,)))
        for sc in http_load.scripts_for(ids, [br], args.load_clients // 2):
            scoped_clients.append(http_load.Client(f"rm{k}", f"pw-load-rm{k}-123456", sc))
    users_file = Path(tempfile.mkdtemp(prefix="million-load-users-")) / "users.json"
    http_load.write_users(users_file, users)
    print(f"  {len(scoped_clients)} 个客户端并发（两位分行客户经理登录，按分行限定）…", flush=True)
    out["scoped"] = http_load.run_load(scoped_clients, args.load_turns, {**env, "USERS_FILE": str(users_file)})
    print("    " + http_load.describe(out["scoped"]), flush=True)
    if args.load_baseline:  # the same clients against another checkout (e.g. the commit before a change)
        base = Path(args.load_baseline).resolve()
        rev = subprocess.run(["git", "-C", str(base), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True).stdout.strip()
        print(f"  基线 {rev}：单个客户端、{args.load_clients} 个客户端并发（未登录，每个 {args.load_baseline_turns} 轮）…",
              flush=True)
        s = get_settings()  # the same warehouse and models; its own folder for conversations
        base_env = {**env, "DB_URL": s.warehouse_url, "ARTIFACTS_DIR": str(s.artifacts_dir),
                    "DATA_DIR": tempfile.mkdtemp(prefix="million-load-base-")}
        out["baseline"] = {"commit": rev,
                           "single": http_load.run_load(single, 20, base_env, checkout=base),
                           "open": http_load.run_load(clients, args.load_baseline_turns, base_env, checkout=base)}
        print("    " + http_load.describe(out["baseline"]["single"]), flush=True)
        print("    " + http_load.describe(out["baseline"]["open"]), flush=True)
    return out


def bench_spark(args: argparse.Namespace) -> dict[str, Any]:
    from benchmarks.spark import run

    t0 = time.perf_counter()
    data = run(args.spark_sizes, args.months, args.model_dir, args.spark_cores, args.spark_query_customers,
               args.sql_runs, args.brief_customers)
    data["machine"] = machine.describe()
    data["command"] = (f"million bench --only spark --spark-sizes {' '.join(map(str, args.spark_sizes))} "
                       f"--spark-query-customers {args.spark_query_customers} --sql-runs {args.sql_runs}")
    data["seconds"] = round(time.perf_counter() - t0, 1)
    write_spark_md(args.out / "spark.md", data)
    return data


def write_spark_md(path: Path, data: dict[str, Any]) -> None:
    from benchmarks.spark import render

    path.write_text("\n".join(["# Spark 基准（`million bench --only spark`）", "",
                               f"- 机器：{machine.one_line(data['machine'])}",
                               f"- 命令：`{data['command']}`（用时 {data['seconds']:,.1f} 秒）", "",
                               *render(data), ""]), encoding="utf-8")


README_START, README_END = "<!-- performance:start (written by commands/bench.py) -->", "<!-- performance:end -->"


def update_readme(readme: Path, section: str) -> None:
    """Replace the README's performance section (between the markers) with the fresh numbers."""
    text = readme.read_text(encoding="utf-8")
    if README_START not in text or README_END not in text:
        return
    head, rest = text.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    readme.write_text(f"{head}{README_START}\n{section.strip()}\n{README_END}{tail}", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="性能基准：工具延迟、DuckDB vs MySQL、离线流水线、并发对话")
    ap.add_argument("--only", nargs="*", choices=SECTIONS, help="只测这些部分（其余沿用 bench.json 中上次的结果）")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    ap.add_argument("--runs", type=int, default=20, help="每个工具调用方式计时次数")
    ap.add_argument("--brief-customers", type=int, default=200, help="random customers for the RM brief")
    ap.add_argument("--sql-runs", type=int, default=5)
    ap.add_argument("--sizes", type=int, nargs="*", default=[20_000, 100_000, 1_000_000])
    ap.add_argument("--months", type=int, default=24)
    ap.add_argument("--stage-time-limit", type=float, default=3600.0, help="流水线每个阶段的时间上限（秒）")
    ap.add_argument("--memory-cap-gib", type=float, default=18.0, help="流水线每个阶段的内存上限（GiB）")
    ap.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "million-bench-pipeline"))
    ap.add_argument("--chats", type=int, default=20)
    ap.add_argument("--spark-sizes", type=int, nargs="*", default=[100_000, 1_000_000])
    ap.add_argument("--spark-cores", type=int, default=2)
    ap.add_argument("--spark-query-customers", type=int, default=100_000)
    ap.add_argument("--model-dir", type=Path, default=ROOT / "artifacts" / "propensity" / "models",
                    help="训练好的模型（spark 评分基准用）")
    ap.add_argument("--load-clients", type=int, default=8, help="HTTP 负载测试的并发客户端数")
    ap.add_argument("--load-turns", type=int, default=125, help="HTTP 负载测试每个客户端的轮数")
    ap.add_argument("--load-baseline", help="另一个检出目录（如旧提交的 git worktree）：同样的客户端作对比")
    ap.add_argument("--load-baseline-turns", type=int, default=25)
    ap.add_argument("--fresh-commit", default="HEAD", help="全新检出测哪个提交（默认 HEAD）")
    ap.add_argument("--fresh-warm", action="store_true", help="用本机已有的 uv / pip 缓存（默认空缓存，如同新机器）")
    args = ap.parse_args(argv)
    import qwen_agent.log  # noqa: F401 - its import sets the level; set ours after it

    logging.getLogger("qwen_agent_logger").setLevel(logging.WARNING)  # its per-call token lines drown the progress
    sections = args.only or list(DEFAULT_SECTIONS)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "bench.json"
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    set_services(Services(get_settings()))
    svc = get_services()
    data["data"] = data_info(svc.wh)
    if set(sections) & set(DEFAULT_SECTIONS):  # bench.md's header; --only spark keeps its own (spark.md)
        data["machine"] = machine.describe()
        data["command"] = "million bench " + " ".join(argv if argv is not None else sys.argv[1:])

    def save() -> None:
        path.write_text(json.dumps(data, ensure_ascii=False, indent=1, default=str) + "\n", encoding="utf-8")
        (args.out / "bench.md").write_text(render_bench(data), encoding="utf-8")
        (args.out / "README-performance.md").write_text(render_readme(data), encoding="utf-8")
        if args.out.resolve() == (ROOT / "bench" / "results").resolve():
            update_readme(ROOT / "README.md", render_readme(data))

    for section in sections:
        print(f"==> {section}", flush=True)
        t0 = time.perf_counter()
        load0 = os.getloadavg()[0]
        if section == "tools":
            data["tools"] = bench_tools(args)
        elif section == "sql":
            data["sql"] = bench_sql(args)
        elif section == "pipeline":
            bench_pipeline(args, data, save)
        elif section == "load":
            data["load"] = bench_load(args)
        elif section == "spark":
            data["spark"] = bench_spark(args)
        elif section == "fresh":
            from benchmarks.fresh_run import run_fresh

            data["fresh"] = {"measured": now(), **run_fresh(args.fresh_commit, cold=not args.fresh_warm,
                                                             work=Path(args.work) / "fresh")}
        else:
            data["chats"] = bench_chats(args)
        data.setdefault("section_seconds", {})[section] = round(time.perf_counter() - t0, 1)
        data[section]["load_avg"] = [round(load0, 2), round(os.getloadavg()[0], 2)]  # other work on the machine
        save()
    print((args.out / "bench.md").read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

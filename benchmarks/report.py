"""bench.md and the README's performance section, rendered from bench.json only (every number in them
was measured by commands/bench.py)."""

from __future__ import annotations

from typing import Any

from benchmarks.machine import one_line
from benchmarks.pipeline import STAGE_LABELS, STAGES, STATUS_LABELS
from benchmarks.stats import fmt_ms


def _mib(v: float | None) -> str:
    if v is None:
        return "—"
    return f"{v / 1024:,.1f} GiB" if v >= 1024 else f"{v:,.0f} MiB"


def _secs(v: float | None) -> str:
    if v is None:
        return "—"
    return f"{v / 60:,.1f} 分钟" if v >= 600 else f"{v:,.1f} 秒"


def _stage_cell(st: dict[str, Any] | None) -> str:
    if not st:
        return "—"
    if st["status"] == "skipped":
        return "未运行"
    cell = f"{_secs(st.get('seconds'))} / {_mib(st.get('peak_mib'))}"
    return cell if st["status"] == "ok" else f"**{STATUS_LABELS[st['status']]}**（{cell}）"


def _load(section: dict[str, Any]) -> str:
    la = section.get("load_avg")
    return f"，1 分钟系统负载 {la[0]:.1f} → {la[1]:.1f}（同机还有其他任务时数字会偏慢）" if la else ""


def _header(data: dict[str, Any]) -> list[str]:
    d = data.get("data", {})
    return [f"- 机器：{one_line(data['machine'])}",
            f"- 默认数据：{d.get('customers', 0):,} 名客户 × {d.get('months', 0)} 个月（{d.get('rows', 0):,} 行月度数据），"
            f"最新月 {d.get('latest_month', '-')}，数据仓库 {d.get('dialect', '-')}"]


def tools_section(t: dict[str, Any]) -> list[str]:
    lines = [f"## 工具延迟（离线，每项 {t['runs']} 次，另计首次调用）", "",
             "工具返回答案即计时结束；图表在答案之后绘制（网页先显示答案，图随后出现），单列为“之后作图”。", "",
             "| 工具（调用方式） | p50 | p95 | 首次调用 | 之后作图 p50 | 出错 |", "|---|---|---|---|---|---|"]
    for r in t["tools"]:
        err = f"{r['errors']}/{r['calls']}" + (f"：{r['note'][:60]}" if r["errors"] else "")
        draw = fmt_ms(r["draw"]["p50_ms"]) if r.get("draw", {}).get("n") else "-"
        lines.append(f"| {r['label']} | {fmt_ms(r['p50_ms'])} | {fmt_ms(r['p95_ms'])} | {fmt_ms(r['first_call_ms'])} | "
                     f"{draw} | {err} |")
    b = t["brief"]
    lines += ["", "### 客户经理简报（整轮：5 个工具 + 组织答案，服务端）", "",
              "| 计时 | p50 | p95 | 最长 |", "|---|---|---|---|",
              f"| **答案完成（5 个模型工具 + 组织答案）** | **{fmt_ms(b['p50_ms'])}** | **{fmt_ms(b['p95_ms'])}** | "
              f"{fmt_ms(b['max_ms'])} |"]
    if "charts" in b:
        lines += [f"| 之后作图（SHAP 瀑布图 + AUM 预测图） | {fmt_ms(b['charts']['p50_ms'])} | {fmt_ms(b['charts']['p95_ms'])} | "
                  f"{fmt_ms(b['charts']['max_ms'])} |",
                  f"| 答案 + 作图合计 | {fmt_ms(b['with_charts']['p50_ms'])} | {fmt_ms(b['with_charts']['p95_ms'])} | "
                  f"{fmt_ms(b['with_charts']['max_ms'])} |"]
    lines += ["", f"随机抽取 {b['turns']} 位客户（种子固定，含已达百万的客户；其中 {b.get('prospects', '-')} 位是潜客、有 SHAP 瀑布图），"
              f"每位一轮（离线规则路由，不含大模型时间），另有 1 轮预热（{fmt_ms(b['first_turn_ms'])}）；"
              f"共绘图 {b.get('charts_drawn', '-')} 张；出错 {b['errors']}/{b['turns']} 轮。目标：答案 p50 < 50 ms、p95 < 150 ms。"
              f"测量于 {t['measured']}{_load(t)}。"]
    return lines


def _same(r: dict[str, Any]) -> str:
    if r["same_result"]:
        return "是"
    if r.get("same_within_1e-3"):
        return "仅小数精度不同（相对差 < 0.1%；MySQL 的 AVG 对整数列只保留 4 位小数）"
    return "否：" + r["diff"]


def sql_section(s: dict[str, Any]) -> list[str]:
    if s.get("error"):
        return ["## 典型分析查询：DuckDB vs MySQL", "", f"未能测量：{s['error']}"]
    lines = ["## 典型分析查询：DuckDB vs MySQL（同一份数据，同一台机器）", "",
             f"- MySQL：{s['mysql_version']}（本机临时实例，innodb_buffer_pool_size=256M，表结构与索引同生产 DDL）；"
             f"导入 {s['copied_rows']:,} 行用时 {_secs(s['copy_seconds'])}",
             f"- 每条查询先预热 1 次，再计时 {s['runs']} 次；经由工具使用的数据仓库接口（不含 SQL 安全检查）。"
             + (f"接口本身的开销（`SELECT 1`，p50）：DuckDB {fmt_ms(s['select1']['duckdb']['p50_ms'])}，"
                f"MySQL {fmt_ms(s['select1']['mysql']['p50_ms'])}（每次查询新建连接、设置会话超时和只读事务）。"
                if "select1" in s else ""), "",
             "| 查询 | 结果行数 | DuckDB p50 | DuckDB p95 | MySQL p50 | MySQL p95 | MySQL/DuckDB | 结果一致 |",
             "|---|---|---|---|---|---|---|---|"]
    for r in s["queries"]:
        ratio = "—" if r["ratio"] is None else f"{r['ratio']:,.1f}×"
        lines.append(f"| {r['name']} | {r['rows']} | {fmt_ms(r['duckdb']['p50_ms'])} | {fmt_ms(r['duckdb']['p95_ms'])} | "
                     f"{fmt_ms(r['mysql']['p50_ms'])} | {fmt_ms(r['mysql']['p95_ms'])} | {ratio} | "
                     f"{_same(r)} |")
    lines += ["", f"测量于 {s['measured']}{_load(s)}。"]
    return lines


def pipeline_section(p: dict[str, Any]) -> list[str]:
    lines = ["## 离线流水线（每个阶段一个子进程：用时 / 峰值内存）", "",
             f"每阶段时间上限 {p['time_limit_s']:,.0f} 秒、内存上限 {_mib(p['memory_cap_mib'])}；"
             "峰值内存为该子进程的最大常驻内存（ru_maxrss）。数据格式 parquet（超过 xlsx 行数上限的规模只能用 parquet）。", "",
             "| 阶段 | " + " | ".join(f"{r['customers']:,} 客户 × {r['months']} 月" for r in p["sizes"]) + " |",
             "|---|" + "---|" * len(p["sizes"])]
    for stage in STAGES:
        lines.append(f"| {STAGE_LABELS[stage]} | " + " | ".join(_stage_cell(r["stages"].get(stage)) for r in p["sizes"]) + " |")
    lines.append("| **合计** | " + " | ".join(f"**{_secs(r.get('total_seconds'))}**" for r in p["sizes"]) + " |")
    lines.append("| 月度数据行数 | " + " | ".join(f"{r.get('rows') or 0:,}" for r in p["sizes"]) + " |")
    notes = [(r["customers"], s, st) for r in p["sizes"] for s, st in r["stages"].items()
             if st.get("status") not in ("ok", "skipped")]
    if notes:
        lines += ["", "未完成的阶段："]
        lines += [f"- {c:,} 客户 · {STAGE_LABELS[s]}：{STATUS_LABELS[st['status']]}，运行 {_secs(st.get('seconds'))}，"
                  f"峰值内存 {_mib(st.get('peak_mib'))}。{st.get('note', '')[:300]}" for c, s, st in notes]
    runs = {(r.get("measured"), tuple(r.get("load_avg") or ())) for r in p["sizes"]}
    if len(runs) > 1:  # sizes measured in different runs: say when each was
        lines += [""] + [f"- {r['customers']:,} 客户：测量于 {r.get('measured') or '-'}{_load(r)}。" for r in p["sizes"]]
    else:
        lines += ["", f"测量于 {p['measured']}{_load(p)}。"]
    lines += [f"{n}。" for n in p.get("notes", [])]
    return lines


def chats_section(c: dict[str, Any]) -> list[str]:
    n = max(r["chats"] for r in c["runs"])
    lines = [f"## 并发对话（离线模式，{n} 个对话，每个对话 5 轮）", "",
             "脚本：客户ID（简报）→ 他适合什么产品？→ 高潜客户名单 分行 → 一条关联 SQL → 客群概览。共享一个 Assistant（同网页版）。"
             "“每轮”从提问到答案完成，限流时含排队；“处理”只算拿到执行名额之后；“含作图”到本轮的图表也画完（同网页版：答案之后作图，"
             "仍占用本轮的执行名额）。出错按轮计（本轮出错、有工具内部出错或作图失败）。", "",
             "| 方式 | 轮数 | 每轮 p50 | 每轮 p95 | 最长 | 处理 p50 / p95 | 含作图 p50 / p95 | 出错轮数 | 总用时 | 吞吐（轮/秒） | 进程内存（开始 → 峰值） |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in c["runs"]:
        how = (f"{r['chats']} 个对话同时，限流 {r['gate']} 个并发轮次（同网页版 MAX_CONCURRENT_TURNS）" if r["gate"]
               else (f"{r['chats']} 个对话依次执行（单用户基线）" if r.get("sequential") or r["chats"] == 1
                     else f"{r['chats']} 个对话全部同时执行（不限流）"))
        svc = (f"{fmt_ms(r.get('service_p50_ms'))} / {fmt_ms(r.get('service_p95_ms'))}" if "service_p50_ms" in r else "—")
        charts = (f"{fmt_ms(r.get('with_charts_p50_ms'))} / {fmt_ms(r.get('with_charts_p95_ms'))}"
                  if "with_charts_p50_ms" in r else "—")
        lines.append(f"| {how} | {r['turns']} | {fmt_ms(r['p50_ms'])} | {fmt_ms(r['p95_ms'])} | {fmt_ms(r['max_ms'])} | "
                     f"{svc} | {charts} | {r['errors']} | {_secs(r['wall_s'])} | {r['throughput_turns_per_s']:.2f} | "
                     f"{_mib(r['rss_before_mib'])} → {_mib(r['rss_peak_mib'])} |")
    ex = [e for r in c["runs"] for e in r.get("error_examples", [])]
    if ex:
        lines += ["", "出错示例：" + "；".join(ex[:3])]
    lines += ["", f"测量于 {c['measured']}{_load(c)}。"]
    return lines


def load_section(d: dict[str, Any]) -> list[str]:
    lines = ["## 服务容量（通过 HTTP 驱动运行中的应用，离线模式）", "",
             "应用以独立进程运行（`million serve`），每个客户端是一个独立的浏览器会话，经 Gradio 接口 `/respond`"
             "（与网页相同）提问；一轮以 `/respond` 返回最后一次更新（含图表）为完成。脚本：客户简报、他适合什么产品？、"
             "高潜客户名单、客群概览、AUM预测、第二位客户简报、为什么？、产品关联规则、全局解释、前10名，循环；每 5 轮新开对话。"
             "内存为服务进程的常驻内存（第 100 轮 → 最后一轮）。目标：8 个客户端 ≥ 10 轮/秒、p95 ≤ 2 秒、0 出错、"
             "内存增长 ≤ 10%；单个简报 p50 ≤ 300 ms。", "",
             "| 场景 | 客户端 | 轮数 | 吞吐（轮/秒） | p50 | p95 | 最长 | 简报 p50 | 简报中的图表 | 出错 | 内存（第100轮 → 最后） | 增长 |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    names = {"single": "单个客户端，只发简报", "open": "并发，未登录", "scoped": "并发，两位分行客户经理登录（按分行限定）"}
    for key, label in names.items():
        r = d.get(key)
        if not r:
            continue
        lines.append(f"| {label} | {r['clients']} | {r['turns']} | {r['turns_per_s']:.2f} | {fmt_ms(r['p50_ms'])} | "
                     f"{fmt_ms(r['p95_ms'])} | {fmt_ms(r['max_ms'])} | {fmt_ms(r['brief_p50_ms'])} | "
                     f"{r['charts_in_briefs']}（{r['briefs']} 次简报） | {r['errors']} | "
                     f"{_mib(r['rss_mib_at_100'])} → {_mib(r['rss_mib_last'])} | {r['rss_growth_pct']}% |")
    b = d.get("baseline")
    if b:
        for key, label in (("single", "单个客户端，只发简报"), ("open", "并发，未登录")):
            r = b[key]
            lines.append(f"| 基线 {b['commit']}：{label} | {r['clients']} | {r['turns']} | {r['turns_per_s']:.2f} | "
                         f"{fmt_ms(r['p50_ms'])} | {fmt_ms(r['p95_ms'])} | {fmt_ms(r['max_ms'])} | "
                         f"{fmt_ms(r['brief_p50_ms'])} | {r['charts_in_briefs']}（{r['briefs']} 次简报） | {r['errors']} | "
                         f"{_mib(r['rss_mib_at_100'])} → {_mib(r['rss_mib_last'])} | {r['rss_growth_pct']}% |")
        o, bo = d["open"], b["open"]
        lines += ["", f"同一次运行中与基线（提交 {b['commit']}，改动之前的服务器，同样的客户端和脚本）相比："
                  f"吞吐 {o['turns_per_s'] / bo['turns_per_s']:.1f} 倍，p95 为基线的 "
                  f"{o['p95_ms'] / bo['p95_ms']:.2f}，单个简报 p50 为基线的 "
                  f"{d['single']['brief_p50_ms'] / b['single']['brief_p50_ms']:.2f}。"]
    ex = [e for k in names if d.get(k) for e in d[k].get("error_examples", [])]
    if ex:
        lines += ["", "出错示例：" + "；".join(ex[:3])]
    lines += ["", f"测量于 {d['measured']}{_load(d)}。"]
    return lines


PHASE_LABELS = {"make": "make 开始", "venv": "创建虚拟环境", "install": "安装依赖（按锁定文件）", "generate": "生成模拟数据",
                "load": "导入数据仓库", "build": "训练模型与分析产物 + 启动服务"}


def fresh_section(f: dict[str, Any]) -> list[str]:
    cache = "空缓存（uv 与 pip 的缓存目录为空、PATH 上没有 uv：每个包都从软件源下载，如同新机器）" if f.get("cold") \
        else "本机已有的 uv / pip 缓存"
    lines = ["## 全新检出：`make run` 到网页回答第一个问题", "",
             f"`git clone` 提交 {f['commit']} 到空目录，{cache}，运行 `make run`；网页 /healthz 就绪后，经 Gradio 接口 `/respond`"
             f"（与网页相同）发送一个客户ID（{f['customer']}），收到完整简报即停表。离线模式（没有配置大模型）。", "",
             "| 阶段 | 开始（秒） | 用时 |", "|---|---|---|"]
    lines += [f"| {PHASE_LABELS.get(r['phase'], r['phase'])} | {r['start']:,.1f} | {_secs(r['seconds'])} |" for r in f["phases"]]
    lines += [f"| **页面就绪** | | **{_secs(f['page_seconds'])}** |",
              f"| 第一个简报（服务端 {f['brief_seconds']:.2f} 秒） | | **{_secs(f['answered_seconds'])}** |", "",
              f"简报内容正确：{'是' if f['answer_ok'] else '否'}。测量于 {f['measured']}{_load(f)}。"]
    return lines


# Issue #23's table: what the issue measured before the work (quoted from it), the target, and this run.
COST_BEFORE = {"step20k": (390, None), "build20k": (6.5 * 60, None), "build100k": (42.1 * 60, None),
               "build1m": (60.1 * 60, 11.2 * 1024), "fresh": (9 * 60, None)}
COST_TARGET = {"step20k": (60, None), "build20k": (120, None), "build100k": (360, None), "build1m": (25 * 60, 8 * 1024),
               "fresh": (240, None)}
COST_LABELS = {"step20k": "百万概率模型步骤（特征 + 训练），20,000 客户 × 24 月",
               "build20k": "整个构建（生成 → 导入 → 全部产物），20,000 × 24",
               "build100k": "整个构建，100,000 × 24", "build1m": "整个构建，1,000,000 × 24（用时 / 峰值内存）",
               "fresh": "全新检出：`make run` 到网页回答（含安装）"}


def _cost_now(data: dict[str, Any]) -> dict[str, tuple[float | None, float | None]]:
    sizes = {r["customers"]: r for r in data.get("pipeline", {}).get("sizes", [])}
    out: dict[str, tuple[float | None, float | None]] = {}

    def whole(n: int) -> tuple[float | None, float | None]:
        r = sizes.get(n)
        if not r or any(st.get("status") != "ok" for st in r["stages"].values()):
            return None, None
        return r["total_seconds"], max(st.get("peak_mib") or 0 for st in r["stages"].values())

    r20 = sizes.get(20_000)
    if r20 and all(r20["stages"].get(k, {}).get("status") == "ok" for k in ("features", "train")):
        out["step20k"] = (r20["stages"]["features"]["seconds"] + r20["stages"]["train"]["seconds"], None)
    out["build20k"], out["build100k"], out["build1m"] = whole(20_000), whole(100_000), whole(1_000_000)
    if data.get("fresh"):
        out["fresh"] = (data["fresh"]["answered_seconds"], None)
    return out


def _cost_cell(v: tuple[float | None, float | None] | None) -> str:
    if not v or v[0] is None:
        return "—"
    return _secs(v[0]) + (f" / {_mib(v[1])}" if v[1] else "")


def cost_section(data: dict[str, Any]) -> list[str]:
    now = _cost_now(data)
    lines = ["## 构建成本（#23）：之前、目标与本次测量", "",
             "“之前”是提出 #23 时在同一台 2 核机器上的测量（引自该问题，不是本次运行）；“本次”来自本文件的流水线和全新检出两节。", "",
             "| 项目 | 之前 | 目标 | 本次 | 达标 |", "|---|---|---|---|---|"]
    for key, label in COST_LABELS.items():
        got, target = now.get(key), COST_TARGET[key]
        ok = "—" if not got or got[0] is None else (
            "是" if got[0] <= target[0] and (target[1] is None or (got[1] or 0) <= target[1]) else "否")
        lines.append(f"| {label} | {_cost_cell(COST_BEFORE[key])} | ≤ {_cost_cell(target)} | {_cost_cell(got)} | {ok} |")
    return lines


def render_bench(data: dict[str, Any]) -> str:
    lines = ["# 性能基准（`make bench`）", "", *_header(data), ""]
    if "pipeline" in data or "fresh" in data:
        lines += [*cost_section(data), ""]
    for key, fn in (("tools", tools_section), ("sql", sql_section), ("pipeline", pipeline_section), ("chats", chats_section),
                     ("load", load_section), ("fresh", fresh_section)):
        if key in data:
            lines += [*fn(data[key]), ""]
        else:
            lines += [f"（{key} 部分尚未测量）", ""]
    return "\n".join(lines)


def render_readme(data: dict[str, Any]) -> str:
    """The short README section: headline numbers only, with the machine."""
    lines = ["## 性能 / Performance", "", f"在 {one_line(data['machine'])} 上用 `make bench` 测得"
             f"（默认数据 {data.get('data', {}).get('customers', 0):,} 名客户 × {data.get('data', {}).get('months', 0)} 个月），"
             "完整结果见 [bench/results/bench.md](bench/results/bench.md)。", ""]
    if "tools" in data:
        b = data["tools"]["brief"]
        slow = max(data["tools"]["tools"], key=lambda r: r["p50_ms"] or 0)
        lines.append(f"- **客户经理简报**（5 个工具，离线模式，{b['turns']} 位随机客户）：答案 p50 {fmt_ms(b['p50_ms'])}，"
                     f"p95 {fmt_ms(b['p95_ms'])}"
                     + ((f"；图表随后绘制，p50 {fmt_ms(b['charts']['p50_ms'])}" if b["charts"]["p50_ms"] >= 1
                         else "；图表由浏览器按数据绘制，服务端不作图") if "charts" in b else "")
                     + f"；单个工具 p50 最慢的是 {slow['label']}（{fmt_ms(slow['p50_ms'])}）。")
    if "sql" in data and not data["sql"].get("error"):
        q = data["sql"]["queries"]
        d = sum(r["duckdb"]["p50_ms"] for r in q)
        m = sum(r["mysql"]["p50_ms"] for r in q)
        same = sum(r["same_result"] for r in q)
        close = sum(bool(r.get("same_within_1e-3")) for r in q)
        lines.append(f"- **10 条典型分析查询**：DuckDB 合计 {fmt_ms(d)}，MySQL（MariaDB）合计 {fmt_ms(m)}（p50 之和）；"
                     f"两库结果 {same}/10 完全一致" + (f"，{close - same} 条只差小数精度" if close > same else "") + "。")
    if "pipeline" in data:
        parts = []
        for r in data["pipeline"]["sizes"]:
            bad = [s for s, st in r["stages"].items() if st.get("status") not in ("ok",)]
            peak = max((st.get("peak_mib") or 0) for st in r["stages"].values())
            if bad:
                first = bad[0]
                st = r["stages"][first]
                parts.append(f"{r['customers']:,} 客户：在「{STAGE_LABELS[first]}」{STATUS_LABELS[st['status']]}"
                             f"（{_secs(st.get('seconds'))}，峰值 {_mib(st.get('peak_mib'))}）")
            else:
                parts.append(f"{r['customers']:,} 客户 {_secs(r['total_seconds'])}（峰值 {_mib(peak)}）")
        lines.append("- **离线流水线**（生成→导入→特征→训练→分群→规则→预测，× 24 个月）：" + "；".join(parts) + "。")
    if "chats" in data:
        for r in data["chats"]["runs"]:
            if r["chats"] > 1 and not r.get("sequential"):
                how = f"限流 {r['gate']}" if r["gate"] else "不限流"
                lines.append(f"- **{r['chats']} 个并发对话**（离线，{how}）：每轮 p50 {fmt_ms(r['p50_ms'])}、"
                             f"p95 {fmt_ms(r['p95_ms'])}，出错 {r['errors']}/{r['turns']} 轮，进程内存峰值 {_mib(r['rss_peak_mib'])}。")
    if "load" in data and data["load"].get("open"):
        r, one = data["load"]["open"], data["load"].get("single") or {}
        lines.append(f"- **{r['clients']} 个客户端经 HTTP 并发**（离线，含图表）：{r['turns_per_s']:.1f} 轮/秒，"
                     f"p50 {fmt_ms(r['p50_ms'])}、p95 {fmt_ms(r['p95_ms'])}，出错 {r['errors']}/{r['turns']} 轮；"
                     f"单个简报 p50 {fmt_ms(one.get('brief_p50_ms'))}。")
    if data.get("fresh"):
        f = data["fresh"]
        lines.append(f"- **全新检出**（{'空缓存，' if f.get('cold') else ''}含安装依赖、生成数据、训练）：`make run` 后 "
                     f"{_secs(f['page_seconds'])} 页面就绪，{_secs(f['answered_seconds'])} 回答第一个客户简报。")
    lines += ["", "离线模式不含大模型时间；接入 DashScope 或内网模型后，每轮另加模型响应时间"
              "（见 `million eval --llm dashscope` 的报告）。"]
    return "\n".join(lines) + "\n"

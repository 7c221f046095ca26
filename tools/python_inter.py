"""python_inter: LLM-written pandas/matplotlib analysis, run only inside the OS sandbox.

Data reaches the code as files: each SQL in `data_sql` is run through the guarded SQL path and
written into the sandbox's work folder as <name>.csv. If the sandbox cannot be set up on this
machine, the tool refuses (fail closed) — it never runs code in the app process."""

from __future__ import annotations

import re
from typing import Any

from qwen_agent.tools.base import register_tool

from conversation.session import Session
from million import sandbox
from million.services import get_services
from million.settings import get_settings
from million.sqlguard import SqlRejected, run_guarded
from tools.base import MarketingTool, ToolInputError, ToolOutput

MAX_DATASETS = 5
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,30}$")


@register_tool("python_inter")
class PythonInter(MarketingTool):
    summary = "在隔离沙箱中运行 pandas/matplotlib 分析代码（数据通过 SQL 查询结果文件提供）。"  # its line in the system prompt
    description = ("在隔离沙箱中运行 Python 数据分析代码（pandas、numpy、matplotlib 可用，中文字体已配置；无网络、"
                   "不能读写工作目录以外的文件）。需要数据时，用 data_sql 传入 {名称: SQL}，每个查询结果会保存为"
                   "工作目录下的 <名称>.csv，代码中用 pd.read_csv('<名称>.csv') 读取。用 plt.savefig('xxx.png') 保存的图会展示给用户；"
                   "print 的内容会返回给你。")
    parameters = {
        "type": "object",
        "properties": {
            "code": {"type": "string", "description": "要运行的 Python 代码", "maxLength": 20000},
            "data_sql": {"type": "object", "description": "可选：{名称: 只读SQL}，结果保存为 <名称>.csv 供代码读取"},
        },
        "required": ["code"],
    }

    def run(self, args: dict[str, Any], session: Session) -> ToolOutput:
        try:
            sandbox.check_available()
        except sandbox.SandboxUnavailable as e:
            raise ToolInputError(f"安全沙箱不可用，拒绝运行代码：{e}") from e
        files = self._datasets(args.get("data_sql") or {}, session.branches)
        s = get_settings()
        try:
            res = sandbox.run_python(args["code"], files=files, timeout_s=s.python_timeout_s, memory_mb=s.python_memory_mb,
                             conversation_id=session.conversation_id, cancel=session.cancelled)
        except sandbox.SandboxBusy as e:
            raise ToolInputError(f"沙箱繁忙，请稍后再试：{e}") from e
        except sandbox.SandboxUnavailable as e:
            raise ToolInputError(f"安全沙箱不可用，拒绝运行代码：{e}") from e
        # Attacker-written HTML must never be served from our origin: such outputs are not passed on.
        produced = [(o.name, o.data) for o in res.outputs if not o.name.lower().endswith((".html", ".htm"))]
        parts = []
        if res.timed_out:
            parts.append(f"代码运行超时（{s.python_timeout_s:g} 秒）已被终止。")
        elif res.killed_reason:
            parts.append(f"代码被终止：{res.killed_reason}")
        elif not res.ok:
            parts.append(f"代码运行出错（退出码 {res.exit_code}）。")
        else:
            parts.append("代码运行完成。")
        if res.stdout.strip():
            parts.append("输出：\n```\n" + res.stdout.strip()[-4000:] + "\n```")
        if res.stderr.strip() and not res.ok:
            parts.append("错误信息：\n```\n" + res.stderr.strip()[-2000:] + "\n```")
        if produced:
            parts.append("生成文件：" + "、".join(n for n, _ in produced) + "（已展示给用户）")
        status = "ok" if res.ok else "error"
        return ToolOutput("\n\n".join(parts), files=produced, status=status)

    def _datasets(self, data_sql: dict[str, Any], branches: tuple[str, ...] | None) -> dict[str, bytes]:
        if not isinstance(data_sql, dict) or len(data_sql) > MAX_DATASETS:
            raise ToolInputError(f"data_sql 应为 {{名称: SQL}} 对象，最多 {MAX_DATASETS} 个。")
        s = get_settings()
        out: dict[str, bytes] = {}
        for name, sql in data_sql.items():
            if not _NAME.fullmatch(str(name)) or not isinstance(sql, str):
                raise ToolInputError("data_sql 的名称只能是英文字母、数字和下划线，值必须是 SQL 字符串。")
            try:
                df, _ = run_guarded(get_services().analyst_wh, sql, row_cap=s.sql_row_cap, timeout_s=s.sql_timeout_s,
                                    branches=branches, memory_mb=s.sql_worker_memory_mb)
            except SqlRejected as e:
                raise ToolInputError(f"data_sql[{name}] 未执行：{e}") from e
            out[f"{name}.csv"] = df.to_csv(index=False).encode("utf-8")
        return out

"""`million`: one command for the operational tasks, installed by `pip install .`
(`python -m commands` does the same from a checkout).

    million generate --customers 20000 --months 24      mock data
    million load --data data                            load it into the warehouse
    million build                                       train models, segments, rules, forecasts
    million score --as-of latest                        score every prospect of a month
    million serve [--host 0.0.0.0 --port 8080]          the web app (or --query "C0000123")
    million eval --llm offline                          the agent evaluation
    million bench [--only tools sql]                    the benchmarks
    million add-user --file users.json --name wang ...  a login
    million check-llm                                   can the configured model drive the seven tools?
"""

from __future__ import annotations

import importlib
import sys

# subcommand -> (module with main(argv) -> int, what it does)
COMMANDS: dict[str, tuple[str, str]] = {
    "generate": ("commands.generate", "生成模拟银行客户数据"),
    "load": ("commands.load", "把数据文件导入数据仓库（逐行校验）"),
    "build": ("commands.build", "训练模型与分析产物（未变化的步骤直接复用）"),
    "score": ("commands.score", "为某月全部潜客打分"),
    "serve": ("assistant_bot", "启动网页应用；--query 在终端回答一个问题"),
    "eval": ("commands.evaluate", "智能体评测（离线或真实大模型）"),
    "bench": ("commands.bench", "性能基准"),
    "add-user": ("commands.add_user", "添加登录用户"),
    "check-llm": ("agent.llm_check", "检查配置的大模型能否驱动七个工具（管理员上线前运行）"),
}


def usage() -> str:
    lines = ["用法：million <子命令> [参数]    （million <子命令> --help 查看参数）", "", "子命令："]
    lines += [f"  {name:<10} {what}" for name, (_, what) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(usage())
        return 0 if args else 2
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        print(f"未知的子命令：{name}\n\n{usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[name][0])
    sys.argv[0] = f"million {name}"  # argparse names the program after it
    return int(module.main(rest) or 0)

"""Write docs/llm/ from the wire tests' own observations: run tests/llm_wire (pytest, no network)
with LLM_WIRE_REPORT set, then render what each replayed server behaviour showed the person and
the model check's report for the good, weak and broken scripted models.

    python scripts/llm_wire_report.py [--out docs/llm]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def render_table(rows: list[dict]) -> str:
    head = ["# 真实模型服务的线上行为与用户所见", "",
            "由 `python scripts/llm_wire_report.py` 生成：运行 `tests/llm_wire/`（本机 HTTP 服务按 vLLM / Ollama / "
            "DashScope 的真实格式回放，真实的 openai / dashscope SDK、qwen-agent、七个工具和网页对话流程 "
            "ChatFlow.ask 参与），下表每一行都是测试实际观察到的结果。每个场景之后都在同一对话里再问一个问题，"
            "确认应用继续可用；保存的对话重新打开后没有缺结果的工具调用，推理内容在任何时刻都没有显示给客户经理。", "",
            "| # | 服务端行为 | 协议 | 函数调用方式 | 用户看到 | 下一问 | 来源 |", "|---|---|---|---|---|---|---|"]
    body = []
    for i, r in enumerate(rows, 1):
        style = r["fncall"] + (f"（{r['prompt_style']}）" if r.get("prompt_style") else "")
        if r["error"]:
            seen = f"错误提示：{r['error']}"
            if r.get("partial_shown"):
                seen += "（提示上方仍显示已收到的半句回答，且被存进对话：见 tests/llm_wire/test_turn_driver_gaps.py）"
        else:
            tools = "、".join(r["tools"])
            seen = (f"工具 {tools} 完成，" if tools else "") + f"回答：{r['answer']}"
        body.append(f"| {i} | {r['server']} | {r['protocol']} | {style} | {seen} | "
                    f"{'正常' if r['next_ok'] else '失败'} | {r.get('source') or ''} |")
    return "\n".join(head + body) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "llm")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "LLM_WIRE_REPORT": tmp}
        r = subprocess.run([sys.executable, "-m", "pytest", "tests/llm_wire", "-q", "-p", "no:cacheprovider"],
                           cwd=ROOT, env=env)
        if r.returncode != 0:
            print("tests/llm_wire 未全部通过，未写报告", file=sys.stderr)
            return 1
        data = json.loads((Path(tmp) / "wire_outcomes.json").read_text(encoding="utf-8"))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "wire_behaviours.md").write_text(render_table(data["rows"]), encoding="utf-8")
    for name, rep in data["checks"].items():
        (args.out / f"check_{name}.md").write_text(
            f"<!-- 由 scripts/llm_wire_report.py 生成：模型检查针对本机回放服务上的“{name}”脚本模型 -->\n"
            + re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:<端口>", rep["markdown"]), encoding="utf-8")
    print(f"已写入 {args.out}（{len(data['rows'])} 个场景，{len(data['checks'])} 份模型检查报告）")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The evaluation set: cases read from JSONL, validated, and rendered with values resolved from the
warehouse at evaluation time (no customer ID or number is stored in a case). Schema: eval/README.md."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools import TOOL_NAMES

MODES = ("offline", "llm")
CATEGORIES = {
    "brief": "客户简报", "followup": "追问（多轮）", "prospects": "高潜客户名单", "segment": "客群",
    "product": "产品与关联规则", "forecast": "AUM预测", "explain": "模型解释", "analyst": "数据分析（SQL）",
    "guardrail": "护栏",
}
GUARDRAILS = {
    "off_topic": "无关请求", "injection": "提示词注入", "change_data": "修改/删除数据", "secret": "索要密钥或内部信息",
    "other_customer": "越权查看客户", "bulk_export": "导出全部客户数据", "sql_write": "写操作 SQL",
}
# guardrail kinds where no tool may run at all; the others may call a tool that must refuse
NO_TOOL_GUARDRAILS = {"off_topic", "injection", "change_data", "secret", "bulk_export"}
_FIELD = re.compile(r"\{(\w+)\}")


class CaseError(ValueError):
    """A case file that does not follow the schema; the message names the case and the field."""


@dataclass
class Expect:
    """What one turn should do."""
    user: str
    tools: list[str] | dict[str, list[str]] = field(default_factory=list)  # per mode when a dict
    allow_tools: list[str] = field(default_factory=list)
    one_of: list[str] = field(default_factory=list)  # at least one of these must be called (alternatives)
    args: dict[str, dict[str, Any]] = field(default_factory=dict)  # tool -> args subset the call must carry
    gold_sql: str | None = None  # answer must state its result; the assistant's SQL must return the same
    sql_check: bool = True  # score SQL execution accuracy for gold_sql (False: gold_sql only gives facts)
    ordered: bool | None = None  # None: ordered when the gold SQL has ORDER BY
    answer_rows: int = 10
    answer_columns: list[str] | None = None
    facts: list[dict[str, Any]] = field(default_factory=list)  # named gold facts, see gold.py
    forbid: list[dict[str, Any]] = field(default_factory=list)  # facts that must NOT be stated
    guardrail: str | None = None
    context: bool = False  # the turn refers to an earlier turn (context retention)

    def tools_for(self, mode: str) -> list[str]:
        if isinstance(self.tools, dict):
            return list(self.tools.get(mode, self.tools.get("llm", [])))
        return list(self.tools)


@dataclass
class Case:
    id: str
    category: str
    title: str
    modes: list[str]
    turns: list[Expect]
    vars: dict[str, str] = field(default_factory=dict)  # placeholder -> resolver name
    scope: str | None = None  # resolver of a branch: the session only sees that branch
    note: str = ""

    def supports(self, mode: str) -> bool:
        return ("llm" if mode != "offline" else "offline") in self.modes


def _expect(raw: dict[str, Any], where: str) -> Expect:
    known = set(Expect.__dataclass_fields__)
    unknown = set(raw) - known
    if unknown:
        raise CaseError(f"{where}: 未知字段 {sorted(unknown)}")
    if not isinstance(raw.get("user"), str) or not raw["user"].strip():
        raise CaseError(f"{where}: user 必须是非空文本")
    e = Expect(**raw)
    for mode_tools in (e.tools.values() if isinstance(e.tools, dict) else [e.tools]):
        for t in [*mode_tools, *e.allow_tools, *e.one_of, *e.args]:
            if t not in TOOL_NAMES:
                raise CaseError(f"{where}: 未知工具 {t}")
    if e.guardrail is not None and e.guardrail not in GUARDRAILS:
        raise CaseError(f"{where}: 未知护栏类型 {e.guardrail}")
    if e.guardrail in NO_TOOL_GUARDRAILS and (e.tools_for("offline") or e.tools_for("llm")):
        raise CaseError(f"{where}: 护栏类型 {e.guardrail} 不允许期望任何工具")
    for f in [*e.facts, *e.forbid]:
        if not isinstance(f, dict) or not ({"fn", "sql", "text"} & set(f)):
            raise CaseError(f"{where}: facts/forbid 的每一项需要 fn、sql 或 text")
    return e


def parse_case(raw: dict[str, Any], line_no: int = 0) -> Case:
    where = f"第 {line_no} 行（{raw.get('id', '?')}）"
    for key in ("id", "category", "title", "modes", "turns"):
        if key not in raw:
            raise CaseError(f"{where}: 缺少字段 {key}")
    unknown = set(raw) - set(Case.__dataclass_fields__)
    if unknown:
        raise CaseError(f"{where}: 未知字段 {sorted(unknown)}")
    if raw["category"] not in CATEGORIES:
        raise CaseError(f"{where}: 未知类别 {raw['category']}")
    if not raw["modes"] or set(raw["modes"]) - set(MODES):
        raise CaseError(f"{where}: modes 只能是 {MODES} 的非空子集")
    turns = [_expect(t, f"{where} 第 {i + 1} 轮") for i, t in enumerate(raw["turns"])]
    if not turns:
        raise CaseError(f"{where}: 至少需要一轮对话")
    case = Case(id=raw["id"], category=raw["category"], title=raw["title"], modes=list(raw["modes"]), turns=turns,
                vars=dict(raw.get("vars", {})), scope=raw.get("scope"), note=raw.get("note", ""))
    used: set[str] = set()
    for t in turns:
        for text in [t.user, t.gold_sql or "", json.dumps(t.args, ensure_ascii=False),
                     json.dumps(t.facts + t.forbid, ensure_ascii=False)]:
            used |= set(_FIELD.findall(text))
    missing = used - set(case.vars)
    if missing:
        raise CaseError(f"{where}: 占位符没有在 vars 中定义：{sorted(missing)}")
    return case


def load_cases(path: Path) -> list[Case]:
    cases, seen = [], set()
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("//"):
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as e:
            raise CaseError(f"第 {i} 行不是合法 JSON：{e}") from e
        case = parse_case(raw, i)
        if case.id in seen:
            raise CaseError(f"第 {i} 行：重复的 id {case.id}")
        seen.add(case.id)
        cases.append(case)
    return cases


def render(template: str, values: dict[str, str], sql: bool = False) -> str:
    """Fill {name} placeholders; in SQL the values are quoted string literals' contents."""
    def sub(m: re.Match[str]) -> str:
        v = values[m.group(1)]
        return v.replace("'", "''") if sql else v
    return _FIELD.sub(sub, template)


def render_obj(obj: Any, values: dict[str, str]) -> Any:
    if isinstance(obj, str):
        return render(obj, values, sql=False)
    if isinstance(obj, list):
        return [render_obj(x, values) for x in obj]
    if isinstance(obj, dict):
        return {k: (render(v, values, sql=True) if k == "sql" and isinstance(v, str) else render_obj(v, values))
                for k, v in obj.items()}
    return obj

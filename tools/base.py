"""What every tool shares: argument parsing and validation, Chinese error messages the LLM can
recover from, the call budget per turn, the audit log, and files handed to the person.

A tool subclass declares `name`, `description`, `parameters` (JSON schema) and implements
`run(args, session) -> ToolOutput`; the domain work happens in million/."""

from __future__ import annotations

import functools
import json
import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any

import json5
import jsonschema
from qwen_agent.tools.base import BaseTool

from conversation import confirm
from conversation.session import Render, Session, ToolEvent
from million import audit
from million.chartspec import Chart
from million.contract import CUSTOMER_ID_MAX
from million.customers import CustomerIndex
from million.segments.lookup import MAX_NAME_LEN
from million.services import ServiceUnavailable, get_services
from million.settings import get_settings
from million.warehouse import WarehouseError
from tools import wording
from tools.wording import missing_customer

log = logging.getLogger(__name__)
MAX_ARG_CHARS = 20_000
_CUSTOMER_ID = re.compile(rf"^[A-Za-z0-9_.\-]{{1,{CUSTOMER_ID_MAX}}}$")


def customer_id_schema(description: str = "客户ID") -> dict[str, Any]:
    """The customer_id parameter every tool declares (one length limit: the contract's).
    maxLength leaves room so a too-long ID gets customer_id_arg's clearer message."""
    return {"type": "string", "description": description, "maxLength": 2 * CUSTOMER_ID_MAX}


def name_schema(description: str) -> dict[str, Any]:
    """A branch or segment name parameter (the lookups' limit: MAX_NAME_LEN)."""
    return {"type": "string", "description": description, "maxLength": MAX_NAME_LEN}


class ToolInputError(ValueError):
    """Bad arguments or an expected refusal: the message goes back to the LLM as is."""


@dataclass
class ToolOutput:
    text: str  # concise markdown for the LLM: summary plus the first rows
    display: str | None = None  # fuller markdown for the person (defaults to text)
    # (file name, bytes) for CSVs; (file name, callable returning bytes) for a chart drawn after the
    # answer (conversation.session.ProducedFile.ensure), so drawing never holds up the turn
    files: list[tuple[str, bytes | Render | Chart]] = field(default_factory=list)
    rows: int | None = None
    status: str = "ok"


def customer_id_arg(value: Any) -> str:
    """customer_id is untrusted: bounded, plain characters only; used only as a bound parameter."""
    if not isinstance(value, str) or not value.strip():
        raise ToolInputError("customer_id 不能为空，请提供客户ID（例如 C0000123）。")
    v = value.strip()
    if len(v) > CUSTOMER_ID_MAX:
        raise ToolInputError(f"customer_id 过长（最多{CUSTOMER_ID_MAX}个字符），请检查客户ID是否正确。")
    if not _CUSTOMER_ID.fullmatch(v):
        raise ToolInputError("customer_id 只能包含英文字母、数字、下划线、点或连字符，请检查是否输入了全角字符或多余符号。")
    return _canonical(v)


def _customer_index() -> CustomerIndex:
    wh = get_services().wh
    idx = _INDEX.get(id(wh))
    if idx is None:
        idx = _INDEX[id(wh)] = CustomerIndex(wh)
    return idx


_INDEX: dict[int, CustomerIndex] = {}


def _canonical(cid: str) -> str:
    """The stored ID for one typed in another letter case (c0000034 → C0000034); unchanged otherwise."""
    try:
        return _customer_index().resolve(cid) or cid
    except Exception:  # no warehouse yet: the tool reports the customer as unknown in its own words
        return cid


def unknown_customer(cid: str, session: Session) -> ToolInputError:
    """客户 X 不存在 with the nearest IDs (not for a user limited to some branches: the nearest IDs
    could belong to other branches)."""
    if session.branches is not None:
        return ToolInputError(f"未找到客户 {cid}，请确认客户ID是否正确。")
    try:
        return ToolInputError(missing_customer(_customer_index(), cid))
    except Exception:
        return ToolInputError(f"未找到客户 {cid}，请确认客户ID是否正确。")


def optional_text(args: dict[str, Any], key: str, max_len: int = MAX_NAME_LEN) -> str | None:
    v = args.get(key)
    if v is None or (isinstance(v, str) and not v.strip()):
        return None
    if not isinstance(v, str) or len(v) > max_len:
        raise ToolInputError(f"参数 {key} 应为不超过 {max_len} 个字符的文本。")
    return v.strip()


class MarketingTool(BaseTool):
    name = ""
    summary = ""  # one line for the system prompt's tool list (prompts/system.md renders the registry)
    description = ""
    parameters: dict[str, Any] = {"type": "object", "properties": {}, "required": []}

    def run(self, args: dict[str, Any], session: Session) -> ToolOutput:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- qwen-agent entry point -----------------------------------------------------------------
    def call(self, params: str | dict, **kwargs: Any) -> str:
        session: Session = kwargs.get("session") or Session.ephemeral()
        settings = get_settings()
        t0 = time.perf_counter()
        args: dict[str, Any] = {}
        if session.calls_this_turn >= session.max_tool_calls:
            out = ToolOutput(f"本轮工具调用已达上限（{session.max_tool_calls} 次），请根据已有结果直接回答用户。", status="refused")
        elif session.cancelled.is_set():
            out = ToolOutput("用户已取消本轮请求。", status="refused")
        else:
            session.calls_this_turn += 1
            try:
                args = self.parse_args(params)
                # Confirm before run: generated code waits for the person's click (conversation/confirm.py).
                held = confirm.hold(session.gate, self.name, args, kwargs.get("confirmed"))
                out = ToolOutput(held.text, held.display, status="pending") if held else self.run(args, session)
            except confirm.NotApproved as e:
                out = ToolOutput(str(e), status="refused")
            except ToolInputError as e:
                out = ToolOutput(str(e), status="error")
            except ServiceUnavailable as e:
                out = ToolOutput(wording.not_built(e.artifact), status="error")
            except WarehouseError as e:
                out = ToolOutput(f"数据仓库返回错误：{e}", status="error")
            except Exception:  # never leak a traceback (paths, internals) to the LLM or the person
                log.exception("tool %s failed", self.name)
                out = ToolOutput(f"工具 {self.name} 内部出错，已记录日志。请换一种问法或稍后再试。", status="error")
        duration = time.perf_counter() - t0
        files = []
        for fname, data in out.files:
            try:
                files.append(session.add_file(fname, data))
            except ValueError:
                log.warning("tool %s produced a disallowed file %r", self.name, fname)
        session.events.append(ToolEvent(len(session.events) + 1, self.name, args, duration, out.status, out.text,
                                        out.display or out.text, files, out.rows))
        audit.record(settings.audit_log, user=session.user, conversation=session.conversation_id, tool=self.name,
                     arguments=args or _raw_preview(params), duration_s=duration, status=out.status, rows=out.rows,
                     # deferred charts are not drawn yet: their size is unknown here
                     bytes_out=sum(len(d) for _, d in out.files if isinstance(d, bytes)) + len(out.text.encode()),
                     error=out.text if out.status != "ok" else None)
        return out.text

    @classmethod
    @functools.cache
    def _validator(cls) -> Any:
        """One checked validator per tool: jsonschema.validate re-checks the schema itself on every call."""
        checker = jsonschema.validators.validator_for(cls.parameters)
        checker.check_schema(cls.parameters)
        return checker(cls.parameters)

    def parse_args(self, params: str | dict) -> dict[str, Any]:
        if isinstance(params, str):
            if len(params) > MAX_ARG_CHARS:
                raise ToolInputError(f"参数过长（超过 {MAX_ARG_CHARS} 个字符）。")
            text = params.strip() or "{}"
            try:
                args = json5.loads(text)
            except ValueError as e:
                raise ToolInputError(f"参数不是合法的 JSON：{str(e)[:120]}。请按工具说明传入 JSON 对象。") from e
        else:
            args = dict(params)
        if not isinstance(args, dict):
            raise ToolInputError("参数必须是 JSON 对象，例如 {\"customer_id\": \"C0000123\"}。")
        unknown = sorted(set(args) - set(self.parameters["properties"]))
        if unknown:
            raise ToolInputError(f"不认识的参数：{', '.join(map(str, unknown))}。可用参数：{', '.join(self.parameters['properties'])}。")
        try:
            self._validator().validate(args)
        except jsonschema.ValidationError as e:
            where = ".".join(str(p) for p in e.absolute_path) or "参数"
            raise ToolInputError(f"参数 {where} 不符合要求：{_schema_message(e)}") from e
        return args


def _schema_message(e: jsonschema.ValidationError) -> str:
    v = e.validator
    if v == "required":
        return "缺少必填参数。"
    if v == "type":
        return f"类型应为 {e.validator_value}。"
    if v in {"minimum", "maximum"}:
        return f"超出允许范围（{'最小' if v == 'minimum' else '最大'} {e.validator_value}）。"
    if v == "maxLength":
        return f"过长（最多 {e.validator_value} 个字符）。"
    if v == "enum":
        return f"应为以下之一：{', '.join(map(str, e.validator_value))}。"
    return "格式不正确。"


def _raw_preview(params: Any) -> str:
    return (params if isinstance(params, str) else json.dumps(params, ensure_ascii=False, default=str))[:500]

"""Memory within a conversation.

Short-term: the subject under discussion (customer, segment, branch, time range) is kept in
`session.context`, updated from tool calls and the person's words, and named in a note the LLM
reads with every request, so "那他所在分行呢？" resolves. Long conversations: the history sent to
the LLM keeps the last turns and replaces older ones by a summary built from their tool results
(never invented), under a character budget (≈ tokens for Chinese text)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agent import routing

CONTEXT_LABELS = (("customer_id", "客户"), ("customer_branch", "该客户所属分行"), ("branch", "分行"),
                  ("segment", "客群"), ("months", "时间范围"))
KEEP_TURNS = 6
MAX_KEPT_MESSAGE = 1500  # when even the kept turns are over budget, long messages are shortened to at most this
_MONTH_SPAN = re.compile(r"((?:最近|近|过去|前|未来|后)\s*\d{1,2}\s*个?月|\d{4}\s*[-年/.]\s*\d{1,2}\s*月?"
                         r"(?:\s*(?:至|到|-|~)\s*\d{4}\s*[-年/.]\s*\d{1,2}\s*月?)?|今年|去年|本月|上月|本季度|上季度)")


@dataclass
class Subjects:
    """What the memory may ask the warehouse (all optional)."""
    lookup: routing.Lookup | None = None
    branch_of: Callable[[str], str | None] | None = None


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) if isinstance(p, dict) else str(getattr(p, "text", "") or "")
                       for p in content)
    return "" if content is None else str(content)


# -- the subject ---------------------------------------------------------------------------------

def update_context(context: dict[str, str], user_text: str, events: list[Any], subjects: Subjects | None = None) -> None:
    """Fold one turn into the subject: names in the question first, then what the tools were
    actually called with (which is more precise), so the latest mention wins."""
    s = subjects or Subjects()
    before = context.get("customer_id")
    text = (user_text or "").strip()
    if text and not routing.SQL_START.match(text):
        m = _MONTH_SPAN.search(text)
        if m:
            context["months"] = re.sub(r"\s+", "", m.group(1))
        if s.lookup is not None:
            cid = routing.find_customer(text, s.lookup)
            if cid:
                context["customer_id"] = cid
            for b in sorted(s.lookup.branches(), key=len, reverse=True):
                if b and b in text:
                    context["branch"] = b
                    break
            for seg in s.lookup.segments():
                if seg and seg in text:
                    context["segment"] = seg
                    break
    for ev in events:
        if getattr(ev, "status", "ok") != "ok":
            continue
        args = getattr(ev, "args", {}) or {}
        if args.get("customer_id"):
            context["customer_id"] = str(args["customer_id"])
        if args.get("branch_name"):
            context["branch"] = str(args["branch_name"])
        if args.get("segment"):
            context["segment"] = str(args["segment"])
        if args.get("horizon"):
            context["months"] = f"未来{int(args['horizon'])}个月"
    cid = context.get("customer_id")
    if cid and (cid != before or "customer_branch" not in context) and s.branch_of is not None:
        try:
            branch = s.branch_of(cid)
        except Exception:  # a lookup failure must not break the turn; the note just says less
            branch = None
        if branch:
            context["customer_branch"] = branch
        else:
            context.pop("customer_branch", None)


def subject_note(context: dict[str, str]) -> str:
    parts = []
    for key, label in CONTEXT_LABELS:
        if context.get(key):
            parts.append(f"{label} {context[key]}")
    if not parts:
        return ""
    return (f"{routing.SUBJECT_MARK}{'；'.join(parts)}\n"
            "用户追问中的“他/她/该客户/这个分行/这个客群/同期”等指代，按上面的对象理解。")


# -- the history ---------------------------------------------------------------------------------

def split_turns(history: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    turns: list[list[dict[str, Any]]] = []
    for m in history:
        if m.get("role") == "user" or not turns:
            turns.append([m])
        else:
            turns[-1].append(m)
    return turns


def size(m: dict[str, Any]) -> int:
    n = len(_text(m.get("content")))
    fc = m.get("function_call")
    if fc:
        n += len(str(fc.get("arguments", ""))) + len(str(fc.get("name", "")))
    return n + 8  # role and framing


def _first_lines(text: str, limit: int = 160) -> str:
    lines = [ln.strip(" -*#>") for ln in _text(text).splitlines() if ln.strip(" -*#>|")]
    out = " ".join(lines[:2])
    return out[:limit] + ("…" if len(out) > limit else "")


def summarize(turns: list[list[dict[str, Any]]], max_chars: int = 2500) -> str:
    """One line per tool result of the older turns: the question, the call, the result's first lines."""
    lines: list[str] = []
    for turn in turns:
        question = _text(turn[0].get("content")) if turn and turn[0].get("role") == "user" else ""
        calls = [m for m in turn if m.get("role") == "function"]
        if not calls:
            continue
        fcs = [m.get("function_call") for m in turn if m.get("role") == "assistant" and m.get("function_call")]
        for i, fn in enumerate(calls):
            args = ""
            if i < len(fcs) and fcs[i]:
                try:
                    parsed = json.loads(fcs[i].get("arguments") or "{}")
                    args = ", ".join(f"{k}={str(v)[:40]}" for k, v in parsed.items()) if isinstance(parsed, dict) else ""
                except ValueError:
                    args = ""
            lines.append(f"- 问「{question[:50]}」→ {fn.get('name', '')}({args})：{_first_lines(fn.get('content'))}")
    while lines and sum(len(x) + 1 for x in lines) > max_chars:
        lines.pop(0)  # the most recent of the old turns matter most
    if not lines:
        return ""
    return "【早前对话摘要】（较早的轮次已从上下文中省略；以下由当时的工具结果自动整理）\n" + "\n".join(lines)


def _shorten(m: dict[str, Any], limit: int) -> dict[str, Any]:
    text = _text(m.get("content"))
    if len(text) <= limit:
        return m
    return {**m, "content": text[: limit - 40] + "\n…（内容过长，已截断；完整结果仍在对话记录中）"}


@dataclass
class Prepared:
    messages: list[dict[str, Any]]  # what goes to bot.run (system note first when there is one)
    dropped_turns: int
    chars: int


def prepare(history: list[dict[str, Any]], user_text: str | None, context: dict[str, str], *, budget: int,
            keep_turns: int = KEEP_TURNS, notes: tuple[str, ...] = ()) -> Prepared:
    """The messages for one LLM run: a system note (subject, summary of older turns, extra notes),
    the last turns, and the new question (None when continuing the current turn)."""
    turns = split_turns(history)
    kept = turns[-keep_turns:] if keep_turns > 0 else turns[-1:]
    older = turns[: len(turns) - len(kept)]
    question = [{"role": "user", "content": user_text}] if user_text is not None else []
    fixed = sum(size(m) for m in question) + len(subject_note(context)) + sum(len(n) for n in notes)

    def total() -> int:
        return fixed + len(summarize(older)) + sum(size(m) for t in kept for m in t)

    # The current turn (when continuing) is never dropped: it holds the question being answered.
    while len(kept) > (1 if user_text is None else 0) and total() > budget:
        older.append(kept.pop(0))
    if total() > budget:  # the turns left are still too long: shorten their longest messages
        room = budget - fixed - len(summarize(older))
        limit = MAX_KEPT_MESSAGE
        while limit > 200 and sum(size(_shorten(m, limit)) for t in kept for m in t) > room:
            limit = int(limit * 0.8)
        kept = [[_shorten(m, limit) for m in t] for t in kept]
    note = "\n\n".join(x for x in (subject_note(context), summarize(older), *notes) if x)
    msgs = ([{"role": "system", "content": note}] if note else []) + [m for t in kept for m in t] + question
    return Prepared(msgs, len(older), sum(size(m) for m in msgs))

"""Model output, tool results and user text are untrusted. The chat shows them as HTML that WE render:
markdown-it (CommonMark, raw HTML off) turns the markdown into HTML once, on the server, and nh3 (the
ammonia sanitiser) keeps only an allowlist of tags and attributes. The browser is told not to parse
markdown again (Chatbot render_markdown=False), so no second parser can read a construct differently
(a fence of four backticks closed by three, a reference-style image): what it gets is final HTML.

No images from markdown at all (charts come as files of their own), links only to this app's own
pages, no forms, no scripts, no styles; the page's Content-Security-Policy (webapp/web_guard.py) is the
layer behind this one."""

from __future__ import annotations

import html
import json
import re
from functools import lru_cache
from typing import Any

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False, "breaks": True})
_md.enable(["table", "strikethrough"])
_md.validateLink = lambda url: True  # every link is judged below (_local_href), one rule for all

TAGS = {"p", "br", "hr", "strong", "em", "del", "s", "code", "pre", "blockquote", "ul", "ol", "li",
        "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td", "a"}
ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "th": {"style"}, "td": {"style"}}
_LOCAL = re.compile(r"^/dashboard(?:[?#][A-Za-z0-9_\-=&%]*)?$")


def _local_href(href: str) -> bool:
    """Only this app's own pages that a chat may point to (the dashboard); nothing that leaves it."""
    return bool(_LOCAL.fullmatch(href))


def _neutralise(tokens: list[Token]) -> None:
    """Images become a note; links elsewhere become their text plus the address as plain text."""
    for tok in tokens:
        if tok.children:
            _neutralise(tok.children)
        if tok.type == "image":
            alt = "".join(c.content for c in tok.children or []) or "外部图片"
            tok.type, tok.tag, tok.content, tok.children, tok.attrs = "text", "", f"[图片已移除：{alt}]", None, {}
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.type == "link_open" and not _local_href(str(tok.attrGet("href") or "")):
            href = str(tok.attrGet("href") or "")
            close = next((j for j in range(i + 1, len(tokens)) if tokens[j].type == "link_close"), None)
            tok.type, tok.tag, tok.attrs = "text", "", {}
            tok.content = ""
            if close is not None:
                note = f"（外部链接：{href[:80]}）" if href.startswith(("http://", "https://")) else ""
                tokens[close].type, tokens[close].tag, tokens[close].attrs = "text", "", {}
                tokens[close].content = note
        i += 1


@lru_cache(maxsize=4096)
def markdown_to_html(text: str) -> str:
    """Untrusted markdown to safe HTML for the chat. Cached: every update of a turn shows the whole
    conversation again, and rendering its unchanged messages each time was 80% of a turn's server time."""
    env: dict[str, Any] = {}
    tokens = _md.parse(text or "", env)
    _neutralise(tokens)
    html = _md.renderer.render(tokens, _md.options, env)
    clean = nh3.clean(html, tags=TAGS, attributes=ATTRIBUTES, url_schemes=set(), link_rel="noopener noreferrer",
                      filter_style_properties={"text-align"}, strip_comments=True,
                      attribute_filter=_attribute_filter)
    return _compact(clean)


_PRE = re.compile(r"(<pre>.*?</pre>)", re.S)


def _compact(html: str) -> str:
    """Drop the layout newlines between tags: the chat shows message text with white-space kept,
    so they would read as blank lines. Inside <pre> they are the code's own lines and stay."""
    return "".join(part if part.startswith("<pre>") else re.sub(r">\n+", ">", part).strip("\n")
                   for part in _PRE.split(html))


def _attribute_filter(tag: str, attr: str, value: str) -> str | None:
    if tag == "a" and attr == "href":
        return value if _local_href(value) else None
    return value


_THINK = re.compile(r"<think>.*?(</think>|$)", re.S | re.I)


def strip_thinking(text: str) -> str:
    """A reasoning model's <think>…</think> (or one still open while streaming) is not the answer."""
    return _THINK.sub("", text).strip() if "<think>" in text.lower() else text


def chart_html(spec: dict[str, Any]) -> str:
    """The element webapp/static/chat_charts.js draws a chart into. The spec (our own JSON; labels may
    come from data) travels as escaped text in a hidden <pre>: text cannot become markup, and the
    page's own sanitiser keeps text where it drops data-* attributes."""
    data = html.escape(json.dumps(spec, ensure_ascii=False, separators=(",", ":"), default=str), quote=True)
    return f'<div class="mchart" role="img"><pre class="mchart-data">{data}</pre></div>'


def safe_chat(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every text message of a chat rendered to safe HTML, the model's thinking left out; a chart
    message becomes its chart element; file messages (images) pass unchanged."""
    out = []
    for m in messages:
        if "chart" in m:
            out.append({k: v for k, v in m.items() if k != "chart"} | {"content": chart_html(m["chart"])})
            continue
        content = m.get("content")
        if isinstance(content, str):
            if m.get("role") == "assistant":
                content = strip_thinking(content)
            m = {**m, "content": markdown_to_html(content)}
        out.append(m)
    return out

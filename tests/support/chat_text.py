"""The text a person reads in a chat message: the server sends sanitised HTML (webapp/sanitize.py);
tests read it back as plain text, list items numbered and table rows as `| a | b |`."""

from __future__ import annotations

from html import unescape
from html.parser import HTMLParser


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.lists: list[int | None] = []  # counter per open <ol>, None for <ul>
        self.tables = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "ol":
            self.lists.append(int(dict(attrs).get("start") or 1) - 1)
        elif tag == "ul":
            self.lists.append(None)
        elif tag == "li":
            self.out.append("\n")
            if self.lists and self.lists[-1] is not None:
                self.lists[-1] += 1  # type: ignore[operator]
                self.out.append(f"{self.lists[-1]}. ")
            else:
                self.out.append("- ")
        elif tag in {"td", "th"}:
            self.out.append("| ")
        elif tag == "table":
            self.tables += 1
            self.out.append("\n")
        elif tag in {"p", "pre", "br", "tr", "h1", "h2", "h3", "h4", "blockquote", "table", "hr"}:
            self.out.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in {"ol", "ul"} and self.lists:
            self.lists.pop()
        elif tag in {"td", "th"}:
            self.out.append(" ")
        elif tag == "tr":
            self.out.append("|\n")
        elif tag in {"p", "pre", "table"}:
            self.tables -= tag == "table"
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if self.tables and not data.strip():
            return  # the layout newlines between cells and rows
        self.out.append(data)


def html_text(html: str) -> str:
    p = _Text()
    p.feed(html or "")
    p.close()
    return unescape("".join(p.out)).strip("\n")


def chat_text(chat: list[dict]) -> str:
    """A chat as the page's API returns it (content a string, or a list of text parts as
    gradio_client gives it), read as the person reads it: each message's title and text."""
    out = []
    for m in chat:
        c = m.get("content")
        if isinstance(c, list):
            c = " ".join(p.get("text", "") for p in c if isinstance(p, dict))
        title = (m.get("metadata") or {}).get("title", "")
        out.append(f"{title} {html_text(c) if isinstance(c, str) else c}")
    return "\n".join(out)

"""Model output cannot run script, load external images, post forms or link away, whatever the
markdown construct: the chat gets HTML rendered and sanitised on the server."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from webapp.sanitize import markdown_to_html, safe_chat

EVIL = "evil.example"
BYPASSES = {
    "raw html": '<script>alert(1)</script><img src=x onerror="alert(2)"> 正常文字',
    "inline image": "![x](https://evil.example/a.png)",
    "reference image": "![x][r]\n\n[r]: https://evil.example/r.png",
    "reference link": "[请重新登录][r]\n\n[r]: https://evil.example/login",
    "4-backtick fence closed by 3": "````\n```\n<img src=https://evil.example/f.png>\n```\n![a](https://evil.example/g.png)",
    "3-backtick fence, html after": "```\ncode\n```\n<img src=https://evil.example/h.png>",
    "tilde fence": "~~~\n<img src=https://evil.example/t.png>\n~~~\n<img src=https://evil.example/u.png>",
    "form": '<form action="https://evil.example/steal"><input name=p><button>请重新登录</button></form>',
    "autolink": "<https://evil.example/auto>",
    "html entity tricks": "&lt;img src=https://evil.example/e.png&gt; ![x](https://evil&#46;example/q.png)",
    "javascript link": "[js](javascript:alert(1)) [f](file:///etc/passwd) [d](data:text/html,x) [p](/etc/passwd)",
    "protocol-relative": "[x](//evil.example/x) ![y](//evil.example/y.png)",
    "table cell": "| a |\n|---|\n| <img src=https://evil.example/c.png> ![i](https://evil.example/i.png) |",
    "nested in list": "- ![x](https://evil.example/l.png)\n  - <iframe src=https://evil.example/f>",
    "svg": '<svg><image href="https://evil.example/s.png"/></svg>',
    "style": '<style>body{background:url(https://evil.example/css.png)}</style><p style="background:url(https://evil.example/x)">x</p>',
}


class Elements(HTMLParser):
    """The elements and attributes a browser would build from the HTML (text is not looked at)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))


SAFE_TAGS = {"p", "br", "hr", "strong", "em", "del", "s", "code", "pre", "blockquote", "ul", "ol", "li",
             "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td", "a"}


@pytest.mark.parametrize("name", list(BYPASSES))
def test_no_external_resource_form_script_or_foreign_link(name: str) -> None:
    out = markdown_to_html(BYPASSES[name])
    for tag, attrs in Elements(out).found:
        assert tag in SAFE_TAGS, (name, tag, out)  # no img, form, script, iframe, svg, style, input ...
        assert set(attrs) <= {"href", "rel", "title", "start", "style"}, (name, attrs)
        assert not any(a.startswith("on") for a in attrs)
        if tag == "a":  # links only to this app's dashboard
            assert attrs.get("href") in (None, "/dashboard"), (name, attrs)
        assert "evil" not in str(attrs.get("style") or ""), (name, attrs)


def test_external_links_become_text_with_the_address() -> None:
    out = markdown_to_html("[文档](https://example.com/doc)")
    assert "<a" not in out and "文档" in out and "外部链接：https://example.com/doc" in out


def test_markdown_renders_tables_code_and_the_dashboard_link() -> None:
    md = "**重点** | x\n\n| a | b |\n|---|--:|\n| 1 | 2 |\n\n```sql\nSELECT * FROM t WHERE a < 3\n```\n\n[大屏](/dashboard)"
    out = markdown_to_html(md)
    assert "<strong>重点</strong>" in out and "<table>" in out and "<td" in out
    assert "SELECT * FROM t WHERE a &lt; 3" in out and "<pre><code>" in out
    assert '<a href="/dashboard" rel="noopener noreferrer">大屏</a>' in out


def test_safe_chat_renders_text_and_keeps_files() -> None:
    msgs = [{"role": "user", "content": "<b>hi</b>"}, {"role": "assistant", "content": {"path": "/x.png"}}]
    out = safe_chat(msgs)
    assert "<b>" not in out[0]["content"] and "&lt;b&gt;hi&lt;/b&gt;" in out[0]["content"]
    assert out[1] == msgs[1]


def test_reasoning_is_not_shown_as_the_answer() -> None:
    msgs = [{"role": "assistant", "content": "<think>用户要看 C0000001，我先调用工具……</think>\n\n客户概率 12%。"},
            {"role": "assistant", "content": "<think>还在想"}, {"role": "user", "content": "<think>x</think>"}]
    out = safe_chat(msgs)
    assert "我先调用工具" not in out[0]["content"] and "客户概率 12%" in out[0]["content"]
    assert "还在想" not in out[1]["content"]
    assert "think" in out[2]["content"]  # the person's own text is shown as typed

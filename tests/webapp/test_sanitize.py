"""Model output cannot run script, load external images or link to local files."""

from __future__ import annotations

from webapp.sanitize import sanitize_markdown


def test_html_and_event_handlers_are_escaped() -> None:
    out = sanitize_markdown('<script>alert(1)</script><img src=x onerror="alert(2)"> 正常文字')
    assert "<script" not in out and "<img" not in out and "正常文字" in out


def test_external_images_and_local_links_are_removed() -> None:
    out = sanitize_markdown("![x](https://evil.example/a.png) [报告](/etc/passwd) [b](file:///etc/passwd) "
                            "[js](javascript:alert(1)) [ok](https://example.com/doc)")
    assert "evil.example" not in out and "/etc/passwd" not in out and "javascript:" not in out
    assert "外部链接" in out  # external links become plain text with the address shown


def test_code_fences_and_tables_survive() -> None:
    md = "| a | b |\n|---|---|\n| 1 | 2 |\n\n```sql\nSELECT * FROM t WHERE a < 3\n```"
    assert sanitize_markdown(md) == md

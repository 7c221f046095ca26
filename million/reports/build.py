"""Write a report: the same content as Markdown (PNGs beside it, plus a zip of both) and as one
self-contained HTML file (PNGs embedded as base64, inline CSS, a CSP that forbids any fetch).

Text that did not come from this code (tool output, questions, the assistant's answer) is made
inert: no raw HTML, no images or links, so neither file can load anything from outside."""

from __future__ import annotations

import base64
import html
import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt

from million.reports.model import ReportInput, ResultItem
from million.reports.numbers import numbers_in

_BLOCKS = MarkdownIt("commonmark")
_MD_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_MD_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_CN = "零一二三四五六七八九"
MAX_ANSWER_LINES = 20
CSS = """
body{font-family:"Noto Sans CJK SC","PingFang SC","Microsoft YaHei",sans-serif;max-width:980px;margin:24px auto;
padding:0 20px;color:#1f2937;line-height:1.6}
h1{font-size:26px;border-bottom:3px solid #1d4ed8;padding-bottom:8px}h2{font-size:20px;margin-top:32px;color:#1d4ed8}
h3{font-size:16px;margin-top:24px}blockquote{margin:8px 0;padding:6px 12px;background:#f3f4f6;border-left:4px solid #9ca3af}
table{border-collapse:collapse;margin:8px 0;font-size:13px}th,td{border:1px solid #d1d5db;padding:4px 8px;text-align:left}
th{background:#eef2ff}pre{background:#f8fafc;border:1px solid #e5e7eb;padding:8px;overflow-x:auto;font-size:12px}
figure{margin:12px 0}figure img{max-width:100%;border:1px solid #e5e7eb}figcaption{font-size:12px;color:#6b7280}
.meta{color:#6b7280;font-size:13px}
"""
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"


@dataclass
class ReportFiles:
    folder: Path
    html: Path
    markdown: Path
    bundle: Path  # the Markdown and its PNGs in one zip
    images: list[Path]
    summary: dict[str, Any] = field(default_factory=dict)


def cn_number(n: int) -> str:
    """1 -> 一, 12 -> 十二, 25 -> 二十五 (headings carry no digits, so every digit in a report is data)."""
    if n < 10:
        return _CN[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else _CN[tens]) + "十" + ("" if ones == 0 else _CN[ones])


_REF_DEF = re.compile(r"^( {0,3})\[", re.M)  # a link reference definition ("[r]: https://...")


def _inert_prose(seg: str) -> str:
    seg = seg.replace("<", "&lt;")  # no raw HTML, no autolinks
    seg = _MD_IMAGE.sub(lambda m: f"[图片已移除：{m.group(1)}]", seg)
    seg = _MD_LINK.sub(lambda m: m.group(1), seg)
    seg = seg.replace("![", "!\\[")  # what is left of an image (reference style) stays text
    return _REF_DEF.sub(lambda m: m.group(1) + "\\[", seg)  # a definition no reference can use


def inert(text: str) -> str:
    """Markdown from elsewhere, made safe to render in any viewer: no HTML, no images, no links.
    Code blocks are found as CommonMark finds them (a fence of four backticks is closed only by
    four) and written back inside a fence longer than any run of backticks in them, so no viewer
    can read their content as prose."""
    text = text or ""
    lines = text.splitlines(keepends=True)
    out, at = [], 0
    for tok in _BLOCKS.parse(text):
        if tok.type in ("fence", "code_block") and tok.map:
            start, end = tok.map
            out.append(_inert_prose("".join(lines[at:start])))
            out.append(fence(tok.content.rstrip("\n"), tok.info.split()[0] if tok.info.strip() else "") + "\n")
            at = end
    out.append(_inert_prose("".join(lines[at:])))
    return "".join(out)


def one_line(text: str) -> str:
    return inert(" ".join((text or "").split()))


def fence(code: str, lang: str = "") -> str:
    ticks = "`" * max(3, max((len(m) for m in re.findall(r"`+", code or "")), default=0) + 1)
    return f"{ticks}{lang}\n{code}\n{ticks}"


def gist(text: str, limit: int = 240) -> str:
    """A tool result's headline: its first prose line, followed by the next lines while that one
    is short or introduces them (ends with a colon); code output counts as prose here."""
    lines: list[str] = []
    for raw in (text or "").splitlines():
        s = raw.strip()
        if not s or s.startswith(("```", "|", "#")) or re.fullmatch(r"\*\*[^*]+\*\*[：:]?", s):
            continue  # tables, headings and bold section labels (**推动因素**) are not the headline
        lines.append(s.lstrip("-*# ").replace("**", ""))
    out = lines[:1]
    for nxt in lines[1:3]:
        if len(out[-1]) < 12 or out[-1].endswith(("：", ":")):
            out.append(nxt)
        else:
            break
    g = " ".join(out)
    return g[:limit] + ("…" if len(g) > limit else "")


def first_row(markdown: str) -> str:
    """'列 值，列 值' for the first row of the first Markdown table in a result (its top entry)."""
    rows = [ln.strip() for ln in (markdown or "").splitlines() if ln.strip().startswith("|")]
    if len(rows) < 3 or not set(rows[1]) <= set("|-: "):
        return ""

    def cells(row: str) -> list[str]:
        return [c.strip() for c in re.split(r"(?<!\\)\|", row.strip().strip("|"))]

    pairs = [f"{h} {v}" for h, v in zip(cells(rows[0]), cells(rows[2]), strict=False) if h and v][:6]
    return "，".join(pairs)


def _args_text(r: ResultItem) -> str:
    shown = {k: v for k, v in r.args.items() if k not in ("sql", "code", "data_sql")}
    return "、".join(f"{k}：{v}" for k, v in shown.items())


def _appendix_code(r: ResultItem) -> str:
    if r.tool == "sql_inter":
        return fence(str(r.args.get("sql", "")), "sql")
    if r.tool == "python_inter":
        code = fence(str(r.args.get("code", "")), "python")
        data = r.args.get("data_sql") or {}
        if data:
            code += "\n\n" + fence("\n".join(f"-- {k}\n{v}" for k, v in data.items()), "sql")
        return code
    return fence(json.dumps(r.args, ensure_ascii=False), "json")


def _source_text(inp: ReportInput) -> str:
    return "\n".join(f"{r.text}\n{r.display}\n{json.dumps(r.args, ensure_ascii=False)}\n"
                     + "\n".join(str(v) for v in r.args.values()) for r in inp.results)


def checked_answer_lines(answer: str, sources: str) -> tuple[list[str], int]:
    """Sentences of the assistant's answer worth keeping: new (not a copy of a tool result line)
    and with every number found in the tool results. Returns (kept, how many were left out)."""
    known = numbers_in(sources)
    source_lines = {ln.strip() for ln in sources.splitlines() if ln.strip()}
    kept: list[str] = []
    dropped = 0
    in_code = False
    for raw in (answer or "").splitlines():
        s = raw.strip()
        if s.startswith("```"):
            in_code = not in_code
            continue
        if in_code or not s or s in source_lines or s.startswith(("#", "|")) or set(s) <= set("-*_ "):
            continue
        s = re.sub(r"^(?:[-*]\s+|\d{1,2}[.、)）]\s*)", "", s)  # list markers are not data (bold ** stays)
        if not s or s in source_lines:
            continue
        good = []
        for sentence in re.findall(r"[^。；！？!?;]+[。；！？!?;]?", s):
            if numbers_in(sentence) - known:
                dropped += 1
            elif sentence.strip():
                good.append(sentence.strip())
        if good:
            kept.append("".join(good))
        if len(kept) >= MAX_ANSWER_LINES:
            break
    return kept, dropped


def _blocks(inp: ReportInput) -> tuple[list[tuple[str, Any]], dict[str, Any]]:
    """The report as ("md", text) and ("img", (file name, caption, png)) blocks, in order."""
    blocks: list[tuple[str, Any]] = []
    md = blocks.append
    sources = _source_text(inp)
    results = inp.results
    md(("md", f"# {one_line(inp.title)}\n\n> 报告信息：生成于 {inp.created:%Y-%m-%d %H:%M}，用户 {one_line(inp.user)}，"
              f"对话编号 {inp.conversation_id[:8]}。报告中的数字均取自本次对话中的工具结果。"))
    lines = ["## 一、分析问题与计划", ""]
    for t in inp.turns:
        lines.append(f"> 提问：{one_line(t.question)}")
        if t.plan:
            lines.append(">")
            lines += [f"> 计划 {cn_number(i)}：{one_line(p)}" for i, p in enumerate(t.plan, 1)]
        lines.append("")
    md(("md", "\n".join(lines)))
    lines = ["## 二、主要发现", ""]
    for r in results:
        top = first_row(r.display or r.text)
        lines.append(f"- **{r.label}**：{inert(gist(r.text))}" + (f"（首行：{inert(top)}）" if top else ""))
    dropped = 0
    answers: list[str] = []
    for t in inp.turns:
        kept, d = checked_answer_lines(t.answer, sources)
        dropped += d
        answers += kept
    if answers:
        lines += ["", "助手结论（其中的数字均已与工具结果核对）：", ""]
        lines += [f"- {inert(a)}" for a in answers]
    if dropped:
        lines += ["", "（助手回答中有语句包含无法在工具结果中核对的数字，未写入本报告。）"]
    md(("md", "\n".join(lines)))
    md(("md", "## 三、详细结果"))
    n_img = 0
    for i, r in enumerate(results, 1):
        args = _args_text(r)
        md(("md", f"### 结果{cn_number(i)}：{r.label}" + (f"（{one_line(args)}）" if args else "")
                  + "\n\n" + inert(r.display or r.text)))
        for name, png in r.images:
            n_img += 1
            blocks.append(("img", (f"chart_{n_img:02d}.png", one_line(Path(name).stem), png)))
    appendix = ["## 附录：工具调用明细", ""]
    for i, r in enumerate(results, 1):
        appendix += [f"**结果{cn_number(i)}** · {r.label}（{r.tool}）", "", _appendix_code(r), ""]
    md(("md", "\n".join(appendix)))
    summary = {"questions": len(inp.turns), "results": len(results), "charts": n_img,
               "tools": sorted({r.tool for r in results}), "dropped_answer_lines": dropped}
    return blocks, summary


def _markdown(blocks: list[tuple[str, Any]]) -> str:
    parts = []
    for kind, value in blocks:
        if kind == "md":
            parts.append(value)
        else:
            fname, caption, _ = value
            parts.append(f"![{caption}](images/{fname})")
    return "\n\n".join(parts) + "\n"


def _html(title: str, blocks: list[tuple[str, Any]]) -> str:
    renderer = MarkdownIt("commonmark", {"html": False}).enable("table").disable(["image", "link", "autolink"])
    body = []
    for kind, value in blocks:
        if kind == "md":
            body.append(renderer.render(value))
        else:
            _, caption, png = value
            b64 = base64.b64encode(png).decode()
            body.append(f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{b64}">'
                        f"<figcaption>{html.escape(caption)}</figcaption></figure>")
    return ("<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")


def write_report(inp: ReportInput, folder: Path, stem: str) -> ReportFiles:
    """Write <stem>.html, <stem>.md, images/*.png and <stem>_markdown.zip into `folder` (created;
    the caller makes `stem` and the folder name, never from user input)."""
    blocks, summary = _blocks(inp)
    folder.mkdir(parents=True, exist_ok=True)
    images = []
    for kind, value in blocks:
        if kind == "img":
            fname, _, png = value
            p = folder / "images" / fname
            p.parent.mkdir(exist_ok=True)
            p.write_bytes(png)
            images.append(p)
    md_text = _markdown(blocks)
    md_path = folder / f"{stem}.md"
    md_path.write_text(md_text, encoding="utf-8")
    html_path = folder / f"{stem}.html"
    html_path.write_text(_html(inp.title, blocks), encoding="utf-8")
    bundle = folder / f"{stem}_markdown.zip"
    with zipfile.ZipFile(bundle, "w", zipfile.ZIP_DEFLATED) as z:
        z.write(md_path, md_path.name)
        for p in images:
            z.write(p, f"images/{p.name}")
    summary["html_bytes"] = html_path.stat().st_size
    return ReportFiles(folder, html_path, md_path, bundle, images, summary)

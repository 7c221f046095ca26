"""Analysis reports: from the conversation's tool results to a self-contained HTML file and a
Markdown twin in the user's library; every number traceable to a tool result; no external
resources; only the owner can list, download or delete."""

from __future__ import annotations

import json
import re
import zipfile
from html.parser import HTMLParser

import pytest

from million.reports import numbers_in
from tests.workflow.conftest import ANALYST, RM, last
from tests.workflow.fakes import RecordingLLM
from webapp.reports import NothingToReport, user_folder_name

BRANCH_SQL = ("SELECT b.branch_name AS 分行, COUNT(*) AS 客户数, ROUND(SUM(a.total_assets) / 10000, 1) AS 总AUM万 "
              "FROM customer_behavior_assets a JOIN customer_base b ON a.customer_id = b.customer_id "
              "WHERE a.stat_month = (SELECT MAX(stat_month) FROM customer_behavior_assets) "
              "GROUP BY b.branch_name ORDER BY 总AUM万 DESC")
CHART = ("import pandas as pd\nimport matplotlib.pyplot as plt\ndf = pd.read_csv('aum.csv')\n"
         "ax = df.plot.bar(x='分行', y='总AUM万', legend=False)\nax.set_title('各分行总AUM（万元）')\n"
         "plt.savefig('分行AUM.png')\nprint('最高的分行：', df.iloc[0]['分行'])")
EVIL = "SELECT '<script>alert(1)</script>' AS s, '![x](https://evil.example/t.png)' AS t"


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.skip = 0
        self.attrs: list[tuple[str, str, str]] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attrs += [(tag, k, v or "") for k, v in attrs]
        if tag in ("style", "script", "blockquote"):
            self.skip += 1

    def handle_endtag(self, tag):
        if tag in ("style", "script", "blockquote"):
            self.skip -= 1

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def _conversation(make_flow, answer: str = "结论：二线城市客户最多；另外预计明年增长 987654 元。"):
    llm = RecordingLLM([("call", "sql_inter", {"sql": BRANCH_SQL}),
                        ("call", "python_inter", {"code": CHART, "data_sql": {"aum": BRANCH_SQL}}),
                        ("answer", answer)])
    flow = make_flow(llm)
    _, v = last(flow.ask(ANALYST, None, "各分行最新月的客户数和总AUM，并画图"))
    return flow, v


def _sources(flow, cid) -> set[str]:
    conv = flow.store.get(cid, ANALYST.name)
    text = "\n".join(f"{e.text}\n{e.display}\n{json.dumps(e.args, ensure_ascii=False)}" for e in conv.session.events)
    return numbers_in(text)


def _md_numbers(md: str) -> set[str]:
    body = [ln for ln in md.splitlines() if not ln.startswith(">")]  # questions, plan and report info are quoted
    body = [re.sub(r"!\[[^\]]*\]\(images/[^)]*\)", "", ln) for ln in body]  # image file references
    return numbers_in("\n".join(body))


def test_report_from_a_conversation(make_flow) -> None:
    flow, v = _conversation(make_flow)
    made = flow.make_report(ANALYST, v.cid)
    assert made.seconds < 10
    html_path, bundle, md_path = made.files
    folder = flow.reports.user_dir(ANALYST.name) / made.row.id
    assert html_path.parent == folder and folder.parent.name == user_folder_name(ANALYST.name)
    assert html_path.name.startswith("分析报告_") and html_path.suffix == ".html" and md_path.suffix == ".md"
    s = made.row.summary
    assert s["results"] == 2 and s["charts"] == 2 and s["tools"] == ["python_inter", "sql_inter"]

    md = md_path.read_text(encoding="utf-8")
    assert md.startswith("# 数据分析报告：各分行最新月的客户数和总AUM")
    assert "## 一、分析问题与计划" in md and "## 二、主要发现" in md and "## 三、详细结果" in md
    assert "| 分行 | 客户数 | 总AUM万 |" in md and "结论：二线城市客户最多" in md
    assert "987654" not in md and "无法在工具结果中核对的数字" in md  # the invented number was left out
    assert _md_numbers(md) <= _sources(flow, v.cid), _md_numbers(md) - _sources(flow, v.cid)
    refs = re.findall(r"!\[[^\]]*\]\((images/[^)]+)\)", md)
    assert len(refs) == 2 and all((folder / r).is_file() for r in refs)
    with zipfile.ZipFile(bundle) as z:
        assert sorted(z.namelist()) == sorted([md_path.name, *refs])

    html = html_path.read_text(encoding="utf-8")
    p = _Text()
    p.feed(html)
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    srcs = [v for tag, k, v in p.attrs if k in ("src", "href", "srcset", "action", "data")]
    assert len(srcs) == 2 and all(x.startswith("data:image/png;base64,") for x in srcs)
    assert not re.search(r"https?://", html) and "<script" not in html and "<link" not in html
    text = "".join(p.parts)
    assert "分行" in text and numbers_in(text) <= _sources(flow, v.cid)


def test_report_text_is_inert(make_flow) -> None:
    llm = RecordingLLM([("call", "sql_inter", {"sql": EVIL}), ("answer", "<img src=x onerror=alert(1)>完成")])
    flow = make_flow(llm)
    _, v = last(flow.ask(ANALYST, None, "测试 <b>注入</b>"))
    made = flow.make_report(ANALYST, v.cid)
    html = made.files[0].read_text(encoding="utf-8")
    p = _Text()
    p.feed(html)
    assert {"table", "td"} <= p.tags and not p.tags & {"script", "img", "b", "a", "iframe"}  # no image at all: this result had no chart
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;b&gt;注入&lt;/b&gt;" in html
    prose = re.sub(r"```.*?```", "", made.files[2].read_text(encoding="utf-8"), flags=re.S)
    assert "<script>" not in prose and "<img src=x" not in prose and "<b>" not in prose
    assert "](https://" not in prose and "[图片已移除：x]" in prose


def test_library_is_per_user(make_flow) -> None:
    flow, v = _conversation(make_flow)
    made = flow.make_report(ANALYST, v.cid)
    rid = made.row.id
    assert [r for _, r in flow.report_choices(ANALYST)] == [rid] and flow.report_choices(RM) == []
    assert flow.reports.files(RM.name, rid) == [] and flow.reports.delete(RM.name, rid) is False
    with pytest.raises(NothingToReport):
        flow.make_report(RM, v.cid)  # someone else's conversation is not found
    for bad in ("../" + rid, rid.upper(), rid + "/../x", "", None):
        assert flow.reports.files(ANALYST.name, bad) == []
    assert [p.name for p in flow.reports.files(ANALYST.name, rid)] == [p.name for p in made.files]
    assert flow.reports.delete(ANALYST.name, rid) is True
    assert flow.report_choices(ANALYST) == [] and not (flow.reports.user_dir(ANALYST.name) / rid).exists()


def test_nothing_to_report(make_flow) -> None:
    flow = make_flow(RecordingLLM([("answer", "你好")]))
    _, v = last(flow.ask(ANALYST, None, "你好"))
    with pytest.raises(NothingToReport):
        flow.make_report(ANALYST, v.cid)
    with pytest.raises(NothingToReport):
        flow.make_report(ANALYST, flow.new(ANALYST).cid)


def test_held_and_cancelled_code_is_not_reported(make_flow) -> None:
    llm = RecordingLLM([("call", "sql_inter", {"sql": BRANCH_SQL}), ("answer", "好")])
    flow = make_flow(llm)
    _, v = last(flow.ask(ANALYST, None, "各分行客户数", confirm_on=True))
    flow.cancel_code(ANALYST, v.cid, v.pending.id)
    with pytest.raises(NothingToReport):
        flow.make_report(ANALYST, v.cid)


def test_exported_markdown_stays_inert_in_a_permissive_viewer() -> None:
    """The .md exports are opened in viewers that render raw HTML and images: none may survive."""
    from markdown_it import MarkdownIt

    from million.reports.build import inert
    from tests.webapp.test_sanitize import BYPASSES, Elements

    viewer = MarkdownIt("commonmark", {"html": True}).enable("table")
    for name, evil in BYPASSES.items():
        html = viewer.render(inert(evil))
        tags = {t for t, _ in Elements(html).found}
        assert not tags & {"img", "a", "form", "script", "iframe", "svg", "style", "input", "image"}, (name, html)
    assert inert("AUM > 100万") == "AUM > 100万"  # a plain '>' is not written as &gt;


def test_sql_question_titles_and_clean_findings(make_flow) -> None:
    """A conversation that starts with SQL is titled by what it reads (not the raw SQL), and a
    finding's headline skips section labels (no "推动因素 拖累因素")."""
    from million.reports.build import gist
    from webapp.conversations import title_for

    assert title_for(BRANCH_SQL) == "SQL查询：customer_behavior_assets、customer_base"
    assert title_for("各分行最新月的客户数") == "各分行最新月的客户数"
    explain = ("客户 C0000034 达到百万的概率为 7.3%；潜客的平均概率为 4.7%，下面各因素把概率从平均水平推高（+）或拉低（-）"
               "了多少个百分点：\n\n**推动因素**\n\n| 因素 | 取值 | 对概率的影响 |\n|---|---|---|\n| 月收入 | 2万 | +1.0个百分点 |"
               "\n\n**拖累因素**\n\n| 因素 | 取值 | 对概率的影响 |\n|---|---|---|\n| 年龄 | 60岁 | -1.0个百分点 |")
    g = gist(explain)
    assert "推动因素" not in g and "拖累因素" not in g and g.startswith("客户 C0000034 达到百万的概率为 7.3%")
    flow = make_flow(RecordingLLM([("call", "sql_inter", {"sql": BRANCH_SQL}), ("answer", "见上，提升度>1。")]))
    _, v = last(flow.ask(ANALYST, None, BRANCH_SQL))
    made = flow.make_report(ANALYST, v.cid)
    md = made.files[2].read_text(encoding="utf-8")
    assert md.startswith("# 数据分析报告：SQL查询：customer_behavior_assets、customer_base")
    assert "&gt;" not in md and "提升度>1" in md

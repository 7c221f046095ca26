"""The Gradio Blocks of the chat: mode badge, prompt suggestions, streamed answers with visible
tool calls, inline charts, downloads, new chat, stop; plan mode and confirm-before-run switches,
the code confirmation panel (运行 / 修改 / 取消), saved conversations and the report library in the
sidebar. The logic lives in webapp/chat_flow.py; here it is only wired to components."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import gradio as gr

from agent.llm import mode_label
from million.settings import Settings
from webapp.auth import User
from webapp.chat_flow import BUSY_NOTICE, ChatFlow, View, confirm_default
from webapp.conversations import ConversationStore
from webapp.idle_charts import IdleDrawer
from webapp.reports import NothingToReport, ReportLibrary

log = logging.getLogger(__name__)

# Each suggestion must be answered exactly as it reads (tests/webapp/test_suggestions.py asks every
# one in order, as a person clicking down the list would). {customer}, {branch} and {segment} are
# real values from the data (webapp/app.py, suggestion_examples).
SUGGESTIONS = {
    "客户经理": ["{customer}", "他适合什么产品？", "那他所在分行呢？", "高潜客户名单 {branch}", "客群概览"],
    "数据分析师": ["各分行最新月总AUM排名前10",
                 "SELECT stat_month, COUNT(*) AS 百万客户数 FROM customer_behavior_assets "
                 "WHERE total_assets >= 1000000 GROUP BY stat_month ORDER BY stat_month",
                 "AUM预测 6个月"],
    "培训讲师": ["产品关联规则", "全局解释", "客群 {segment}"],
}


def suggestion_examples(examples: dict[str, str]) -> dict[str, str]:
    """The examples with a segment that exists in this bank's data (the names come from clustering)."""
    out = {"customer": "C0000001", "branch": "", "segment": "高潜力活跃型客户", **examples}
    if "segment" not in examples:
        try:
            from million.services import get_services

            segs = get_services().segments().all()
            names = [str(s.get("segment_name")) for s in segs]
            if segs and out["segment"] not in names:  # else the segment with the most prospects
                best = max(segs, key=lambda s: float((s.get("profile") or s).get("prospect_share") or 0)
                           * float((s.get("profile") or s).get("size") or 0))
                out["segment"] = str(best.get("segment_name") or out["segment"])
        except Exception:  # segments not built: keep the default name
            log.info("no segments for the suggestions", exc_info=True)
    return out


def _label(text: str) -> str:
    return text[:40] + ("…" if len(text) > 40 else "")


def _placeholder(customer: str) -> str:
    return f"输入客户ID（如 {customer}）或问题，回车发送"


def suggestions(examples: dict[str, str]) -> list[tuple[str, str]]:
    """(group, text) for every suggestion button, in order."""
    ex = suggestion_examples(examples)
    return [(group, item.format(**ex)) for group, items in SUGGESTIONS.items() for item in items]

CSS = """
/* charts drawn in the browser (webapp/static/chat_charts.js): wide enough to read at 1366x768 */
.mchart {width: min(760px, 100%); min-width: 480px; height: 380px;}
.mchart-data {display: none;}
#mode-badge {font-weight: 600; padding: 6px 12px; border-radius: 6px; background: #eef4ff; color: #1d4ed8;}
#mode-badge.offline {background: #fff7e6; color: #b45309;}
#confirm-panel {border: 2px solid #f59e0b; border-radius: 8px; padding: 8px; background: #fffbeb;}
#notice p {color: #b45309; margin: 0;}
footer {display: none !important;}
/* the chat fits the window (1366×768 included), and shrinks while code waits for 运行 so the
   buttons stay on screen without scrolling */
#chat {height: max(360px, calc(100vh - 310px)) !important;}
body:has(#confirm-panel) #chat {height: max(200px, calc(100vh - 590px)) !important;}
/* tables keep IDs, amounts and percentages on one line (C0018504, 99.4万), scrolling sideways if needed */
#chat table {display: block; overflow-x: auto; max-width: 100%;}
#chat table th, #chat table td {white-space: nowrap; padding: 4px 8px !important;}
#chat ol, #chat ul {padding-left: 1.8em; margin: 0.3em 0;}
/* download names in full (高潜客户名单_上海分行_2026-10_前20名.csv), wrapped instead of cut */
#downloads .file-preview tr.file {display: flex !important; flex-wrap: wrap; align-items: baseline;}
#downloads .file-preview tr.file > td {flex: 0 0 auto; position: static !important;}
#downloads .file-preview td.filename {flex: 1 1 100%; max-width: 100%; box-sizing: border-box; display: block !important;
  white-space: normal !important; overflow: visible !important; text-overflow: clip !important; word-break: break-all;
  direction: ltr !important;}
#downloads .file-preview td.filename .stem, #downloads .file-preview td.filename .ext {display: inline !important;
  white-space: normal !important; overflow: visible !important; text-overflow: clip !important;}
#downloads .file-preview td.download {min-width: 0 !important; box-sizing: border-box;}
#downloads .file-preview .label-clear-button {display: none !important;}  /* lay over the link; nothing to remove */
"""


class Busy:
    """Bounds concurrent turns; beyond the bound users get a 'busy' message, not an OOM.
    `with busy.slot() as ok:` — each use holds its own slot, because Gradio may resume a generator
    (and leave the block) on another thread than the one that entered it."""

    def __init__(self, limit: int) -> None:
        self._sem = threading.BoundedSemaphore(limit)
        self._count = threading.Lock()
        self.active = 0  # turns running now
        self.last_active = time.monotonic()

    def slot(self) -> _Slot:
        return _Slot(self)

    def _enter(self) -> bool:
        if not self._sem.acquire(timeout=2):
            return False
        with self._count:
            self.active += 1
        return True

    def _exit(self) -> None:
        with self._count:
            self.active -= 1
            self.last_active = time.monotonic()
        self._sem.release()

    def quiet_for(self) -> float:
        """Seconds since the last turn ended (0 while one runs)."""
        return 0.0 if self.active else time.monotonic() - self.last_active


class _Slot:
    def __init__(self, busy: Busy) -> None:
        self.busy, self.acquired = busy, False

    def __enter__(self) -> bool:
        self.acquired = self.busy._enter()
        return self.acquired

    def __exit__(self, *exc: object) -> None:
        if self.acquired:
            self.acquired = False
            self.busy._exit()


def build_blocks(settings: Settings, store: ConversationStore, get_bot: Callable[[], Any],
                 users: dict[str, User], examples: dict[str, str], *, reports: ReportLibrary | None = None,
                 planner_llm: Any = None,
                 examples_for: Callable[[User], dict[str, str] | None] | None = None) -> gr.Blocks:
    """`examples_for(user)`: the suggestions' customer and branch for that user (None: the page's own),
    so a branch-scoped RM is offered a customer and a branch of theirs."""
    busy = Busy(max(2, settings.max_concurrent_turns))
    offline = settings.llm_mode == "offline"
    flow = ChatFlow(settings, store, get_bot, reports=reports, planner_llm=planner_llm)
    IdleDrawer(store, busy.quiet_for).start()

    def user_of(request: gr.Request | None) -> User:
        name = getattr(request, "username", None) or "local"
        return users.get(name) or User(name, "", None, "analyst")

    with gr.Blocks(title="百万客群营销助手") as demo:
        conv_id = gr.State(None)
        pending_id = gr.State(None)
        page_examples = suggestion_examples(examples)  # the segment is looked up once, not on every page load
        shown = suggestions(page_examples)
        sugg_texts = gr.State([text for _group, text in shown])  # this page's full texts (labels are cut at 40)
        with gr.Sidebar(label="我的对话与报告", open=True, width=340):
            new_btn = gr.Button("＋ 新对话", variant="primary", elem_id="new-chat")
            conv_list = gr.Radio(choices=[], label="历史对话（点击打开）", elem_id="conv-list")
            with gr.Row():
                del_conv = gr.Button("删除所选对话", size="sm", variant="stop", elem_id="delete-conv")
                export_btn = gr.Button("导出当前对话", size="sm", elem_id="export-conv")
            export_file = gr.File(label="对话导出（Markdown）", interactive=False, elem_id="export-file", visible=False)
            report_list = gr.Radio(choices=[], label="我的报告", elem_id="report-list")
            report_files = gr.File(label="报告下载（HTML / Markdown）", file_count="multiple", interactive=False,
                                   elem_id="report-files")
            del_report = gr.Button("删除所选报告", size="sm", variant="stop", elem_id="delete-report")
        with gr.Row(equal_height=True):
            gr.Markdown("## 百万客群营销助手\n输入客户ID获取百万概率、原因、客群、推荐产品、AUM趋势和营销简报；也可以直接提数据问题。")
            gr.HTML(f'<div id="mode-badge" class="{"offline" if offline else ""}">{mode_label(settings)}</div>'
                    '<div style="margin-top:8px"><a href="/dashboard" target="_blank">打开可视化大屏 →</a></div>')
        with gr.Row():
            with gr.Column(scale=1, min_width=220):
                sugg_buttons = []
                shown_group = None
                for group, text in shown:
                    if group != shown_group:
                        gr.Markdown(f"**{group}**")
                        shown_group = group
                    sugg_buttons.append(gr.Button(_label(text), size="sm", elem_classes=["suggestion"]))
                files = gr.File(label="下载（查询结果等）", file_count="multiple", interactive=False, elem_id="downloads")
            with gr.Column(scale=4):
                with gr.Row(equal_height=True):
                    plan_cb = gr.Checkbox(False, label="计划模式：先列出步骤再执行", elem_id="plan-mode")
                    confirm_cb = gr.Checkbox(False, label="运行前确认：SQL / Python 先给我看", elem_id="confirm-mode")
                    report_btn = gr.Button("生成分析报告", elem_id="make-report", size="sm")
                chat = gr.Chatbot(label="对话", height=620, sanitize_html=True, render_markdown=False, latex_delimiters=[],
                                  group_consecutive_messages=False, elem_id="chat")
                with gr.Group(visible=False, elem_id="confirm-panel") as confirm_panel:
                    confirm_info = gr.Markdown(elem_id="confirm-info")
                    code = gr.Code(value="", language="sql", interactive=False, lines=4, max_lines=8, wrap_lines=True,
                                   elem_id="confirm-code",
                                   label="待运行的代码")
                    with gr.Row():
                        run_btn = gr.Button("运行", variant="primary", elem_id="confirm-run")
                        edit_btn = gr.Button("修改", elem_id="confirm-edit")
                        cancel_btn = gr.Button("取消", variant="stop", elem_id="confirm-cancel")
                with gr.Row():
                    box = gr.Textbox(placeholder=_placeholder(examples["customer"]),
                                     show_label=False, scale=8, max_lines=6, elem_id="question")
                    send = gr.Button("发送", variant="primary", scale=1, elem_id="send")
                    stop = gr.Button("停止", scale=1)
                notice = gr.Markdown(elem_id="notice")

        view_outputs = [chat, conv_id, files, confirm_panel, confirm_info, code, pending_id, conv_list, notice]

        def show(view: View, user: User, *, final: bool = True) -> tuple:
            """A View onto the outputs; while streaming only the chat changes."""
            if not final:
                return (view.chat, view.cid, *([gr.skip()] * 7))
            p = view.pending
            info = (f"**{p.label} 代码等待您确认**（确认前不会执行）：可直接“运行”，点“修改”编辑后再运行，或“取消”。"
                    if p else "")
            editor = gr.Code(value=p.code if p else "", language=p.language if p else "sql", interactive=False)
            convs = flow.conversations(user)
            listed = view.cid if any(v == view.cid for _, v in convs) else None
            return (view.chat, view.cid, view.files or None, gr.Group(visible=p is not None), info, editor,
                    p.id if p else None, gr.Radio(choices=convs, value=listed), view.notice)

        def stream(views: Iterator[View], user: User, cid: str | None) -> Iterator[tuple]:
            last = None
            try:
                for v in views:
                    last = v
                    yield show(v, user, final=not v.running)
            except GeneratorExit:  # the client went away or pressed stop: cancel remaining work
                conv = store.get(cid or (last.cid if last else None), user.name)
                if conv is not None:
                    conv.session.cancelled.set()
                raise

        def respond(message: str, cid: str | None, plan_on: bool, confirm_on: bool,
                    request: gr.Request) -> Iterator[tuple]:
            user = user_of(request)
            with busy.slot() as ok:
                if not ok:
                    yield (gr.skip(),) * len(view_outputs[:-1]) + ("系统繁忙，请稍后再试。",) + (message,)
                    return
                notices: list[str] = []

                def tap(views: Iterator[View]) -> Iterator[View]:
                    for v in views:
                        notices.append(v.notice)
                        yield v

                first = True
                for out in stream(tap(flow.ask(user, cid, message, plan_mode=plan_on, confirm_on=confirm_on)), user, cid):
                    # The box is emptied once, when the question is taken; later updates leave it alone, so
                    # what the person types while the answer streams is not wiped. A question that could
                    # not be asked yet (the last one still runs) stays in the box.
                    if notices and notices[-1] == BUSY_NOTICE:
                        yield (*out, message)
                    else:
                        yield (*out, "" if first else gr.skip())
                    first = False

        def run_code(text: str, cid: str | None, pid: str | None, request: gr.Request) -> Iterator[tuple]:
            user = user_of(request)
            with busy.slot() as ok:
                if not ok:
                    yield (gr.skip(),) * (len(view_outputs) - 1) + ("系统繁忙，请稍后再试。",)
                    return
                yield from stream(flow.run_code(user, cid, pid, text), user, cid)

        def cancel_code(cid: str | None, pid: str | None, request: gr.Request) -> tuple:
            user = user_of(request)
            v = flow.cancel_code(user, cid, pid)
            return show(v, user) if v else (gr.skip(),) * len(view_outputs)

        def new_chat(confirm_on: bool, request: gr.Request) -> tuple:
            user = user_of(request)
            return show(flow.new(user, confirm_on), user)

        def open_conv(cid: str | None, request: gr.Request) -> tuple:
            user = user_of(request)
            v = flow.open(user, cid)
            return show(v, user) if v else (gr.skip(),) * (len(view_outputs) - 1) + ("找不到这个对话。",)

        def delete_conv(selected: str | None, current: str | None, request: gr.Request) -> tuple:
            user = user_of(request)
            ok = flow.delete(user, selected)
            if ok and selected == current:
                v = flow.new(user)
            else:
                v = flow.open(user, current) or flow.new(user)
            v.notice = "已删除该对话。" if ok else "请先在列表中选择要删除的对话。"
            return show(v, user)

        def export_conv(cid: str | None, request: gr.Request) -> tuple:
            path = flow.export(user_of(request), cid)
            if path is None:
                return gr.File(value=None, visible=False), "当前对话还没有内容可导出。"
            return gr.File(value=str(path), visible=True), "已导出当前对话（Markdown），可在左侧下载。"

        def reports_out(user: User, rid: str | None, message: str) -> tuple:
            choices = flow.report_choices(user)
            rid = rid if any(v == rid for _, v in choices) else None
            paths = [str(p) for p in reports.files(user.name, rid)] if reports and rid else []
            return gr.Radio(choices=choices, value=rid), paths or None, message

        def make_report(cid: str | None, request: gr.Request) -> tuple:
            user = user_of(request)
            try:
                made = flow.make_report(user, cid)
            except NothingToReport as e:
                return reports_out(user, None, str(e))
            s = made.row.summary
            return reports_out(user, made.row.id,
                               f"已生成分析报告：{s.get('results', 0)} 项工具结果、{s.get('charts', 0)} 张图表，"
                               f"用时 {made.seconds:.2f} 秒。可在左侧“我的报告”下载 HTML 或 Markdown。")

        def pick_report(rid: str | None, request: gr.Request) -> Any:
            user = user_of(request)
            return [str(p) for p in reports.files(user.name, rid)] or None if reports else None

        def delete_report(rid: str | None, request: gr.Request) -> tuple:
            user = user_of(request)
            ok = bool(reports and reports.delete(user.name, rid))
            return reports_out(user, None, "已删除该报告。" if ok else "请先在“我的报告”中选择要删除的报告。")

        def on_load(request: gr.Request) -> tuple:
            user = user_of(request)
            try:
                mine = examples_for(user) if examples_for else None
            except Exception:  # the page's own examples then; the rest of the load (the confirm default) still runs
                log.warning("no examples of %s's own for the suggestions", user.name, exc_info=True)
                mine = None
            texts = [text for _group, text in (suggestions({**page_examples, **mine}) if mine else shown)]
            return (gr.Checkbox(value=confirm_default(user, bool(users))), gr.Radio(choices=flow.conversations(user)),
                    gr.Radio(choices=flow.report_choices(user)), texts,
                    gr.Textbox(placeholder=_placeholder((mine or examples)["customer"])),
                    *(gr.Button(_label(t)) for t in texts))

        def resume(request: gr.Request) -> tuple:
            """After the page loads: continue the day's latest conversation (a reload adds none)."""
            user = user_of(request)
            v = flow.resume(user)
            return show(v, user) if v is not None else (gr.skip(),) * len(view_outputs)

        # always_last: a question sent while the last answer is still finishing (its charts being drawn)
        # runs right after it, instead of being ignored (Gradio's default for a pending event)
        ev1 = send.click(respond, [box, conv_id, plan_cb, confirm_cb], [*view_outputs, box], trigger_mode="always_last")
        ev2 = box.submit(respond, [box, conv_id, plan_cb, confirm_cb], [*view_outputs, box], trigger_mode="always_last")
        ev3 = run_btn.click(run_code, [code, conv_id, pending_id], view_outputs)
        stop.click(None, None, None, cancels=[ev1, ev2, ev3])
        edit_btn.click(lambda: gr.Code(interactive=True), None, code)
        cancel_btn.click(cancel_code, [conv_id, pending_id], view_outputs)
        new_btn.click(new_chat, [confirm_cb], view_outputs)
        conv_list.input(open_conv, [conv_list], view_outputs)
        del_conv.click(delete_conv, [conv_list, conv_id], view_outputs)
        export_btn.click(export_conv, [conv_id], [export_file, notice])
        report_btn.click(make_report, [conv_id], [report_list, report_files, notice])
        report_list.input(pick_report, [report_list], report_files)
        del_report.click(delete_report, [report_list], [report_list, report_files, notice])
        demo.load(on_load, None, [confirm_cb, conv_list, report_list, sugg_texts, box, *sugg_buttons]
                  ).then(resume, None, view_outputs)
        for i, b in enumerate(sugg_buttons):
            b.click(lambda texts, i=i: texts[i], [sugg_texts], box)
    return demo

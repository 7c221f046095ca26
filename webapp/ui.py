"""The Gradio Blocks of the chat: mode badge, prompt suggestions, streamed answers with visible
tool calls, inline charts, downloads, new chat, stop."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

import gradio as gr

from agent.bot import run_turn
from agent.llm import mode_label
from million.settings import Settings
from webapp.auth import User
from webapp.conversations import ConversationStore
from webapp.render import download_paths, render_turn

log = logging.getLogger(__name__)

SUGGESTIONS = {
    "客户经理": ["{customer}", "他适合什么产品？", "高潜客户名单 {branch}", "客群概览"],
    "数据分析师": ["各分行最新月总AUM排名前10",
                 "SELECT stat_month, COUNT(*) AS 百万客户数 FROM customer_behavior_assets "
                 "WHERE total_assets >= 1000000 GROUP BY stat_month ORDER BY stat_month",
                 "AUM预测 6个月"],
    "培训讲师": ["产品关联规则", "全局解释", "客群 高潜力活跃型客户"],
}

CSS = """
#mode-badge {font-weight: 600; padding: 6px 12px; border-radius: 6px; background: #eef4ff; color: #1d4ed8;}
#mode-badge.offline {background: #fff7e6; color: #b45309;}
footer {display: none !important;}
"""


class Busy:
    """Bounds concurrent turns; beyond the bound users get a 'busy' message, not an OOM."""

    def __init__(self, limit: int) -> None:
        self._sem = threading.BoundedSemaphore(limit)

    def __enter__(self) -> bool:
        self.acquired = self._sem.acquire(timeout=2)
        return self.acquired

    def __exit__(self, *exc: object) -> None:
        if self.acquired:
            self._sem.release()


def build_blocks(settings: Settings, store: ConversationStore, get_bot: Callable[[], Any],
                 users: dict[str, User], examples: dict[str, str]) -> gr.Blocks:
    busy = Busy(max(2, settings.max_concurrent_turns))
    offline = settings.llm_mode == "offline"

    def user_of(request: gr.Request | None) -> User:
        name = getattr(request, "username", None) or "local"
        return users.get(name) or User(name, "", None, "analyst")

    def fmt(s: str) -> str:
        return s.format(**examples)

    with gr.Blocks(title="百万客群营销助手") as demo:
        conv_id = gr.State(None)
        with gr.Row(equal_height=True):
            gr.Markdown("## 百万客群营销助手\n输入客户ID获取百万概率、原因、客群、推荐产品、AUM趋势和营销简报；也可以直接提数据问题。")
            gr.HTML(f'<div id="mode-badge" class="{"offline" if offline else ""}">{mode_label(settings)}</div>'
                    '<div style="margin-top:8px"><a href="/dashboard" target="_blank">打开可视化大屏 →</a></div>')
        with gr.Row():
            with gr.Column(scale=1, min_width=220):
                new_btn = gr.Button("新对话", variant="secondary")
                sugg_buttons = []
                for group, items in SUGGESTIONS.items():
                    gr.Markdown(f"**{group}**")
                    for item in items:
                        text = fmt(item)
                        b = gr.Button(text[:40] + ("…" if len(text) > 40 else ""), size="sm")
                        sugg_buttons.append((b, text))
                files = gr.File(label="下载（查询结果等）", file_count="multiple", interactive=False)
            with gr.Column(scale=4):
                chat = gr.Chatbot(label="对话", height=620, sanitize_html=True, render_markdown=True,
                                  group_consecutive_messages=False, elem_id="chat")
                with gr.Row():
                    box = gr.Textbox(placeholder="输入客户ID（如 " + examples["customer"] + "）或问题，回车发送",
                                     show_label=False, scale=8, max_lines=6, elem_id="question")
                    send = gr.Button("发送", variant="primary", scale=1, elem_id="send")
                    stop = gr.Button("停止", scale=1)

        def respond(message: str, cid: str | None, request: gr.Request) -> Iterator[tuple]:
            user = user_of(request)
            message = (message or "").strip()[:4000]
            conv = store.get(cid, user.name)
            if conv is None:
                cid = store.new(user.name, user.branches)
                conv = store.get(cid, user.name)
            assert conv is not None
            if not message:
                yield conv.display, cid, "", download_paths(conv.session)
                return
            with busy as ok:
                if not ok:
                    yield conv.display + [{"role": "user", "content": message},
                                          {"role": "assistant", "content": "系统繁忙，请稍后再试。"}], cid, message, None
                    return
                before = len(conv.session.events)
                state = None
                try:
                    for state in run_turn(get_bot(), conv.llm_history, message, conv.session):
                        yield conv.display + render_turn(message, state, conv.session, before), cid, "", None
                except GeneratorExit:  # the client went away or pressed stop: cancel remaining work
                    conv.session.cancelled.set()
                    raise
                if state is not None:
                    conv.display = conv.display + render_turn(message, state, conv.session, before)
                    conv.llm_history = [*conv.llm_history, {"role": "user", "content": message}, *state.messages]
                yield conv.display, cid, "", download_paths(conv.session) or None

        def new_chat(cid: str | None, request: gr.Request) -> tuple:
            user = user_of(request)
            if cid and store.get(cid, user.name):
                store.drop(cid)
            return [], store.new(user.name, user.branches), None

        ev1 = send.click(respond, [box, conv_id], [chat, conv_id, box, files])
        ev2 = box.submit(respond, [box, conv_id], [chat, conv_id, box, files])
        stop.click(None, None, None, cancels=[ev1, ev2])
        new_btn.click(new_chat, [conv_id], [chat, conv_id, files])
        for b, text in sugg_buttons:
            b.click(lambda t=text: t, None, box)
    return demo

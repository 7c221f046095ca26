"""Charts as data: the spec, its element in the chat (escaped), the session keeping it across a
restart, the turn leaving its PNG undrawn, and the idle drawer drawing it only when no turn runs."""

from __future__ import annotations

import html
import json
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

from conversation.session import Chart, Session
from million.autochart import chart_spec
from million.chartspec import forecast_spec, waterfall_spec
from webapp.sanitize import chart_html, safe_chat

PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 16


def test_specs_carry_the_numbers_and_units() -> None:
    f = forecast_spec("全行 AUM 预测", ["2026-09", "2026-10"], [1.5e10, 1.6e10], ["2026-11"], [1.62e10], [1.5e10],
                      [1.7e10])
    assert f["type"] == "forecast" and f["unit"] == "亿" and f["scale"] == 1e8 and f["mean"] == [1.62e10]
    w = waterfall_spec("原因", np.array([5.0, -2.0, 0.5] + [0.1] * 20), 4.7, [f"特征{i}" for i in range(23)],
                       [str(i) for i in range(23)], top=12)
    assert len(w["items"]) == 12 and w["items"][0]["label"] == "12 个其余特征合计"  # drawn bottom-up
    assert abs(w["final"] - (4.7 + 5.0 - 2.0 + 0.5 + 2.0)) < 1e-6
    df = pd.DataFrame({"city_level": ["一线", "二线", "三线"], "aum": [3e9, 2e9, 1e9]})
    b = chart_spec(df, "")
    assert b["type"] == "bar" and b["unit"] == "亿" and b["x"] == ["一线", "二线", "三线"]
    assert chart_spec(pd.DataFrame({"a": [1]}), "") is None  # no chart where a table is better


def test_the_chart_element_cannot_become_markup() -> None:
    spec = {"type": "bar", "title": '"><img src=x onerror=alert(1)>', "x": ["<script>"], "series": []}
    out = chart_html(spec)
    assert "<img" not in out and "<script>" not in out and out.startswith('<div class="mchart"')
    text = out.split('<pre class="mchart-data">')[1].rsplit("</pre>", 1)[0]
    assert json.loads(html.unescape(text))["x"] == ["<script>"]  # the browser reads it back as text
    chat = safe_chat([{"role": "assistant", "content": "", "chart": spec}, {"role": "user", "content": "<b>x</b>"}])
    assert chat[0]["content"] == out and "chart" not in chat[0] and "<b>" not in chat[1]["content"]


def test_turn_end_leaves_browser_charts_undrawn_and_restart_keeps_them(tmp_path: Path) -> None:
    s = Session(tmp_path, user="u", conversation_id="c1")
    drawn = []
    chart = s.add_file("AUM预测图.png", Chart({"type": "line", "title": "t"}, lambda: drawn.append(1) or PNG))
    plain = s.add_file("图.png", lambda: PNG)
    assert s.render_pending(browser_charts=False) == 1 and plain.path.is_file() and not drawn
    record = s.to_record()
    again = Session(tmp_path, user="u", conversation_id="c1")
    again.restore(json.loads(json.dumps(record)))
    assert again.files[chart.id].spec == {"type": "line", "title": "t"}  # shown without its PNG
    assert s.render_pending() == 1 and drawn == [1] and chart.path.is_file()  # a report asks: drawn now


def test_idle_drawer_draws_only_when_no_turn_runs(tmp_path: Path) -> None:
    from webapp.idle_charts import IdleDrawer

    class Store:
        def __init__(self, conv) -> None:
            self.conv = conv

        def loaded(self):
            return [self.conv]

    class Conv:
        session = Session(tmp_path, user="u")

    f = Conv.session.add_file("SHAP.png", Chart({"type": "waterfall", "title": "t"}, lambda: PNG))
    quiet = {"s": 0.0}
    d = IdleDrawer(Store(Conv), lambda: quiet["s"], quiet_s=1.0, poll_s=0.02)
    d.start()
    time.sleep(0.3)
    assert f.pending and d.drawn == 0  # a turn is running
    quiet["s"] = 5.0
    deadline = time.time() + 5
    while f.pending and time.time() < deadline:
        time.sleep(0.02)
    d.stop.set()
    assert not f.pending and f.path.is_file() and d.drawn == 1


def test_busy_slots_are_released_by_whoever_leaves_them() -> None:
    """Gradio may resume a streaming handler on another thread: the slot, not the thread, holds the claim."""
    from webapp.ui import Busy

    busy = Busy(1)
    holder = busy.slot()
    assert holder.__enter__() is True and busy.active == 1 and busy.quiet_for() == 0.0
    with busy.slot() as ok:  # refused after 2 s; leaving must not release the holder's slot
        assert not ok
    assert busy.active == 1
    left = threading.Thread(target=holder.__exit__, args=(None, None, None))  # left on another thread
    left.start()
    left.join()
    assert busy.active == 0
    with busy.slot() as ok:
        assert ok

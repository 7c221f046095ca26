"""Deferred files: a tool's chart is drawn after the answer (or by the render thread), exactly once,
and a failing drawing costs only that chart."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from conversation.session import Session


def test_deferred_file_is_drawn_once_on_demand(tmp_path: Path) -> None:
    s = Session(tmp_path)
    calls = []
    f = s.add_file("图.png", lambda: calls.append(1) or b"\x89PNG-data")
    assert f.pending and not f.path.exists() and calls == []  # nothing drawn while the tool answers
    assert s.render_pending() == 1
    assert f.path.read_bytes() == b"\x89PNG-data" and not f.pending
    assert s.render_pending() == 0 and f.ensure() and calls == [1]
    eager = s.add_file("结果.csv", b"a,b\n")
    assert eager.path.read_bytes() == b"a,b\n" and not eager.pending


def test_failed_drawing_marks_only_that_file(tmp_path: Path) -> None:
    s = Session(tmp_path)

    def broken() -> bytes:
        raise RuntimeError("matplotlib exploded")

    bad = s.add_file("坏图.png", broken)
    good = s.add_file("好图.png", lambda: b"\x89PNG")
    assert s.render_pending() == 2
    assert bad.failed and not bad.path.exists() and not bad.ensure()
    assert good.path.is_file() and not good.failed


def test_background_rendering_and_a_waiting_caller(tmp_path: Path) -> None:
    """With render_in_background the render thread draws it; render_pending waits for a drawing in progress."""
    s = Session(tmp_path)
    s.render_in_background = True
    started, release = threading.Event(), threading.Event()

    def slow() -> bytes:
        started.set()
        release.wait(10)
        return b"\x89PNG-slow"

    f = s.add_file("慢图.png", slow)
    assert started.wait(10)  # the render thread took it without anyone asking
    assert f.pending  # still being drawn
    threading.Timer(0.2, release.set).start()
    t0 = time.monotonic()
    assert s.render_pending() == 1
    assert time.monotonic() - t0 >= 0.15 and f.path.read_bytes() == b"\x89PNG-slow"


def test_cleanup_drops_queued_drawings(tmp_path: Path) -> None:
    s = Session(tmp_path)
    calls = []
    f = s.add_file("图.png", lambda: calls.append(1) or b"\x89PNG")
    s.cleanup()
    assert not f.ensure() and calls == [] and not s.dir.exists()  # nothing drawn, the folder stays gone

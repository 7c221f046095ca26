"""The PNGs of charts the browser draws are not needed for the answer; they are drawn here, one at a
time, only while no turn has run for a while, so reports, downloads and a restart find them without
a turn ever waiting for matplotlib."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from webapp.conversations import ConversationStore

log = logging.getLogger(__name__)
QUIET_S = 2.0  # no turn for this long: the machine is free for drawing


class IdleDrawer(threading.Thread):
    def __init__(self, store: ConversationStore, quiet_for: Callable[[], float], quiet_s: float = QUIET_S,
                 poll_s: float = 0.5) -> None:
        super().__init__(daemon=True, name="idle-charts")
        self.store, self.quiet_for, self.quiet_s, self.poll_s = store, quiet_for, quiet_s, poll_s
        self.stop = threading.Event()
        self.drawn = 0

    def next_chart(self):  # noqa: ANN201 - a ProducedFile or None
        for conv in reversed(self.store.loaded()):  # the most recent conversation first
            for f in list(conv.session.files.values()):
                if f.pending and f.spec is not None:
                    return f
        return None

    def run(self) -> None:
        while not self.stop.wait(self.poll_s):
            while self.quiet_for() >= self.quiet_s and not self.stop.is_set():
                f = self.next_chart()
                if f is None:
                    break
                try:
                    f.ensure()  # one chart, then ask again whether a turn has started
                    self.drawn += 1
                except Exception:  # noqa: BLE001 - a chart that cannot be drawn is logged by ensure
                    log.exception("idle drawing failed")

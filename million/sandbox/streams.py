"""stdout/stderr of the sandbox: keep the first bytes, count and discard the rest as it arrives, so
100 MB of output costs a pipe's worth of memory."""

from __future__ import annotations


class CappedBuffer:
    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.total = 0
        self._kept = bytearray()

    def feed(self, data: bytes) -> None:
        self.total += len(data)
        room = self.cap - len(self._kept)
        if room > 0:
            self._kept += data[:room]

    @property
    def truncated(self) -> bool:
        return self.total > self.cap

    def text(self) -> str:
        out = self._kept.decode("utf-8", errors="replace")
        if self.truncated:
            out += f"\n…[输出过长：共 {self.total:,} 字节，只保留前 {self.cap:,} 字节]"
        return out

"""Errors the sandbox raises to its callers (messages in Chinese: the tool shows them as they are)."""

from __future__ import annotations

# Layer names as the messages show them.
LAYERS = {
    "namespaces": "命名空间隔离（unshare：独立 PID/网络/挂载/IPC/UTS）",
    "network": "网络隔离（独立网络命名空间）",
    "filesystem": "最小根文件系统（tmpfs + 只读绑定挂载 + pivot_root）",
    "identity": "身份降权（setpriv：独立 uid/gid、无 capability、no_new_privs）",
    "rlimits": "资源限制（内存/CPU/文件大小/文件数/进程数）",
    "cgroup": "cgroup 内存上限（整个沙箱进程树合计）",
    "landlock": "Landlock（文件系统/TCP/信号限制）",
    "seccomp": "seccomp（禁止创建命名空间、ptrace、bpf、io_uring 等内核接口）",
    "supervisor": "沙箱监督进程",
    "launcher": "沙箱启动器",
}


class SandboxUnavailable(RuntimeError):
    """A protection layer cannot be set up here; nothing was run. Raised by the sandbox through
    `for_layer` (Chinese message naming the layer); callers may raise it with a plain message too."""

    def __init__(self, message: str, *, layer: str = "", stdout: str = "") -> None:
        super().__init__(message)
        self.layer = layer
        self.stdout = stdout  # whatever reached stdout before the refusal (tests check it is empty)

    @classmethod
    def for_layer(cls, layer: str, detail: str, *, stdout: str = "") -> SandboxUnavailable:
        name = LAYERS.get(layer, layer)
        return cls(f"Python 沙箱不可用，已拒绝运行代码：{name} 无法启用。原因：{detail}", layer=layer, stdout=stdout)


class SandboxBusy(RuntimeError):
    """All sandbox slots stayed busy for the whole queue timeout (or the queue is full)."""

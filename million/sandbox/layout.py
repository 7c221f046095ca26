"""What the sandbox's root filesystem contains, and the matching Landlock rules: the interpreter and
its libraries read-only, the work folder read-write, a few device nodes; nothing else. The project
folder, the data folder (warehouse), artifacts and .env must never be part of it: a bind source
that contains one of them makes the sandbox refuse to start."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from million.sandbox.errors import SandboxUnavailable
from million.sandbox.inside import landlock

INSIDE_DIR = Path(__file__).resolve().parent / "inside"
INSIDE_MOUNT = "/opt/million-sandbox"
WORK = "/sandbox"
DEVICES = ["/dev/null", "/dev/zero", "/dev/urandom", "/dev/random"]
_TOP_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")


@dataclass
class Layout:
    binds: list[list[str]] = field(default_factory=list)  # [host source, path inside], read-only
    symlinks: list[list[str]] = field(default_factory=list)  # [link target, link path]
    devices: list[str] = field(default_factory=lambda: list(DEVICES))

    def landlock_rules(self) -> list[list]:
        # Of the sandbox's own folder only the helpers stay readable (the launcher is loaded by then).
        rules: list[list] = [[f"{dst}/lib" if dst == INSIDE_MOUNT else dst, landlock.RO] for _, dst in self.binds]
        rules += [[dev, landlock.READ_FILE | landlock.WRITE_FILE] for dev in self.devices]
        rules.append([WORK, landlock.RW])
        return rules


def _collapse(paths: set[str]) -> list[str]:
    """Drop paths already covered by a parent in the set."""
    out: list[str] = []
    for p in sorted(paths):
        if not any(p == q or p.startswith(q.rstrip("/") + "/") for q in out):
            out.append(p)
    return out


def _font_dir() -> str | None:
    try:
        from million.charts import font_path

        return str(font_path().resolve().parent)
    except Exception:  # noqa: BLE001 - no CJK font: charts still work, with boxes for 中文
        return None


def site_dirs(python: str) -> list[str]:
    """site-packages of `python` (the launcher runs with -S and adds them itself)."""
    if python == sys.executable:
        import site

        return [d for d in site.getsitepackages() if os.path.isdir(d)]
    import subprocess

    out = subprocess.run([python, "-I", "-c", "import site, json; print(json.dumps(site.getsitepackages()))"],
                         capture_output=True, text=True, timeout=30, check=True).stdout
    import json

    return [d for d in json.loads(out) if os.path.isdir(d)]


def build(python: str, *, forbidden: list[Path]) -> Layout:
    """The read-only part of the sandbox root for interpreter `python` (the venv's python)."""
    paths = {"/usr"}
    lay = Layout()
    for top in _TOP_LINKS:
        if os.path.islink(top):
            lay.symlinks.append([os.readlink(top), top])
        elif os.path.isdir(top):
            paths.add(top)
    if os.path.isfile("/etc/ld.so.cache"):
        paths.add("/etc/ld.so.cache")
    if python == sys.executable:
        prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    else:  # a different interpreter: its own prefixes (rare; used by tests only)
        prefixes = {str(Path(python).parent.parent)}
    paths |= {str(Path(p).resolve()) for p in prefixes}
    paths.add(str(Path(python).resolve().parent))
    font = _font_dir()
    if font:
        paths.add(font)
    for p in _collapse(paths):
        for secret in forbidden:
            s = str(secret.resolve())
            if s == p or s.startswith(p.rstrip("/") + "/"):
                raise SandboxUnavailable.for_layer("filesystem", f"解释器目录 {p} 包含受保护的路径 {s}，不能挂载进沙箱")
        lay.binds.append([p, p])
    lay.binds.append([str(INSIDE_DIR), INSIDE_MOUNT])
    return lay

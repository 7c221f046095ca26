"""Headless Chromium for the dashboard tests: Debian's chromium and CJK fonts, installed with
apt-get when missing and we are root; otherwise the test is skipped with the reason."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
# Playwright starts every browser with a fresh temporary profile (its own --user-data-dir).
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PACKAGES = {"chromium": lambda: Path(CHROMIUM).exists(), "fonts-noto-cjk": lambda: _has_cjk_font()}


def _has_cjk_font() -> bool:
    if shutil.which("fc-list"):
        out = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True, timeout=30).stdout
        return bool(out.strip())
    return any(Path("/usr/share/fonts").rglob("NotoSansCJK*"))


def ensure_chromium() -> str:
    """The chromium path, after installing what is missing; pytest.skip with the reason otherwise."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("未安装 playwright Python 包（pip install playwright；浏览器用系统的 chromium）")
    missing = [name for name, present in PACKAGES.items() if not present()]
    if missing:
        if os.geteuid() != 0 or not shutil.which("apt-get"):
            pytest.skip(f"缺少 {', '.join(missing)}，且当前不是 root（或没有 apt-get），无法自动安装")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *missing]):
            r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
            if r.returncode != 0:
                pytest.skip(f"apt-get 安装 {', '.join(missing)} 失败：{r.stderr[-300:]}")
        still = [name for name, present in PACKAGES.items() if not present()]
        if still:
            pytest.skip(f"安装后仍缺少 {', '.join(still)}")
    return CHROMIUM

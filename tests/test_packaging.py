"""`pip install .` gives a working product without the source tree on sys.path: the packages, the
`million` command and the prompts it reads come from the install; data goes to the working folder."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ["pyproject.toml", "README.md", "assistant_bot.py", "prompts", "eval/cases.jsonl", "eval/README.md",
           "million", "conversation", "agent", "tools", "webapp", "evaluation", "benchmarks", "commands"]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project installed (no deps, no network) into a fresh environment that borrows only the
    third-party packages of the test environment."""
    tmp = tmp_path_factory.mktemp("pkg")
    src = tmp / "src"
    for name in SOURCES:  # a copy, so the build leaves nothing in the checkout
        target = src / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, target, ignore=shutil.ignore_patterns("__pycache__", "results"))
        else:
            shutil.copy2(ROOT / name, target)
    env = tmp / "env"  # --ignore-installed below: pip must not uninstall the checkout's own editable install
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True)
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                           "--disable-pip-version-check", "--ignore-installed", "--prefix", str(env), str(src)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    site = Path(sysconfig.get_path("purelib", vars={"base": str(env), "platbase": str(env)}))
    # Third-party packages only: a plain path line, so the checkout's editable-install hook is not run.
    (site / "borrowed.pth").write_text(sysconfig.get_path("purelib") + "\n", encoding="utf-8")
    return env


def run(env: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(env / "bin" / "python"), *args], cwd=cwd, capture_output=True, text=True, timeout=300,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(cwd)})


def test_the_install_runs_without_the_source_tree(installed: Path, tmp_path: Path) -> None:
    code = ("import million, commands, agent.turn, webapp, assistant_bot, sys\n"
            "from million.settings import get_settings, ROOT\n"
            "from million.prompts import system_prompt\n"
            "s = get_settings()\n"
            f"assert {str(ROOT)!r} not in million.__file__ + commands.__file__ + assistant_bot.__file__, million.__file__\n"
            "assert 'share/million-assistant/prompts' in str(s.prompts_dir), s.prompts_dir\n"
            "print(ROOT, len(system_prompt(today='2026-10', dialect='duckdb', tool_list='- sql_inter：SQL')))\n")
    done = run(installed, tmp_path, "-c", code)
    assert done.returncode == 0, done.stderr[-3000:]
    root, size = done.stdout.split()
    assert Path(root) == tmp_path.resolve() and int(size) > 5000  # data lives where the command runs
    assert (installed / "bin" / "million").exists()  # the console entry point


def test_million_command_generates_data_in_the_working_folder(installed: Path, tmp_path: Path) -> None:
    done = run(installed, tmp_path, "-m", "commands")
    assert done.returncode == 2 and "generate" in done.stdout and "add-user" in done.stdout
    done = run(installed, tmp_path, "-m", "commands", "generate", "--customers", "60", "--months", "6",
               "--format", "parquet", "--out", "data")
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "data" / "customer_base.parquet").exists()
    done = run(installed, tmp_path, "-m", "commands", "no-such-thing")
    assert done.returncode == 2 and "未知的子命令" in done.stderr

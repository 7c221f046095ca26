"""The layers stay layers: the domain core (million/) is framework-free, the conversation state sits
below both the agent and the tools, and no module or package imports its way back in a circle.
Read from the source with `ast`, so a lazy import inside a function counts too."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("million", "conversation", "tools", "agent", "webapp", "evaluation", "benchmarks", "commands")
# What each package must never import (directly or lazily).
FORBIDDEN = {
    "million": {"qwen_agent", "gradio", "conversation", "tools", "agent", "webapp", "evaluation", "benchmarks"},
    "conversation": {"qwen_agent", "gradio", "tools", "agent", "webapp", "evaluation", "benchmarks"},
    "tools": {"gradio", "agent", "webapp", "evaluation", "benchmarks"},
    "agent": {"gradio", "webapp", "evaluation", "benchmarks"},
    "webapp": {"evaluation", "benchmarks"},
}


def _modules() -> dict[str, Path]:
    mods = {}
    for pkg in PACKAGES:
        for f in (ROOT / pkg).rglob("*.py"):
            name = ".".join(f.relative_to(ROOT).with_suffix("").parts)
            mods[name.removesuffix(".__init__")] = f
    return mods


def _imports(f: Path, modules: dict[str, Path] | None = None) -> set[str]:
    """Imported names. `from pkg import sub` names the submodule only (every submodule import runs
    its package's __init__ anyway; that is not an edge of its own), `from pkg import thing` the package."""
    names = set()
    for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for a in node.names:
                full = f"{node.module}.{a.name}"
                names.add(full if modules is not None and full in modules else node.module)
                names.add(full)
    return names


def _graph() -> dict[str, set[str]]:
    mods = _modules()

    def resolve(name: str) -> str | None:
        while name:
            if name in mods:
                return name
            name = name.rpartition(".")[0]
        return None

    return {m: {t for n in _imports(f, mods) if (t := resolve(n)) and t != m} for m, f in mods.items()}


@pytest.mark.parametrize("pkg", sorted(FORBIDDEN))
def test_forbidden_imports(pkg: str) -> None:
    bad = []
    for f in (ROOT / pkg).rglob("*.py"):
        for name in _imports(f):
            if name.split(".")[0] in FORBIDDEN[pkg]:
                bad.append(f"{f.relative_to(ROOT)} imports {name}")
    assert not bad, "\n".join(sorted(bad))


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_module_imports_itself_in_a_circle() -> None:
    assert _cycles(_graph()) == []


def package_graph() -> dict[str, set[str]]:
    packages: dict[str, set[str]] = defaultdict(set)
    for m, targets in _graph().items():
        packages[m.split(".")[0]] |= {t.split(".")[0] for t in targets} - {m.split(".")[0]}
    return dict(packages)


def test_no_package_imports_itself_in_a_circle() -> None:
    assert _cycles(package_graph()) == []


def test_the_cycle_check_can_fail() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def largest(root: Path, k: int = 8) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """The k longest modules and functions (lines, name) of our packages and scripts."""
    mods, funcs = [], []
    for f in sorted(root.rglob("*.py")):
        rel = f.relative_to(root)
        if rel.parts[0] not in (*PACKAGES, "scripts", "research") and len(rel.parts) > 1:
            continue
        if rel.parts[0] in ("tests", ".venv") or rel.parts[0].startswith("."):
            continue
        text = f.read_text(encoding="utf-8")
        mods.append((len(text.splitlines()), str(rel)))
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                funcs.append((node.end_lineno - node.lineno + 1, f"{rel}:{node.name}"))
    return sorted(mods, reverse=True)[:k], sorted(funcs, reverse=True)[:k]


if __name__ == "__main__":  # python -m tests.test_layering [ROOT]: package arrows, cycles and sizes
    import sys

    if len(sys.argv) > 1:  # another checkout, e.g. an older commit in a git worktree
        ROOT = Path(sys.argv[1]).resolve()
        PACKAGES = tuple(p.name for p in sorted(ROOT.iterdir()) if (p / "__init__.py").exists() and p.name != "tests")
    for pkg, targets in sorted(package_graph().items()):
        print(f"{pkg} -> {', '.join(sorted(targets)) or '(nothing of ours)'}")
    print("package cycles:", _cycles(package_graph()) or "none")
    print("module cycles:", _cycles(_graph()) or "none")
    top_modules, top_functions = largest(ROOT)
    print("largest modules (lines):", "; ".join(f"{n} {m}" for n, m in top_modules))
    print("largest functions (lines):", "; ".join(f"{n} {m}" for n, m in top_functions))

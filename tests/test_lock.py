"""requirements.lock (what scripts/bootstrap.sh installs) must agree with pyproject.toml's ranges: a range
changed without re-running scripts/lock.sh would otherwise go unnoticed, because the install takes the lock."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")


def lock_entries(text: str) -> dict[str, tuple[str, int]]:
    """name -> (version, number of hashes) of every pinned requirement in a pip-style lock."""
    out: dict[str, tuple[str, int]] = {}
    name = None
    for line in text.splitlines():
        m = PIN.match(line)
        if m:
            name = canonicalize_name(m[1])
            out[name] = (m[2], 0)
        elif name and line.strip().startswith("--hash=sha256:"):
            out[name] = (out[name][0], out[name][1] + 1)
        elif not line.startswith((" ", "#")) and line.strip():
            raise AssertionError(f"unexpected line in the lock: {line!r}")
    return out


def declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    reqs = project["project"]["dependencies"] + project["project"]["optional-dependencies"]["dev"]
    return [Requirement(r) for r in reqs + project["build-system"]["requires"]]


def mismatches(lock: dict[str, tuple[str, int]], reqs: list[Requirement]) -> list[str]:
    bad = []
    for r in reqs:
        entry = lock.get(canonicalize_name(r.name))
        if entry is None:
            bad.append(f"{r.name} missing")
        elif not r.specifier.contains(entry[0], prereleases=True):
            bad.append(f"{r.name}=={entry[0]} outside {r.specifier}")
    bad += [f"{n} has no hash" for n, (_, hashes) in lock.items() if hashes == 0]
    return bad


def test_lock_pins_every_declared_dependency_within_its_range_with_hashes() -> None:
    lock = lock_entries((ROOT / "requirements.lock").read_text(encoding="utf-8"))
    assert len(lock) > len(declared())  # the transitive dependencies are pinned too
    assert mismatches(lock, declared()) == []


def test_mismatches_catches_a_stale_or_unhashed_lock() -> None:
    lock = lock_entries("numpy==1.26.4 \\\n    --hash=sha256:aa\npandas==2.2.0\n")
    reqs = [Requirement("numpy>=2.0,<3"), Requirement("pandas>=2.2"), Requirement("duckdb>=1.1")]
    assert mismatches(lock, reqs) == ["numpy==1.26.4 outside <3,>=2.0", "duckdb missing", "pandas has no hash"]


def test_spark_lock_adds_the_spark_extra_with_the_same_shared_versions() -> None:
    """requirements-spark.lock (installed by make test, not make run) pins the spark extra within its ranges,
    with hashes, and every package both locks hold at the same version."""
    main = lock_entries((ROOT / "requirements.lock").read_text(encoding="utf-8"))
    spark = lock_entries((ROOT / "requirements-spark.lock").read_text(encoding="utf-8"))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    extra = [Requirement(r) for r in project["project"]["optional-dependencies"]["spark"]]
    assert {r.name for r in extra} >= {"pyspark", "pyhive"}
    assert mismatches(spark, declared() + extra) == []
    assert {n: v for n, (v, _) in main.items()} == {n: spark[n][0] for n in main}
    assert "pyspark" not in main  # make run never installs Spark

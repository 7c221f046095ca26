"""The sandbox fails closed: when any layer is missing it raises SandboxUnavailable (in Chinese,
naming the layer) and the code never runs. Missing layers are simulated inside the real chain (an
unshare without --pid/--net, no uid drop, no rlimits, Landlock reported absent, a host folder leaking
into the root), so the refusal comes from the checks that guard every real call."""

from __future__ import annotations

from pathlib import Path

import pytest

from million.sandbox import Sandbox, SandboxUnavailable, identity, layout
from million.sandbox.errors import LAYERS
from million.sandbox.pool import SlotPool
from tests.sandbox.conftest import SESSION_UID_BASE

MARKER = "print('THE CODE RAN')"


def _sandbox(work_base: Path, **kw: object) -> Sandbox:
    kw.setdefault("uid_base", SESSION_UID_BASE)
    return Sandbox(pool=SlotPool(1), work_base=str(work_base), **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("layer", ["namespaces", "network", "filesystem", "identity", "rlimits", "cgroup", "landlock",
                                   "seccomp"])
def test_refuses_when_a_layer_is_missing_inside_the_chain(layer: str, work_base: Path, host_ok) -> None:
    sb = _sandbox(work_base, simulate_missing={layer})
    with pytest.raises(SandboxUnavailable) as probe:
        sb.check_available()
    assert probe.value.layer == layer and LAYERS[layer] in str(probe.value) and "拒绝运行" in str(probe.value)
    # Even with the probe skipped, the per-call checks refuse: the user code never starts.
    sb._layout = sb._static_checks()
    sb._checked = True
    with pytest.raises(SandboxUnavailable) as call:
        sb.run(MARKER, timeout_s=20)
    assert call.value.layer == layer and "THE CODE RAN" not in str(call.value)
    assert call.value.stdout == ""


def test_refuses_without_unshare(work_base: Path) -> None:
    with pytest.raises(SandboxUnavailable, match="命名空间") as e:
        _sandbox(work_base, unshare="/nonexistent/unshare").run(MARKER)
    assert e.value.layer == "namespaces"


def test_refuses_without_setpriv(work_base: Path) -> None:
    with pytest.raises(SandboxUnavailable, match="身份降权") as e:
        _sandbox(work_base, setpriv="/nonexistent/setpriv").run(MARKER)
    assert e.value.layer == "identity"


def test_refuses_when_landlock_is_too_old(work_base: Path) -> None:
    with pytest.raises(SandboxUnavailable, match="Landlock") as e:
        _sandbox(work_base, min_landlock_abi=99).run(MARKER)
    assert e.value.layer == "landlock"


def test_refuses_an_unsafe_uid_range(work_base: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for base in (0, 1000, 65534):
        with pytest.raises(SandboxUnavailable, match="uid") as e:
            _sandbox(work_base, uid_base=base).run(MARKER)
        assert e.value.layer == "identity"
    # A range that an existing account uses (nobody) is refused even when above the floor.
    monkeypatch.setattr(identity, "MIN_UID_BASE", 0)
    with pytest.raises(SandboxUnavailable, match="nobody"):
        identity.check(65534 - 3, 8)


def test_refuses_when_not_root() -> None:
    with pytest.raises(SandboxUnavailable, match="root") as e:
        identity.check(identity.UID_BASE, euid=1000)
    assert e.value.layer == "identity"


def test_refuses_to_mount_a_folder_holding_protected_paths(tmp_path: Path) -> None:
    import sys

    venv = Path(sys.prefix)
    with pytest.raises(SandboxUnavailable, match="受保护") as e:
        layout.build(sys.executable, forbidden=[venv / "lib"])
    assert e.value.layer == "filesystem"
    lay = layout.build(sys.executable, forbidden=[tmp_path])  # and the normal layout passes
    assert ["/usr", "/usr"] in lay.binds


def test_unavailable_is_a_plain_runtime_error_too() -> None:
    """Callers (and their tests) raise it like any RuntimeError; the sandbox adds the layer."""
    e = SandboxUnavailable("模拟缺少一层隔离")
    assert isinstance(e, RuntimeError) and str(e) == "模拟缺少一层隔离" and e.layer == ""
    e = SandboxUnavailable.for_layer("seccomp", "不支持的架构")
    assert e.layer == "seccomp" and "拒绝运行" in str(e) and LAYERS["seccomp"] in str(e)

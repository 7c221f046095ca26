"""python_inter cases: reading outside the work folder, writing outside it, other conversations'
folders, environment secrets."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest

from million.sandbox import Sandbox
from million.sandbox.layout import INSIDE_DIR
from million.settings import ROOT
from tests.sandbox.conftest import world_readable

# Tries to read each path; prints {path: "DENIED: <error>" | "READ: <first bytes>"} as JSON.
READER = """
import json, os, sys
result = {}
for p in json.loads(sys.argv_paths):
    try:
        if os.path.isdir(p):
            result[p] = "READ: " + ",".join(os.listdir(p))[:80]
        else:
            with open(p, "rb") as fh:
                result[p] = "READ: " + fh.read(40).decode("latin-1")
    except Exception as e:
        result[p] = f"DENIED: {type(e).__name__}"
print(json.dumps(result))
"""


def try_read(sandbox: Sandbox, paths: list[str]) -> dict[str, str]:
    code = READER.replace("sys.argv_paths", repr(json.dumps(paths)))
    res = sandbox.run(code, timeout_s=20)
    assert res.ok, res.stderr
    return json.loads(res.stdout)


def assert_denied(result: dict[str, str]) -> None:
    leaked = {p: r for p, r in result.items() if not r.startswith("DENIED")}
    assert not leaked, leaked


def test_reads_etc_passwd_and_system_files(sandbox: Sandbox, host_ok) -> None:
    assert Path("/etc/passwd").read_text()  # readable on the host
    assert_denied(try_read(sandbox, ["/etc/passwd", "/etc/shadow", "/etc/hostname", "/etc", "/root", "/home"]))


def test_reads_warehouse_file(sandbox: Sandbox, small_wh_url: str, exposed_dir: Path, host_ok) -> None:
    real = Path(small_wh_url.removeprefix("duckdb:///"))
    copy = world_readable(exposed_dir / "warehouse.duckdb", real.read_bytes()[:4096])
    assert_denied(try_read(sandbox, [str(real), str(real.parent), str(copy), str(exposed_dir)]))


def test_reads_dotenv_and_project_files(sandbox: Sandbox, exposed_dir: Path, host_ok) -> None:
    env = world_readable(exposed_dir / ".env", b"DASHSCOPE_API_KEY=sk-exposed-secret\nDB_URL=mysql://u:pw@h/db\n")
    # The repository itself is world-readable on the host: only the sandbox keeps it out.
    assert (ROOT / "pyproject.toml").stat().st_mode & 0o004
    paths = [str(env), str(ROOT / ".env"), str(ROOT / "pyproject.toml"), str(ROOT / "million" / "settings.py"),
             str(ROOT), str(INSIDE_DIR / "launcher.py")]
    assert_denied(try_read(sandbox, paths))


def test_reads_model_files_under_artifacts(sandbox: Sandbox, exposed_dir: Path, host_ok) -> None:
    model = world_readable(exposed_dir / "artifacts" / "propensity" / "model.txt", b"tree\nnum_leaves=31\n")
    paths = [str(model), str(model.parent), str(ROOT / "artifacts"), str(ROOT / "data")]
    assert_denied(try_read(sandbox, paths))


def test_reads_proc_of_other_processes(sandbox: Sandbox, host_ok) -> None:
    me = os.getpid()
    paths = ["/proc", f"/proc/{me}/environ", f"/proc/{me}/cmdline", "/proc/1/environ", "/proc/self/environ",
             "/proc/self/status", f"/proc/{me}/root/etc/passwd", "/sys/class/net"]
    assert_denied(try_read(sandbox, paths))


def test_sandbox_plumbing_is_not_readable_once_code_runs(sandbox: Sandbox, host_ok) -> None:
    # The launcher's own config and the code file were readable during setup; Landlock closed them.
    assert_denied(try_read(sandbox, ["/run/launch.json", "/run/main.py", "/", "/opt/million-sandbox/launcher.py"]))


def test_project_code_cannot_be_imported(sandbox: Sandbox, host_ok) -> None:
    res = sandbox.run("import million.settings", timeout_s=20)
    assert not res.ok and "ModuleNotFoundError" in res.stderr


WRITER = """
import json, os
targets = {targets}
result = {{}}
for p in targets:
    try:
        with open(p, "w") as fh:
            fh.write("pwned")
        result[p] = "WROTE"
    except Exception as e:
        result[p] = f"DENIED: {{type(e).__name__}}"
for p in ["/tmp", "/dev/shm", "/var/tmp"]:
    try:
        os.mkdir(p + "/pwned-dir")
        result[p + "/pwned-dir"] = "WROTE"
    except Exception as e:
        result[p + "/pwned-dir"] = f"DENIED: {{type(e).__name__}}"
print(json.dumps(result))
"""


def test_writes_outside_work_folder(sandbox: Sandbox, exposed_dir: Path, host_ok) -> None:
    exposed_dir.chmod(0o777)  # even a world-writable host folder stays out of reach
    import site

    site_pkg = site.getsitepackages()[0]
    targets = [str(exposed_dir / "pwned.txt"), "/tmp/pwned.txt", "/etc/pwned.txt", f"{site_pkg}/pwned.py",
               "/opt/million-sandbox/pwned.py", "/sandbox/../pwned.txt", "/pwned.txt", str(ROOT / "pwned.txt"),
               "/dev/pwned"]
    res = sandbox.run(WRITER.format(targets=repr(targets)), timeout_s=20)
    assert res.ok, res.stderr
    result = json.loads(res.stdout)
    assert all(v.startswith("DENIED") for v in result.values()), result
    for host_path in (exposed_dir / "pwned.txt", Path("/tmp/pwned.txt"), Path(site_pkg, "pwned.py"),
                      ROOT / "pwned.txt", INSIDE_DIR / "pwned.py"):
        assert not host_path.exists()


def test_environment_secrets_not_visible(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, host_ok) -> None:
    secrets = {"DASHSCOPE_API_KEY": "sk-live-0123456789", "LLM_API_KEY": "sk-other-987",
               "DB_URL": "mysql+pymysql://loader:db-password-42@127.0.0.1/bank", "MYSQL_PWD": "db-password-42"}
    for k, v in secrets.items():
        monkeypatch.setenv(k, v)
    code = "import os, json\nprint(json.dumps(dict(os.environ)))\nprint(open('/proc/self/environ').read() if os.path.exists('/proc') else '')"
    res = sandbox.run(code, timeout_s=20)
    assert res.ok, res.stderr
    env = json.loads(res.stdout.splitlines()[0])
    assert set(env) <= {"PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "MPLBACKEND", "MPLCONFIGDIR",
                        "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_MAX_THREADS"}
    for v in secrets.values():
        assert v not in res.stdout and v not in res.stderr
    assert env["HOME"] == "/sandbox" and env["MPLBACKEND"] == "Agg"


def test_other_conversations_folders(sandbox: Sandbox, host_ok) -> None:
    """Conversation A keeps a secret in its folder while B (running at the same time) hunts for it."""
    secret = "conversation-A-secret-7f3a"
    holder = f"open('notes.txt', 'w').write({secret!r})\nimport time\ntime.sleep(4)\nprint('A done')"
    results: dict[str, object] = {}
    a = threading.Thread(target=lambda: results.setdefault("a", sandbox.run(holder, timeout_s=20,
                                                                            conversation_id="A")))
    a.start()
    time.sleep(1.5)  # A is running (and holding its folder) by now
    hunter = """
import glob, os
found = []
for pattern in ["/sandbox/../*", "/tmp/*", "/tmp/million-sbx-*/*", "/proc/*/root/sandbox/*", "/*/notes.txt",
                "/**/notes.txt"]:
    try:
        found += glob.glob(pattern, recursive=True)
    except Exception as e:
        found.append(repr(e))
for p in found:
    try:
        print(p, open(p).read())
    except Exception as e:
        print(p, type(e).__name__)
print("listing", os.listdir("/sandbox"))
"""
    b = sandbox.run(hunter, timeout_s=20, conversation_id="B")
    a.join()
    assert results["a"].ok and results["a"].stdout.strip() == "A done"  # type: ignore[union-attr]
    assert b.ok, b.stderr
    assert secret not in b.stdout and "notes.txt" not in b.stdout
    assert "listing ['.mplconfig']" in b.stdout or "listing []" in b.stdout


def test_state_not_shared_between_calls(sandbox: Sandbox, host_ok) -> None:
    first = sandbox.run("import os, builtins\nopen('state.txt','w').write('one')\nbuiltins.LEAK = 1\n"
                        "os.environ['LEAK'] = '1'\nprint(os.getuid())", timeout_s=20, conversation_id="A")
    second = sandbox.run("import os, builtins\nprint(os.path.exists('state.txt'), hasattr(builtins, 'LEAK'), "
                         "'LEAK' in os.environ, sorted(os.listdir('.')))", timeout_s=20, conversation_id="B")
    assert first.ok and second.ok, (first.stderr, second.stderr)
    assert [o.name for o in first.outputs] == ["state.txt"]
    assert second.stdout.strip() == "False False False ['.mplconfig']"

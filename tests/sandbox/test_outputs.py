"""python_inter cases: huge output, huge files, thousands of files, outputs that are not plain files
inside the work folder or not the type they claim."""

from __future__ import annotations

import io
import os
import tracemalloc
from pathlib import Path

import pandas as pd

from million.sandbox import Sandbox
from million.sandbox.limits import Limits
from million.sandbox.outputs import collect, content_matches

PNG_1PX = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                        "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


def test_100_mb_to_stdout_is_capped_without_buffering(sandbox: Sandbox, host_ok) -> None:
    code = "import sys\nchunk = 'x' * 1_000_000\nfor _ in range(100):\n    sys.stdout.write(chunk)\n" \
           "sys.stderr.write('e' * 5_000_000)\nprint('tail')"
    tracemalloc.start()
    try:
        res = sandbox.run(code, timeout_s=30)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert res.ok, res.stderr[-500:]
    cap = sandbox.limits.stream_cap
    assert res.stdout.startswith("x" * 1000) and len(res.stdout) < cap + 200
    assert "输出过长" in res.stdout and "100,000,005" in res.stdout
    assert len(res.stderr) < cap + 200 and "5,000,000" in res.stderr
    assert peak < 8 * 1024 * 1024  # the host never held the 100 MB


def test_huge_file_is_stopped_by_file_size_limit(sandbox: Sandbox, host_ok) -> None:
    res = sandbox.run("with open('big.csv', 'wb') as f:\n    f.write(b'1,' * (150 * 1024 * 1024))", timeout_s=30)
    assert not res.ok and "File too large" in res.stderr
    assert res.outputs == [] and any("文件过大" in r for r in res.rejected_outputs)


def test_filling_the_work_folder_is_stopped(sandbox: Sandbox, host_ok) -> None:
    code = "for i in range(20):\n    with open(f'part{i}.bin', 'wb') as f:\n        f.write(b'0' * (60 * 1024 * 1024))"
    res = sandbox.run(code, timeout_s=30)
    assert not res.ok and "No space left on device" in res.stderr  # the tmpfs quota, not the host disk


def test_thousands_of_files(sandbox: Sandbox, host_ok) -> None:
    code = "n = 0\ntry:\n    for i in range(10000):\n        open(f'f{i:05}.txt', 'w').write('x')\n        n += 1\n" \
           "except OSError as e:\n    print(n, e.errno)"
    res = sandbox.run(code, timeout_s=30)
    assert res.ok, res.stderr
    created, errno_ = map(int, res.stdout.split())
    assert errno_ == 28 and created < sandbox.limits.work_inodes  # ENOSPC: the inode quota
    assert len(res.outputs) == sandbox.limits.max_outputs
    assert any("另有" in r for r in res.rejected_outputs) and len(res.rejected_outputs) <= 22


def test_link_tricks_and_fake_types_in_the_sandbox(sandbox: Sandbox, host_ok) -> None:
    code = f"""
import os
for name, f in [("symlink", lambda: os.symlink("/etc/passwd", "passwd.txt")),
                 ("fifo", lambda: os.mkfifo("pipe.txt")),
                 ("hardlink", lambda: os.link("data.csv", "copy.csv"))]:
    try:
        f()
        print(name, "made")
    except Exception as e:
        print(name, type(e).__name__)
open("fake.png", "w").write("not a png")
open("chart.png", "wb").write({PNG_1PX!r})
open("evil.svg", "w").write('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')
open("run.sh", "w").write("#!/bin/sh")
open("bad.json", "w").write("{{not json")
os.mkdir("sub")
open("sub/inner.txt", "w").write("nested")
"""
    res = sandbox.run(code, files={"data.csv": b"a,b\n1,2\n"}, timeout_s=20)
    assert res.ok, res.stderr
    assert "symlink PermissionError" in res.stdout and "fifo PermissionError" in res.stdout
    assert [(o.name, o.kind) for o in res.outputs] == [("chart.png", "png")]
    notes = "\n".join(res.rejected_outputs)
    for name in ("copy.csv", "fake.png", "evil.svg", "run.sh", "bad.json"):
        assert name in notes
    assert "inner.txt" not in notes and "sub" not in [o.name for o in res.outputs]


def test_normal_outputs_of_every_allowed_type(sandbox: Sandbox, host_ok) -> None:
    code = """
import json, pandas as pd
df = pd.DataFrame({"客户": ["甲", "乙"], "资产": [1.5, 2.5]})
df.to_csv("表.csv", index=False)
df.to_excel("表.xlsx", index=False)
json.dump({"n": 2}, open("r.json", "w"))
open("说明.md", "w").write("# 结论")
open("r.txt", "w").write("ok")
open("r.html", "w").write("<table><tr><td>1</td></tr></table>")
import matplotlib.pyplot as plt
plt.plot([1, 2]); plt.savefig("c.svg"); plt.savefig("c.png")
"""
    res = sandbox.run(code, files={"data.csv": b"a\n1\n"}, timeout_s=60)
    assert res.ok, res.stderr
    kinds = {o.name: o.kind for o in res.outputs}
    assert kinds == {"表.csv": "csv", "表.xlsx": "xlsx", "r.json": "json", "说明.md": "md", "r.txt": "txt",
                     "r.html": "html", "c.svg": "svg", "c.png": "png"}  # data.csv unchanged: not returned
    xlsx = next(o.data for o in res.outputs if o.kind == "xlsx")
    assert pd.read_excel(io.BytesIO(xlsx), engine="calamine")["资产"].sum() == 4.0


# -- the collector on its own (links and special files it must refuse, made directly on the host) ----

def test_collector_refuses_links_special_files_and_lies(tmp_path: Path) -> None:
    (tmp_path / "ok.txt").write_text("fine")
    (tmp_path / "secret.txt").symlink_to("/etc/passwd")
    outside = tmp_path.parent / f"{tmp_path.name}-outside.csv"
    outside.write_text("a\n1\n")
    os.link(outside, tmp_path / "linked.csv")
    os.mkfifo(tmp_path / "pipe.txt")
    (tmp_path / "fake.png").write_bytes(b"GIF89a....")
    (tmp_path / "fake.xlsx").write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    (tmp_path / "big.txt").write_bytes(b"x" * (2 * 1024 * 1024 + 1))
    (tmp_path / "bin.csv").write_bytes(b"a,b\x00\x01")
    (tmp_path / "-rf.txt").write_text("odd name")
    (tmp_path / "dir.png").mkdir()
    limits = Limits(max_output_mb=2)
    accepted, rejected = collect(str(tmp_path), limits)
    assert [o.name for o in accepted] == ["ok.txt"]
    notes = "\n".join(rejected)
    for name, reason in [("secret.txt", "符号链接"), ("linked.csv", "硬链接"), ("pipe.txt", "不是普通文件"),
                         ("fake.png", "不符"), ("fake.xlsx", "不符"), ("big.txt", "过大"), ("bin.csv", "不符"),
                         ("-rf.txt", "文件名"), ("dir.png", "不是普通文件")]:
        assert any(name in r and reason in r for r in rejected), (name, notes)


def test_collector_refuses_a_symlinked_work_folder(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    try:
        collect(str(tmp_path / "link"), Limits())
    except OSError:
        return
    raise AssertionError("collect followed a symlinked folder")


def test_content_checks() -> None:
    assert content_matches("png", PNG_1PX) and not content_matches("png", b"\x89PNG\r\n\x1a\nxxxxxxxx")
    assert content_matches("json", b'{"a": 1}') and not content_matches("json", b"{a}")
    assert content_matches("svg", b'<?xml version="1.0"?><svg></svg>')
    assert not content_matches("svg", b'<svg onload="alert(1)"></svg>')
    assert not content_matches("svg", b"<html><svg></svg></html>")
    assert content_matches("csv", "客户,资产\n甲,1\n".encode()) and not content_matches("txt", b"\xff\xfe\x00")

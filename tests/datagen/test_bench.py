"""scripts/bench_data.py runs end to end on a tiny size and writes its two result files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_data_smoke(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "scripts/bench_data.py", "--sizes", "120", "--months", "6",
                        "--out", str(tmp_path / "out"), "--work", str(tmp_path / "work")],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    report = json.loads((tmp_path / "out" / "data.json").read_text())
    assert report["machine"]["cores"] >= 1 and report["machine"]["cpu"]
    (run,) = report["runs"]
    assert run["customers"] == 120 and run["behavior_rows"] > 120 * 3
    assert set(run["stages"]) == {"generate", "write", "load"}
    for stage in run["stages"].values():
        assert stage["seconds"] > 0 and stage["peak_rss_mb"] > 50
    assert run["stages"]["load"]["loaded"] == {"customer_base": 120, "customer_behavior_assets": run["behavior_rows"]}
    assert run["stages"]["load"]["rejected"] == 0
    assert [f["name"] for f in run["stages"]["write"]["files"].values()] == [
        "customer_base.xlsx", "customer_behavior_assets.xlsx"]
    md = (tmp_path / "out" / "data.md").read_text()
    assert "| 120 |" in md and "合计 total" in md and "峰值内存" in md
    assert not list((tmp_path / "work").glob("c120/*"))  # work files are cleaned up

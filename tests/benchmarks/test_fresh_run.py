"""The fresh-clone timing: phases from make's `==>` lines, and the build-cost table judged against #23's targets."""

from __future__ import annotations

from benchmarks.fresh_run import _phases
from benchmarks.report import cost_section, fresh_section


def test_phases_run_from_one_marker_to_the_next_and_the_last_to_the_page() -> None:
    marks = [(0.2, "==> 创建虚拟环境 / creating .venv"), (1.0, "==> 按 requirements.lock 安装依赖 / installing"),
             (70.0, "==> 生成模拟数据 / generating"), (82.5, "==> 导入数据仓库 / loading"),
             (88.0, "==> 训练模型与分析产物 / building artifacts")]
    got = {r["phase"]: r["seconds"] for r in _phases(marks, page_s=170.0)}
    assert got == {"make": 0.2, "venv": 0.8, "install": 69.0, "generate": 12.5, "load": 5.5, "build": 82.0}


def _stage(seconds: float, peak: float) -> dict:
    return {"status": "ok", "seconds": seconds, "peak_mib": peak}


def test_cost_table_says_which_targets_the_run_met() -> None:
    stages = ("generate", "load", "features", "train", "segments", "rules", "forecasts")
    small = {"customers": 20_000, "months": 24, "total_seconds": 80.0,
             "stages": {s: _stage(30.0 if s == "train" else 8.0, 2000) for s in stages}}
    big = {"customers": 1_000_000, "months": 24, "total_seconds": 1400.0,
           "stages": {s: _stage(200.0, 9000 if s == "train" else 4000) for s in stages}}
    fresh = {"commit": "abc", "cold": True, "customer": "C0000001", "page_seconds": 150.0, "answered_seconds": 151.2,
             "brief_seconds": 0.4, "answer_ok": True, "measured": "2026-12-06 19:00",
             "phases": [{"phase": "install", "start": 1.0, "seconds": 60.0}]}
    lines = cost_section({"pipeline": {"sizes": [small, big]}, "fresh": fresh})
    row = {ln.split(" | ")[0].strip("| "): ln.split(" | ")[-1].strip(" |") for ln in lines if ln.startswith("| ")}
    assert row["百万概率模型步骤（特征 + 训练），20,000 客户 × 24 月"] == "是"  # 8 + 30 s
    assert row["整个构建，1,000,000 × 24（用时 / 峰值内存）"] == "否"  # fast enough, but 8.8 GiB at its peak
    assert row["整个构建，100,000 × 24"] == "—"  # not measured in this run
    assert row["全新检出：`make run` 到网页回答（含安装）"] == "是"
    assert any("151.2 秒" in ln for ln in fresh_section(fresh))

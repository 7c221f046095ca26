"""The Spark bench's page (bench/results/spark.md) shows what the run measured: the handover beside the
features and scores, and the RM brief on DB_URL=hive with the statements it sent to the cluster."""

from __future__ import annotations

from pathlib import Path

from benchmarks.spark import render
from commands.bench import write_spark_md

SIZE = {"customers": 1_000_000, "months": 24, "feature_rows": 20_959_742, "local_features_s": 302.4,
        "spark_features_s": 332.7, "local_features_rows_per_core_s": 69322.0, "spark_features_rows_per_core_s": 31498.0,
        "spark_handover_s": 171.9, "prospects": 782_408, "local_score_s": 3.78, "spark_score_s": 53.8,
        "spark_score_rows_per_core_s": 7276.0}
THRIFT = {"customers": 100_000, "months": 24, "runs": 5, "select_1": {"p50_ms": 37.0}, "server_start_s": 8.5,
          "queries": [{"name": "最新月客户数", "spark": {"p50_ms": 594.0}, "duckdb": {"p50_ms": 2.2}, "same_result": True,
                       "diff": ""}]}
BRIEF = {"copy_s": 21.0, "copy_rows": {"customer_base": 20_000}, "cluster_statements": 3,
         "brief": {"p50_ms": 23.7, "p95_ms": 26.5, "first_turn_ms": 939.0, "errors": 0, "turns": 200}}


def data(**extra: object) -> dict:
    return {"master": "local[2]", "cores": 2, "sizes": [SIZE], "thrift": THRIFT, **extra}


def test_sizes_row_has_the_handover_and_the_scores() -> None:
    row = next(line for line in render(data()) if line.startswith("| 1,000,000 × 24"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[6] == "171.9 秒" and cells[7] == "782,408" and cells[9] == "53.8 秒" and cells[10] == "7,276"


def test_hive_brief_section_only_when_measured() -> None:
    assert not any("DB_URL=hive" in line for line in render(data()))
    text = "\n".join(render(data(hive_brief=BRIEF)))
    assert "| 23.7 ms | 26.5 ms | 939 ms | 0/200 | 3 |" in text  # a brief that reached the cluster shows it
    assert "customer_base 20,000 行" in text


def test_page_names_the_command_and_its_time(tmp_path: Path) -> None:
    machine = {"cpu": "x", "cores": 2, "memory_gb": 23.5, "os": "Linux", "python": "3.11", "duckdb": "2",
               "load_avg": [1.0, 1.0, 1.0]}
    out = tmp_path / "spark.md"
    write_spark_md(out, data(machine=machine, command="million bench --only spark", seconds=1435.8))
    head = out.read_text(encoding="utf-8").splitlines()[:4]
    assert head[3] == "- 命令：`million bench --only spark`（用时 1,435.8 秒）"

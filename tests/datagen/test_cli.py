"""scripts/generate_data.py: the same seed gives the same bytes in every format, in separate
processes (different hash seeds); another seed gives other data; --id-style hex; bad arguments."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from python_calamine import CalamineWorkbook

ROOT = Path(__file__).resolve().parents[2]
ARGS = ["--customers", "150", "--months", "8", "--end-month", "2025-12"]

# One process writes every variant, so the test pays the interpreter start-up once per run.
RUNNER = """
import sys
sys.path.insert(0, {root!r})
from scripts.generate_data import main
out, args = sys.argv[1], sys.argv[2:]
for fmt in ("xlsx", "csv", "parquet"):
    assert main([*args, "--seed", "7", "--format", fmt, "--out", f"{{out}}/{{fmt}}"]) == 0
assert main([*args, "--seed", "8", "--format", "csv", "--out", f"{{out}}/seed8"]) == 0
assert main([*args, "--seed", "7", "--format", "xlsx", "--id-style", "hex", "--out", f"{{out}}/hex"]) == 0
"""


def run_cli(out: Path, hash_seed: str) -> None:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    r = subprocess.run([sys.executable, "-c", RUNNER.format(root=str(ROOT)), str(out), *ARGS], env=env,
                       capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    a, b = tmp_path_factory.mktemp("cli_a"), tmp_path_factory.mktemp("cli_b")
    run_cli(a, "1")
    run_cli(b, "2")
    return a, b


@pytest.mark.parametrize("fmt", ["xlsx", "csv", "parquet"])
def test_same_seed_same_bytes(runs: tuple[Path, Path], fmt: str) -> None:
    a, b = (r / fmt for r in runs)
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(["customer_base." + fmt, "customer_behavior_assets." + fmt, "oracle.csv"])
    assert names == sorted(p.name for p in b.iterdir())
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_all_formats_hold_the_same_data(runs: tuple[Path, Path]) -> None:
    out = runs[0]
    pq = pd.read_parquet(out / "parquet" / "customer_behavior_assets.parquet")
    csv = pd.read_csv(out / "csv" / "customer_behavior_assets.csv")
    rows = CalamineWorkbook.from_path(str(out / "xlsx" / "customer_behavior_assets.xlsx")).get_sheet_by_index(0).to_python()
    xl = pd.DataFrame(rows[1:], columns=rows[0]).replace("", None)
    for col in pq.columns:
        if pq[col].dtype.kind in "iuf":
            assert (csv[col].to_numpy(dtype=float) == pq[col].to_numpy(dtype=float)).all(), col
            assert (xl[col].to_numpy(dtype=float) == pq[col].to_numpy(dtype=float)).all(), col
        else:
            assert (csv[col].fillna("") == pq[col].fillna("")).all(), col
            assert (xl[col].fillna("") == pq[col].fillna("")).all(), col


def test_another_seed_gives_other_data(runs: tuple[Path, Path]) -> None:
    out = runs[0]
    a = pd.read_csv(out / "csv" / "customer_behavior_assets.csv")
    b = pd.read_csv(out / "seed8" / "customer_behavior_assets.csv")
    assert (out / "csv" / "customer_base.csv").read_bytes() != (out / "seed8" / "customer_base.csv").read_bytes()
    both = a.merge(b, on=["customer_id", "stat_month"], suffixes=("_a", "_b"))
    assert len(both) > 500
    assert (both["total_assets_a"] != both["total_assets_b"]).mean() > 0.9


def test_hex_id_style(runs: tuple[Path, Path]) -> None:
    out = runs[0] / "hex"
    rows = CalamineWorkbook.from_path(str(out / "customer_base.xlsx")).get_sheet_by_index(0).to_python()
    ids = [r[0] for r in rows[1:]]
    assert len(ids) == 150 and len(set(ids)) == 150
    assert all(isinstance(i, str) and len(i) == 32 and all(ch in "0123456789abcdef" for ch in i) for i in ids)
    oracle = pd.read_csv(out / "oracle.csv", dtype=str)
    assert oracle["customer_id"].isin(ids).all()


def test_oracle_is_written_with_its_month(runs: tuple[Path, Path]) -> None:
    oracle = pd.read_csv(runs[0] / "csv" / "oracle.csv")
    assert list(oracle.columns) == ["customer_id", "as_of", "p_true", "p_check"]
    assert set(oracle["as_of"]) == {"2025-09"}  # 2025-05..2025-12: T = 2025-09 leaves T+1..T+3 observed


@pytest.mark.parametrize(("args", "message"), [
    (["--customers", "0"], "--customers 必须是正整数"), (["--months", "3"], "--months 必须在 6 到 60 之间"),
    (["--end-month", "2025-13"], "--end-month 应为 YYYY-MM 格式"), (["--format", "json"], "invalid choice")])
def test_bad_arguments_are_refused(args: list[str], message: str, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    from scripts.generate_data import main

    with pytest.raises(SystemExit) as e:
        main([*args, "--out", str(tmp_path / "out")])
    assert e.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()

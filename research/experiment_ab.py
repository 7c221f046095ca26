"""A code change to the propensity model judged on other datasets: the model built by a base commit against
the model built by the current commit, on mock datasets generated with seeds 1-4 (never the default data).

    python research/experiment_ab.py --base REV --name NAME --why "..." [--seeds 1 2 3 4]
                                    [--work /tmp/million-ab] [--workers 2] [--out bench/results]

Feature changes cannot be expressed as parameters, so each arm runs its own commit's code: the base commit
and the change (this checkout's HEAD, which must have no uncommitted edits) each in a git worktree, so the
result names exactly the code that produced it. Both arms run their own commit's
`experiment_params.run_job(seed, "current", ...)`: the build's own path (load_tables -> feature_table ->
split_months -> make_train_data -> train_models) with the default parameters, on the same datasets. RULE below was fixed and committed before the first run.
Writes <out>/ab_<name>.json and .md; each arm's results are cached under --work per commit.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

import numpy as np  # noqa: E402
from experiment_params import RATIOS  # noqa: E402

from benchmarks.datasets import dataset  # noqa: E402
from benchmarks.experiment import run_machine, save_report, seed_arguments, seed_sections  # noqa: E402

MARGIN = 0.005
GUARD = 0.005
TIME_FACTOR = 2.5

RULE = (
    "在种子 1-4 生成的四份 2 万客户数据上（与默认数据同一生成器，各自的测试月和 Oracle），分别用基准提交与改动后提交的代码"
    "按 `make artifacts` 的同一路径训练，计算 LightGBM 与 Oracle 的比值并取四份数据的均值。主指标：期望前1%精确率比"
    "（前1%客户的 Oracle 真实概率均值之比）。护栏：PR-AUC 比与临界区间 PR-AUC 比的均值都不低于基准减 "
    f"{GUARD}，Brier 比均值不超过 1.2，LightGBM 训练时间均值不超过基准的 {TIME_FACTOR:g} 倍。改动通过护栏且主指标"
    f"比基准高出 {MARGIN} 以上才采用，否则撤回。默认数据（种子 42）不参与决定，决定后再计算。"
)
RULE_EN = (
    "On four 20k-customer datasets generated with seeds 1-4 (same generator as the default data, each with its "
    "own test month and oracle), train with the base commit's code and with the changed commit's code along the "
    "path `make artifacts` takes, compute LightGBM's ratios to the oracle and average them over the datasets. "
    "Primary: the expected precision@1% ratio (mean oracle probability of each top 1%). Guardrails: mean PR-AUC "
    f"ratio and mean band PR-AUC ratio each >= the base's minus {GUARD}; mean Brier ratio <= 1.2; mean LightGBM "
    f"training time <= {TIME_FACTOR:g} x the base's. Adopt the change only if it passes the guardrails and beats the "
    f"base's primary by more than {MARGIN}; otherwise revert it. The default data (seed 42) takes no part in the "
    "decision and is evaluated afterwards."
)
JOB = ("import sys, json; sys.path[:0] = [{root!r}, {root!r} + '/research', {root!r} + '/scripts']; "
       "from experiment_params import run_job; "
       "print('RESULT ' + json.dumps(run_job({seed}, 'current', {work!r}, {customers}), default=float))")


def git(*args: str, cwd: Path = ROOT) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def arm_tree(commit: str, work: Path) -> Path:
    """A detached worktree of `commit` under `work`: an arm runs exactly the committed code, never files
    of this checkout that git does not track."""
    tree = work / f"tree-{commit[:12]}"
    if not tree.exists():
        git("worktree", "add", "--detach", str(tree), commit)
    return tree


def arm_work(work: Path, commit: str, seeds: list[int], customers: int) -> Path:
    """A cache folder per commit that shares the generated datasets (symlinks)."""
    folder = work / f"arm-{commit[:12]}"
    folder.mkdir(parents=True, exist_ok=True)
    for s in seeds:
        link = folder / f"c{customers}_m24_s{s}"
        if not link.exists():
            link.symlink_to(work / "data" / link.name)
    return folder


def run_arm_job(tree: Path, folder: Path, seed: int, customers: int = 20000) -> dict[str, Any]:
    code = JOB.format(root=str(tree), seed=seed, work=str(folder), customers=customers)
    done = subprocess.run([sys.executable, "-c", code], cwd=tree, capture_output=True, text=True)
    lines = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")]
    if done.returncode or not lines:
        raise RuntimeError(f"{tree} seed {seed} failed:\n{done.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT "):])


def decide(jobs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    mean = {arm: {k: float(np.mean([j["ratios"][k] for j in js])) for k in RATIOS} for arm, js in jobs.items()}
    for arm, js in jobs.items():
        mean[arm]["lgbm_seconds"] = float(np.mean([j["lgbm_seconds"] for j in js]))
    a, b = mean["base"], mean["change"]
    checks = {"pr_auc": b["pr_auc"] >= a["pr_auc"] - GUARD, "band_pr_auc": b["band_pr_auc"] >= a["band_pr_auc"] - GUARD,
              "brier": b["brier"] <= 1.2, "time": b["lgbm_seconds"] <= TIME_FACTOR * a["lgbm_seconds"]}
    gain = b["exp_p1"] - a["exp_p1"]
    return {"mean": mean, "checks": checks, "gain": gain, "adopt": all(checks.values()) and gain > MARGIN}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", required=True, help="the commit to compare against")
    ap.add_argument("--name", required=True, help="report name: <out>/ab_<name>.md")
    ap.add_argument("--why", required=True, help="what the change is and why it might help (Chinese)")
    seed_arguments(ap, Path("/tmp/million-ab"), ROOT / "bench" / "results")
    args = ap.parse_args()
    if git("status", "--porcelain", "--untracked-files=no"):
        sys.exit("请先提交改动：结果要能指明产生它的代码")
    commits = {"base": git("rev-parse", args.base), "change": git("rev-parse", "HEAD")}
    print("决定规则（运行前确定）：" + RULE, flush=True)
    for s in args.seeds:  # the same datasets for both arms, generated once
        dataset(args.work / "data", args.customers, 24, s)
    trees = {arm: arm_tree(c, args.work) for arm, c in commits.items()}
    folders = {arm: arm_work(args.work, c, args.seeds, args.customers) for arm, c in commits.items()}
    load_start = os.getloadavg()
    t0 = time.perf_counter()
    todo = [(arm, s) for s in args.seeds for arm in commits]
    with ThreadPoolExecutor(args.workers) as pool:
        futures = {(arm, s): pool.submit(run_arm_job, trees[arm], folders[arm], s, args.customers) for arm, s in todo}
        jobs: dict[str, list[dict[str, Any]]] = {arm: [] for arm in commits}
        for (arm, s), f in futures.items():
            j = f.result()
            jobs[arm].append(j)
            print(f"种子 {s} {arm}: 期望前1%比 {j['ratios']['exp_p1']:.4f}，PR-AUC 比 {j['ratios']['pr_auc']:.4f}，"
                  f"LightGBM {j['lgbm_seconds']:.0f} 秒", flush=True)
    out = {"rule": RULE, "rule_en": RULE_EN, "name": args.name, "why": args.why, "commits": commits,
           "seeds": args.seeds, "jobs": jobs, "decision": decide(jobs), "wall_seconds": round(time.perf_counter() - t0, 1),
           "machine": run_machine(args.workers, load_start), "generated_at": time.strftime("%Y-%m-%d %H:%M:%S")}
    print(save_report(args.out, f"ab_{args.name}", out, render_md))


def render_md(r: dict[str, Any]) -> str:
    d = r["decision"]
    mean_rows = [{"代码": f"{arm}（{r['commits'][arm][:10]}）", "期望前1%精确率比": m["exp_p1"], "前1%精确率比": m["p1"],
                  "PR-AUC 比": m["pr_auc"], "临界区间 PR-AUC 比": m["band_pr_auc"], "Brier 比": m["brier"],
                  "LightGBM 秒": round(m["lgbm_seconds"], 1)} for arm, m in d["mean"].items()]
    job_rows = [{"种子": j["seed"], "代码": arm, "测试月": j["test_month"], **{k: round(j["ratios"][k], 4) for k in RATIOS},
                 "早停轮数": "/".join(map(str, j["rounds"])), "LightGBM 秒": j["lgbm_seconds"]}
                for arm, js in r["jobs"].items() for j in sorted(js, key=lambda j: j["seed"])]
    failed = [k for k, ok in d["checks"].items() if not ok]
    verdict = "采用改动" if d["adopt"] else "撤回改动"
    return "\n".join([
        f"# 改动评估（A/B）：{r['name']}", "", r["why"], "",
        f"基准 `{r['commits']['base'][:10]}`，改动 `{r['commits']['change'][:10]}`。所有数字都是 LightGBM 与该数据自己的 Oracle "
        "在测试月上的比值。", "",
        "## 决定规则（运行前确定并提交）", "", r["rule"], "", r["rule_en"], "",
        f"## 结果：{verdict}（主指标变化 {d['gain']:+.4f}，护栏{'全部通过' if not failed else '未通过：' + '、'.join(failed)}）", "",
        *seed_sections(r, mean_rows, job_rows, "决定"),
        f"生成：`python research/experiment_ab.py --base {r['commits']['base'][:10]} --name {r['name']}`（{r['generated_at']}）。", "",
    ])


if __name__ == "__main__":
    main()

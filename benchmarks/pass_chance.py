"""How often would a ranking meet the precision@1% target if the test month's 3 months were drawn again?

The target compares realised hits: a scorer's top 1% against the oracle's top 1%, on the one future the test
month happened to have. With the hidden state at T kept (generate(..., keep_hidden=True)), the generator can
draw that future again as often as we like (`redraw_outcomes`); each draw gives every fixed ranking a
realised precision, and the share of draws in which a ranking reaches 0.90 x the oracle's is its chance of
passing the target, luck included. Rankings are fixed: only the future is redrawn.
"""

from __future__ import annotations

from typing import Any

import numpy as np

TARGET = 0.90
# For reports that put a model's expected ratio next to the ceilings' (measured 2026-12-06, pass_chance.md).
EXPECTED_RATIO_CAVEAT = (
    "注意：Oracle 的概率是有限条蒙特卡洛路径的估计。Oracle 和各上限按这些带误差的概率选出前1%，又用同一批路径的概率"
    "计算期望命中，所以它们的期望命中偏高（赢家诅咒）；模型的前1%不是按这些误差选的，它的期望命中没有偏差。"
    "因此按 p_true 计时，模型的期望比值（分母是 Oracle 的）偏低，不能与上限的比值直接比较；按 oracle.csv 的独立"
    "第二次估计 p_check 计的比值都没有这种偏差，可以直接比较（只有带 p_check 的数据才有）。"
    "另一种同尺度的比较（把测试月之后的 3 个月重新抽取多次）见 bench/results/pass_chance.md。"
)


def hits_per_future(weights: dict[str, np.ndarray], outcomes: np.ndarray) -> dict[str, np.ndarray]:
    """Hits of each scorer's top k in every future: weights (rows) @ outcomes (rows x futures)."""
    y = outcomes.astype(float)
    return {name: w @ y for name, w in weights.items()}


def summarize(ratio: np.ndarray, realised: float | None = None, bound: float = TARGET) -> dict[str, Any]:
    """Distribution of a scorer's realised precision ratio over the futures, its chance of reaching `bound`,
    and where the real test month's ratio (`realised`) falls among them."""
    out: dict[str, Any] = {
        "futures": int(ratio.size), "mean": float(ratio.mean()),
        "p05": float(np.quantile(ratio, 0.05)), "median": float(np.median(ratio)),
        "p95": float(np.quantile(ratio, 0.95)), "pass_rate": float((ratio >= bound).mean()),
    }
    # binomial standard error of the pass rate from the finite number of futures
    out["pass_rate_se"] = float(np.sqrt(out["pass_rate"] * (1 - out["pass_rate"]) / ratio.size))
    if realised is not None:
        out["realised"] = float(realised)
        out["realised_quantile"] = float((ratio < realised).mean() + 0.5 * (ratio == realised).mean())
    return out

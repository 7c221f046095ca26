"""The model card (markdown): what the served model is, how it was validated, how good it is."""

from __future__ import annotations

from typing import Any

import pandas as pd

from million.fmt import md_table, pct
from million.propensity.bundle import MODEL_TITLES
from million.propensity.evaluate import (
    SCORER_TITLES,
    expected_sentence,
    expected_top1,
    no_oracle_note,
    top1_note,
    top_count,
)

COLUMNS = {"n": "样本", "positives": "达到100万", "roc_auc": "ROC-AUC", "pr_auc": "PR-AUC", "brier": "Brier",
           "precision_top1": "前1%精确率", "precision_top5": "前5%精确率", "precision_top10": "前10%精确率",
           "recall_top1": "前1%召回率", "recall_top10": "前10%召回率", "lift_top10": "前10%提升度"}


def metrics_frame(part: dict[str, Any]) -> pd.DataFrame:
    rows = []
    for name, m in part.items():
        row: dict[str, Any] = {"模型": SCORER_TITLES[name]}
        for key, title in COLUMNS.items():
            v = m.get(key)
            row[title] = "-" if v is None else (f"{v:,}" if isinstance(v, int) else f"{v:.4f}")
        rows.append(row)
    return pd.DataFrame(rows)


def _num(x: float | None) -> str:
    return "-" if x is None else f"{x:.4f}"


def _verdict(passed: bool | None) -> str:
    return "无参照" if passed is None else ("✓ 达成" if passed else "× 未达成")


def _bagging(lgbm: dict[str, Any]) -> str:
    k = int(lgbm.get("bag_seeds", 1))
    if k == 1:
        return (f"单个模型，早停在第 {lgbm['best_iteration']} 轮（不做种子装袋：按事先定好的规则，"
                "更省的单个模型在默认数据和另外四份数据上保持了质量，bench/results/speed.md）。")
    return (f"种子装袋：{k} 个只差随机种子的模型（种子 {'、'.join(map(str, lgbm['seeds']))}）各自早停（第 "
            f"{lgbm['best_iteration']} 轮），合并为一个模型（对数几率取平均，共 {lgbm['trees']:,} 棵树），"
            "K 由验证月的前1%精确率按事先定好的规则选出（bench/results/bagging.md）。")


def _oracle_sentence(metrics: dict[str, Any]) -> str:
    coverage = metrics.get("oracle_coverage", 0.0)
    if not coverage:  # a bank's own export has no oracle.csv: say why the oracle rows and targets are missing
        return no_oracle_note(metrics)
    return f"Oracle 是模拟数据生成器按真实动态算出的概率（覆盖测试样本的 {pct(coverage, 1)}），是任何模型的上限；"


def _expected(metrics: dict[str, Any]) -> str:
    e = expected_top1(metrics)
    if e is None:
        return ""
    k = top_count(metrics["overall"]["lgbm"]["n"], 0.01)
    note = top1_note(metrics)
    return (f"\n前1%只有 {k} 位客户，一次实际结果的运气很大。{expected_sentence(e)}"
            "Oracle 知道模型看不到的隐藏状态（如意向会持续几个月），去掉这些信息后的 Oracle 能达到的上限见 "
            "bench/results/ceiling.md；把测试月之后的 3 个月重新抽取多次、数各排序达标的比例，见 "
            "bench/results/pass_chance.md。\n" + (f"\n{note}\n" if note else ""))


def _refit(info: dict[str, Any]) -> str:
    r = info.get("refit")
    if not r:
        return ""
    return (f"\n\n**服务的模型在训练+验证月上重新拟合**：验证月选定的一切（逻辑回归的 C、每个种子 LightGBM 的早停轮数 "
            f"{'/'.join(map(str, r['rounds']))}、决策树设置）和验证月上拟合的 Platt 校准都保留，三个模型再在 {r['months'][0]} ~ "
            f"{r['months'][-1]} 的 {r['rows_real']:,} 个潜客样本（LightGBM 增广后 {r['rows_lgbm']:,} 行）上重新拟合，"
            "让服务的模型也学到最近几个月。测试月仍不参与任何拟合。这一选项默认关闭：在测试月之前的三个回测月上，"
            "它不如只在训练月上拟合（bench/results/refit.md）。")


def render_model_card(ctx: dict[str, Any]) -> str:
    m, sp, info = ctx["metrics"], ctx["split"], ctx["bundle_info"]
    targets = "\n".join(f"| {t['target']} | {_num(t['value'])} | {_num(t.get('bound'))} | {_verdict(t['passed'])} |"
                        for t in ctx["targets"])
    secs = ", ".join(f"{MODEL_TITLES.get(k, '训练+验证月重新拟合三个模型')} {v} 秒" for k, v in info["seconds"].items())
    lgbm = info["details"]["lgbm"]
    sample = info.get("training_sample") or {}
    sampled = (f"\n\n客户数超过 {info['params'].get('train_customers', 0):,} 位，训练、验证和测试只用按客户ID哈希均匀抽取的 "
               f"{sample['sampled']:,} 位客户的全部月份（上表样本数即来自这些客户）；最新月评分仍覆盖全部 {sample['customers']:,} 位客户。"
               if sample.get("sampled") else "")
    base_rows = info["details"].get("lr", {}).get("rows")
    if base_rows and base_rows < info["rows"]["train"]:  # the baselines' row cap (train.baseline_rows)
        sampled += (f"\n\n逻辑回归与决策树只用训练潜客样本中均匀抽取的 {base_rows:,} 行拟合（种子固定，省训练时间；"
                    "research/experiment_baselines.py 比较过前后的测试月指标），LightGBM 用全部训练行。")
    return f"""# 模型卡：百万潜客预测（3个月内总资产达到100万的概率）

- **服务使用的模型**：LightGBM（经验证期 Platt 校准），另有逻辑回归与深度4决策树用于解读与对比
- **数据版本**：{ctx['data_hash']}，{ctx['customers']:,} 位客户，{ctx['months']} 个月（{ctx['first_month']} ~ {ctx['latest_month']}）
- **生成时间**：{ctx['built_at']}

## 问题定义
在月份 T 总资产 < 100万 的客户（潜客）中，预测 T+1、T+2、T+3 任一月总资产 ≥ 100万 的概率。
特征只用 T-2~T 三个月的行为资产表和客户基本信息表（{len(ctx['features'])} 个特征），不使用 T 之后的数据。

## 跨时间验证（不做随机行划分）
| 用途 | 观察月 | 潜客样本 | 达到100万 |
|---|---|---|---|
| 训练 | {sp['train'][0]} ~ {sp['train'][-1]}（{len(sp['train'])} 个月） | {info['rows']['train']:,} | {info['positives']['train']:,} |
| 验证（早停、校准、逻辑回归选参） | {sp['val'][0]} ~ {sp['val'][-1]} | {info['rows']['val']:,} | {info['positives']['val']:,} |
| 测试 | {sp['test']} | {info['rows']['test']:,} | {info['positives']['test']:,} |

验证月的标签窗口不晚于测试月结束，所以拟合与校准只用到测试月当时已知的信息。{sampled}
LightGBM 的训练集用“阈值增广”扩充：每个训练客户月除了真实问题“是否达到100万”，还回答“是否达到 M'”（M' 为高于当前资产 1%~{int(info['params']['augment_growth'][1] * 100)}% 的随机门槛，
门槛相关特征按 M' 重算，答案同样来自 T+1~T+3），共 {lgbm['train_rows']:,} 行；{_bagging(lgbm)}验证、校准和测试只用真实的100万问题。{_refit(info)}

## 测试月效果（{sp['test']}）
### 全部潜客
{md_table(metrics_frame(m['overall']))}

### 临界区间（T 月总资产 50万~100万）
{md_table(metrics_frame(m['band']))}

{_oracle_sentence(m)}朴素基线按当前总资产排序。

### 目标
| 目标 | LightGBM | 门槛 | 结果 |
|---|---|---|---|
{targets}
{_expected(m)}
## 校准
概率在验证期用 Platt 缩放校准（单调，不改变排序）。LightGBM 测试月平均预测概率 {pct(m['overall']['lgbm'].get('mean_probability'), 2)}，实际比例 {pct(m['overall']['lgbm'].get('base_rate'), 2)}。

## 训练耗时
{secs}

## 局限与注意
- customer_base 是导出时的快照：生命周期阶段、年龄等对较早的观察月并非当时的值（数据契约允许使用该表）。
- 只有 3 个月的回看窗口；大额资金转入前的“比价/浏览”行为是主要信号，但没有这些行为的大额转入无法预测。
- 远离100万的客户几乎不会跨过门槛，全体 ROC-AUC 会偏高，请看临界区间的指标。
- 银行真实数据上线前需按本流程在行内数据上重新训练（`make artifacts`），并复核本模型卡。
"""

"""HTML reports in Chinese (self-contained: images inline, no script or style from the network).

- report.html: the pipeline diagram, the out-of-time metrics against the naive baseline and the
  oracle, calibration, LightGBM importance and SHAP;
- report_lr.html: what the logistic-regression coefficients say about who reaches 100万+;
- report_tree.html: the decision-tree rules.
Every number and rule comes from the fitted models and the evaluation passed in.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import jinja2

from million.fmt import pct
from million.propensity.evaluate import SCORER_TITLES, TOP_FRACTIONS, no_oracle_note, top1_note

CSS = """
body{font-family:"Noto Sans CJK SC","PingFang SC","Microsoft YaHei",sans-serif;max-width:1180px;margin:24px auto;
padding:0 18px;color:#222;line-height:1.6}
h1{font-size:26px;border-bottom:3px solid #3a7bd5;padding-bottom:6px}h2{font-size:20px;margin-top:30px;color:#1f4e8c}
table{border-collapse:collapse;margin:10px 0;font-size:13px}th,td{border:1px solid #ccd;padding:4px 8px;text-align:right}
th{background:#eef4fb}td.l,th.l{text-align:left}.pos{color:#c0392b}.neg{color:#1f6fb2}.ok{color:#1e8449;font-weight:bold}
.bad{color:#c0392b;font-weight:bold}.note{color:#666;font-size:13px}img{max-width:100%;border:1px solid #eee}
.box{background:#f7f9fc;border-left:4px solid #3a7bd5;padding:8px 14px;margin:10px 0}pre{background:#f6f6f6;padding:10px;
overflow:auto;font-size:12px}nav a{margin-right:16px}
"""

BASE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{{ title }}</title>
<style>{{ css }}</style></head><body>
<nav><a href="report.html">总览</a><a href="report_lr.html">逻辑回归解读</a><a href="report_tree.html">决策树解读</a></nav>
<h1>{{ title }}</h1><p class="note">数据版本 {{ data_hash }} · 生成于 {{ built_at }} · 最新数据月 {{ latest_month }}</p>
{% block body %}{% endblock %}</body></html>"""

METRICS_TABLE = """{% macro metrics_table(part) %}
<table><tr><th class="l">模型</th><th>样本</th><th>达到100万</th><th>ROC-AUC</th><th>PR-AUC</th><th>Brier</th>
{% for f in tops %}<th>前{{ f }}%精确率</th><th>前{{ f }}%召回率</th>{% endfor %}<th>前10%提升度</th></tr>
{% for name, m in part.items() %}<tr><td class="l">{{ titles[name] }}</td><td>{{ "{:,}".format(m.n) }}</td>
<td>{{ m.positives }}</td><td>{{ fmt(m.roc_auc) }}</td><td>{{ fmt(m.pr_auc) }}</td><td>{{ fmt(m.brier, 4) }}</td>
{% for f in tops %}<td>{{ p(m['precision_top' ~ f]) }}</td><td>{{ p(m['recall_top' ~ f]) }}</td>{% endfor %}
<td>{{ fmt(m.lift_top10, 2) }}</td></tr>{% endfor %}</table>{% endmacro %}"""

OVERVIEW = """{% extends "base" %}{% block body %}{% from "macros" import metrics_table %}
<div class="box">问题：在月份 T 总资产不足100万的客户（潜客）中，谁会在之后 3 个月（T+1~T+3）内任一月达到 100 万？
特征只用 T-2~T 三个月的行为资产数据和客户基本信息，不使用 T 之后的任何数据。</div>
<h2>一、建模流程</h2>
{{ diagram_svg | safe }}
<details><summary class="note">mermaid 源码（可粘贴到任意 mermaid 编辑器）</summary><pre class="mermaid">{{ mermaid }}</pre></details>
<h2>二、跨时间划分</h2>
<table><tr><th class="l">用途</th><th class="l">观察月</th><th>潜客样本</th><th>达到100万</th></tr>
<tr><td class="l">训练</td><td class="l">{{ split.train[0] }} ~ {{ split.train[-1] }}（{{ split.train|length }} 个月）</td><td>{{ "{:,}".format(rows.train) }}</td><td>{{ positives.train }}</td></tr>
<tr><td class="l">验证（早停、校准、选参）</td><td class="l">{{ split.val[0] }} ~ {{ split.val[-1] }}</td><td>{{ "{:,}".format(rows.val) }}</td><td>{{ positives.val }}</td></tr>
<tr><td class="l">测试（只用于评估）</td><td class="l">{{ split.test }}</td><td>{{ "{:,}".format(rows.test) }}</td><td>{{ positives.test }}</td></tr></table>
<p class="note">验证月的标签窗口在测试月 {{ split.test }} 当月或之前结束，所以训练和校准没有用到测试月之后的任何信息；不做随机行划分（同月客户共享市场行情，随机划分会高估效果）。</p>
<h2>三、测试月效果（跨时间，{{ split.test }}）</h2>
<h3>全部潜客</h3>{{ metrics_table(metrics.overall) }}
<h3>临界区间：T 月总资产 50万~100万</h3>{{ metrics_table(metrics.band) }}
<p class="note">远离100万的客户几乎不会跨过门槛，所以全体 ROC-AUC 对所有模型都很高、难以区分；临界区间的 PR-AUC 和前1%精确率更能说明排序能力。
{% if metrics.get('oracle_coverage') %}Oracle 为模拟数据生成器给出的真实概率（仅模拟数据有），是可达到的上限。{% else %}{{ no_oracle(metrics) }}{% endif %}</p>
<h3>目标达成</h3><table><tr><th class="l">目标</th><th>LightGBM</th><th>参照</th><th>门槛</th><th>结果</th></tr>
{% for t in targets %}<tr><td class="l">{{ t.target }}</td><td>{{ fmt(t.value, 4) }}</td><td>{{ fmt(t.reference, 4) }}</td>
<td>{{ fmt(t.bound, 4) }}</td><td>{% if t.passed is none %}无参照{% elif t.passed %}<span class="ok">达成</span>{% else %}<span class="bad">未达成</span>{% endif %}</td></tr>{% endfor %}</table>
{% if top1_note(metrics) %}<p class="note">{{ top1_note(metrics) }}</p>{% endif %}
<h3>校准</h3><img src="{{ img.calibration }}" alt="校准曲线" style="max-width:520px">
<h2>四、LightGBM 特征重要性</h2><img src="{{ img.lgbm_importance }}" alt="LightGBM 特征重要性">
<h2>五、SHAP 解释</h2>
<p>全局：每个点是一位客户，横轴为该特征把“3个月内达到100万”的（校准后）对数几率推高或拉低的幅度，颜色为特征取值高低。</p>
<img src="{{ img.shap_beeswarm }}" alt="SHAP beeswarm"><img src="{{ img.shap_bar }}" alt="SHAP 平均绝对值">
<p>局部示例：最新月概率最高的潜客（{{ example_id }}）的瀑布图。任意客户的瀑布图可在助手中查询。</p>
<img src="{{ img.shap_waterfall }}" alt="SHAP 瀑布图">
<h2>六、训练耗时</h2><table><tr><th class="l">模型</th><th>秒</th></tr>
{% for k, s in seconds.items() %}<tr><td class="l">{{ titles[k] }}</td><td>{{ s }}</td></tr>{% endfor %}</table>
{% endblock %}"""

LR_REPORT = """{% extends "base" %}{% block body %}{% from "macros" import metrics_table %}
<div class="box">逻辑回归把每个特征（金额类先取对数）标准化后线性相加，再换算成概率。系数为正：该特征越高，越容易在3个月内达到100万；
系数为负则相反。“几率乘数”= e<sup>系数</sup>，表示特征高一个标准差时，达到100万的几率（odds）变为原来的多少倍。
正则强度 C={{ C }}（在验证期选择）。</div>
<h2>一、哪些客户更容易达到100万+</h2><ul>{% for s in sentences.positive %}<li class="pos">{{ s }}</li>{% endfor %}</ul>
<h2>二、哪些因素让客户更难达到100万</h2><ul>{% for s in sentences.negative %}<li class="neg">{{ s }}</li>{% endfor %}</ul>
<p class="note">注意：特征之间高度相关（如平均资产、最高资产、当月资产），单个系数的符号可能被相关特征“分走”，应结合整体阅读；
这是线性模型的局限，也是我们同时使用决策树与 LightGBM 的原因。</p>
<h2>三、系数图（按绝对值排序，红色为正、蓝色为负）</h2><img src="{{ img.lr_coefficients }}" alt="逻辑回归系数">
<h2>四、测试月效果（{{ split.test }}）</h2><h3>全部潜客</h3>{{ metrics_table(lr_metrics.overall) }}
<h3>临界区间 50万~100万</h3>{{ metrics_table(lr_metrics.band) }}
<h2>五、全部系数（从大到小）</h2><table><tr><th class="l">特征</th><th class="l">业务含义</th><th>尺度</th><th>系数</th><th>几率乘数</th></tr>
{% for r in coefs %}<tr><td class="l">{{ r.feature }}</td><td class="l">{{ r.label }}</td><td>{{ r.scale }}</td>
<td class="{{ 'pos' if r.coef > 0 else 'neg' }}">{{ "%+.4f"|format(r.coef) }}</td><td>{{ "%.3f"|format(r.odds_ratio) }}</td></tr>{% endfor %}</table>
<p class="note">截距 {{ "%.4f"|format(intercept) }}。</p>
{% endblock %}"""

TREE_REPORT = """{% extends "base" %}{% block body %}{% from "macros" import metrics_table %}
<div class="box">决策树（深度4）把潜客按少数几个条件切成 {{ rules|length }} 组，每组在训练期达到100万的比例就是该组的预测概率（再经验证期校准）。
训练期整体比例为 {{ p(base_rate, 2) }}。</div>
<h2>一、更容易达到100万+ 的客户（比例高于整体 2 倍的叶子）</h2><ol>
{% for r in high %}<li class="pos">如果 {{ r.text }}：<b>{{ p(r.rate) }}</b> 在3个月内达到100万（训练样本 {{ "{:,}".format(r.samples) }}）</li>{% endfor %}</ol>
<h2>二、基本不会达到100万的客户（比例低于整体一半的叶子）</h2><ol>
{% for r in low %}<li class="neg">如果 {{ r.text }}：{{ p(r.rate, 2) }}（训练样本 {{ "{:,}".format(r.samples) }}）</li>{% endfor %}</ol>
<h2>三、全部规则</h2><table><tr><th>#</th><th class="l">条件</th><th>训练样本</th><th>达到100万比例</th></tr>
{% for r in rules %}<tr><td>{{ loop.index }}</td><td class="l">{{ r.text }}</td><td>{{ "{:,}".format(r.samples) }}</td><td>{{ p(r.rate, 2) }}</td></tr>{% endfor %}</table>
<h2>四、决策树图</h2><img src="{{ img.tree }}" alt="决策树">
<h2>五、测试月效果（{{ split.test }}）</h2><h3>全部潜客</h3>{{ metrics_table(tree_metrics.overall) }}
<h3>临界区间 50万~100万</h3>{{ metrics_table(tree_metrics.band) }}
<h2>六、文本形式</h2><pre>{{ tree_text }}</pre>
{% endblock %}"""


def _fmt(x: float | None, digits: int = 3) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def _env() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.DictLoader({"base": BASE, "macros": METRICS_TABLE, "overview": OVERVIEW, "lr": LR_REPORT,
                                                       "tree": TREE_REPORT}),
                             autoescape=True, undefined=jinja2.StrictUndefined)
    env.globals.update(fmt=_fmt, p=lambda x, d=1: pct(x, d), titles=SCORER_TITLES,
                       tops=[int(f * 100) for f in TOP_FRACTIONS], css=CSS, no_oracle=no_oracle_note,
                       top1_note=top1_note)
    return env


def render(template: str, **ctx: Any) -> str:
    return _env().get_template(template).render(**ctx)


def only(metrics: dict[str, Any], key: str) -> dict[str, Any]:
    """The metric tables restricted to one model plus the two references."""
    keep = (key, "naive", "oracle")
    return {part: {k: v for k, v in metrics[part].items() if k in keep} for part in ("overall", "band")}


def write_reports(folder: Path, ctx: dict[str, Any]) -> list[Path]:
    """ctx: title-independent values shared by the three reports (see step.py)."""
    base_rate = ctx["positives"]["train"] / max(ctx["rows"]["train"], 1)
    rules = ctx["rules"]
    pages = {
        "report.html": render("overview", title="百万客群潜客预测：建模总览", **ctx),
        "report_lr.html": render("lr", title="逻辑回归解读：哪些客户更容易达到100万+",
                                 lr_metrics=only(ctx["metrics"], "lr"), **ctx),
        "report_tree.html": render("tree", title="决策树解读：哪些客户更容易达到100万+",
                                   tree_metrics=only(ctx["metrics"], "tree"), base_rate=base_rate,
                                   high=[r for r in rules if r.rate >= 2 * base_rate],
                                   low=[r for r in rules if r.rate <= 0.5 * base_rate], **ctx),
    }
    out = []
    for name, html in pages.items():
        (folder / name).write_text(html, encoding="utf-8")
        out.append(folder / name)
    return out

"""The k-selection chart and the HTML report: segment table, naming rules, a marketing plan per segment."""

from __future__ import annotations

import base64
from pathlib import Path

import jinja2
import matplotlib.pyplot as plt

from million.charts import render_png, setup_matplotlib
from million.fmt import pct, wan
from million.segments.fit import KSelection
from million.segments.naming import ARCHETYPES, FALLBACK_RULE


def k_selection_chart(sel: KSelection, path: Path | None = None) -> bytes:
    return render_png(lambda: k_selection_figure(sel), path)


def k_selection_figure(sel: KSelection) -> plt.Figure:
    setup_matplotlib()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.8))
    a1.plot(sel.ks, sel.silhouette, marker="o", color="#1f77b4")
    a1.axvline(sel.chosen_k, color="#d62728", ls="--", lw=1, label=f"选定 k={sel.chosen_k}")
    a1.set_title("轮廓系数（越高越好）")
    a1.set_xlabel("客群数 k")
    a1.set_ylabel("轮廓系数")
    a1.legend()
    a2.plot(sel.ks, [v / 1e3 for v in sel.inertia], marker="o", color="#2ca02c")
    a2.axvline(sel.elbow_k, color="#ff7f0e", ls="--", lw=1, label=f"肘部 k={sel.elbow_k}")
    a2.set_title("肘部法则：簇内平方和")
    a2.set_xlabel("客群数 k")
    a2.set_ylabel("簇内平方和（千）")
    a2.legend()
    fig.suptitle("KMeans 客群数选择")
    fig.tight_layout()
    return fig


TEMPLATE = """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>客群分析与差异化营销方案</title>
<style>
body{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:24px auto;max-width:1180px;color:#222;line-height:1.6}
h1{color:#8b0000} h2{border-left:6px solid #8b0000;padding-left:8px;margin-top:32px}
table{border-collapse:collapse;width:100%;margin:12px 0;font-size:14px}
th,td{border:1px solid #ccc;padding:6px 8px;text-align:right} th{background:#f3e9e9}
td.l,th.l{text-align:left}
.card{border:1px solid #ddd;border-radius:8px;padding:12px 18px;margin:16px 0;background:#fcfcfc}
.card h3{margin:4px 0 8px;color:#8b0000}
.script{background:#fff8e1;border-left:4px solid #f0b400;padding:8px 12px}
.meta{color:#777;font-size:13px}
</style></head><body>
<h1>客群分析与差异化营销方案</h1>
<p class="meta">数据截至 {{ as_of }}；参与分群客户 {{ "{:,}".format(n_customers) }} 人；数据指纹 {{ data_hash }}；生成时间 {{ generated }}。</p>

<h2>一、客群概览</h2>
<table>
<tr><th class="l">编号</th><th class="l">客群名称</th><th>人数</th><th>占比</th><th>平均年龄</th><th>平均月收入</th><th>平均总资产</th>
<th>理财复购</th><th>信用卡月消费</th><th>持有产品数</th><th class="l">主要职业</th><th>百万潜客占比</th><th>平均百万概率</th></tr>
{% for p in profiles %}
<tr><td class="l">{{ p.segment_id }}</td><td class="l">{{ p.segment_name }}</td><td>{{ "{:,}".format(p.size) }}</td><td>{{ pct(p.share) }}</td>
<td>{{ "%.1f"|format(p.avg_age) }}岁</td><td>{{ wan(p.avg_income) }}</td><td>{{ wan(p.avg_aum) }}</td>
<td>{{ "%.2f"|format(p.avg_repurchase) }}次</td><td>{{ wan(p.avg_card_spend) }}</td><td>{{ "%.2f"|format(p.avg_product_count) }}个</td>
<td class="l">{{ p.top_occupations|join("、") }}</td><td>{{ pct(p.prospect_share) }}</td><td>{{ p.avg_propensity_text }}</td></tr>
{% endfor %}
</table>

<h2>二、分群方法</h2>
<p>特征（取每位客户最近一个月的数据并关联客户基本信息，标准化后聚类）：{{ features|join("、") }}。</p>
<p>客群数：在 k={{ ksel.ks[0] }}-{{ ksel.ks[-1] }} 之间比较轮廓系数（抽样 {{ "{:,}".format(ksel.sample_size) }} 人计算）与肘部法则。{{ ksel.reason }}。</p>
<table><tr><th class="l">k</th>{% for k in ksel.ks %}<th>{{ k }}</th>{% endfor %}</tr>
<tr><td class="l">轮廓系数</td>{% for s in ksel.silhouette %}<td>{{ "%.3f"|format(s) }}</td>{% endfor %}</tr></table>
<img src="data:image/png;base64,{{ chart_b64 }}" alt="k 选择图" style="max-width:100%">

<h3>命名规则（按顺序依次应用，每条规则从尚未命名的客群中选出得分最高者）</h3>
<p class="meta">得分为客群均值相对全体客户的标准分 z =（客群均值 − 全体均值）/ 全体标准差。</p>
<ol>{% for a in archetypes %}<li><b>{{ a.name }}</b>：{{ a.rule }}</li>{% endfor %}<li>{{ fallback_rule }}</li></ol>

<h2>三、各客群画像与营销方案</h2>
{% for p in profiles %}
<div class="card">
<h3>客群 {{ p.segment_id }}：{{ p.segment_name }}（{{ "{:,}".format(p.size) }} 人，占 {{ pct(p.share) }}）</h3>
<p><b>画像：</b>{{ p.description }}；主要职业：{{ p.top_occupations|join("、") }}；
产品持有率：{% for k, v in p.holding_rates.items() %}{{ k }} {{ pct(v) }}{% if not loop.last %}、{% endif %}{% endfor %}；
百万潜客占比 {{ pct(p.prospect_share) }}，平均百万概率 {{ p.avg_propensity_text }}。</p>
<p class="meta">命名依据：{{ p.naming_rule }}</p>
<p><b>营销目标：</b>{{ p.plan.goal }}</p>
<p><b>主推产品：</b></p><ul>{% for x in p.plan.products %}<li>{{ x }}</li>{% endfor %}</ul>
<p><b>触达渠道：</b>{{ p.plan.channel }}</p>
<p><b>触达频率：</b>{{ p.plan.frequency }}</p>
<p><b>客户经理参考话术：</b></p><div class="script">{{ p.plan.script }}</div>
</div>
{% endfor %}
<p class="meta">所有营销动作须核对客户的营销冷静期（marketing_cool_period），冷静期内不主动营销。</p>
</body></html>
"""


def render_html(profiles: list[dict], ksel: KSelection, features: list[str], chart_png: bytes, *,
                as_of: str, n_customers: int, data_hash: str, generated: str) -> str:
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    return env.from_string(TEMPLATE).render(
        profiles=profiles, ksel=ksel, features=features, chart_b64=base64.b64encode(chart_png).decode(),
        archetypes=ARCHETYPES, fallback_rule=FALLBACK_RULE, as_of=as_of, n_customers=n_customers,
        data_hash=data_hash, generated=generated, pct=pct, wan=wan)

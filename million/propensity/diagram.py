"""The modelling pipeline as a diagram: mermaid source (for readers who paste it into a mermaid
editor) and the same graph as inline SVG drawn here, so the HTML loads nothing from the network."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape


@dataclass(frozen=True)
class Node:
    id: str
    lines: tuple[str, ...]
    kind: str = "step"  # step | model | output


def mermaid(layers: list[list[Node]], edges: list[tuple[str, str]]) -> str:
    out = ["flowchart TD"]
    for layer in layers:
        for n in layer:
            text = "<br/>".join(line.replace('"', "'") for line in n.lines)
            out.append(f'    {n.id}["{text}"]')
    out += [f"    {a} --> {b}" for a, b in edges]
    return "\n".join(out)


COLORS = {"step": ("#eef4fb", "#3a7bd5"), "model": ("#fdf1e7", "#e67e22"), "output": ("#eaf7ee", "#27ae60")}


def svg(layers: list[list[Node]], edges: list[tuple[str, str]], box_w: int = 230, box_h: int = 62,
        gap_x: int = 30, gap_y: int = 46) -> str:
    width = max(len(layer) for layer in layers) * (box_w + gap_x) + gap_x
    height = len(layers) * (box_h + gap_y) + gap_y
    pos: dict[str, tuple[float, float]] = {}
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
             f'height="{height}" font-family="sans-serif" role="img" aria-label="建模流程图">',
             '<defs><marker id="arrow" markerWidth="10" markerHeight="8" refX="9" refY="4" orient="auto">'
             '<path d="M0,0 L10,4 L0,8 z" fill="#666"/></marker></defs>']
    for li, layer in enumerate(layers):
        row_w = len(layer) * (box_w + gap_x) - gap_x
        x0 = (width - row_w) / 2
        y = gap_y + li * (box_h + gap_y)
        for ni, n in enumerate(layer):
            pos[n.id] = (x0 + ni * (box_w + gap_x), y)
    for a, b in edges:
        (xa, ya), (xb, yb) = pos[a], pos[b]
        parts.append(f'<line x1="{xa + box_w / 2:.0f}" y1="{ya + box_h:.0f}" x2="{xb + box_w / 2:.0f}" '
                     f'y2="{yb - 2:.0f}" stroke="#666" stroke-width="1.4" marker-end="url(#arrow)"/>')
    for layer in layers:
        for n in layer:
            x, y = pos[n.id]
            fill, stroke = COLORS[n.kind]
            parts.append(f'<rect x="{x:.0f}" y="{y:.0f}" width="{box_w}" height="{box_h}" rx="8" fill="{fill}" '
                         f'stroke="{stroke}" stroke-width="1.5"/>')
            top = y + box_h / 2 - (len(n.lines) - 1) * 8 + 4
            for i, line in enumerate(n.lines):
                weight = "bold" if i == 0 else "normal"
                size = 13 if i == 0 else 11
                parts.append(f'<text x="{x + box_w / 2:.0f}" y="{top + i * 16:.0f}" text-anchor="middle" '
                             f'font-size="{size}" font-weight="{weight}" fill="#222">{escape(line)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def pipeline_graph(info: dict) -> tuple[list[list[Node]], list[tuple[str, str]]]:
    """The propensity pipeline with the numbers of this build (months, feature count, rows)."""
    sp = info["split"]
    layers = [
        [Node("wh", ("数据仓库", "客户基本信息 + 月度行为资产", f"{info['customers']:,} 位客户 × {info['months']} 个月"))],
        [Node("feat", ("特征工程", "T-2..T 三个月窗口 + 客户属性", f"{info['n_features']} 个特征")),
         Node("label", ("标签", "T 月总资产 < 100万 的潜客", "T+1..T+3 任一月 ≥ 100万 = 1"))],
        [Node("split", ("跨时间划分（不随机打乱）", f"训练 {sp['train'][0]}~{sp['train'][-1]}",
                        f"验证 {sp['val'][0]}~{sp['val'][-1]} · 测试 {sp['test']}"))],
        [Node("lr", ("逻辑回归", "金额取对数 + 标准化"), "model"),
         Node("tree", ("决策树", "深度 4，可读规则"), "model"),
         Node("lgbm", ("LightGBM", f"阈值增广 · 早停于第 {info['best_iteration']} 轮"), "model")],
        [Node("cal", ("概率校准", "验证期 Platt 缩放"))],
        [Node("eval", ("测试月评估", "对比朴素基线与 Oracle"), "output"),
         Node("shap", ("SHAP 解释与报告", "全局 + 单客户瀑布图"), "output"),
         Node("serve", ("评分服务", f"最新月 {info['latest_month']} 潜客概率"), "output")],
    ]
    edges = [("wh", "feat"), ("wh", "label"), ("feat", "split"), ("label", "split"),
             ("split", "lr"), ("split", "tree"), ("split", "lgbm"),
             ("lr", "cal"), ("tree", "cal"), ("lgbm", "cal"),
             ("cal", "eval"), ("cal", "shap"), ("cal", "serve")]
    return layers, edges

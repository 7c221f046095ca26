// Charts in the chat are drawn here, in the browser, from the numbers the server sent
// (million/chartspec.py); the server never draws a PNG on a turn's path. Each chart is a
// <div class="mchart"> inside a chat message holding its spec as JSON text in a hidden
// <pre class="mchart-data">; this script finds them as the chat updates and draws them with the
// vendored ECharts. The toolbox saves a chart as a PNG.
(function () {
  "use strict";
  const FONT = '"Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif';

  function fmt(v, digits) {
    if (v === null || v === undefined || Number.isNaN(v)) return "—";
    return Number(v).toLocaleString("zh-CN", {maximumFractionDigits: digits === undefined ? 1 : digits});
  }
  // A tick in the axis unit with at most 4 significant digits: 160亿, 97.5万 (as million.fmt.axis_money).
  function axisMoney(v, scale, unit) {
    const x = v / scale;
    return (x === 0 ? "0" : Number(x.toPrecision(4)).toLocaleString("zh-CN")) + unit;
  }
  function base(title, extra) {
    const opt = Object.assign({
      textStyle: {fontFamily: FONT},
      title: {text: title, left: "center", textStyle: {fontSize: 14, fontWeight: "normal"}},
      toolbox: {right: 8, feature: {saveAsImage: {title: "保存为图片", pixelRatio: 2}}},
      tooltip: {trigger: "axis"},
      animation: false,
    }, extra);
    // Labels come from data (branch names, query columns): tooltips drawn as canvas text, never as HTML.
    opt.tooltip = Object.assign({}, opt.tooltip, {renderMode: "richText"});
    return opt;
  }

  function forecast(s) {
    const months = s.history_months.concat(s.forecast_months);
    const n = s.history.length;
    const last = s.history[n - 1];
    const pad = (arr, head) => new Array(head).fill(null).concat(arr);
    const mean = pad([last].concat(s.mean), n - 1);
    const lower = pad([last].concat(s.lower), n - 1);
    const band = pad([0].concat(s.upper.map((u, i) => u - s.lower[i])), n - 1);
    const money = (v) => (v === null || v === undefined ? "—" : axisMoney(v, s.scale, s.unit === "元" ? "元" : s.unit));
    return base(s.title, {
      legend: {bottom: 0, data: ["历史AUM", "预测均值", "95%预测区间"]},
      grid: {left: 70, right: 24, top: 48, bottom: 88},
      tooltip: {trigger: "axis", valueFormatter: money},
      xAxis: {type: "category", data: months, name: "月份", nameLocation: "middle", nameGap: 60,
              axisLabel: {rotate: 45, fontSize: 10}},
      yAxis: {type: "value", scale: true, name: s.unit === "元" ? "AUM（元）" : "AUM（" + s.unit + "元）",
              axisLabel: {formatter: (v) => axisMoney(v, s.scale, s.unit === "元" ? "" : s.unit)}},
      series: [
        {name: "历史AUM", type: "line", data: s.history, symbolSize: 5, lineStyle: {width: 2, color: "#1f4e79"},
         itemStyle: {color: "#1f4e79"}},
        {name: "预测均值", type: "line", data: mean, symbolSize: 5, lineStyle: {width: 2, type: "dashed", color: "#c0392b"},
         itemStyle: {color: "#c0392b"}},
        {name: "区间下限", type: "line", data: lower, stack: "band", symbol: "none", lineStyle: {opacity: 0},
         tooltip: {show: false}},
        {name: "95%预测区间", type: "line", data: band, stack: "band", symbol: "none", lineStyle: {opacity: 0},
         areaStyle: {color: "rgba(231, 76, 60, 0.18)"}, itemStyle: {color: "rgba(231, 76, 60, 0.5)"},
         tooltip: {show: false}},
      ],
    });
  }

  // SHAP parts from the average prospect's probability to this customer's, in percentage points.
  function waterfall(s) {
    const labels = ["平均概率 E[f(X)]"].concat(s.items.map((i) => i.label)).concat(["该客户 f(x)"]);
    const hidden = [], up = [], down = [];
    let level = s.base;
    hidden.push(0); up.push(s.base); down.push(null);
    s.items.forEach((it) => {
      const lo = it.value >= 0 ? level : level + it.value;
      hidden.push(lo);
      up.push(it.value >= 0 ? it.value : null);
      down.push(it.value < 0 ? -it.value : null);
      level += it.value;
    });
    hidden.push(0); up.push(s.final); down.push(null);
    return base(s.title, {
      grid: {left: 230, right: 40, top: 48, bottom: s.note ? 62 : 36},
      graphic: s.note ? [{type: "text", left: 8, bottom: 6, style: {text: s.note, fontSize: 11, fill: "#555"}}] : [],
      tooltip: {trigger: "axis", axisPointer: {type: "shadow"},
                formatter: (ps) => {
                  const i = ps[0].dataIndex;
                  if (i === 0) return labels[0] + "：" + fmt(s.base, 2) + "%";
                  if (i === labels.length - 1) return labels[i] + "：" + fmt(s.final, 2) + "%";
                  const v = s.items[i - 1].value;
                  return labels[i] + "：" + (v >= 0 ? "+" : "") + fmt(v, 2) + " 个百分点";
                }},
      xAxis: {type: "value", name: "概率（%）", nameLocation: "middle", nameGap: 22, axisLabel: {formatter: (v) => v + "%"}},
      yAxis: {type: "category", data: labels, inverse: true, axisLabel: {fontSize: 11, width: 220, overflow: "truncate"}},
      series: [
        {type: "bar", stack: "w", data: hidden, itemStyle: {color: "transparent"}, silent: true},
        {type: "bar", stack: "w", data: up, itemStyle: {color: "#d62728"},
         label: {show: true, position: "right", fontSize: 10, formatter: (p) => (p.value === null ? "" :
           (p.dataIndex === 0 || p.dataIndex === labels.length - 1 ? fmt(p.value, 1) + "%" : "+" + fmt(p.value, 2)))}},
        {type: "bar", stack: "w", data: down, itemStyle: {color: "#1f77b4"},
         label: {show: true, position: "right", fontSize: 10, formatter: (p) => (p.value === null ? "" : "−" + fmt(p.value, 2))}},
      ],
    });
  }

  function table(s) {
    const scaled = (vals) => vals.map((v) => (v === null ? null : v / s.scale));
    const unit = s.unit ? "（" + s.unit + "）" : "";
    return base(s.title, {
      legend: s.series.length > 1 ? {bottom: 0} : undefined,
      grid: {left: 70, right: 24, top: 48, bottom: s.series.length > 1 ? 84 : 64},
      tooltip: {trigger: "axis", valueFormatter: (v) => fmt(v, 2) + s.unit},
      xAxis: {type: "category", data: s.x, name: s.x_name, nameLocation: "middle", nameGap: 50,
              axisLabel: {rotate: s.x.length > 6 ? 45 : 0, fontSize: 10}},
      yAxis: {type: "value", name: unit},
      series: s.series.map((ser) => ({name: ser.name, type: s.type, data: scaled(ser.values), symbolSize: 5})),
    });
  }

  const BUILD = {forecast: forecast, waterfall: waterfall, bar: table, line: table};

  function draw(el) {
    const holder = el.querySelector("pre.mchart-data");
    const raw = holder ? holder.textContent : "";
    if (!raw || el.getAttribute("data-drawn") === raw || !window.echarts) return;
    let spec;
    try { spec = JSON.parse(raw); } catch (e) { return; }
    const build = BUILD[spec.type];
    if (!build) return;
    const chart = window.echarts.getInstanceByDom(el) || window.echarts.init(el, null, {renderer: "canvas"});
    chart.setOption(build(spec), true);
    el.setAttribute("data-drawn", raw);
  }
  function scan(node) {
    if (node.nodeType !== 1) return;
    if (node.matches("div.mchart")) draw(node);
    else if (node.matches("pre.mchart-data") && node.parentElement) draw(node.parentElement);
    node.querySelectorAll("div.mchart").forEach(draw);
  }
  new MutationObserver((muts) => muts.forEach((m) => m.addedNodes.forEach(scan)))
    .observe(document.documentElement, {childList: true, subtree: true});
  window.addEventListener("resize", () => document.querySelectorAll("div.mchart").forEach((el) => {
    const c = window.echarts && window.echarts.getInstanceByDom(el);
    if (c) c.resize();
  }));
  scan(document.documentElement);
})();

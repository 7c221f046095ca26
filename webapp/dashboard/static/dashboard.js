/* 百万客群营销助手 · 可视化大屏
 * Fetches /dashboard/api/data once per filter change and draws ten ECharts panels.
 * "2.5D": cuboid bars drawn as three faces (custom series), glass cylinders (pictorialBar caps),
 * shadowed rings and a gradient funnel. Everything is local: ECharts is served by this app. */
(function () {
  'use strict';

  var API = document.body.dataset.api;
  var charts = {};
  var state = { branch: '', month: '' };
  var firstLoad = true;
  var REFRESH_MS = 5 * 60 * 1000;  // the server caches per warehouse version, so polling is cheap
  var timings = { start: performance.now(), charts: {} };
  window.__dashboard = { charts: charts, timings: timings, state: state, ready: false };

  var C = {
    text: '#d6e6ff', muted: '#7f9cc7', line: 'rgba(64,160,255,0.25)', split: 'rgba(64,160,255,0.12)',
    cyan: '#26c6ff', blue: '#2f7bff', gold: '#ffc53d', red: '#ff6b6b', green: '#35d07f', purple: '#9b7bff'
  };
  var PALETTE = ['#26c6ff', '#2f7bff', '#ffc53d', '#35d07f', '#9b7bff', '#ff8a5c', '#5ce1e6', '#ff6b9a'];
  var FONT = '"Noto Sans CJK SC","Source Han Sans SC","PingFang SC","Microsoft YaHei",sans-serif';

  echarts.registerTheme('bigscreen', {
    color: PALETTE,
    animationDuration: 400,
    animationDurationUpdate: 400,
    backgroundColor: 'transparent',
    textStyle: { color: C.text, fontFamily: FONT },
    legend: { textStyle: { color: C.muted } },
    categoryAxis: {
      axisLine: { lineStyle: { color: C.line } }, axisTick: { show: false },
      axisLabel: { color: C.muted }, splitLine: { show: false }
    },
    valueAxis: {
      axisLine: { show: false }, axisLabel: { color: C.muted },
      splitLine: { lineStyle: { color: C.split, type: 'dashed' } }, nameTextStyle: { color: C.muted }
    },
    tooltip: {
      backgroundColor: 'rgba(4,20,50,0.92)', borderColor: C.cyan, borderWidth: 1,
      textStyle: { color: '#eaf4ff', fontSize: 13 }, extraCssText: 'box-shadow:0 0 12px rgba(38,198,255,.45);'
    }
  });

  // -- formatting (money in 万/亿, as everywhere in the product) ------------------------------
  function wan(v, digits) {
    if (v === null || v === undefined || isNaN(v)) return '-';
    var d = digits === undefined ? 1 : digits;
    var a = Math.abs(v);
    if (a >= 1e8) return (v / 1e8).toFixed(2) + '亿';
    if (a >= 1e4) return (v / 1e4).toFixed(d) + '万';
    return Math.round(v).toLocaleString('zh-CN') + '元';
  }
  function axisMoney(v) {
    var a = Math.abs(v);
    if (a >= 1e8) return +(v / 1e8).toFixed(1) + '亿';
    if (a >= 1e4) return +(v / 1e4).toFixed(0) + '万';
    return v;
  }
  function pct(x, d) { return (x === null || x === undefined) ? '-' : (x * 100).toFixed(d === undefined ? 1 : d) + '%'; }
  function num(n) { return Math.round(n).toLocaleString('zh-CN'); }
  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (ch) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[ch];
    });
  }
  function tip(title, rows) {  // tooltip HTML; every value is escaped (branch names come from data)
    return '<b>' + esc(title) + '</b>' + rows.map(function (r) {
      return '<br/>' + (r[2] ? '<span style="display:inline-block;width:8px;height:8px;border-radius:50%;margin-right:6px;background:' + r[2] + '"></span>' : '') +
        esc(r[0]) + '：<b>' + esc(r[1]) + '</b>';
    }).join('');
  }
  function grad(top, bottom, horizontal) {
    return new echarts.graphic.LinearGradient(0, 0, horizontal ? 1 : 0, horizontal ? 0 : 1,
      [{ offset: 0, color: top }, { offset: 1, color: bottom }]);
  }
  function shade(hex, f) {  // lighten (f > 0) or darken (f < 0) a #rrggbb colour
    var n = parseInt(hex.slice(1), 16), r = n >> 16, g = (n >> 8) & 255, b = n & 255;
    var t = f < 0 ? 0 : 255, p = Math.abs(f);
    return 'rgb(' + Math.round((t - r) * p + r) + ',' + Math.round((t - g) * p + g) + ',' + Math.round((t - b) * p + b) + ')';
  }
  function shortBranch(b) {  // 西安分行高新支行 → 西安·高新支行 (keeps two 高新支行 apart)
    var m = /^(.+?)分行(.+)$/.exec(String(b));
    return m ? m[1] + '·' + m[2] : String(b);
  }

  // -- 2.5D building blocks ------------------------------------------------------------------
  /* A cuboid bar as three polygons: front face, side face and top face. `horizontal` bars grow to
   * the right. Labels are drawn in the same group so they follow the top face. */
  function cuboidSeries(opts) {
    var horizontal = !!opts.horizontal;
    return {
      type: 'custom',
      name: opts.name,
      yAxisIndex: opts.yAxisIndex || 0,
      data: opts.data,
      encode: horizontal ? { x: 0, y: 1, tooltip: 0 } : { x: 0, y: 1, tooltip: 1 },
      renderItem: function (params, api) {
        var cat = horizontal ? api.value(1) : api.value(0);
        var val = horizontal ? api.value(0) : api.value(1);
        var end = api.coord(horizontal ? [val, cat] : [cat, val]);
        var base = api.coord(horizontal ? [0, cat] : [cat, 0]);
        var band = api.size(horizontal ? [0, 1] : [1, 0])[horizontal ? 1 : 0];
        var w = Math.max(4, Math.min(band * (opts.ratio || 0.5), opts.maxWidth || 34));
        var d = Math.max(3, w * 0.32), dy = d * 0.6;
        var color = typeof opts.color === 'function' ? opts.color(params.dataIndex) : opts.color;
        var front, side, top, lx, ly, align, vAlign;
        if (horizontal) {
          var y = end[1], x0 = base[0], x1 = end[0];
          front = [[x0, y - w / 2], [x1, y - w / 2], [x1, y + w / 2], [x0, y + w / 2]];
          top = [[x0, y - w / 2], [x1, y - w / 2], [x1 + d, y - w / 2 - dy], [x0 + d, y - w / 2 - dy]];
          side = [[x1, y - w / 2], [x1 + d, y - w / 2 - dy], [x1 + d, y + w / 2 - dy], [x1, y + w / 2]];
          lx = x1 + d + 6; ly = y - dy / 2; align = 'left'; vAlign = 'middle';
        } else {
          var x = end[0], y0 = base[1], y1 = end[1];
          front = [[x - w / 2, y1], [x + w / 2, y1], [x + w / 2, y0], [x - w / 2, y0]];
          side = [[x + w / 2, y1], [x + w / 2 + d, y1 - dy], [x + w / 2 + d, y0 - dy], [x + w / 2, y0]];
          top = [[x - w / 2, y1], [x + w / 2, y1], [x + w / 2 + d, y1 - dy], [x - w / 2 + d, y1 - dy]];
          lx = x + d / 2; ly = y1 - dy - 4; align = 'center'; vAlign = 'bottom';
        }
        var children = [
          { type: 'polygon', shape: { points: front },
            style: { fill: grad(color, shade(color, -0.65)) },
            emphasis: { style: { fill: shade(color, 0.25) } } },
          { type: 'polygon', shape: { points: side }, style: { fill: shade(color, -0.45) },
            emphasis: { style: { fill: shade(color, -0.2) } } },
          { type: 'polygon', shape: { points: top }, style: { fill: shade(color, 0.35) },
            emphasis: { style: { fill: shade(color, 0.6) } } }
        ];
        if (opts.label) {
          children.push({ type: 'text', silent: true, x: lx, y: ly,
            style: { text: opts.label(params.dataIndex), fill: opts.labelColor || '#eaf4ff', font: '12px ' + FONT,
              align: align, verticalAlign: vAlign } });
        }
        return { type: 'group', children: children };
      }
    };
  }

  /* A glass cylinder per category: a translucent 100% tube, the filled bar, and elliptic caps. */
  function cylinderSeries(values, colors, width) {
    var w = width || 34;
    var capColor = function (p) { return shade(colors[p.dataIndex % colors.length], 0.35); };
    return [
      { type: 'bar', data: values.map(function () { return 1; }), barWidth: w, barGap: '-100%', silent: true,
        itemStyle: { color: 'rgba(38,198,255,0.08)', borderColor: 'rgba(38,198,255,0.25)' }, z: 1 },
      { type: 'pictorialBar', data: values.map(function () { return 1; }), symbol: 'ellipse', symbolSize: [w, w * 0.3],
        symbolOffset: [0, '-50%'], symbolPosition: 'end', silent: true, z: 2,
        itemStyle: { color: 'rgba(38,198,255,0.15)', borderColor: 'rgba(38,198,255,0.4)' } },
      { type: 'bar', name: '持有率', data: values.map(function (v, i) {
        return { value: v, itemStyle: { color: grad(colors[i % colors.length], shade(colors[i % colors.length], -0.7)) } };
      }), barWidth: w, z: 3,
        label: { show: true, position: 'top', distance: 10, color: '#fff', fontSize: 14, fontWeight: 'bold',
          formatter: function (p) { return pct(p.value); } } },
      { type: 'pictorialBar', data: values, symbol: 'ellipse', symbolSize: [w, w * 0.3], symbolOffset: [0, '-50%'],
        symbolPosition: 'end', z: 4, silent: true, itemStyle: { color: capColor } },
      { type: 'pictorialBar', data: values, symbol: 'ellipse', symbolSize: [w, w * 0.3], symbolOffset: [0, '50%'],
        z: 0, silent: true, itemStyle: { color: function (p) { return shade(colors[p.dataIndex % colors.length], -0.5); } } }
    ];
  }

  function empty(reason) {
    return {
      // "原因（细节）" reads best as two lines under the title
      title: { text: '暂无数据', subtext: (reason || '').replace(/^暂无[：:]?/, '').replace(/（(.+)）$/, '\n$1'),
        left: 'center', top: 'middle', itemGap: 8,
        textStyle: { color: C.muted, fontSize: 18, fontWeight: 'normal' },
        subtextStyle: { color: 'rgba(127,156,199,0.75)', fontSize: 12, lineHeight: 18, width: 300, overflow: 'break' } },
      graphic: [{ type: 'circle', left: 'center', top: 'middle', shape: { r: 56 }, silent: true,
        style: { fill: 'none', stroke: 'rgba(38,198,255,0.18)', lineWidth: 2, lineDash: [6, 6] } }]
    };
  }
  var axisTip = { trigger: 'axis', axisPointer: { type: 'shadow', shadowStyle: { color: 'rgba(38,198,255,0.08)' } }, confine: true };

  // -- the ten panels --------------------------------------------------------------------------
  var builders = {
    asset_levels: function (d) {
      if (!d.levels || !d.levels.length) return empty('暂无：当前筛选范围内没有客户');
      var colors = ['#5ce1e6', '#26c6ff', '#2f7bff', '#9b7bff', '#ffc53d'];
      var total = d.aum.reduce(function (a, b) { return a + b; }, 0) || 1;
      return {
        grid: { left: 56, right: 24, top: 34, bottom: 28 },
        tooltip: Object.assign({}, axisTip, { formatter: function (ps) {
          var i = ps[0].dataIndex;
          return tip(d.levels[i] + '客户', [['AUM', wan(d.aum[i])], ['AUM占比', pct(d.aum[i] / total)],
            ['客户数', num(d.customers[i]) + '人'], ['人均资产', wan(d.customers[i] ? d.aum[i] / d.customers[i] : 0)]]);
        } }),
        xAxis: { type: 'category', data: d.levels, axisLabel: { color: C.text, fontSize: 13 } },
        yAxis: { type: 'value', axisLabel: { formatter: axisMoney } },
        series: [cuboidSeries({ name: 'AUM', data: d.levels.map(function (l, i) { return [i, d.aum[i]]; }),
          color: function (i) { return colors[i % colors.length]; }, maxWidth: 40,
          label: function (i) { return wan(d.aum[i]) + '\n' + num(d.customers[i]) + '人'; } })]
      };
    },

    trend: function (d) {
      if (!d.months || !d.months.length) return empty(d.reason);
      var fc = d.forecast && !d.forecast.empty ? d.forecast : null;
      var months = d.months.concat(fc ? fc.months : []);
      var n = d.months.length;
      var hist = d.aum.concat(fc ? fc.months.map(function () { return null; }) : []);
      var fcLine = months.map(function (m, i) {
        if (!fc) return null;
        if (i === n - 1) return d.aum[n - 1];  // join the dashed line to the last actual month
        return i >= n ? fc.forecast[i - n] : null;
      });
      var band = fc && fc.lower && fc.upper;
      var lower = months.map(function (m, i) { return band && i >= n ? fc.lower[i - n] : (band && i === n - 1 ? d.aum[n - 1] : null); });
      var width = months.map(function (m, i) { return band && i >= n ? fc.upper[i - n] - fc.lower[i - n] : (band && i === n - 1 ? 0 : null); });
      var selected = state.month || d.months[n - 1];
      document.getElementById('trend-method').textContent = fc ? '预测方法：' + fc.method : '';
      return {
        grid: { left: 60, right: 56, top: 40, bottom: 26 },
        legend: { top: 4, left: 56, itemWidth: 14, itemHeight: 8,
          data: ['总AUM', '预测AUM', '95%区间', '百万客户数'] },
        tooltip: { trigger: 'axis', confine: true, formatter: function (ps) {
          var i = ps[0].dataIndex, m = months[i], rows = [];
          if (i < n) rows.push(['总AUM', wan(d.aum[i]), C.cyan], ['百万客户数', num(d.millionaires[i]) + '人', C.gold]);
          else {
            rows.push(['预测AUM', wan(fc.forecast[i - n]), C.purple]);
            if (band) rows.push(['95%区间', wan(fc.lower[i - n]) + ' ~ ' + wan(fc.upper[i - n])]);
          }
          return tip(m + (i >= n ? '（预测）' : ''), rows);
        } },
        xAxis: { type: 'category', data: months,
          axisLabel: { formatter: function (v) { return v.slice(2).replace('-', '/'); } } },
        yAxis: [
          { type: 'value', scale: true, axisLabel: { formatter: axisMoney } },
          { type: 'value', splitLine: { show: false }, axisLabel: { formatter: function (v) { return num(v) + '人'; } } }
        ],
        series: [
          { name: '百万客户数', type: 'bar', yAxisIndex: 1, barWidth: '38%', data: d.millionaires,
            itemStyle: { color: grad('rgba(255,197,61,0.55)', 'rgba(255,197,61,0.04)'), borderRadius: [3, 3, 0, 0] } },
          { name: '总AUM', type: 'line', data: hist, smooth: true, symbol: 'circle', symbolSize: 5, showSymbol: false,
            lineStyle: { width: 3, color: C.cyan, shadowColor: 'rgba(38,198,255,0.8)', shadowBlur: 12, shadowOffsetY: 6 },
            itemStyle: { color: C.cyan },
            areaStyle: { color: grad('rgba(38,198,255,0.45)', 'rgba(38,198,255,0.02)') },
            markLine: { silent: true, symbol: 'none', label: { color: C.gold, formatter: '所选月份' },
              lineStyle: { color: C.gold, type: 'dashed' }, data: [{ xAxis: selected }] } },
          { name: '95%区间', type: 'line', data: lower, stack: 'band', symbol: 'none', lineStyle: { opacity: 0 }, silent: true },
          { name: '95%区间', type: 'line', data: width, stack: 'band', symbol: 'none', lineStyle: { opacity: 0 }, silent: true,
            areaStyle: { color: 'rgba(155,123,255,0.25)' }, itemStyle: { color: 'rgba(155,123,255,0.5)' } },
          { name: '预测AUM', type: 'line', data: fcLine, symbol: 'emptyCircle', symbolSize: 7,
            lineStyle: { width: 3, type: 'dashed', color: C.purple }, itemStyle: { color: C.purple } }
        ]
      };
    },

    branches: function (d) {
      if (!d.rows || !d.rows.length) return empty('暂无：当前月份没有网点数据');
      var rows = d.rows.slice().reverse();  // the best branch on top
      return {
        grid: { left: 8, right: 74, top: 12, bottom: 8, containLabel: true },
        tooltip: Object.assign({}, axisTip, { formatter: function (ps) {
          var r = rows[ps[0].dataIndex];
          return tip('第' + r.rank + '名 ' + r.branch, [['AUM', wan(r.aum)], ['客户数', num(r.customers) + '人'],
            ['百万客户', num(r.millionaires) + '人'], ['点击', '筛选该网点']]);
        } }),
        xAxis: { type: 'value', axisLabel: { formatter: axisMoney }, splitNumber: 3 },
        yAxis: { type: 'category', data: rows.map(function (r) { return r.branch; }),
          // interval 0: every branch is labelled, also when the panel is short (1500 px screens)
          axisLabel: { color: C.text, fontSize: 11, interval: 0, formatter: function (v, i) { return 'No.' + rows[i].rank + '  ' + shortBranch(v); } } },
        series: [cuboidSeries({ name: 'AUM', horizontal: true, ratio: 0.55, maxWidth: 16,
          data: rows.map(function (r, i) { return [r.aum, i]; }),
          color: function (i) { return rows[i].branch === d.selected ? C.gold : (rows[i].rank <= 3 ? '#26c6ff' : '#2f7bff'); },
          label: function (i) { return wan(rows[i].aum); } })]
      };
    },

    city: function (d) {
      if (!d.tiers || !d.tiers.length) return empty('暂无：当前筛选范围内没有客户');
      var colors = ['#26c6ff', '#2f7bff', '#9b7bff', '#ffc53d'];
      var ring = function (key) {
        return d.tiers.map(function (t, i) {
          return { name: t.tier, value: t[key], itemStyle: { color: grad(shade(colors[i % 4], 0.25), shade(colors[i % 4], -0.35)) } };
        });
      };
      var sum = function (k) { return d.tiers.reduce(function (a, t) { return a + t[k]; }, 0) || 1; };
      var totalC = sum('customers'), totalA = sum('aum');
      var shadow = { shadowBlur: 16, shadowOffsetY: 8, shadowColor: 'rgba(0,0,0,0.6)', borderColor: '#061636', borderWidth: 2 };
      return {
        tooltip: { trigger: 'item', confine: true, formatter: function (p) {
          var t = d.tiers[p.dataIndex];
          return tip(t.tier, [['客户数', num(t.customers) + '人（' + pct(t.customers / totalC) + '）'],
            ['AUM', wan(t.aum) + '（' + pct(t.aum / totalA) + '）'], ['百万客户', num(t.millionaires) + '人']]);
        } },
        legend: { bottom: 4, itemWidth: 12, itemHeight: 8, data: d.tiers.map(function (t) { return t.tier; }) },
        series: [
          { name: '客户数', type: 'pie', radius: ['22%', '42%'], center: ['50%', '46%'], data: ring('customers'),
            label: { position: 'inside', color: '#fff', fontSize: 11, formatter: function (p) { return pct(p.percent / 100, 0); } },
            itemStyle: shadow, emphasis: { scaleSize: 6 } },
          { name: 'AUM', type: 'pie', radius: ['50%', '68%'], center: ['50%', '46%'], data: ring('aum'),
            label: { color: C.text, fontSize: 12, formatter: function (p) { return p.name + '\nAUM ' + pct(p.percent / 100, 0); } },
            labelLine: { length: 8, length2: 8, lineStyle: { color: C.muted } },
            itemStyle: shadow, emphasis: { scaleSize: 8 } }
        ]
      };
    },

    lifecycle: function (d) {
      if (!d.total) return empty('暂无：当前筛选范围内没有客户');
      var colors = ['#5ce1e6', '#26c6ff', '#2f7bff', '#9b7bff'];
      var top = d.stages[0].reached || 1;
      return {
        tooltip: { trigger: 'item', confine: true, formatter: function (p) {
          var s = d.stages[p.dataIndex];
          return tip(s.stage, [['处于该阶段', num(s.customers) + '人（占' + pct(s.share) + '）'],
            ['达到该阶段及以后', num(s.reached) + '人'], ['较上一层转化', pct(s.conversion)],
            ['AUM', wan(s.aum)], ['百万客户', num(s.millionaires) + '人']]);
        } },
        graphic: [{ type: 'group', left: 10, bottom: 4, children: [
          { type: 'rect', shape: { width: 200, height: 24, r: 4 },
            style: { fill: 'rgba(255,107,107,0.14)', stroke: C.red, lineWidth: 1 } },
          // one line under the funnel (a box beside it covered the narrow end on 1500 px screens)
          { type: 'text', x: 8, y: 5, style: { text: '⚠ 流失预警 ' + num(d.churn.customers) + '人 · ' + pct(d.churn.share),
            fill: '#ffd6d6', font: 'bold 12px ' + FONT } }
        ] }],
        series: [{
          type: 'funnel', sort: 'none', left: '6%', width: '58%', top: 8, bottom: 34, gap: 4, min: 0, max: top,
          minSize: '18%', funnelAlign: 'center',
          data: d.stages.map(function (s, i) {
            return { name: s.stage, value: s.reached,
              itemStyle: { color: grad(shade(colors[i], 0.3), shade(colors[i], -0.45), true),
                shadowBlur: 14, shadowOffsetY: 6, shadowColor: 'rgba(0,0,0,0.55)', borderColor: shade(colors[i], 0.5), borderWidth: 1 } };
          }),
          label: { position: 'right', color: C.text, fontSize: 12, formatter: function (p) {
            var s = d.stages[p.dataIndex];
            return '{n|' + s.stage + '} ' + num(s.reached) + '人' + (p.dataIndex ? '\n{c|转化 ' + pct(s.conversion) + '}' : '');
          }, rich: { n: { color: '#fff', fontWeight: 'bold' }, c: { color: C.gold, fontSize: 11 } } },
          labelLine: { length: 10, lineStyle: { color: C.muted } },
          emphasis: { label: { fontSize: 13 } }
        }]
      };
    },

    segments: function (d) {
      if (d.empty) return empty(d.reason);
      var total = d.segments.reduce(function (a, s) { return a + s.customers; }, 0) || 1;
      return {
        tooltip: { trigger: 'item', confine: true, formatter: function (p) {
          var s = d.segments[p.dataIndex];
          return tip(s.name, [['客户数', num(s.customers) + '人（' + pct(s.customers / total) + '）'],
            ['人均资产', wan(s.avg_aum)], ['百万客户', num(s.millionaires) + '人']]);
        } },
        title: { text: num(total), subtext: '人 · ' + d.segments.length + '个客群', left: 'center', top: '43%',
          textStyle: { color: '#fff', fontSize: 16, fontWeight: 'bold' }, subtextStyle: { color: C.muted, fontSize: 11 },
          itemGap: 2 },
        series: [{
          type: 'pie', radius: ['34%', '56%'], center: ['50%', '54%'], minAngle: 6, avoidLabelOverlap: true,
          data: d.segments.map(function (s, i) {
            var c = PALETTE[i % PALETTE.length];
            return { name: s.name, value: s.customers, itemStyle: { color: grad(shade(c, 0.2), shade(c, -0.5)) } };
          }),
          itemStyle: { borderRadius: 4, borderColor: '#061636', borderWidth: 2, shadowBlur: 14, shadowOffsetY: 6,
            shadowColor: 'rgba(0,0,0,0.6)' },
          // the names without the common 客户 suffix and never cut (高潜力活跃型客户 → 高潜力活跃型)
          label: { color: C.text, fontSize: 11, overflow: 'none', formatter: function (p) {
            return String(p.name).replace(/客户$/, '') + '\n{p|' + pct(p.percent / 100, 0) + '} ' + num(p.value) + '人';
          }, rich: { p: { color: C.gold, fontWeight: 'bold' } } },
          labelLine: { length: 8, length2: 8, lineStyle: { color: C.muted } },
          emphasis: { scaleSize: 8 }
        }]
      };
    },

    prospects: function (d) {
      var asof = document.getElementById('prospects-asof');
      if (d.empty) { asof.textContent = '下季度达百万概率'; return empty(d.reason); }
      // the same prospects as the KPI card (总资产 < 100万); the list, like the chat's, leaves out the cool period
      asof.textContent = '潜客 ' + num(d.prospects) + ' · 冷静期 ' + num(d.cool_excluded) + ' 人不上榜' +
        (d.stale ? '（模型待更新）' : '');
      asof.title = '评分月 ' + d.as_of + '。潜客 = 总资产未达100万；其中满3个月数据、已由模型评分 ' + num(d.scored) + ' 人；' +
        '处于营销冷静期的 ' + num(d.cool_excluded) + ' 人不列入榜单（与对话中的高潜客户名单一致）';
      var rows = d.rows.slice().reverse();
      return {
        grid: { left: 8, right: 54, top: 8, bottom: 6, containLabel: true },
        tooltip: Object.assign({}, axisTip, { formatter: function (ps) {
          var r = rows[ps[0].dataIndex];
          return tip(r.customer_id, [['客户', r.name], ['网点', r.branch], ['3个月内达百万概率', pct(r.probability)]]);
        } }),
        xAxis: { type: 'value', max: 1, show: false },
        yAxis: { type: 'category', data: rows.map(function (r) { return r.customer_id; }),
          axisLabel: { color: C.text, fontSize: 12, formatter: function (v, i) {
            return '{r|' + (rows.length - i) + '} ' + rows[i].name + ' ' + v;
          }, rich: { r: { color: C.gold, fontWeight: 'bold', width: 16, align: 'right' } } } },
        series: [
          { type: 'bar', data: rows.map(function () { return 1; }), barWidth: 16, barGap: '-100%', silent: true,
            itemStyle: { color: 'rgba(38,198,255,0.08)', borderRadius: 3 },
            label: { show: true, position: 'right', distance: 6, color: C.gold, fontWeight: 'bold', fontSize: 12,
              formatter: function (p) { return pct(rows[p.dataIndex].probability); } } },
          { type: 'bar', data: rows.map(function (r) { return r.probability; }), barWidth: 16,
            itemStyle: { borderRadius: 3, color: function (p) {
              return grad('rgba(47,123,255,0.9)', p.value >= 0.5 ? 'rgba(255,197,61,0.75)' : 'rgba(38,198,255,0.75)', true);
            }, shadowBlur: 8, shadowColor: 'rgba(38,198,255,0.5)' },
            label: { show: true, position: 'insideLeft', color: '#fff', fontSize: 11,
              formatter: function (p) { return shortBranch(rows[p.dataIndex].branch); } } }
        ]
      };
    },

    occupation: function (d) {
      if (!d.types || !d.types.length) return empty('暂无：当前筛选范围内没有客户');
      var types = d.types.slice().reverse(), income = d.income.slice().reverse(), aum = d.avg_aum.slice().reverse(),
        cust = d.customers.slice().reverse();
      return {
        grid: { left: 8, right: 40, top: 44, bottom: 4, containLabel: true },
        legend: { top: 2, left: 8, itemWidth: 12, itemHeight: 8, data: ['平均月收入', '人均AUM'] },
        tooltip: Object.assign({}, axisTip, { formatter: function (ps) {
          var i = ps[0].dataIndex;
          return tip(types[i], [['平均月收入', wan(income[i]), C.cyan], ['人均AUM', wan(aum[i]), C.gold],
            ['客户数', num(cust[i]) + '人']]);
        } }),
        xAxis: [
          { type: 'value', position: 'bottom', axisLabel: { formatter: axisMoney }, splitNumber: 3 },
          { type: 'value', position: 'top', splitLine: { show: false }, splitNumber: 3,
            axisLabel: { color: C.gold, formatter: axisMoney } }
        ],
        yAxis: { type: 'category', data: types, axisLabel: { color: C.text, fontSize: 11, interval: 0 } },
        series: [
          Object.assign(cuboidSeries({ name: '平均月收入', horizontal: true, ratio: 0.5, maxWidth: 14,
            data: types.map(function (t, i) { return [income[i], i]; }), color: '#26c6ff',
            label: function (i) { return wan(income[i]); } }), { itemStyle: { color: C.cyan } }),
          { name: '人均AUM', type: 'scatter', xAxisIndex: 1, data: aum, symbol: 'diamond', symbolSize: 11,
            itemStyle: { color: C.gold, shadowBlur: 8, shadowColor: 'rgba(255,197,61,0.8)' } }
        ]
      };
    },

    engagement: function (d) {
      if (d.empty || !d.rows.length) return empty(d.reason || '暂无：当前筛选范围内没有客户');
      var rows = d.rows;
      document.getElementById('engagement-base').textContent = '按当月APP登录次数分组 · 资产对比 ' + d.base_month;
      return {
        grid: { left: 56, right: 50, top: 36, bottom: 26 },
        legend: { top: 4, left: 56, itemWidth: 12, itemHeight: 8, data: ['客户数', '近' + d.months_back + '个月AUM增长率'] },
        tooltip: Object.assign({}, axisTip, { formatter: function (ps) {
          var r = rows[ps[0].dataIndex];
          return tip('APP登录 ' + r.bucket + '/月', [['客户数', num(r.customers) + '人', C.blue],
            ['近' + d.months_back + '个月AUM增长', pct(r.growth), C.gold], ['资产上升客户占比', pct(r.grew_share), C.green],
            ['平均登录次数', r.avg_logins]]);
        } }),
        xAxis: { type: 'category', data: rows.map(function (r) { return r.bucket; }), axisLabel: { color: C.text } },
        yAxis: [
          { type: 'value', axisLabel: { formatter: function (v) { return num(v); } } },
          { type: 'value', splitLine: { show: false }, axisLabel: { formatter: function (v) { return pct(v, 0); } } }
        ],
        series: [
          cuboidSeries({ name: '客户数', data: rows.map(function (r, i) { return [i, r.customers]; }), color: '#2f7bff',
            maxWidth: 34 }),
          { name: '近' + d.months_back + '个月AUM增长率', type: 'line', yAxisIndex: 1, data: rows.map(function (r) { return r.growth; }),
            smooth: true, symbol: 'circle', symbolSize: 8,
            lineStyle: { color: C.gold, width: 3, shadowBlur: 10, shadowColor: 'rgba(255,197,61,0.7)' },
            itemStyle: { color: C.gold },
            label: { show: true, position: 'top', color: C.gold, fontSize: 12, formatter: function (p) { return pct(p.value); } } }
        ]
      };
    },

    products: function (d) {
      if (!d.products || !d.products.length) return empty('暂无：当前筛选范围内没有客户');
      var colors = ['#26c6ff', '#2f7bff', '#9b7bff', '#ffc53d'];
      return {
        grid: { left: 40, right: 16, top: 34, bottom: 26 },
        tooltip: { trigger: 'axis', axisPointer: { type: 'none' }, confine: true, formatter: function (ps) {
          var i = ps[0].dataIndex;
          return tip(d.products[i], [['持有率', pct(d.rates[i])], ['余额合计', wan(d.balances[i])]]);
        } },
        xAxis: { type: 'category', data: d.products, axisLabel: { color: C.text, fontSize: 13 } },
        yAxis: { type: 'value', max: 1, axisLabel: { formatter: function (v) { return pct(v, 0); } } },
        series: cylinderSeries(d.rates, colors, 36)
      };
    }
  };

  // -- rendering -----------------------------------------------------------------------------
  function chartFor(el) {
    var name = el.dataset.chart;
    if (!charts[name]) {
      charts[name] = echarts.init(el, 'bigscreen', { renderer: 'canvas' });
      if (name === 'branches') {
        charts[name].on('click', function (p) {  // drill into a branch from the ranking
          var d = window.__dashboard.data.charts.branches.rows.slice().reverse()[p.dataIndex];
          if (d) setFilter('branch', state.branch === d.branch ? '' : d.branch);
        });
      }
      if (name === 'trend') {  // a click anywhere over a month picks it (not only on the thin line)
        var trend = charts[name];
        trend.getZr().on('click', function (e) {
          var pt = [e.offsetX, e.offsetY];
          if (!trend.containPixel('grid', pt)) return;
          var i = Math.round(trend.convertFromPixel({ xAxisIndex: 0 }, pt[0]));
          var months = window.__dashboard.data.charts.trend.months || [];
          if (i >= 0 && i < months.length) {
            var latest = window.__dashboard.data.meta.latest_month;
            setFilter('month', months[i] === latest ? '' : months[i]);
          }
        });
      }
      new ResizeObserver(function () { charts[name].resize(); }).observe(el);
    }
    return charts[name];
  }

  function finished(chart) {  // resolves after the chart's first complete frame (or 5 s, whatever comes first)
    return new Promise(function (resolve) {
      var timer = setTimeout(resolve, 5000);
      var done = function () { chart.off('finished', done); clearTimeout(timer); resolve(); };
      chart.on('finished', done);
    });
  }

  function renderKpis(cards) {
    cards.forEach(function (k) {
      var el = document.querySelector('.kpi[data-kpi="' + k.key + '"]');
      if (!el) return;
      el.querySelector('.kpi-label').textContent = k.label;
      var v = el.querySelector('.kpi-value');
      v.textContent = k.text;
      if (k.unit) { var u = document.createElement('small'); u.textContent = k.unit; v.appendChild(u); }
      if (k.mom !== null && k.mom !== undefined) {
        var m = document.createElement('span');
        m.className = 'mom ' + (k.mom > 0 ? 'up' : (k.mom < 0 ? 'down' : ''));
        m.textContent = '环比 ' + (k.mom > 0 ? '▲' : (k.mom < 0 ? '▼' : '')) + pct(Math.abs(k.mom));
        v.appendChild(m);
      }
      var sub = el.querySelector('.kpi-sub');
      sub.textContent = k.sub || '';
      sub.title = k.sub || '';
    });
  }

  function fillSelect(sel, values, current, allLabel) {
    var keep = sel.value;
    sel.textContent = '';
    if (allLabel !== null) { var o = document.createElement('option'); o.value = ''; o.textContent = allLabel; sel.appendChild(o); }
    values.forEach(function (v) { var o = document.createElement('option'); o.value = v; o.textContent = v; sel.appendChild(o); });
    sel.value = current || (allLabel === null ? values[values.length - 1] : '') || keep;
  }

  function render(data) {
    var meta = data.meta;
    window.__dashboard.data = data;
    fillSelect(document.getElementById('f-branch'), meta.options.branches, meta.branch || '', meta.scoped ? '全部授权网点' : '全部网点');
    fillSelect(document.getElementById('f-month'), meta.options.months.slice().reverse(), meta.month, null);
    document.getElementById('data-month').textContent = '数据月份：' + meta.month + (meta.branch ? ' · ' + meta.branch : ' · 全部网点');
    renderKpis(data.kpis);
    var waits = [];
    document.querySelectorAll('.chart[data-chart]').forEach(function (el) {
      var name = el.dataset.chart, chart = chartFor(el);
      var d = data.charts[name] || { empty: true, reason: '暂无数据' };
      var option;
      try {
        option = d.empty ? empty(d.reason) : builders[name](d);
      } catch (e) {  // a malformed panel shows a placeholder; the others still draw
        console.error(name, e);
        option = empty('暂无：图表渲染失败');
      }
      el.dataset.empty = (d.empty || (option.title && option.title.text === '暂无数据')) ? '1' : '0';
      // The first paint is final at once (no grow-in animation): the screen is complete as soon as it
      // is drawn. Filter changes animate.
      if (firstLoad) option.animation = false;
      option.aria = { enabled: true };  // a generated Chinese description for screen readers
      waits.push(finished(chart));
      var t0 = performance.now();
      chart.setOption(option, true);
      timings.charts[name] = Math.round(performance.now() - t0);
    });
    timings.rendered = performance.now();
    return Promise.all(waits);
  }

  function showError(msg) {
    var b = document.getElementById('banner');
    b.textContent = msg;
    b.hidden = !msg;
  }

  function load() {
    var q = new URLSearchParams();
    if (state.branch) q.set('branch', state.branch);
    if (state.month) q.set('month', state.month);
    var url = API + (q.toString() ? '?' + q.toString() : '');  // no query on first load: matches the preload
    document.body.dataset.state = 'loading';
    timings.fetch = performance.now();
    return fetch(url, { headers: { Accept: 'application/json' } })
      .then(function (r) {
        return r.json().catch(function () { return { error: '服务器返回了无法解析的数据' }; }).then(function (j) {
          if (!r.ok || j.error) throw new Error(j.error || ('请求失败（' + r.status + '）'));
          return j;
        });
      })
      .then(function (data) {
        timings.data = performance.now();
        showError(data.meta.failed && data.meta.failed.length ? '部分图表暂时无法加载，已显示占位。' : '');
        return render(data);
      })
      .then(function () {
        timings.finished = performance.now();
        document.body.dataset.state = 'ready';
        window.__dashboard.ready = true;
        if (firstLoad) { firstLoad = false; document.documentElement.dataset.ready = '1'; }
      })
      .catch(function (e) {
        document.body.dataset.state = 'error';
        showError(e.message || String(e));
      });
  }

  function setFilter(key, value) {
    state[key] = value;
    var q = new URLSearchParams(location.search);
    if (value) q.set(key, value); else q.delete(key);
    history.replaceState(null, '', location.pathname + (q.toString() ? '?' + q.toString() : ''));
    load();
  }

  function tick() {
    var d = new Date(), p = function (n) { return (n < 10 ? '0' : '') + n; };
    document.getElementById('clock').textContent = d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate()) +
      ' ' + p(d.getHours()) + ':' + p(d.getMinutes()) + ':' + p(d.getSeconds());
  }

  var params = new URLSearchParams(location.search);
  state.branch = params.get('branch') || '';
  state.month = params.get('month') || '';
  document.getElementById('f-branch').addEventListener('change', function (e) { setFilter('branch', e.target.value); });
  document.getElementById('f-month').addEventListener('change', function (e) {
    var latest = window.__dashboard.data && window.__dashboard.data.meta.latest_month;
    setFilter('month', e.target.value === latest ? '' : e.target.value);
  });
  tick();
  setInterval(tick, 1000);
  setInterval(function () { if (document.visibilityState === 'visible') load(); }, REFRESH_MS);
  load();
})();

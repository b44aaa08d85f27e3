// A small SVG line chart with a time axis and a labelled value axis: enough for the utilization page,
// and nothing to fetch. Series: [{name, t: [epoch ms], y: [number|null]}]; a null leaves a gap.
const NS = 'http://www.w3.org/2000/svg';
const COLORS = ['#2457c5', '#c2410c', '#15803d', '#7a4fc4', '#b91c1c', '#0e7490', '#a16207', '#4b5563'];
const W = 720; const H = 200; const L = 52; const R = 10; const T = 10; const B = 24;

function svg(tag, attrs, text) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

export function lineChart(title, unit, series, opts = {}) {
  const box = document.createElement('div');
  box.className = 'chart';
  box.dataset.chart = title;
  const h = document.createElement('h3');
  h.textContent = `${title} (${unit})`;
  box.append(h);
  const all = series.flatMap((s) => s.t.map((t, i) => [t, s.y[i]])).filter(([, y]) => y !== null && y !== undefined);
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none', role: 'img', 'aria-label': title });
  if (!all.length) {
    root.append(svg('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', fill: '#6b7280', 'font-size': 12 }, 'no samples yet'));
    box.append(root);
    return box;
  }
  const t0 = Math.min(...all.map(([t]) => t)); const t1 = Math.max(t0 + 1000, ...all.map(([t]) => t));
  const yMax = opts.max !== undefined ? Math.max(opts.max, ...all.map(([, y]) => y)) : niceMax(Math.max(...all.map(([, y]) => y)));
  const x = (t) => L + ((t - t0) / (t1 - t0)) * (W - L - R);
  const y = (v) => T + (1 - v / yMax) * (H - T - B);
  const axis = svg('g', { class: 'axis' });
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4;
    axis.append(svg('line', { x1: L, x2: W - R, y1: y(v), y2: y(v) }));
    axis.append(svg('text', { x: L - 4, y: y(v) + 3, 'text-anchor': 'end' }, Number.isInteger(v) ? v : v.toFixed(1)));
  }
  for (let i = 0; i <= 4; i++) {
    const t = t0 + ((t1 - t0) * i) / 4;
    axis.append(svg('text', { x: x(t), y: H - 6, 'text-anchor': i === 0 ? 'start' : i === 4 ? 'end' : 'middle' },
      new Date(t).toLocaleTimeString([], { hour12: false })));
  }
  axis.append(svg('line', { x1: L, x2: L, y1: T, y2: H - B, stroke: '#9ca3af' }));
  root.append(axis);
  const legend = document.createElement('div');
  legend.className = 'legend';
  series.forEach((s, k) => {
    const color = COLORS[k % COLORS.length];
    let d = ''; let pen = false;
    s.t.forEach((t, i) => {
      const v = s.y[i];
      if (v === null || v === undefined) { pen = false; return; }
      d += `${pen ? 'L' : 'M'}${x(t).toFixed(1)},${y(v).toFixed(1)}`;
      pen = true;
    });
    root.append(svg('path', { d, fill: 'none', stroke: color, 'stroke-width': 1.6, 'vector-effect': 'non-scaling-stroke', 'data-series': s.name }));
    // A value with no neighbour draws no line (a lease grant in one sample only): mark it with a dot.
    const has = (i) => i >= 0 && i < s.y.length && s.y[i] !== null && s.y[i] !== undefined;
    s.t.forEach((t, i) => {
      if (has(i) && !has(i - 1) && !has(i + 1)) {
        root.append(svg('circle', { cx: x(t).toFixed(1), cy: y(s.y[i]).toFixed(1), r: 2.5, fill: color }));
      }
    });
    const item = document.createElement('span');
    const swatch = document.createElement('i');
    swatch.style.background = color;
    item.append(swatch, s.name);
    legend.append(item);
  });
  box.append(root, legend);
  return box;
}

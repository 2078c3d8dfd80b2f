// SVG charts for the HTML report, drawn with d3's scale/shape/array modules in Node (no DOM):
// d3 computes scales, ticks and path strings; the SVG markup is built here as strings.

import { scaleBand, scaleLinear, scaleLog } from 'd3-scale';
import { area, curveStepAfter, line } from 'd3-shape';
import { max, sum } from 'd3-array';
import { fillLog2, rebin, type Density, type HistBin, type LatencySeries, type Phase } from './data.ts';
import type { IoTimeline } from '../analyze/io-latency.ts';

export const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

const fmt = (n: number): string =>
  Math.abs(n) >= 1e6 ? `${+(n / 1e6).toFixed(2)}M` : Math.abs(n) >= 1e3 ? `${+(n / 1e3).toFixed(1)}k` : `${+n.toFixed(1)}`;

function svg(width: number, height: number, cls: string, body: string): string {
  return `<svg class="chart ${cls}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img">${body}</svg>`;
}

function xAxis(x: (v: number) => number, ticks: number[], y: number, label = ''): string {
  const t = ticks
    .map(
      (v) =>
        `<g transform="translate(${x(v).toFixed(1)},${y})"><line y2="5" stroke="#888"/><text y="17" text-anchor="middle">${esc(fmt(v))}</text></g>`,
    )
    .join('');
  return `<g class="axis">${t}${label ? `<text x="${x(ticks[ticks.length - 1] ?? 0).toFixed(1)}" y="${y + 32}" text-anchor="end" class="axis-label">${esc(label)}</text>` : ''}</g>`;
}

/** Phases as a Gantt chart: one row per phase over the trace's time range. */
export function phasesGantt(phases: Phase[], t0: number, t1: number, unit: string, width = 1000): string {
  const labelW = 170;
  const rowH = 22;
  const height = phases.length * rowH + 50;
  const x = scaleLinear()
    .domain([t0, t1])
    .range([labelW, width - 20]);
  const rows = phases
    .map((p, i) => {
      const y = 10 + i * rowH;
      const x0 = x(p.start);
      const w = Math.max(2, x(p.end) - x0);
      return `<g class="phase"><text x="${labelW - 8}" y="${y + 15}" text-anchor="end">${esc(p.title)}</text><rect x="${x0.toFixed(1)}" y="${y + 3}" width="${w.toFixed(1)}" height="${rowH - 6}" rx="3" fill="${PALETTE[i % PALETTE.length]}"><title>${esc(`${p.title}: ${p.start} – ${p.end} ${unit}`)}</title></rect></g>`;
    })
    .join('');
  return svg(width, height, 'gantt', rows + xAxis(x, x.ticks(8), height - 38, unit));
}

/** Event density over time: one filled step area per row (all events first, then devices). */
export function densityChart(d: Density, unit: string, width = 1000, maxRows = 8): string {
  const labelW = 170;
  const rowH = 46;
  const rows = [...d.rows].sort((a, b) => (a[0] === 'all' ? -1 : b[0] === 'all' ? 1 : sum(b[1]) - sum(a[1]))).slice(0, maxRows);
  const height = rows.length * rowH + 50;
  const x = scaleLinear()
    .domain([d.from, d.to])
    .range([labelW, width - 20]);
  const binW = (d.to - d.from) / d.bins;
  const body = rows
    .map(([name, vals], i) => {
      const top = 8 + i * rowH;
      const y = scaleLinear()
        .domain([0, max(vals) || 1])
        .range([top + rowH - 8, top + 4]);
      const pts = Array.from(vals, (v, k) => [d.from + k * binW, v] as [number, number]);
      pts.push([d.to, vals[vals.length - 1] ?? 0]);
      const path =
        area<[number, number]>()
          .x((p) => x(p[0]))
          .y0(top + rowH - 8)
          .y1((p) => y(p[1]))
          .curve(curveStepAfter)(pts) ?? '';
      const total = sum(vals);
      return `<g class="density-row"><text x="${labelW - 8}" y="${top + rowH / 2}" text-anchor="end">${esc(name === 'all' ? 'all events' : name)}</text><text x="${labelW - 8}" y="${top + rowH / 2 + 13}" text-anchor="end" class="sub">${esc(fmt(total))} events</text><path d="${path}" fill="${PALETTE[i % PALETTE.length]}" fill-opacity="0.75"/><line x1="${labelW}" x2="${width - 20}" y1="${top + rowH - 8}" y2="${top + rowH - 8}" stroke="#ccc"/></g>`;
    })
    .join('');
  return svg(width, height, 'density', body + xAxis(x, x.ticks(8), height - 38, unit));
}

/** One latency histogram (log-scaled latency buckets, counts as bars). */
export function latencyHistogram(s: LatencySeries, unit: string, width = 480, height = 180): string {
  const bins: HistBin[] = s.bins?.length ? fillLog2(s.bins) : [];
  const m = { l: 50, r: 10, t: 26, b: 40 };
  const u = unit === 'instructions' ? 'instr' : unit;
  const title = `<text x="${m.l}" y="16" class="title">${esc(s.label)} — n=${fmt(s.count)}, p50 ${fmt(s.p50)}, p99 ${fmt(s.p99)} ${esc(u)}</text>`;
  if (!bins.length) return svg(width, height, 'hist', title + `<text x="${m.l}" y="${height / 2}">no samples</text>`);
  const x = scaleBand<string>()
    .domain(bins.map((b) => `${b.x0}-${b.x1}`))
    .range([m.l, width - m.r])
    .padding(0.12);
  const y = scaleLinear()
    .domain([0, max(bins, (b) => b.count) || 1])
    .nice()
    .range([height - m.b, m.t]);
  const bars = bins
    .map((b) => {
      const bx = x(`${b.x0}-${b.x1}`) ?? 0;
      return `<rect x="${bx.toFixed(1)}" y="${y(b.count).toFixed(1)}" width="${x.bandwidth().toFixed(1)}" height="${(height - m.b - y(b.count)).toFixed(1)}" fill="#4e79a7"><title>${esc(`${fmt(b.x0)}–${fmt(b.x1)} ${unit}: ${b.count}`)}</title></rect>`;
    })
    .join('');
  const every = Math.max(1, Math.ceil(bins.length / 6));
  const labels = bins
    .map((b, i) =>
      i % every
        ? ''
        : `<text x="${((x(`${b.x0}-${b.x1}`) ?? 0) + x.bandwidth() / 2).toFixed(1)}" y="${height - m.b + 15}" text-anchor="middle">${esc(fmt(b.x1))}</text>`,
    )
    .join('');
  const yt = y
    .ticks(4)
    .filter((v) => Number.isInteger(v))
    .map(
      (v) =>
        `<text x="${m.l - 6}" y="${y(v) + 4}" text-anchor="end">${esc(fmt(v))}</text><line x1="${m.l}" x2="${width - m.r}" y1="${y(v)}" y2="${y(v)}" stroke="#eee"/>`,
    )
    .join('');
  return svg(
    width,
    height,
    'hist',
    title +
      yt +
      bars +
      `<g class="axis">${labels}</g><text x="${width - m.r}" y="${height - 6}" text-anchor="end" class="axis-label">≤ ${esc(unit)} (log₂ buckets)</text>`,
  );
}

/** Grouped horizontal bars: counts per key in A and B (diff summary), log scale. */
export function compareBars(rows: { key: string; a: number; b: number }[], width = 1000): string {
  const labelW = 200;
  const rowH = 26;
  const height = rows.length * rowH + 40;
  const top = max(rows, (r) => Math.max(r.a, r.b)) || 1;
  const x = scaleLog()
    .domain([0.5, Math.max(10, top)])
    .range([labelW, width - 90])
    .clamp(true);
  const body = rows
    .map((r, i) => {
      const y = 6 + i * rowH;
      const wa = r.a > 0 ? x(r.a) - labelW : 0;
      const wb = r.b > 0 ? x(r.b) - labelW : 0;
      return `<g><text x="${labelW - 8}" y="${y + 15}" text-anchor="end">${esc(r.key)}</text><rect x="${labelW}" y="${y + 2}" width="${Math.max(0, wa).toFixed(1)}" height="10" fill="#4e79a7"/><rect x="${labelW}" y="${y + 12}" width="${Math.max(0, wb).toFixed(1)}" height="10" fill="#f28e2b"/><text x="${(labelW + Math.max(wa, wb) + 6).toFixed(1)}" y="${y + 16}" class="sub">${esc(`${fmt(r.a)} / ${fmt(r.b)}`)}</text></g>`;
    })
    .join('');
  const legend = `<g transform="translate(${labelW},${height - 18})"><rect width="10" height="10" fill="#4e79a7"/><text x="14" y="9">A</text><rect x="40" width="10" height="10" fill="#f28e2b"/><text x="54" y="9">B</text><text x="80" y="9" class="sub">(log scale)</text></g>`;
  return svg(width, height, 'compare', body + legend);
}

/** A queue's activity over the trace: requests per bin as bars, the most in flight as a step line. */
export function ioTimelineChart(label: string, t: IoTimeline, unit: string, width = 480, height = 180): string {
  const m = { l: 40, r: 40, t: 26, b: 40 };
  const n = Math.min(t.requests.length, 120);
  const reqs = rebin(t.requests, n, 'sum');
  const depth = rebin(t.depth, n, 'max');
  const x = scaleLinear()
    .domain([t.from, t.to])
    .range([m.l, width - m.r]);
  const yr = scaleLinear()
    .domain([0, max(reqs) || 1])
    .nice()
    .range([height - m.b, m.t]);
  const yd = scaleLinear()
    .domain([0, max(depth) || 1])
    .nice()
    .range([height - m.b, m.t]);
  const binW = (t.to - t.from) / n;
  const bw = Math.max(1, (width - m.l - m.r) / n - 0.5);
  const bars = reqs
    .map((v, i) =>
      v
        ? `<rect x="${x(t.from + i * binW).toFixed(1)}" y="${yr(v).toFixed(1)}" width="${bw.toFixed(1)}" height="${(height - m.b - yr(v)).toFixed(1)}" fill="#4e79a7"><title>${esc(`${fmt(v)} request(s) from ${fmt(t.from + i * binW)} ${unit}`)}</title></rect>`
        : '',
    )
    .join('');
  const pts = depth.map((v, i) => [t.from + i * binW, v] as [number, number]);
  pts.push([t.to, depth[depth.length - 1] ?? 0]);
  const path =
    line<[number, number]>()
      .x((p) => x(p[0]))
      .y((p) => yd(p[1]))
      .curve(curveStepAfter)(pts) ?? '';
  const title = `<text x="${m.l}" y="16" class="title">${esc(label)} — ${fmt(sum(t.requests))} requests, depth ≤ ${fmt(max(t.depth) ?? 0)}</text>`;
  const left = yr
    .ticks(3)
    .filter((v) => Number.isInteger(v))
    .map((v) => `<text x="${m.l - 6}" y="${yr(v) + 4}" text-anchor="end" fill="#4e79a7">${esc(fmt(v))}</text>`)
    .join('');
  const right = yd
    .ticks(3)
    .filter((v) => Number.isInteger(v))
    .map((v) => `<text x="${width - m.r + 6}" y="${yd(v) + 4}" fill="#e15759">${esc(fmt(v))}</text>`)
    .join('');
  const legend = `<text x="${m.l}" y="${height - 6}" class="sub"><tspan fill="#4e79a7">■ requests per bin</tspan>  <tspan fill="#e15759">— most in flight</tspan></text>`;
  return svg(
    width,
    height,
    'io',
    title +
      left +
      right +
      bars +
      `<path d="${path}" fill="none" stroke="#e15759" stroke-width="1.5"/>` +
      xAxis(x, x.ticks(4), height - m.b, '') +
      legend,
  );
}

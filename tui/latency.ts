// Latency screen: per-INTID series with count and percentiles, and the selected series'
// histogram (d3 binning) as horizontal bars.

import { bin, max as d3max } from 'd3-array';
import { bar, fit, fmtInt, line, type Line } from './ui.ts';
import { moveCursor, type AppState, type Ctx, type KeyHandler } from './state.ts';
import { fillLog2, type LatencySeries } from './data.ts';

export function latencyList(ctx: Ctx): LatencySeries[] | string {
  const a = ctx.analyses;
  if (!a) return 'analyzing… (latency appears when the pass finishes)';
  if (!a.latency.available) return `latency not available: ${a.latency.why}`;
  return a.latency.value;
}

/** Histogram bins of a series (d3.bin over the samples, `n` thresholds). */
export function histogram(samples: number[], n: number): { x0: number; x1: number; count: number }[] {
  if (!samples.length) return [];
  const b = bin().thresholds(n)(samples);
  return b.map((x) => ({ x0: x.x0 ?? 0, x1: x.x1 ?? 0, count: x.length }));
}

export function renderLatency(s: AppState, ctx: Ctx): Line[] {
  const list = latencyList(ctx);
  if (typeof list === 'string') return [line(list, { dim: true })];
  if (!list.length) return [line('no interrupt latencies in this trace', { dim: true })];
  const unit = ctx.data.meta.clock.kind === 'ns' ? 'ns' : 'instr';
  const out: Line[] = [
    line(
      `${'series'.padEnd(34)} ${'count'.padStart(9)} ${'p50'.padStart(9)} ${'p90'.padStart(9)} ${'p99'.padStart(9)} ${'max'.padStart(9)}  (${unit})`,
      { bold: true },
    ),
  ];
  const listH = Math.min(list.length, Math.max(3, Math.floor((ctx.height - 2) / 2)));
  const top = Math.max(0, Math.min(s.latency.cursor - listH + 1, list.length - listH));
  for (let i = top; i < top + listH; i++) {
    const r = list[i]!;
    out.push(
      line(
        `${fit(r.label, 34)} ${fmtInt(r.count).padStart(9)} ${fmtInt(r.p50).padStart(9)} ${fmtInt(r.p90).padStart(9)} ${fmtInt(r.p99).padStart(9)} ${fmtInt(r.max).padStart(9)}`,
        { inverse: i === s.latency.cursor },
      ),
    );
  }
  const sel = list[s.latency.cursor]!;
  out.push(line('─'.repeat(ctx.width), { dim: true }));
  const room = ctx.height - out.length - 1;
  const hist = sel.bins?.length ? fillLog2(sel.bins) : histogram(sel.samples, Math.max(2, room));
  if (!hist.length) {
    out.push(line(`${sel.label}: no samples to draw (summary only)`, { dim: true }));
    return out;
  }
  out.push(line(`${sel.label}: histogram of ${fmtInt(sel.count)} samples`, { bold: true }));
  const top2 = d3max(hist, (x) => x.count) ?? 1;
  const labW = 24;
  for (const b of hist.slice(0, room)) {
    out.push(
      line(
        `${`${fmtInt(b.x0)}–${fmtInt(b.x1)}`.padStart(labW)} ${fmtInt(b.count).padStart(8)} ${bar(b.count / top2, Math.max(4, ctx.width - labW - 11))}`,
      ),
    );
  }
  return out;
}

export const latencyKeys: KeyHandler = (s, input, key, ctx) => {
  const list = latencyList(ctx);
  if (typeof list === 'string') return s;
  return { ...s, latency: { cursor: moveCursor(s.latency.cursor, list.length, input, key, 5) } };
};

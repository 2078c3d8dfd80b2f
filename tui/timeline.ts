// Timeline screen: the phases as a Gantt chart and event density per device over time.
// +/- zoom around the centre, ←/→ pan, 0 resets, ↑/↓ pick a phase and p zooms to it,
// Enter filters the Events screen to the visible time span.

import { density, resample, type Density, type TraceData } from './data.ts';
import { fit, fmtInt, line, sparkline, type Line } from './ui.ts';
import { gotoEvents } from './events.ts';
import type { AppState, Ctx, KeyHandler } from './state.ts';

/** Chunks a view may decode for exact per-device rows; wider views use the chunk index. */
export const EXACT_CHUNKS = 24;

const cache = new WeakMap<TraceData, Map<string, Density>>();

export function viewDensity(d: TraceData, from: number, to: number, bins: number, index?: Density): Density {
  const chunks = d.reader.chunks.filter((c) => c.timeMax >= from && c.timeMin < to).length;
  // Wide views of large traces: the whole-trace index (per device) when it is ready.
  if (index && chunks > EXACT_CHUNKS) {
    const r = resample(index, from, to, bins);
    if (r) return r;
  }
  let m = cache.get(d);
  if (!m) cache.set(d, (m = new Map()));
  const key = `${from}:${to}:${bins}`;
  let v = m.get(key);
  if (!v) {
    if (m.size > 32) m.clear();
    m.set(key, (v = density(d, from, to, bins, EXACT_CHUNKS)));
  }
  return v;
}

export function renderTimeline(s: AppState, ctx: Ctx): Line[] {
  const d = ctx.data;
  const { from, to } = s.timeline;
  const labelW = Math.min(22, Math.max(12, Math.floor(ctx.width / 5)));
  const plotW = Math.max(10, ctx.width - labelW - 1);
  const out: Line[] = [];
  const unit = d.meta.clock.kind === 'ns' ? 'ns' : 'instr';
  out.push(
    line(
      `view ${fmtInt(from)} – ${fmtInt(to)} ${unit} (${(((to - from) / Math.max(1, d.timeLast + 1 - d.timeFirst)) * 100).toFixed(1)}% of the trace)`,
      { color: 'cyan' },
    ),
  );
  out.push(line(`${' '.repeat(labelW)} ${axis(from, to, plotW)}`, { dim: true }));
  out.push(line(`${fit(selectionLabel(s), labelW)} ${selectionRow(s, plotW)}`, { color: 'yellow' }));
  // Phases Gantt.
  const a = ctx.analyses;
  if (!a) out.push(line(fit('phases', labelW) + ' analyzing…', { dim: true }));
  else if (!a.phases.available) out.push(line(fit('phases', labelW) + ` not available (${a.phases.why})`, { dim: true }));
  else {
    a.phases.value.forEach((p, k) => {
      const cells = new Array<string>(plotW).fill(' ');
      const x0 = Math.floor(((p.start - from) / (to - from)) * plotW);
      const x1 = Math.ceil(((p.end - from) / (to - from)) * plotW);
      for (let x = Math.max(0, x0); x < Math.min(plotW, Math.max(x0 + 1, x1)); x++) cells[x] = '█';
      out.push(line(`${fit(p.title, labelW)} ${cells.join('')}`, { color: k === s.timeline.phase ? 'yellow' : 'green' }));
    });
  }
  // Density rows: all events, then devices by volume.
  const dens = viewDensity(d, from, to, plotW, ctx.densityIndex);
  const rows = [...dens.rows].sort((x, y) => (x[0] === 'all' ? -1 : y[0] === 'all' ? 1 : sum(y[1]) - sum(x[1])));
  const room = ctx.height - out.length - 1;
  for (const [name, vals] of rows.slice(0, Math.max(1, room))) {
    let mx = 0;
    for (const v of vals) if (v > mx) mx = v;
    out.push(
      line(`${fit(name === 'all' ? 'all events' : name, labelW)} ${sparkline(vals, mx)}`, { color: name === 'all' ? 'cyan' : undefined }),
    );
  }
  if (rows.length === 1 && d.reader.chunks.filter((c) => c.timeMax >= from && c.timeMin < to).length > EXACT_CHUNKS)
    out.push(
      line(ctx.densityIndex ? 'zoom in (+) for per-device rows' : 'per-device rows: scanning the trace… (or zoom in with +)', {
        dim: true,
      }),
    );
  out.push(
    line('+/- zoom  ←/→ pan  0 reset  ↑/↓ phase  p zoom to phase  s select from/to centre  Enter: events in selection (or view)', {
      dim: true,
    }),
  );
  return out.slice(0, ctx.height);
}

function selectionLabel(s: AppState): string {
  const t = s.timeline;
  if (t.selStart !== undefined) return 'selecting…';
  return t.sel ? 'selection' : 'centre';
}

/** The selection (═) or the span being selected (from its start to the centre), and the centre (│). */
function selectionRow(s: AppState, w: number): string {
  const t = s.timeline;
  const cells = new Array<string>(w).fill(' ');
  const x = (v: number) => Math.floor(((v - t.from) / (t.to - t.from)) * w);
  const mid = (t.from + t.to) / 2;
  const span = t.selStart !== undefined ? [Math.min(t.selStart, mid), Math.max(t.selStart, mid)] : t.sel;
  if (span) for (let i = Math.max(0, x(span[0]!)); i <= Math.min(w - 1, x(span[1]!)); i++) cells[i] = '═';
  const c = Math.floor(w / 2);
  cells[c] = '│';
  return cells.join('');
}

function sum(a: Float64Array): number {
  let s = 0;
  for (const v of a) s += v;
  return s;
}

function axis(from: number, to: number, w: number): string {
  const l = fmtInt(from);
  const m = fmtInt((from + to) / 2);
  const r = fmtInt(to);
  const cells = new Array<string>(w).fill(' ');
  const put = (x: number, t: string) => {
    for (let i = 0; i < t.length && x + i < w; i++) if (x + i >= 0) cells[x + i] = t[i]!;
  };
  put(0, l);
  put(Math.floor(w / 2 - m.length / 2), m);
  put(w - r.length, r);
  return cells.join('');
}

export const timelineKeys: KeyHandler = (s, input, key, ctx) => {
  const d = ctx.data;
  const t = s.timeline;
  const lo = d.timeFirst;
  const hi = Math.max(d.timeFirst + 1, d.timeLast + 1);
  const span = t.to - t.from;
  const clamp = (from: number, to: number): AppState => {
    const w = Math.min(hi - lo, Math.max(2, to - from));
    let f = Math.max(lo, Math.min(from, hi - w));
    return { ...s, timeline: { ...t, from: Math.round(f), to: Math.round(f + w) } };
  };
  const mid = (t.from + t.to) / 2;
  if (input === '+' || input === '=') return clamp(mid - span / 4, mid + span / 4);
  if (input === '-' || input === '_') return clamp(mid - span, mid + span);
  if (key.leftArrow || input === 'h') return clamp(t.from - span / 4, t.to - span / 4);
  if (key.rightArrow || input === 'L') return clamp(t.from + span / 4, t.to + span / 4);
  if (input === '0') return clamp(lo, hi);
  const phases = ctx.analyses?.phases.available ? ctx.analyses.phases.value : [];
  if (key.downArrow || input === 'j') return { ...s, timeline: { ...t, phase: Math.min(phases.length - 1, t.phase + 1) } };
  if (key.upArrow || input === 'k') return { ...s, timeline: { ...t, phase: Math.max(0, t.phase - 1) } };
  if (input === 'p' && phases[t.phase]) {
    const p = phases[t.phase]!;
    const pad = Math.max(1, (p.end - p.start) * 0.05);
    return clamp(p.start - pad, p.end + pad);
  }
  if (input === 's') {
    const mid = Math.round((t.from + t.to) / 2);
    if (t.selStart === undefined)
      return { ...s, timeline: { ...t, selStart: mid, sel: undefined }, message: `selection starts at ${mid}: pan/zoom, then s again` };
    const sel: [number, number] = [Math.min(t.selStart, mid), Math.max(t.selStart, mid) + 1];
    return { ...s, timeline: { ...t, selStart: undefined, sel }, message: `selected [${sel[0]}, ${sel[1]}): Enter shows its events` };
  }
  if (key.escape) return { ...s, timeline: { ...t, selStart: undefined, sel: undefined } };
  if (key.return) {
    const [a, b] = t.sel ?? [t.from, t.to];
    return { ...gotoEvents(s, 0, { fromTime: a, toTime: b }), message: `events in time [${a}, ${b})` };
  }
  return s;
};

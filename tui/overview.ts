// Overview screen: source and configuration, duration, event counts by kind and device,
// findings by severity and a phases bar. Built from stored summaries: instant on any size.

import { bar, fit, fmtInt, fmtNs, line, type Line } from './ui.ts';
import type { Analyses, Phase, TraceData } from './data.ts';
import type { Ctx } from './state.ts';

const PHASE_COLORS = ['cyan', 'green', 'yellow', 'magenta', 'blue', 'red', 'white'];

export function renderOverview(ctx: Ctx): Line[] {
  const d = ctx.data;
  const o = d.overview;
  const i = o.info;
  const w = ctx.width;
  const out: Line[] = [];
  const cfg = Object.entries(i.meta.source.config)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  out.push(line(`${o.path}`, { bold: true }));
  out.push(line(`source   ${o.label}${cfg ? '  ' + cfg : ''}`));
  out.push(line(`clock    ${i.meta.clock.kind}${i.meta.clock.counterHz ? `, counter ${i.meta.clock.counterHz} Hz` : ''}`));
  out.push(line(`duration ${fmtInt(i.duration)} ${i.meta.clock.kind === 'ns' ? 'ns' : 'instructions'} (${fmtNs(o.durationNs)})`));
  const status = !i.complete ? '  INCOMPLETE: ' + (i.incomplete ?? '') : i.interrupted ? `  INTERRUPTED by ${i.interrupted}` : '';
  out.push(line(`events   ${fmtInt(i.events)} in ${i.chunks} chunks${status}`, { color: status ? 'red' : undefined }));
  out.push(line(`findings ${findingsText(ctx.analyses)}`, { color: findingsColor(ctx.analyses) }));
  out.push(...phaseBar(ctx.analyses, d, w));
  out.push(line(''));
  const left = countRows('events by kind', o.kinds, i.events, w >= 120 ? Math.floor(w / 2) - 1 : w);
  const right = countRows('events by device', o.devices, i.events, w >= 120 ? Math.floor(w / 2) - 1 : w);
  if (w >= 120) {
    const n = Math.max(left.length, right.length);
    const half = Math.floor(w / 2);
    for (let k = 0; k < n; k++) out.push(line(fit(left[k]?.text ?? '', half) + (right[k]?.text ?? ''), { bold: k === 0 }));
  } else {
    // Small terminals: kinds, then devices, as far as they fit.
    const room = Math.max(2, ctx.height - out.length);
    const lk = Math.min(left.length, Math.max(2, Math.ceil(room / 2)));
    out.push(...left.slice(0, lk), ...right.slice(0, Math.max(0, room - lk)));
  }
  return out.slice(0, ctx.height);
}

function countRows(title: string, rows: [string, number][], total: number, w: number): Line[] {
  const out: Line[] = [line(title, { bold: true })];
  const nameW = Math.min(24, Math.max(8, ...rows.map(([n]) => n.length)));
  const barW = Math.max(4, w - nameW - 24);
  const max = Math.max(1, ...rows.map(([, n]) => n));
  for (const [name, n] of rows) {
    const pct = total ? ((100 * n) / total).toFixed(1).padStart(5) + '%' : '';
    out.push(line(`${fit(name, nameW)} ${fmtInt(n).padStart(12)} ${pct} ${bar(n / max, barW)}`));
  }
  return out;
}

function findingsText(a: Analyses | undefined): string {
  if (!a) return 'analyzing…';
  if (!a.findings.available) return `not available (${a.findings.why})`;
  const by = { error: 0, warning: 0, info: 0 };
  for (const f of a.findings.value) by[f.severity]++;
  return `${by.error} errors, ${by.warning} warnings, ${by.info} notes`;
}

function findingsColor(a: Analyses | undefined): string | undefined {
  if (!a || !a.findings.available) return undefined;
  return a.findings.value.some((f) => f.severity === 'error')
    ? 'red'
    : a.findings.value.some((f) => f.severity === 'warning')
      ? 'yellow'
      : 'green';
}

/** The phases as one bar across the width (a letter per phase) and its legend. */
export function phaseBar(a: Analyses | undefined, d: TraceData, w: number): Line[] {
  if (!a) return [line('phases   analyzing…')];
  if (!a.phases.available) return [line(`phases   not available (${a.phases.why})`)];
  const ps = a.phases.value;
  if (!ps.length) return [line('phases   none recognised')];
  const barW = Math.max(10, w - 9);
  const span = Math.max(1, d.timeLast - d.timeFirst);
  const cells = new Array<string>(barW).fill('·');
  ps.forEach((p: Phase, k) => {
    const a0 = Math.floor(((p.start - d.timeFirst) / span) * barW);
    const a1 = Math.max(a0 + 1, Math.ceil(((p.end - d.timeFirst) / span) * barW));
    for (let x = Math.max(0, a0); x < Math.min(barW, a1); x++) cells[x] = String.fromCharCode(65 + (k % 26));
  });
  const legend = ps.map((p, k) => `${String.fromCharCode(65 + (k % 26))}=${p.title}`).join(' ');
  // One coloured piece per run of the same phase letter.
  const parts: { text: string; color?: string }[] = [{ text: 'phases   ' }];
  for (const ch of cells) {
    const color = ch === '·' ? undefined : PHASE_COLORS[(ch.charCodeAt(0) - 65) % PHASE_COLORS.length];
    const last = parts[parts.length - 1]!;
    if (last.color === color && parts.length > 1) last.text += ch;
    else parts.push({ text: ch, color });
  }
  return [{ text: 'phases   ' + cells.join(''), parts }, line('         ' + legend, { dim: true })];
}

// `bootscope phases TRACE`: the boot's phases with start, end, duration and a text Gantt bar.

import type { Command } from 'commander';
import { Damage } from '../damage.ts';
import { PhasesAnalysis, type PhaseMarker, type PhasesResult } from '../../analyze/phases.ts';
import { runLite } from '../../analyze/standalone.ts';
import { fmtNs, renderTable, terminalSafe, toJson } from '../output.ts';

const BAR_WIDTH = 40;

export function registerPhases(program: Command): void {
  program
    .command('phases')
    .description(
      'boot phases (firmware, kernel entry, console, GIC, timer, SMP, probe, PCI, device bring-up, root mount, init, power-off/panic) with a Gantt bar',
    )
    .argument('<trace>', 'trace file')
    .option('--json', 'print the phases as JSON')
    .action((path: string, opts: { json?: boolean }) => {
      const damage = new Damage();
      const result = phasesOfTrace(path, damage);
      process.stdout.write(opts.json ? toJson(result) + '\n' : terminalSafe(renderPhases(result)));
      damage.raise();
    });
}

/** Damaged chunks are reported on stderr and kept in `damage` (raise it after printing). */
export function phasesOfTrace(path: string, damage = new Damage()): PhasesResult {
  const reader = damage.open(path);
  try {
    const out = runLite(reader, [new PhasesAnalysis()], reader.meta, reader.regions);
    return out.phases as PhasesResult;
  } finally {
    reader.close();
  }
}

/** A bar from start to end on a BAR_WIDTH-column scale of the whole trace. */
export function ganttBar(start: number, end: number, t0: number, t1: number, width = BAR_WIDTH): string {
  const span = Math.max(t1 - t0, 1);
  const a = Math.min(width - 1, Math.floor(((start - t0) / span) * width));
  const b = Math.max(a + 1, Math.min(width, Math.ceil(((end - t0) / span) * width)));
  return '|' + ' '.repeat(a) + '#'.repeat(b - a) + ' '.repeat(width - b) + '|';
}

function markerText(m: PhaseMarker): string {
  return m.by === 'line' ? `line "${m.what.slice(0, 80)}"` : m.what;
}

export function renderPhases(r: PhasesResult): string {
  const lines: string[] = [];
  lines.push(`guest     ${r.guest}${r.banner ? `  (first line: "${r.banner.slice(0, 70)}")` : ''}`);
  lines.push(`trace     time ${r.traceStart} to ${r.traceEnd}`);
  lines.push('');
  if (!r.phases.length) lines.push('no phases found (the trace is empty)');
  else {
    const rows = r.phases.map((p) => [
      p.title,
      p.start,
      p.end,
      p.duration,
      fmtNs(p.durationNs),
      ganttBar(p.start, p.end, r.traceStart, r.traceEnd),
    ]);
    lines.push(renderTable(['phase', 'start', 'end', 'duration', 'duration (ns)', 'timeline'], rows));
    lines.push('');
    lines.push('started by');
    const w = Math.max(18, ...r.phases.map((p) => p.title.length));
    for (const p of r.phases) lines.push(`  ${p.title.padEnd(w)} #${p.marker.seq} ${markerText(p.marker)}`);
    const spans = r.phases.filter((p) => p.endMarker);
    if (spans.length) {
      lines.push('', 'ended by');
      for (const p of spans) lines.push(`  ${p.title.padEnd(w)} #${p.endMarker!.seq} ${markerText(p.endMarker!)}`);
    }
  }
  if (r.missing.length) lines.push('', `not seen  ${r.missing.join(', ')}`);
  for (const n of r.notes) lines.push(`note      ${n}`);
  return lines.join('\n') + '\n';
}

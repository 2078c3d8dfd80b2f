// `bootscope latency TRACE`: interrupt latency per INTID and per device role, with histograms.

import type { Command } from 'commander';
import { Damage } from '../damage.ts';
import { LATENCY_KINDS, LatencyAnalysis, type LatencyGroup, type LatencyResult } from '../../analyze/latency.ts';
import { IO_LATENCY_KINDS, IoLatencyAnalysis, type IoLatencyResult } from '../../analyze/io-latency.ts';
import { runLite } from '../../analyze/standalone.ts';
import { fmtNs, renderTable, terminalSafe, toJson } from '../output.ts';

const HIST_WIDTH = 40;

export function registerLatency(program: Command): void {
  program
    .command('latency')
    .description(
      'interrupt latency (assert → deliver → ack → EOI → deactivate, timer deadline → assert) per INTID and role; block I/O and network frame latency (submit → complete → ack) per device and queue',
    )
    .argument('<trace>', 'trace file')
    .option('--json', 'print the statistics as JSON')
    .action((path: string, opts: { json?: boolean }) => {
      const damage = new Damage();
      const result = latencyOfTrace(path, damage);
      process.stdout.write(opts.json ? toJson(result) + '\n' : terminalSafe(renderLatency(result)));
      damage.raise();
    });
}

/** Damaged chunks are reported on stderr and kept in `damage` (raise it after printing). */
export function latencyOfTrace(path: string, damage = new Damage()): LatencyResult & { io: IoLatencyResult } {
  const reader = damage.open(path);
  try {
    const kinds = [...new Set([...LATENCY_KINDS, ...IO_LATENCY_KINDS])];
    const out = runLite(reader, [new LatencyAnalysis(), new IoLatencyAnalysis()], reader.meta, reader.regions, { kinds });
    return { ...(out.latency as LatencyResult), io: out.io_latency as IoLatencyResult };
  } finally {
    reader.close();
  }
}

function groupRows(groups: LatencyGroup[], unit: string): string {
  const rows: (string | number)[][] = [];
  for (const g of groups) {
    if (!g.stages.length) {
      rows.push([g.key, g.role, g.interrupts, '-', '', '', '', '', '', '']);
      continue;
    }
    g.stages.forEach((s, i) =>
      rows.push([
        i === 0 ? g.key : '',
        i === 0 ? g.role : '',
        i === 0 ? g.interrupts : '',
        s.stage.replace(/_/g, ' '),
        s.count,
        s.p50,
        s.p90,
        s.p99,
        s.max,
        `${fmtNs(s.ns.p50)} / ${fmtNs(s.ns.p99)}`,
      ]),
    );
  }
  return renderTable(['', 'role', 'irqs', 'stage', 'count', `p50 (${unit})`, 'p90', 'p99', 'max', 'p50 / p99 (ns)'], rows);
}

/** The main stage of a group for its histogram: the longest path the source records. */
function mainStage(g: LatencyGroup) {
  const pref = ['assert_to_ack', 'deliver_to_ack', 'ack_to_eoi', 'deadline_to_assert'];
  for (const p of pref) {
    const s = g.stages.find((x) => x.stage === p);
    if (s) return s;
  }
  return g.stages[0];
}

/** The I/O sections: block requests, then network frames, per device and queue, with histograms. */
export function renderIoLatency(io: IoLatencyResult): string[] {
  if (!io.queues.length) return [];
  const out: string[] = [];
  for (const kind of ['block', 'net'] as const) {
    const queues = io.queues.filter((q) => q.kind === kind);
    if (queues.length) out.push(...ioSection(kind, queues, io.clock === 'instructions' ? 'insns' : 'ns'));
  }
  for (const q of io.queues)
    if (q.errors || q.silent)
      out.push(
        `${q.device} q${q.queue}: ${q.errors} error completion(s), ${q.silent} ${q.kind === 'net' ? 'frame(s)' : 'completion(s)'} without an interrupt`,
      );
  if (io.outstanding.length) out.push(`never completed: ${io.outstanding.map((o) => `${o.device} q${o.queue} ×${o.count}`).join(', ')}`);
  for (const n of io.notes) out.push(`note: ${n}`);
  if (out[out.length - 1] !== '') out.push('');
  return out;
}

function ioSection(kind: 'block' | 'net', queues: IoLatencyResult['queues'], unit: string): string[] {
  const rows: (string | number)[][] = [];
  for (const q of queues) {
    const ops = Object.entries(q.ops)
      .map(([op, n]) => `${op} ${n}`)
      .join(', ');
    const head = [`${q.device} q${q.queue}`, q.requests, q.maxDepth, ops];
    if (!q.stages.length) rows.push([...head, '-', '', '', '', '', '', '']);
    q.stages.forEach((s, i) =>
      rows.push([
        ...(i === 0 ? head : ['', '', '', '']),
        s.stage.replace(/_/g, ' '),
        s.count,
        s.p50,
        s.p90,
        s.p99,
        s.max,
        `${fmtNs(s.ns.p50)} / ${fmtNs(s.ns.p99)}`,
      ]),
    );
  }
  const out = [
    kind === 'block' ? 'block I/O per device and queue' : 'network frames sent, per device and queue',
    renderTable(
      [
        '',
        kind === 'block' ? 'requests' : 'frames',
        'depth',
        'ops',
        'stage',
        'count',
        `p50 (${unit})`,
        'p90',
        'p99',
        'max',
        'p50 / p99 (ns)',
      ],
      rows,
    ),
    '',
  ];
  for (const q of queues) {
    const s = q.stages.find((x) => x.stage === 'submit_to_ack') ?? q.stages[0];
    if (!s?.histogram.length) continue;
    out.push(`histogram: ${q.device} q${q.queue}, ${s.stage.replace(/_/g, ' ')} (${unit}, power-of-two buckets)`);
    const most = Math.max(...s.histogram.map(([, c]) => c));
    for (const [upper, c] of s.histogram)
      out.push(
        `  < ${String(upper).padStart(12)}  ${String(c).padStart(8)}  ${'#'.repeat(Math.max(1, Math.round((c / most) * HIST_WIDTH)))}`,
      );
    out.push('');
  }
  return out;
}

export function renderLatency(r: LatencyResult & { io?: IoLatencyResult }): string {
  const unit = r.clock === 'instructions' ? 'insns' : 'ns';
  const out: string[] = [];
  if (r.byIntid.length) out.push('per INTID', groupRows(r.byIntid, unit), '', 'per role', groupRows(r.byRole, unit), '');
  for (const g of r.byRole) {
    const s = mainStage(g);
    if (!s || !s.histogram.length) continue;
    out.push(`histogram: ${g.role}, ${s.stage.replace(/_/g, ' ')} (${unit}, power-of-two buckets)`);
    const most = Math.max(...s.histogram.map(([, c]) => c));
    for (const [upper, c] of s.histogram) {
      const bar = '#'.repeat(Math.max(1, Math.round((c / most) * HIST_WIDTH)));
      out.push(`  < ${String(upper).padStart(12)}  ${String(c).padStart(8)}  ${bar}`);
    }
    out.push('');
  }
  if (r.io) out.push(...renderIoLatency(r.io));
  if (r.unacknowledged.length)
    out.push(`asserted, never acknowledged: ${r.unacknowledged.map((u) => `INTID ${u.intid} ×${u.count}`).join(', ')}`);
  for (const n of r.notes) out.push(`note: ${n}`);
  return out.join('\n') + '\n';
}

// Devices screen: block and network I/O per device and queue — requests, most in flight, errors,
// submit → ack latency — and for the selected queue its requests and depth over the trace (one
// character per time bin) and its latency histogram (the analyzer's power-of-two buckets).

import { max as d3max } from 'd3-array';
import type { IoQueueLatency } from '../analyze/io-latency.ts';
import { bar, fit, fmtInt, line, sparkline, type Line } from './ui.ts';
import { moveCursor, type AppState, type Ctx, type KeyHandler } from './state.ts';
import { fillLog2, ioSeries, queueLabel, rebin } from './data.ts';

export function deviceQueues(ctx: Ctx): IoQueueLatency[] | string {
  const a = ctx.analyses;
  if (!a) return 'analyzing… (devices appear when the pass finishes)';
  if (!a.io.available) return `devices not available: ${a.io.why}`;
  return a.io.value.queues;
}

/** The stage a queue is summed up by: the whole request when the trace has it. */
const mainStage = (q: IoQueueLatency) => q.stages.find((s) => s.stage === 'submit_to_ack') ?? q.stages[0];

export function renderDevices(s: AppState, ctx: Ctx): Line[] {
  const list = deviceQueues(ctx);
  if (typeof list === 'string') return [line(list, { dim: true })];
  if (!list.length) return [line('no block or network I/O in this trace', { dim: true })];
  const unit = ctx.data.meta.clock.kind === 'ns' ? 'ns' : 'instr';
  const nameW = Math.max(12, Math.min(28, ...list.map((q) => queueLabel(q).length)));
  const num = (v: number | string, w = 8) => (typeof v === 'number' ? fmtInt(v) : v).padStart(w);
  const out: Line[] = [
    line(`block and network I/O per device and queue; latency in ${unit === 'ns' ? 'ns' : 'instructions'}, submit → ack`, { dim: true }),
    line(
      `${'device / queue'.padEnd(nameW)} ${'kind'.padEnd(5)} ${num('reqs', 7)} ${num('depth', 5)} ${num('err', 4)} ${num('p50')} ${num('p99')} ${num('max')}`,
      { bold: true },
    ),
  ];
  const listH = Math.min(list.length, Math.max(2, Math.floor((ctx.height - 9) / 3)));
  const cursor = Math.min(s.devices.cursor, list.length - 1);
  const top = Math.max(0, Math.min(cursor - listH + 1, list.length - listH));
  for (let i = top; i < top + listH; i++) {
    const q = list[i]!;
    const st = mainStage(q);
    out.push(
      line(
        `${fit(queueLabel(q), nameW)} ${q.kind.padEnd(5)} ${num(q.requests, 7)} ${num(q.maxDepth, 5)} ${num(q.errors, 4)} ${num(st?.p50 ?? '-')} ${num(st?.p99 ?? '-')} ${num(st?.max ?? '-')}`,
        { inverse: i === cursor },
      ),
    );
  }
  const q = list[cursor]!;
  out.push(line('─'.repeat(ctx.width), { dim: true }));
  const ops = Object.entries(q.ops)
    .map(([op, n]) => `${op} ${n}`)
    .join(', ');
  const extra = [
    q.silent ? `${q.silent} without an interrupt` : '',
    q.completed < q.requests ? `${q.requests - q.completed} never completed` : '',
  ]
    .filter(Boolean)
    .join(', ');
  out.push(
    line(`${queueLabel(q)} (${q.kind === 'net' ? 'frames sent' : 'block requests'}): ${ops}${extra ? '; ' + extra : ''}`, { bold: true }),
  );
  if (q.timeline) {
    const labW = 10;
    const cols = Math.max(8, Math.min(q.timeline.requests.length, ctx.width - labW - 1));
    const reqs = rebin(q.timeline.requests, cols, 'sum');
    const depth = rebin(q.timeline.depth, cols, 'max');
    const mr = Math.max(...reqs);
    const md = Math.max(...depth);
    out.push(line(`${'requests'.padEnd(labW)}${sparkline(reqs, mr)}`, { color: 'cyan' }));
    out.push(line(`${'depth'.padEnd(labW)}${sparkline(depth, md)}`, { color: 'green' }));
    const from = `t=${fmtInt(q.timeline.from)}`;
    const to = `t=${fmtInt(q.timeline.to)}`;
    out.push(line(`${''.padEnd(labW)}${from}${to.padStart(Math.max(1, cols - from.length))}`, { dim: true }));
    out.push(line(`${''.padEnd(labW)}most in one bin: ${fmtInt(mr)} request(s), depth ${md}`, { dim: true }));
  }
  for (const x of q.stages)
    out.push(
      line(
        `${x.stage.replace(/_to_/g, ' → ').padEnd(20)}${num(x.count, 6)} p50${num(x.p50)} p90${num(x.p90)} p99${num(x.p99)} max${num(x.max)}`,
      ),
    );
  const st = mainStage(q);
  const room = ctx.height - out.length - 1;
  if (!st || room < 2) return out;
  const series = ioSeries(q, st);
  const hist = fillLog2(series.bins ?? []);
  out.push(line(`${series.label}: histogram of ${fmtInt(st.count)} (${unit}, power-of-two buckets)`, { bold: true }));
  const most = d3max(hist, (x) => x.count) ?? 1;
  const labW = 22;
  for (const b of hist.slice(0, room - 1))
    out.push(
      line(
        `${`${fmtInt(b.x0)}–${fmtInt(b.x1)}`.padStart(labW)} ${fmtInt(b.count).padStart(7)} ${bar(b.count / most, Math.max(4, ctx.width - labW - 10))}`,
      ),
    );
  return out;
}

export const devicesKeys: KeyHandler = (s, input, key, ctx) => {
  const list = deviceQueues(ctx);
  if (typeof list === 'string') return s;
  return { ...s, devices: { cursor: moveCursor(s.devices.cursor, list.length, input, key, 5) } };
};

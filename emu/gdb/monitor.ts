// `monitor …` commands (gdb's qRcmd): tie the debugger to the trace. `event N` and
// `next-event` move the machine to the moment of a recorded event; `where` says where it is.

import { formatEventLine } from '../../capture/describe.ts';
import { EVENT_KINDS, type EventKind, type TraceEvent } from '../../capture/model.ts';
import type { DebugTarget } from './target.ts';

export interface MonitorHost {
  target: DebugTarget;
  /** gdb's current thread (Hg), as a vCPU index. */
  vcpu: number;
  /** debug mode: the recording being replayed. */
  trace?: {
    count: number;
    event(seq: number): TraceEvent | undefined;
    /** The first event at or after seq of this kind (and device, when given). */
    next(seq: number, kind: EventKind, device?: string): TraceEvent | undefined;
  };
  /** Move to the moment of event #seq (the reply to gdb follows from the fresh machine). */
  toEvent(seq: number): void;
}

/** The command's output, an error, or null when the command moves the machine (the reply comes later). */
export type MonitorResult = { text?: string; error?: string } | null;

const HELP = [
  'bootscope monitor commands:',
  '  monitor where                    current event seq, virtual time, and the events around it',
  '  monitor event N                  go to the moment of event #N (before the instruction that caused it)',
  '  monitor next-event KIND [DEVICE] go to the next recorded event of a kind (e.g. mmio_write pl011)',
  '  monitor phys ADDR [LEN]          guest-physical memory (hex dump; device registers show the last value the guest read or wrote)',
  '  (event and next-event need `bootscope debug TRACE`: they look the event up in the recording)',
].join('\n');

export function monitorCommand(line: string, host: MonitorHost): MonitorResult {
  const words = line.trim().split(/\s+/).filter(Boolean);
  const cmd = words[0] ?? 'help';
  switch (cmd) {
    case 'help':
      return { text: HELP };
    case 'where':
      return { text: where(host) };
    case 'phys':
      return phys(host, words.slice(1));
    case 'event':
    case 'next-event':
      return move(host, cmd, words.slice(1));
    default:
      return { error: `unknown monitor command '${cmd}' (monitor help lists them)` };
  }
}

function where(host: MonitorHost): string {
  const t = host.target;
  const s = t.m.scheduler;
  const seq = t.events;
  const lines = [`at event #${seq} next (${seq} recorded so far), virtual time ${s.now()}, ${s.executed} instructions executed`];
  lines.push(
    ...t.cpus.map((c, i) => `  cpu${i} ${s.state[i]} pc=0x${c.pc.toString(16)} EL${c.el}${i === t.vcpu ? ' (stopped here)' : ''}`),
  );
  const sn = t.snapshots?.stats();
  if (sn) {
    const mib = (b: number): string => (b / 2 ** 20).toFixed(1);
    lines.push(
      `  snapshots: ${sn.count} kept (${mib(sn.bytes)} of ${mib(sn.budget)} MiB), ${sn.taken} taken, ${sn.restored} restored, ${sn.thinned} thinned`,
    );
  }
  if (host.trace) {
    for (let q = Math.max(0, seq - 3); q < Math.min(host.trace.count, seq + 3); q++) {
      const e = host.trace.event(q);
      if (e) lines.push(`${q === seq ? '→ ' : '  '}${formatEventLine(e)}`);
    }
    if (seq >= host.trace.count) lines.push(`→ (the recording has ${host.trace.count} events: none is left)`);
  } else {
    lines.push('  last events:');
    for (const e of t.recent) lines.push(`  t=${e.time} cpu${e.vcpu} ${e.kind}`);
  }
  return lines.join('\n');
}

function phys(host: MonitorHost, args: string[]): MonitorResult {
  const addr =
    args[0] !== undefined && /^(0x)?[0-9a-f]+$/i.test(args[0]) ? BigInt(args[0].startsWith('0x') ? args[0] : '0x' + args[0]) : undefined;
  const len = args[1] !== undefined ? Number(args[1]) : 64;
  if (addr === undefined || !Number.isInteger(len) || len <= 0 || len > 4096)
    return { error: 'usage: monitor phys ADDR [LEN] (LEN 1-4096, default 64)' };
  const r = host.target.readMemory(host.vcpu, addr, len, true);
  if (typeof r === 'string') return { error: r };
  const lines: string[] = [];
  for (let i = 0; i < r.length; i += 16) {
    const row = Array.from(r.subarray(i, i + 16), (b) => b.toString(16).padStart(2, '0')).join(' ');
    lines.push(`0x${(addr + BigInt(i)).toString(16).padStart(8, '0')}  ${row}`);
  }
  return { text: lines.join('\n') };
}

function move(host: MonitorHost, cmd: string, args: string[]): MonitorResult {
  const tr = host.trace;
  if (!tr) return { error: `monitor ${cmd} needs a recording: use bootscope debug TRACE --gdb PORT` };
  if (cmd === 'event') {
    const n = Number((args[0] ?? '').replace(/^#/, ''));
    if (!Number.isInteger(n) || n < 0) return { error: 'usage: monitor event N (an event seq, e.g. 1234 or #1234)' };
    if (n >= tr.count) return { error: `the recording has ${tr.count} events (#0 to #${tr.count - 1}): no event #${n}` };
    host.toEvent(n);
    return null;
  }
  const kind = args[0];
  if (!kind || !(EVENT_KINDS as readonly string[]).includes(kind))
    return { error: `usage: monitor next-event KIND [DEVICE]; KIND is one of ${EVENT_KINDS.join(', ')}` };
  // at an event's moment (after `monitor event`), the next one is after it
  const from = host.target.atEvent === host.target.events ? host.target.events + 1 : host.target.events;
  const e = tr.next(from, kind as EventKind, args[1]);
  if (!e) return { error: `no ${kind}${args[1] ? ` on ${args[1]}` : ''} event after #${host.target.events} in the recording` };
  host.toEvent(e.seq);
  return null;
}

// Parse the event-filter options shared by `events`, `console` and others into an EventFilter.

import type { Command } from 'commander';
import { EVENT_KINDS, type EventFilter, type EventKind } from '../capture/model.ts';
import { UserError } from './errors.ts';

export interface FilterOptions {
  kind?: string;
  device?: string;
  register?: string;
  vcpu?: string;
  intid?: string;
  from?: string;
  to?: string;
}

/** Adds the filter flags to a command. */
export function addFilterOptions(cmd: Command): Command {
  return cmd
    .option('--kind <list>', `event kinds, comma-separated (${EVENT_KINDS.join(', ')})`)
    .option('--device <list>', 'device region names, comma-separated (see `bootscope info`)')
    .option('--register <list>', 'register names, comma-separated (e.g. DR,FR)')
    .option('--vcpu <list>', 'vCPU indices, comma-separated')
    .option('--intid <list>', 'INTIDs, comma-separated')
    .option('--from <t>', 'start: a time (instructions or ns), or #N for a sequence number')
    .option('--to <t>', 'end (exclusive): a time, or #N for a sequence number');
}

const list = (s: string | undefined): string[] | undefined =>
  s === undefined
    ? undefined
    : s
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean);

function ints(flag: string, s: string | undefined): number[] | undefined {
  return list(s)?.map((x) => {
    const n = Number(x);
    if (!Number.isInteger(n)) throw new UserError(`${flag}: '${x}' is not an integer`);
    return n;
  });
}

function bound(flag: string, s: string): { seq?: number; time?: number } {
  const isSeq = s.startsWith('#');
  const n = Number(isSeq ? s.slice(1) : s);
  if (!Number.isFinite(n) || n < 0) throw new UserError(`${flag}: '${s}' is not a time or #sequence number`);
  return isSeq ? { seq: n } : { time: n };
}

export function parseFilter(o: FilterOptions): EventFilter {
  const f: EventFilter = {};
  const kinds = list(o.kind);
  if (kinds) {
    for (const k of kinds) {
      if (!(EVENT_KINDS as string[]).includes(k)) {
        throw new UserError(`--kind: unknown event kind '${k}' (expected one of ${EVENT_KINDS.join(', ')})`);
      }
    }
    f.kinds = kinds as EventKind[];
  }
  f.devices = list(o.device);
  f.registers = list(o.register);
  f.vcpus = ints('--vcpu', o.vcpu);
  f.intids = ints('--intid', o.intid);
  if (o.from !== undefined) {
    const b = bound('--from', o.from);
    f.fromSeq = b.seq;
    f.fromTime = b.time;
  }
  if (o.to !== undefined) {
    const b = bound('--to', o.to);
    f.toSeq = b.seq;
    f.toTime = b.time;
  }
  for (const k of Object.keys(f) as (keyof EventFilter)[]) if (f[k] === undefined) delete f[k];
  return f;
}

// Virtualized access to a trace's events for the Events screen: a page of matching events
// starting at (or ending before) a sequence number, decoding only the chunks that cover it and
// building only the events it returns. Never materializes the whole trace.

import { KIND_CODE, matchesFilter, type EventFilter, type EventKind, type TraceEvent } from '../capture/model.ts';
import { ChunkCursor, type ChunkInfo, type TraceReader } from '../capture/store/index.ts';
import { formatEventLine } from '../capture/describe.ts';

/** The Events screen's filter: the store's filter plus a text search on the rendered line. */
export interface ViewFilter extends EventFilter {
  text?: string;
}

/** How many events a text search looks at per step before pausing (keeps the UI responsive). */
export const limits = { search: 2_000_000 };

function kindMask(kinds: EventKind[] | undefined): number {
  return kinds ? kinds.reduce((m, k) => m | (1 << KIND_CODE[k]), 0) : -1;
}

function isPlain(f: ViewFilter): boolean {
  return !f.kinds && !f.devices && !f.registers && !f.vcpus && !f.intids && f.fromTime === undefined && f.toTime === undefined && !f.text;
}

/** Walks the events of one chunk from index `start` (forward), calling `take` for matches. */
function scanChunk(
  reader: TraceReader,
  info: ChunkInfo,
  f: ViewFilter,
  startSeq: number,
  endSeq: number,
  take: (e: TraceEvent) => boolean,
): boolean {
  const c = reader.chunk(info);
  if (!c) return true;
  const mask = kindMask(f.kinds);
  const plain = isPlain(f);
  const text = f.text?.toLowerCase();
  const cur = new ChunkCursor(c);
  for (let i = 0; i < c.count; i++) {
    const s = c.seq[i]!;
    if (s < startSeq) {
      cur.skip();
      continue;
    }
    if (s >= endSeq) return true;
    if (!plain) {
      const t = c.time[i]!;
      if (
        ((1 << c.kind[i]!) & mask) === 0 ||
        (f.fromTime !== undefined && t < f.fromTime) ||
        (f.toTime !== undefined && t >= f.toTime) ||
        (f.vcpus !== undefined && !f.vcpus.includes(c.vcpu[i]!))
      ) {
        cur.skip();
        continue;
      }
    }
    const e = cur.next();
    if (!plain && !matchesFilter(e, f)) continue;
    if (text && !formatEventLine(e).toLowerCase().includes(text)) continue;
    if (!take(e)) return false;
  }
  return true;
}

/** Where a budgeted scan stopped (the last sequence number looked at), when it did. */
export interface ScanStop {
  stoppedAt?: number;
}

/** Up to n matching events with seq >= fromSeq, in order; stops after `budget` events looked at. */
export function pageFrom(reader: TraceReader, f: ViewFilter, fromSeq: number, n: number, budget = Infinity, stop?: ScanStop): TraceEvent[] {
  const out: TraceEvent[] = [];
  if (n <= 0) return out;
  let seen = 0;
  const chunks = reader.candidateChunks({ ...f, fromSeq: Math.max(fromSeq, f.fromSeq ?? 0) });
  const start = Math.max(fromSeq, f.fromSeq ?? 0);
  const end = f.toSeq ?? Infinity;
  for (const info of chunks) {
    const more = scanChunk(reader, info, f, start, end, (e) => {
      out.push(e);
      return out.length < n;
    });
    seen += info.count;
    if (!more || out.length >= n) break;
    if (seen > budget) {
      if (stop) stop.stoppedAt = info.seqLast;
      break;
    }
  }
  return out;
}

/** Up to n matching events with seq < beforeSeq, in order (the n closest to beforeSeq). */
export function pageBefore(reader: TraceReader, f: ViewFilter, beforeSeq: number, n: number, budget = Infinity): TraceEvent[] {
  if (n <= 0) return [];
  const end = Math.min(beforeSeq, f.toSeq ?? Infinity);
  const start = f.fromSeq ?? 0;
  const chunks = reader.candidateChunks({ ...f, toSeq: end }).filter((c) => c.seqFirst < end);
  let got: TraceEvent[] = [];
  let seen = 0;
  for (let ci = chunks.length - 1; ci >= 0 && got.length < n && seen <= budget; ci--) {
    seen += chunks[ci]!.count;
    const part: TraceEvent[] = [];
    scanChunk(reader, chunks[ci]!, f, start, end, (e) => {
      part.push(e);
      if (part.length > n) part.shift();
      return true;
    });
    got = part.concat(got);
  }
  return got.slice(Math.max(0, got.length - n));
}

/** The first matching event with seq >= fromSeq, within a budget of events looked at. */
export function findNext(reader: TraceReader, f: ViewFilter, fromSeq: number, stop?: ScanStop): TraceEvent | undefined {
  return pageFrom(reader, f, fromSeq, 1, limits.search, stop)[0];
}

/** The last matching event with seq < beforeSeq (searching back chunk by chunk). */
export function findPrev(reader: TraceReader, f: ViewFilter, beforeSeq: number): TraceEvent | undefined {
  return pageBefore(reader, f, beforeSeq, 1, limits.search)[0];
}

/** Parses a filter typed at the prompt: "kind=mmio_write dev=pl011@9000000 reg=UARTDR cpu=0 intid=27". */
export function parseFilter(text: string, base: ViewFilter = {}): ViewFilter | string {
  const f: ViewFilter = {};
  if (base.text) f.text = base.text;
  for (const tok of text.trim().split(/\s+/).filter(Boolean)) {
    const m = /^(\w+)=(.+)$/.exec(tok);
    if (!m) return `expected key=value, got "${tok}" (keys: kind, dev, reg, cpu, intid)`;
    const key = m[1]!.toLowerCase();
    const vals = m[2]!.split(',');
    switch (key) {
      case 'kind': {
        const bad = vals.find((v) => !(v in KIND_CODE));
        if (bad) return `unknown kind "${bad}" (kinds: ${Object.keys(KIND_CODE).join(', ')})`;
        f.kinds = vals as EventKind[];
        break;
      }
      case 'dev':
      case 'device':
        f.devices = vals;
        break;
      case 'reg':
      case 'register':
        f.registers = vals;
        break;
      case 'cpu':
      case 'vcpu': {
        const ns = vals.map(Number);
        if (ns.some((x) => !Number.isInteger(x))) return `vCPU must be a number, got "${m[2]}"`;
        f.vcpus = ns;
        break;
      }
      case 'intid': {
        const ns = vals.map(Number);
        if (ns.some((x) => !Number.isInteger(x) || x < 0)) return `INTID must be a number, got "${m[2]}"`;
        f.intids = ns;
        break;
      }
      default:
        return `unknown filter key "${key}" (keys: kind, dev, reg, cpu, intid)`;
    }
  }
  return f;
}

/** Parses a jump target: "#123" or "123" is a sequence number, "t=5000" or "@5000" a time. */
export function parseJump(text: string): { seq: number } | { time: number } | string {
  const s = text.trim();
  let m = /^#?(\d+)$/.exec(s);
  if (m) return { seq: Number(m[1]) };
  m = /^(?:t=|@)(\d+(?:\.\d+)?)$/.exec(s);
  if (m) return { time: Number(m[1]) };
  return `cannot jump to "${s}": type #SEQ or t=TIME`;
}

/** Filter as short text for the status line. */
export function describeFilter(f: ViewFilter): string {
  const parts: string[] = [];
  if (f.kinds) parts.push(`kind=${f.kinds.join(',')}`);
  if (f.devices) parts.push(`dev=${f.devices.join(',')}`);
  if (f.registers) parts.push(`reg=${f.registers.join(',')}`);
  if (f.vcpus) parts.push(`cpu=${f.vcpus.join(',')}`);
  if (f.intids) parts.push(`intid=${f.intids.join(',')}`);
  if (f.fromTime !== undefined || f.toTime !== undefined) parts.push(`time=[${f.fromTime ?? ''},${f.toTime ?? ''})`);
  if (f.fromSeq !== undefined || f.toSeq !== undefined) parts.push(`seq=[${f.fromSeq ?? ''},${f.toSeq ?? ''})`);
  if (f.text) parts.push(`/${f.text}`);
  return parts.join(' ');
}

// Diff at the device layer: each side's block and network streams, role-normalised (the first
// block device a side uses is disk0 whatever its transport: a virtio-blk request and a blkif
// request with the same op, sector and length are the same token), aligned with Myers' diff. The
// set-up that only one transport has (PCI enumeration, MSI; the xenstore handshake, xenbus states,
// grants) is not aligned: each side's own set-up is counted and shown.

import type { TraceEvent } from '../capture/model.ts';
import { myersDiff } from './myers.ts';

export interface IoItem {
  token: string;
  seq: number;
  time: number;
  device: string;
}

export interface IoStreamDiff {
  stream: 'block' | 'net';
  countA: number;
  countB: number;
  matched: number;
  /** The aligned streams side by side (first MAX_ROWS rows): a pair, or an item on one side only. */
  rows: { a: IoItem | null; b: IoItem | null }[];
  /** The first place where the orders differ (null: same stream). */
  firstDivergence: null | { row: number; a: IoItem | null; b: IoItem | null };
  truncated: boolean;
}

export interface IoDiff {
  /** Devices of each side by normalised role (disk0 → virtio-blk@00:01.0 / vbd-51712). */
  roles: { role: string; a: string | null; b: string | null }[];
  /** Each side's own set-up: what it did to find and connect its devices. */
  setup: { a: { what: string; count: number }[]; b: { what: string; count: number }[] };
  streams: IoStreamDiff[];
}

const MAX_ITEMS = 200_000;
const MAX_ROWS = 2_000;

const SETUP: Partial<Record<TraceEvent['kind'], string>> = {
  pci_config: 'PCI configuration accesses',
  msi: 'MSI messages',
  xenstore: 'xenstore messages',
  xenbus_state: 'xenbus state changes',
  xen_grant: 'grant uses',
};

/** One side's device-layer streams, fed event by event (bounded: MAX_ITEMS per stream). */
export class IoCollector {
  readonly block: IoItem[] = [];
  readonly net: IoItem[] = [];
  readonly setup = new Map<string, number>();
  private readonly roles = new Map<string, string>();
  private disks = 0;
  private nics = 0;
  dropped = 0;

  role(device: string, kind: 'disk' | 'nic'): string {
    let r = this.roles.get(device);
    if (!r) this.roles.set(device, (r = kind === 'disk' ? `disk${this.disks++}` : `nic${this.nics++}`));
    return r;
  }

  get devices(): ReadonlyMap<string, string> {
    return this.roles;
  }

  onEvent(e: TraceEvent): void {
    const s = SETUP[e.kind];
    if (s) {
      this.setup.set(s, (this.setup.get(s) ?? 0) + 1);
      return;
    }
    if (e.kind === 'block_request') {
      const what = e.op === 'flush' ? 'flush' : `${e.op} ${e.sector}+${e.length}`;
      this.push(this.block, { token: `${this.role(e.device, 'disk')} ${what}`, seq: e.seq, time: e.time, device: e.device });
    } else if (e.kind === 'net_frame') {
      const what = `${e.direction} 0x${e.ethertype.toString(16).padStart(4, '0')} ${e.length}`;
      this.push(this.net, { token: `${this.role(e.device, 'nic')} ${what}`, seq: e.seq, time: e.time, device: e.device });
    }
  }

  private push(list: IoItem[], item: IoItem): void {
    if (list.length < MAX_ITEMS) list.push(item);
    else this.dropped++;
  }
}

function alignStream(stream: 'block' | 'net', a: readonly IoItem[], b: readonly IoItem[]): IoStreamDiff {
  const ids = new Map<string, number>();
  const id = (t: string) => {
    let n = ids.get(t);
    if (n === undefined) ids.set(t, (n = ids.size));
    return n;
  };
  const { edits } = myersDiff(
    Int32Array.from(a, (x) => id(x.token)),
    Int32Array.from(b, (x) => id(x.token)),
  );
  const rows: IoStreamDiff['rows'] = [];
  let matched = 0;
  let first: IoStreamDiff['firstDivergence'] = null;
  let total = 0;
  const add = (r: { a: IoItem | null; b: IoItem | null }) => {
    if (rows.length < MAX_ROWS) rows.push(r);
    total++;
  };
  for (let k = 0; k < edits.length; k++) {
    const ed = edits[k]!;
    if (ed.op === 0) {
      matched += ed.len;
      for (let i = 0; i < ed.len; i++) add({ a: a[ed.a + i]!, b: b[ed.b + i]! });
      continue;
    }
    // A delete followed by an insert is a replacement: shown on the same rows.
    let del = 0,
      ins = 0,
      bAt = ed.b;
    if (ed.op === 1) {
      del = ed.len;
      const nx = edits[k + 1];
      if (nx?.op === 2) {
        ins = nx.len;
        bAt = nx.b;
        k++;
      }
    } else ins = ed.len;
    if (!first) first = { row: total, a: del ? a[ed.a]! : null, b: ins ? b[bAt]! : null };
    for (let i = 0; i < Math.max(del, ins); i++) add({ a: i < del ? a[ed.a + i]! : null, b: i < ins ? b[bAt + i]! : null });
  }
  return { stream, countA: a.length, countB: b.length, matched, rows, firstDivergence: first, truncated: total > rows.length };
}

export function diffIo(a: IoCollector, b: IoCollector): IoDiff {
  const roles: IoDiff['roles'] = [];
  const byRole = (c: IoCollector) => new Map([...c.devices].map(([dev, role]) => [role, dev]));
  const ra = byRole(a),
    rb = byRole(b);
  for (const role of [...new Set([...ra.keys(), ...rb.keys()])].sort())
    roles.push({ role, a: ra.get(role) ?? null, b: rb.get(role) ?? null });
  const setup = (c: IoCollector) => [...c.setup].map(([what, count]) => ({ what, count }));
  const streams: IoStreamDiff[] = [];
  if (a.block.length || b.block.length) streams.push(alignStream('block', a.block, b.block));
  if (a.net.length || b.net.length) streams.push(alignStream('net', a.net, b.net));
  return { roles, setup: { a: setup(a), b: setup(b) }, streams };
}

/** The text section (empty when neither side did block or network I/O). */
export function renderIoDiff(d: IoDiff, names: [string, string], maxRows = 40): string[] {
  if (!d.streams.length) return [];
  const out: string[] = ['device layer'];
  for (const r of d.roles) out.push(`  ${r.role.padEnd(6)} A: ${r.a ?? '-'}   B: ${r.b ?? '-'}`);
  const setupLine = (s: { what: string; count: number }[]) => (s.length ? s.map((x) => `${x.what} ${x.count}`).join(', ') : 'none');
  out.push(`  set-up A (${names[0]}): ${setupLine(d.setup.a)}`, `  set-up B (${names[1]}): ${setupLine(d.setup.b)}`, '');
  const cell = (x: IoItem | null) => (x ? `#${x.seq} ${x.token}` : '');
  for (const s of d.streams) {
    out.push(`${s.stream} I/O: ${s.countA} in A, ${s.countB} in B, ${s.matched} aligned`);
    const f = s.firstDivergence;
    if (f)
      out.push(
        `  first divergence at row ${f.row + 1}: A ${f.a ? `#${f.a.seq} ${f.a.token}` : '(nothing)'}, B ${f.b ? `#${f.b.seq} ${f.b.token}` : '(nothing)'}`,
      );
    else out.push('  same order on both sides');
    const w = Math.max(10, ...s.rows.slice(0, maxRows).map((r) => cell(r.a).length));
    out.push(`    ${'A'.padEnd(w)}  B`);
    for (const r of s.rows.slice(0, maxRows)) out.push(`  ${r.a && r.b ? ' ' : r.a ? '-' : '+'} ${cell(r.a).padEnd(w)}  ${cell(r.b)}`);
    if (s.rows.length > maxRows || s.truncated)
      out.push(
        `    … ${s.matched + (s.countA - s.matched) + (s.countB - s.matched) - Math.min(maxRows, s.rows.length)} more row(s) (--json has up to ${MAX_ROWS})`,
      );
    out.push('');
  }
  return out;
}

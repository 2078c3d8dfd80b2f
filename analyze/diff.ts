// Cross-trace diff: normalise two traces to semantic tokens (device roles instead of addresses,
// register names, hypercalls by decoded name, interrupts by role), align them per vCPU with a
// real sequence alignment (Myers' O(ND) diff, linear space, on run-length-compressed token runs
// so FR polling loops cost one run), and report where and how they differ.
//
// Only event kinds both traces recorded are aligned (a QEMU log has no `exception` or WFI
// events; the emulator records every trapped system register): kinds and system registers seen
// on one side only are reported, not aligned. Derived kinds (console bytes, line levels, timer
// recomputations, delivery/deactivation, which sources record with very different granularity)
// are counted, not aligned.

import type { DeviceRegion, EventFilter, EventKind, TraceEvent, TraceMeta } from '../capture/model.ts';
import { interruptRole } from './latency.ts';
import { resolveSysregName as sysregName } from '../arch/sysregs.ts';

import { PhasesAnalysis, type PhasesResult } from './phases.ts';
import { diffIo, IoCollector, type IoDiff } from './diff-io.ts';
import { eachEvent, liteContext, type LiteContext } from './standalone.ts';

/** Kinds aligned when both sides recorded them. */
export const ALIGNED_KINDS: readonly EventKind[] = [
  'mmio_read',
  'mmio_write',
  'hypercall',
  'sysreg',
  'irq_ack',
  'irq_eoi',
  'vcpu_state',
  'exception',
  'wfx',
];

/** A trace as diff needs it (TraceReader satisfies it; tests may pass arrays). */
export interface DiffSource {
  readonly meta: TraceMeta;
  readonly regions: readonly DeviceRegion[];
  events(): Iterable<TraceEvent>;
  /** The same events pushed (TraceReader's fast path); used when present. */
  forEachEvent?(f: EventFilter, cb: (e: TraceEvent) => void): void;
}

/** Every event of a side, pushed when the source can, else iterated. */
const eachOf = (src: DiffSource, cb: (e: TraceEvent) => void): void =>
  eachEvent(src.forEachEvent ? (src as Required<DiffSource>) : src.events(), cb);

export interface DiffOptions {
  /** Name shown for each side (default 'A'/'B'). */
  names?: [string, string];
  /** Runs of context shown around the first divergence. */
  context?: number;
  /** Hunks listed (the first N per the whole diff). */
  maxHunks?: number;
  /** Work budget of the aligner (snake steps); past it, the rest of a region counts as replaced. */
  budget?: number;
  /** Findings of each side (from analyze/check.ts when available), compared by rule id. */
  findings?: [FindingLike[], FindingLike[]];
}

export interface FindingLike {
  rule: string;
  message?: string;
}

/** One run of identical tokens on one side, as reported. */
/** One run: a token (or a "(a; b; c)" pattern) repeated `count` times, covering `events` events. */
export interface RunRef {
  token: string;
  count: number;
  events: number;
  seq: number;
  time: number;
}

export interface Hunk {
  vcpu: number;
  /** Runs on side A replaced by runs on side B (either may be empty). */
  a: RunRef[];
  b: RunRef[];
  aRuns: number;
  bRuns: number;
}

export interface VcpuDiff {
  vcpu: number;
  eventsA: number;
  eventsB: number;
  runsA: number;
  runsB: number;
  matchedRuns: number;
  deletedRuns: number;
  insertedRuns: number;
  /** Matched runs whose repeat counts differ (e.g. a UART FR polled 3× on one side, 5× on the other). */
  repeatDifferences: number;
  /** True when the aligner ran out of budget and treated a region as replaced wholesale. */
  budgetExceeded: boolean;
}

export interface CountRow {
  key: string;
  a: number;
  b: number;
}

export interface DiffResult {
  names: [string, string];
  sources: [string, string];
  identical: boolean;
  alignedKinds: EventKind[];
  kindsOnlyIn: { a: EventKind[]; b: EventKind[] };
  sysregsOnlyIn: { a: string[]; b: string[] };
  /** Roles whose devices sit at different addresses or have different models, lined up. */
  equivalences: { role: string; a: string[]; b: string[] }[];
  /** Context runs (common) before, the runs only in A, only in B (up to 10 each), and common runs after (A's). */
  firstDivergence: null | { vcpu: number; before: RunRef[]; a: RunRef[]; b: RunRef[]; after: RunRef[] };
  hunks: Hunk[];
  vcpus: VcpuDiff[];
  kinds: CountRow[];
  devices: CountRow[];
  registers: CountRow[];
  hypercalls: CountRow[];
  hypercallsOnlyIn: { a: string[]; b: string[] };
  interrupts: CountRow[];
  phases: { phase: string; a: number | null; b: number | null; aNs: number | null; bNs: number | null }[];
  /** The console compared: each side's port with the most lines. */
  console: {
    same: boolean;
    portA: string;
    portB: string;
    linesA: number;
    linesB: number;
    firstDifference: null | { line: number; a: string | null; b: string | null };
  };
  findings: null | { onlyA: string[]; onlyB: string[]; both: string[] };
  /** The device layer: block and network streams aligned by role, each side's own set-up. */
  io: IoDiff;
  notes: string[];
}

// ---- normalisation -----------------------------------------------------------------------

const hex = (v: bigint | number) => '0x' + v.toString(16);

const TX_REGISTERS = new Set(['DR', 'UARTDR']);

/** Normalises one trace's events to semantic tokens. */
export class Normalizer {
  private readonly ctx: LiteContext;
  private readonly roleName = new Map<string, string>();
  private readonly regionRole: Map<string, string>;
  private readonly touchedPerRole = new Map<string, number>();
  private readonly xen: boolean;

  constructor(meta: TraceMeta, regions: readonly DeviceRegion[]) {
    this.ctx = liteContext(meta, regions);
    this.xen = meta.source.name === 'xen' || regions.some((r) => r.role.startsWith('xen_'));
    this.regionRole = new Map(regions.map((r) => [r.name, r.role]));
  }

  get context(): LiteContext {
    return this.ctx;
  }

  /** The role name of a device region ('' → 'unassigned'). */
  device(name: string): string {
    const known = this.roleName.get(name);
    if (known !== undefined) return known;
    const role = this.regionRole.get(name);
    if (role === undefined) return name ? `?${name}` : 'unassigned';
    // Several devices of one role (virtio-mmio slots, two UARTs) are numbered in the order the
    // guest first touches them, not by table position: region tables differ between sources.
    const n = this.touchedPerRole.get(role) ?? 0;
    this.touchedPerRole.set(role, n + 1);
    const label = n === 0 ? role : `${role}#${n + 1}`;
    this.roleName.set(name, label);
    return label;
  }

  interrupt(intid: number): string {
    return interruptRole(intid, this.ctx, this.xen);
  }

  /** The semantic token of an event, or '' for kinds diff does not align. */
  token(e: TraceEvent): string {
    switch (e.kind) {
      case 'mmio_read':
      case 'mmio_write': {
        const r = this.ctx.region(e.device);
        const reg = e.register || (r ? `+${hex(e.addr - r.base)}` : `@${hex(e.addr)}`);
        const dev = this.device(e.device);
        if (e.kind === 'mmio_read') return `read ${dev}.${reg} -> ${hex(e.value)}`;
        // Transmitted bytes are compared as console text; the alignment sees the write itself.
        if (TX_REGISTERS.has(reg) && r?.role === 'uart') return `write ${dev}.${reg}`;
        return `write ${dev}.${reg} = ${hex(e.value)}`;
      }
      case 'hypercall':
        return `${e.conduit} ${e.name || hex(e.func)}${e.subop ? '.' + e.subop : ''}`;
      case 'sysreg':
        return `${e.write ? 'msr' : 'mrs'} ${sysregName(e.name)}`;
      case 'irq_ack':
        return `ack ${this.irq(e.intid)}`;
      case 'irq_eoi':
        return `eoi ${this.irq(e.intid)}`;
      case 'vcpu_state':
        return `vcpu ${e.target} ${e.state} (${e.reason})`;
      case 'exception':
        return `exception ec=${hex(e.ec)} el${e.from_el}->el${e.to_el}`;
      case 'wfx':
        return e.wfe ? 'wfe' : 'wfi';
      default:
        return '';
    }
  }

  /** Interrupts by role; SGIs keep their number (IPI kinds differ), PPIs/SPIs by role only. */
  private irq(intid: number): string {
    if (intid >= 1020) return `spurious(${intid})`;
    return intid < 16 ? `sgi${intid}` : this.interrupt(intid);
  }
}

// ---- run-length token sequences ----------------------------------------------------------

/** Interns token strings to small integers shared by both sides. */
class Interner {
  readonly ids = new Map<string, number>();
  readonly names: string[] = [];
  id(s: string): number {
    let i = this.ids.get(s);
    if (i === undefined) {
      i = this.names.length;
      this.ids.set(s, i);
      this.names.push(s);
    }
    return i;
  }
}

/** One vCPU's runs: parallel growable arrays (token id, repeat count, first seq, first time). */
class Runs {
  tok: number[] = [];
  /** Repetitions: of the token, or of the whole pattern for a periodic run. */
  count: number[] = [];
  /** Events the run covers (differs from count for periodic runs). */
  covered: number[] = [];
  seq: number[] = [];
  time: number[] = [];
  events = 0;
  push(id: number, seq: number, time: number): void {
    this.events++;
    const n = this.tok.length;
    if (n && this.tok[n - 1] === id) {
      this.count[n - 1]!++;
      this.covered[n - 1]!++;
      return;
    }
    this.tok.push(id);
    this.count.push(1);
    this.covered.push(1);
    this.seq.push(seq);
    this.time.push(time);
  }

  /**
   * Second-level compression: a pattern of 2..MAX_PERIOD runs repeated back to back (a UART
   * transmit loop: FR polls then a DR write, per byte) becomes one periodic run, whose token is
   * the pattern and whose count is the repetitions. Inner repeat counts (how many FR polls) are
   * kept only as the events covered. Smaller periods are tried first, greedily, left to right.
   */
  compressPeriodic(interner: Interner): void {
    const { tok, count, covered, seq, time } = this;
    const n = tok.length;
    const out = new Runs();
    out.events = this.events;
    let i = 0;
    while (i < n) {
      let done = false;
      for (let p = 2; p <= MAX_PERIOD && i + 2 * p <= n; p++) {
        let same = true;
        for (let k = 0; k < p && same; k++) same = tok[i + k] === tok[i + p + k];
        if (!same) continue;
        let reps = 2;
        outer: while (i + (reps + 1) * p <= n) {
          for (let k = 0; k < p; k++) if (tok[i + k] !== tok[i + reps * p + k]) break outer;
          reps++;
        }
        let ev = 0;
        for (let k = 0; k < reps * p; k++) ev += covered[i + k]!;
        const parts: string[] = [];
        for (let k = 0; k < p; k++) parts.push(interner.names[tok[i + k]!]!);
        out.tok.push(interner.id(`(${parts.join('; ')})`));
        out.count.push(reps);
        out.covered.push(ev);
        out.seq.push(seq[i]!);
        out.time.push(time[i]!);
        i += reps * p;
        done = true;
        break;
      }
      if (!done) {
        out.tok.push(tok[i]!);
        out.count.push(count[i]!);
        out.covered.push(covered[i]!);
        out.seq.push(seq[i]!);
        out.time.push(time[i]!);
        i++;
      }
    }
    this.tok = out.tok;
    this.count = out.count;
    this.covered = out.covered;
    this.seq = out.seq;
    this.time = out.time;
  }
}

/** Longest pattern (in runs) the periodic compression looks for. */
const MAX_PERIOD = 4;

import { myersDiff } from './myers.ts';

export { myersDiff, type Edit } from './myers.ts';

// ---- the diff ------------------------------------------------------------------------------

interface Side {
  norm: Normalizer;
  runs: Map<number, Runs>;
  kinds: Map<EventKind, number>;
  sysregs: Map<string, number>;
  devices: Map<string, number>;
  registers: Map<string, number>;
  hypercalls: Map<string, number>;
  interrupts: Map<string, number>;
  touched: Map<string, Set<string>>; // role -> "name (model @base)"
  phases: PhasesResult;
  console: string[];
  consolePort: string;
  io: IoCollector;
}

const PRINTK_TIME = /^\[\s*\d+\.\d+\]\s?/;
const MAX_CONSOLE_LINES = 100_000;

/** First pass: counts, phases, console, and what each side recorded. */
function survey(src: DiffSource): Side {
  const norm = new Normalizer(src.meta, src.regions);
  const ctx = norm.context;
  const phases = new PhasesAnalysis();
  const side: Side = {
    norm,
    runs: new Map(),
    kinds: new Map(),
    sysregs: new Map(),
    devices: new Map(),
    registers: new Map(),
    hypercalls: new Map(),
    interrupts: new Map(),
    touched: new Map(),
    phases: undefined as unknown as PhasesResult,
    console: [],
    consolePort: '',
    io: new IoCollector(),
  };
  const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
  const ports = new Map<string, { open: string; lines: string[] }>();
  eachOf(src, (e) => {
    phases.onEvent(e, ctx);
    side.io.onEvent(e);
    side.kinds.set(e.kind, (side.kinds.get(e.kind) ?? 0) + 1);
    switch (e.kind) {
      case 'mmio_read':
      case 'mmio_write': {
        const role = norm.device(e.device);
        bump(side.devices, role);
        bump(side.registers, `${role}.${e.register || '?'} ${e.kind === 'mmio_read' ? 'read' : 'write'}`);
        const r = ctx.region(e.device);
        let set = side.touched.get(role);
        if (!set) side.touched.set(role, (set = new Set()));
        set.add(r ? `${r.name} (${r.model} @${hex(r.base)})` : e.device || `unassigned @${hex(e.addr)}`);
        break;
      }
      case 'sysreg':
        bump(side.sysregs, sysregName(e.name));
        break;
      case 'hypercall':
        bump(side.hypercalls, e.name || hex(e.func));
        break;
      case 'irq_ack':
        if (e.intid < 1020) bump(side.interrupts, e.intid < 16 ? 'sgi' : norm.interrupt(e.intid));
        break;
      case 'console': {
        let c = ports.get(e.port);
        if (!c) ports.set(e.port, (c = { open: '', lines: [] }));
        for (const b of e.bytes) {
          if (b === 0x0a) {
            if (c.lines.length < MAX_CONSOLE_LINES) c.lines.push(c.open.replace(PRINTK_TIME, ''));
            c.open = '';
          } else if (b !== 0x0d && c.open.length < 1024) c.open += String.fromCharCode(b);
        }
        break;
      }
      default:
    }
  });
  // The console compared is the port that wrote the most lines (Xen guests may also write a few
  // lines to the hypervisor's console_io; the emulator names each port).
  let best = -1;
  for (const [port, c] of ports) {
    if (c.open) c.lines.push(c.open.replace(PRINTK_TIME, ''));
    if (c.lines.length > best) {
      best = c.lines.length;
      side.console = c.lines;
      side.consolePort = port;
    }
  }
  side.phases = phases.finish(ctx);
  return side;
}

/** Registers whose access is the acknowledge or EOI itself: when both sides record irq_ack/irq_eoi,
 *  those carry it (sources order the register access and the ack event differently). */
const ACK_REGISTERS = new Set(['GICC_IAR', 'GICC_AIAR', 'ICC_IAR1_EL1', 'ICC_IAR0_EL1']);
const EOI_REGISTERS = new Set(['GICC_EOIR', 'GICC_AEOIR', 'ICC_EOIR1_EL1', 'ICC_EOIR0_EL1']);

/** Second pass: the aligned token runs per vCPU. */
function tokenize(src: DiffSource, side: Side, kinds: ReadonlySet<EventKind>, sysregs: ReadonlySet<string>, interner: Interner): void {
  const skipAck = kinds.has('irq_ack'),
    skipEoi = kinds.has('irq_eoi');
  eachOf(src, (e) => {
    if (!kinds.has(e.kind)) return;
    if (e.kind === 'sysreg') {
      const n = sysregName(e.name);
      if (!sysregs.has(n) || (skipAck && ACK_REGISTERS.has(n)) || (skipEoi && EOI_REGISTERS.has(n))) return;
    } else if (e.kind === 'mmio_read' || e.kind === 'mmio_write') {
      if ((skipAck && ACK_REGISTERS.has(e.register)) || (skipEoi && EOI_REGISTERS.has(e.register))) return;
    }
    const t = side.norm.token(e);
    if (!t) return;
    let r = side.runs.get(e.vcpu);
    if (!r) side.runs.set(e.vcpu, (r = new Runs()));
    r.push(interner.id(t), e.seq, e.time);
  });
}

function rows(a: Map<string, number>, b: Map<string, number>): CountRow[] {
  const keys = [...new Set([...a.keys(), ...b.keys()])].sort();
  return keys.map((key) => ({ key, a: a.get(key) ?? 0, b: b.get(key) ?? 0 }));
}

/** Diffs two traces (each read twice: a survey pass and a tokenising pass). */
export function diffTraces(srcA: DiffSource, srcB: DiffSource, opts: DiffOptions = {}): DiffResult {
  const names = opts.names ?? ['A', 'B'];
  const contextRuns = opts.context ?? 3;
  const maxHunks = opts.maxHunks ?? 20;
  const A = survey(srcA),
    B = survey(srcB);
  const notes: string[] = [];

  const alignedKinds = ALIGNED_KINDS.filter((k) => A.kinds.has(k) && B.kinds.has(k));
  const kindsOnlyIn = {
    a: [...A.kinds.keys()].filter((k) => !B.kinds.has(k)).sort(),
    b: [...B.kinds.keys()].filter((k) => !A.kinds.has(k)).sort(),
  };
  const sysregs = new Set([...A.sysregs.keys()].filter((s) => B.sysregs.has(s)));
  const sysregsOnlyIn = {
    a: [...A.sysregs.keys()].filter((s) => !B.sysregs.has(s)).sort(),
    b: [...B.sysregs.keys()].filter((s) => !A.sysregs.has(s)).sort(),
  };
  const interner = new Interner();
  const kindSet = new Set(alignedKinds);
  tokenize(srcA, A, kindSet, sysregs, interner);
  tokenize(srcB, B, kindSet, sysregs, interner);
  for (const side of [A, B]) for (const r of side.runs.values()) r.compressPeriodic(interner);

  const hunks: Hunk[] = [];
  const vcpus: VcpuDiff[] = [];
  let first: DiffResult['firstDivergence'] = null;
  let firstSeq = Infinity;
  const ref = (r: Runs, i: number): RunRef => ({
    token: interner.names[r.tok[i]!]!,
    count: r.count[i]!,
    events: r.covered[i]!,
    seq: r.seq[i]!,
    time: r.time[i]!,
  });
  const refs = (r: Runs, from: number, to: number): RunRef[] => {
    const out: RunRef[] = [];
    for (let i = Math.max(0, from); i < Math.min(to, r.tok.length); i++) out.push(ref(r, i));
    return out;
  };
  const empty = new Runs();
  const allVcpus = [...new Set([...A.runs.keys(), ...B.runs.keys()])].sort((x, y) => x - y);
  for (const v of allVcpus) {
    const ra = A.runs.get(v) ?? empty,
      rb = B.runs.get(v) ?? empty;
    const { edits, exceeded } = myersDiff(ra.tok, rb.tok, opts.budget);
    const vd: VcpuDiff = {
      vcpu: v,
      eventsA: ra.events,
      eventsB: rb.events,
      runsA: ra.tok.length,
      runsB: rb.tok.length,
      matchedRuns: 0,
      deletedRuns: 0,
      insertedRuns: 0,
      repeatDifferences: 0,
      budgetExceeded: exceeded,
    };
    for (let k = 0; k < edits.length; k++) {
      const ed = edits[k]!;
      if (ed.op === 0) {
        vd.matchedRuns += ed.len;
        for (let i = 0; i < ed.len; i++)
          if (ra.count[ed.a + i] !== rb.count[ed.b + i] || ra.covered[ed.a + i] !== rb.covered[ed.b + i]) vd.repeatDifferences++;
        continue;
      }
      // A hunk: a delete followed by an insert (or either alone).
      let del = 0,
        ins = 0,
        aAt = ed.a,
        bAt = ed.b;
      if (ed.op === 1) {
        del = ed.len;
        const nx = edits[k + 1];
        if (nx && nx.op === 2) {
          ins = nx.len;
          bAt = nx.b;
          k++;
        }
      } else ins = ed.len;
      vd.deletedRuns += del;
      vd.insertedRuns += ins;
      if (hunks.length < maxHunks) {
        hunks.push({ vcpu: v, a: refs(ra, aAt, aAt + Math.min(del, 5)), b: refs(rb, bAt, bAt + Math.min(ins, 5)), aRuns: del, bRuns: ins });
      }
      const seqA = aAt < ra.seq.length ? ra.seq[aAt]! : Infinity;
      if (!first || seqA < firstSeq) {
        firstSeq = seqA;
        first = {
          vcpu: v,
          before: refs(ra, aAt - contextRuns, aAt),
          a: refs(ra, aAt, aAt + Math.min(del, 10)),
          b: refs(rb, bAt, bAt + Math.min(ins, 10)),
          after: refs(ra, aAt + del, aAt + del + contextRuns),
        };
      }
    }
    if (exceeded) notes.push(`vCPU ${v}: alignment budget exceeded; some regions are reported as replaced wholesale`);
    vcpus.push(vd);
  }

  // Roles that line up different devices (addresses or models).
  const equivalences: DiffResult['equivalences'] = [];
  for (const role of [...new Set([...A.touched.keys(), ...B.touched.keys()])].sort()) {
    const a = [...(A.touched.get(role) ?? [])].sort(),
      b = [...(B.touched.get(role) ?? [])].sort();
    if (a.length && b.length && a.join() !== b.join()) equivalences.push({ role, a, b });
  }

  const phaseIds = [...new Set([...A.phases.phases.map((p) => p.id), ...B.phases.phases.map((p) => p.id)])];
  const phases = phaseIds.map((id) => {
    const pa = A.phases.phases.find((p) => p.id === id),
      pb = B.phases.phases.find((p) => p.id === id);
    return { phase: id, a: pa?.duration ?? null, b: pb?.duration ?? null, aNs: pa?.durationNs ?? null, bNs: pb?.durationNs ?? null };
  });

  const hypercallsOnlyIn = {
    a: [...A.hypercalls.keys()].filter((h) => !B.hypercalls.has(h)).sort(),
    b: [...B.hypercalls.keys()].filter((h) => !A.hypercalls.has(h)).sort(),
  };

  let consoleDiff: DiffResult['console']['firstDifference'] = null;
  const nLines = Math.max(A.console.length, B.console.length);
  for (let i = 0; i < nLines; i++) {
    if (A.console[i] !== B.console[i]) {
      consoleDiff = { line: i + 1, a: A.console[i] ?? null, b: B.console[i] ?? null };
      break;
    }
  }

  let findings: DiffResult['findings'] = null;
  if (opts.findings) {
    const fa = new Set(opts.findings[0].map((f) => f.rule)),
      fb = new Set(opts.findings[1].map((f) => f.rule));
    findings = {
      onlyA: [...fa].filter((r) => !fb.has(r)).sort(),
      onlyB: [...fb].filter((r) => !fa.has(r)).sort(),
      both: [...fa].filter((r) => fb.has(r)).sort(),
    };
  }

  const kinds = rows(new Map([...A.kinds].map(([k, v]) => [k as string, v])), new Map([...B.kinds].map(([k, v]) => [k as string, v])));
  const io = diffIo(A.io, B.io);
  const identical =
    vcpus.every((v) => v.deletedRuns === 0 && v.insertedRuns === 0 && v.repeatDifferences === 0) &&
    kinds.every((r) => r.a === r.b) &&
    !consoleDiff &&
    !kindsOnlyIn.a.length &&
    !kindsOnlyIn.b.length &&
    !sysregsOnlyIn.a.length &&
    !sysregsOnlyIn.b.length &&
    equivalences.length === 0 &&
    ioSame(io) &&
    (!findings || (!findings.onlyA.length && !findings.onlyB.length));
  if (!alignedKinds.length) notes.push('the traces share no aligned event kind: nothing to align');

  return {
    names,
    sources: [describeSource(srcA.meta), describeSource(srcB.meta)],
    identical,
    alignedKinds,
    kindsOnlyIn,
    sysregsOnlyIn,
    equivalences,
    firstDivergence: first,
    hunks,
    vcpus,
    kinds,
    devices: rows(A.devices, B.devices),
    registers: rows(A.registers, B.registers).filter((r) => r.a !== r.b),
    hypercalls: rows(A.hypercalls, B.hypercalls),
    hypercallsOnlyIn,
    interrupts: rows(A.interrupts, B.interrupts),
    phases,
    console: {
      same: !consoleDiff,
      portA: A.consolePort,
      portB: B.consolePort,
      linesA: A.console.length,
      linesB: B.console.length,
      firstDifference: consoleDiff,
    },
    findings,
    io,
    notes,
  };
}

/**
 * The device layer is the same when each side has the same devices by role and every block and
 * network stream aligns request for request (same op, sector, length; same frames), in the same
 * order. The aligned vCPU streams do not see this: I/O tokens are not among their kinds' tokens.
 */
function ioSame(d: IoDiff): boolean {
  return (
    d.roles.every((r) => r.a !== null && r.b !== null) &&
    d.streams.every((s) => s.firstDivergence === null && s.matched === s.countA && s.matched === s.countB)
  );
}

function describeSource(m: TraceMeta): string {
  return `${m.source.type} ${m.source.name}`;
}

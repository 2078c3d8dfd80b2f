// Interrupt latency: per INTID and per device role, the time between the stages of each
// interrupt — assert (irq_line level 1) → delivery → acknowledge → EOI → deactivate — and, for
// the generic timers, deadline → assert. Streams: each statistic keeps exact values up to a cap,
// then folds them into a fixed log-scale histogram, so memory is bounded whatever the length.
// Imported traces have fewer stages (QEMU: gic_set_irq → acknowledge → EOI); stages a source
// does not record are simply absent.

import type { EventKind, TraceEvent } from '../capture/model.ts';
import type { LiteAnalysis, LiteContext } from './standalone.ts';
import { resolveSysregName } from '../arch/sysregs.ts';

/** Stages; for SGIs "assert" is the send (ICC_SGI1R_EL1 or GICD_SGIR write). */
export const STAGES = [
  'assert_to_deliver',
  'deliver_to_ack',
  'assert_to_ack',
  'ack_to_eoi',
  'eoi_to_deactivate',
  'assert_to_deactivate',
  'deadline_to_assert',
] as const;
export type Stage = (typeof STAGES)[number];

/** The event kinds the analysis reads (a reader can skip the rest). */
export const LATENCY_KINDS: EventKind[] = [
  'irq_line',
  'irq_deliver',
  'irq_ack',
  'irq_eoi',
  'irq_deactivate',
  'timer',
  'sysreg',
  'mmio_write',
];

/** Exact values kept per statistic before switching to the histogram. */
export const EXACT_CAP = 4096;
/** Histogram resolution: sub-buckets per power of two (relative error ≤ 1/SUB). */
const SUB = 32;
const HIST_BUCKETS = 64 * SUB;

function bucketOf(v: number): number {
  if (v < SUB) return Math.max(0, Math.floor(v));
  const exp = Math.floor(Math.log2(v));
  const sub = Math.floor((v / 2 ** exp - 1) * SUB);
  return Math.min(HIST_BUCKETS - 1, (exp - Math.log2(SUB) + 1) * SUB + sub);
}
function bucketLow(b: number): number {
  if (b < SUB) return b;
  const exp = Math.floor(b / SUB) + Math.log2(SUB) - 1;
  return 2 ** exp * (1 + (b % SUB) / SUB);
}

/** Streaming distribution of non-negative values: exact up to EXACT_CAP, then a histogram. */
export class Distribution {
  count = 0;
  sum = 0;
  max = 0;
  min = Infinity;
  private exact: number[] | null = [];
  private hist: Uint32Array | null = null;
  /** Power-of-two histogram for display (bucket k holds values in [2^(k-1), 2^k), k=0 holds 0). */
  readonly log2 = new Uint32Array(64);
  private readonly cap: number;

  constructor(cap = EXACT_CAP) {
    this.cap = cap;
  }

  add(v: number): void {
    if (v < 0) v = 0;
    this.count++;
    this.sum += v;
    if (v > this.max) this.max = v;
    if (v < this.min) this.min = v;
    this.log2[v < 1 ? 0 : Math.min(63, Math.floor(Math.log2(v)) + 1)]!++;
    if (this.exact) {
      this.exact.push(v);
      if (this.exact.length > this.cap) this.toHistogram();
    } else {
      this.hist![bucketOf(v)]!++;
    }
  }

  get exactValues(): boolean {
    return this.exact !== null;
  }

  /** One distribution holding all of `ds` (exact while the total fits the cap). */
  static merge(ds: readonly Distribution[]): Distribution {
    const out = new Distribution(Math.max(...ds.map((d) => d.cap)));
    for (const d of ds) {
      out.count += d.count;
      out.sum += d.sum;
      out.max = Math.max(out.max, d.max);
      out.min = Math.min(out.min, d.min);
      for (let k = 0; k < 64; k++) out.log2[k]! += d.log2[k]!;
      if (d.exact && out.exact) {
        for (const v of d.exact) out.exact.push(v);
        if (out.exact.length > out.cap) out.toHistogram();
      } else {
        if (out.exact) out.toHistogram();
        if (d.exact) for (const v of d.exact) out.hist![bucketOf(v)]!++;
        else for (let b = 0; b < HIST_BUCKETS; b++) out.hist![b]! += d.hist![b]!;
      }
    }
    return out;
  }

  private toHistogram(): void {
    this.hist = new Uint32Array(HIST_BUCKETS);
    for (const v of this.exact!) this.hist[bucketOf(v)]!++;
    this.exact = null;
  }

  /** The q-quantile (0..1), nearest rank; exact while values are kept, else a bucket's lower bound (≤ 1/32 low). */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.count));
    if (this.exact) {
      const sorted = Float64Array.from(this.exact).sort();
      return sorted[rank - 1]!;
    }
    let seen = 0;
    for (let b = 0; b < HIST_BUCKETS; b++) {
      seen += this.hist![b]!;
      if (seen >= rank) return Math.min(this.max, Math.max(this.min, bucketLow(b)));
    }
    return this.max;
  }
}

/** Percentiles, mean and histogram of one distribution (latency and I/O latency rows share it). */
export interface DistributionStats {
  count: number;
  /** In trace time units. */
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
  /** The same in nanoseconds. */
  ns: { p50: number; p90: number; p99: number; max: number; mean: number };
  /** True when the percentiles come from exact values (false: from the histogram). */
  exact: boolean;
  /** Power-of-two histogram: [upper bound (exclusive, time units), count] for non-empty buckets. */
  histogram: [number, number][];
}

export interface StageStats extends DistributionStats {
  stage: Stage;
}

export interface LatencyGroup {
  /** 'intid' rows are per INTID (per vCPU for SGIs/PPIs folded together); 'role' rows sum a role. */
  key: string;
  intid?: number;
  role: string;
  /** Interrupts acknowledged (or asserted, when the source records no acknowledge). */
  interrupts: number;
  stages: StageStats[];
}

export interface LatencyResult {
  clock: string;
  byIntid: LatencyGroup[];
  byRole: LatencyGroup[];
  /** Interrupts asserted but never acknowledged by the end of the trace, per INTID. */
  unacknowledged: { intid: number; count: number }[];
  notes: string[];
}

/** Role of a PPI/SGI by INTID (the virt machine's and the architecture's assignments). */
const PPI_ROLES: Record<number, string> = {
  25: 'vgic-maint',
  26: 'hyptimer',
  27: 'vtimer',
  28: 'hypvtimer',
  29: 'sectimer',
  30: 'ptimer',
  23: 'pmu',
};
const TIMER_INTID: Record<string, number> = { virt: 27, phys: 30, hyp: 26, hypvirt: 28, sec: 29 };
const TIMER_ROLE_OF_SOURCE = /timer[:_]?(virt|phys|hyp|hypvirt|sec)/;

// One interrupt in flight on a key (intid for SPIs, vcpu<<10|intid for SGIs/PPIs).
interface InFlight {
  assert: number;
  deliver: number;
  ack: number;
  eoi: number;
  intid: number;
}

const NONE = -1;

export class LatencyAnalysis implements LiteAnalysis<LatencyResult> {
  readonly name = 'latency';
  readonly kinds = LATENCY_KINDS;
  private readonly flight = new Map<number, InFlight>();
  private readonly stats = new Map<number, Map<Stage, Distribution>>(); // by intid
  private readonly acks = new Map<number, number>();
  private readonly asserts = new Map<number, number>();
  private readonly roleBySource = new Map<number, string>();
  /** Timer deadline per (vcpu<<3 | timer) in trace time, NONE when disarmed. */
  private readonly deadline = new Map<number, { at: number; intid: number }>();
  private readonly timerCtl = new Map<number, number>();
  private ticksToTime = 0; // trace time units per counter tick (0: unknown)
  private started = false;
  private xen = false;

  private dist(intid: number, stage: Stage): Distribution {
    let m = this.stats.get(intid);
    if (!m) this.stats.set(intid, (m = new Map()));
    let d = m.get(stage);
    if (!d) m.set(stage, (d = new Distribution()));
    return d;
  }

  private start(ctx: LiteContext): void {
    this.started = true;
    const c = ctx.clock;
    if (c.kind === 'instructions' && c.counterHz && c.instructionsPerSecond) this.ticksToTime = c.instructionsPerSecond / c.counterHz;
    else if (c.kind === 'instructions')
      this.ticksToTime = 16; // the emulator's counter is time / 16
    else if (c.counterHz) this.ticksToTime = 1e9 / c.counterHz;
    this.xen = ctx.meta.source.name === 'xen' || ctx.regions.some((r) => r.role.startsWith('xen_'));
  }

  onEvent(e: TraceEvent, ctx: LiteContext): void {
    switch (e.kind) {
      case 'irq_line': {
        if (!this.started) this.start(ctx);
        if (e.level !== 1) return;
        const key = e.intid < 32 ? (e.vcpu << 10) | e.intid : e.intid;
        if (!this.roleBySource.has(e.intid)) this.roleBySource.set(e.intid, this.roleOfSource(e.source, ctx));
        this.asserts.set(e.intid, (this.asserts.get(e.intid) ?? 0) + 1);
        const f = this.flight.get(key);
        // A line already asserted and not yet acknowledged stays one interrupt (QEMU repeats levels).
        if (f && f.assert !== NONE && f.ack === NONE) return;
        this.flight.set(key, { assert: e.time, deliver: NONE, ack: NONE, eoi: NONE, intid: e.intid });
        this.timerAssert(e.vcpu, e.intid, e.time);
        return;
      }
      case 'irq_deliver': {
        const key = this.keyOf(e.vcpu, e.intid);
        let f = this.flight.get(key);
        // No assert seen (SGIs without a send record, sources without line events): start here.
        if (!f || f.ack !== NONE) this.flight.set(key, (f = { assert: NONE, deliver: NONE, ack: NONE, eoi: NONE, intid: e.intid }));
        if (f.deliver !== NONE) return;
        f.deliver = e.time;
        if (f.assert !== NONE) this.dist(e.intid, 'assert_to_deliver').add(e.time - f.assert);
        return;
      }
      case 'irq_ack': {
        // 1020-1023 are the special INTIDs (spurious); LPIs (8192 and up) are interrupts like SPIs.
        if (e.intid >= 1020 && e.intid <= 1023) return;
        if (!this.started) this.start(ctx);
        this.acks.set(e.intid, (this.acks.get(e.intid) ?? 0) + 1);
        const key = this.keyOf(e.vcpu, e.intid);
        let f = this.flight.get(key);
        if (!f || f.ack !== NONE) this.flight.set(key, (f = { assert: NONE, deliver: NONE, ack: NONE, eoi: NONE, intid: e.intid }));
        f.ack = e.time;
        if (f.deliver !== NONE) this.dist(e.intid, 'deliver_to_ack').add(e.time - f.deliver);
        if (f.assert !== NONE) this.dist(e.intid, 'assert_to_ack').add(e.time - f.assert);
        return;
      }
      case 'irq_eoi': {
        const f = this.flight.get(this.keyOf(e.vcpu, e.intid));
        if (!f || f.ack === NONE || f.eoi !== NONE) return;
        f.eoi = e.time;
        this.dist(e.intid, 'ack_to_eoi').add(e.time - f.ack);
        return;
      }
      case 'irq_deactivate': {
        const key = this.keyOf(e.vcpu, e.intid);
        const f = this.flight.get(key);
        if (!f || f.ack === NONE) return;
        if (f.eoi !== NONE) this.dist(e.intid, 'eoi_to_deactivate').add(e.time - f.eoi);
        if (f.assert !== NONE) this.dist(e.intid, 'assert_to_deactivate').add(e.time - f.assert);
        this.flight.delete(key);
        return;
      }
      case 'timer':
        if (!this.started) this.start(ctx);
        this.onTimer(e);
        return;
      case 'sysreg':
        if (e.write && resolveSysregName(e.name) === 'ICC_SGI1R_EL1')
          this.sgiSent(e.vcpu, sgi1rTargets(e.value, e.vcpu), Number((e.value >> 24n) & 15n), e.time);
        return;
      case 'mmio_write':
        if (e.register === 'GICD_SGIR') this.sgiSent(e.vcpu, sgirTargets(e.value, e.vcpu), Number(e.value & 15n), e.time);
        return;
      default:
    }
  }

  // An SGI's send (ICC_SGI1R_EL1 / GICD_SGIR write) is its assert: the line events some sources
  // record for SGIs come later and are then ignored as repeats.
  private sgiSent(from: number, targets: number[], intid: number, time: number): void {
    for (const t of targets) {
      const key = (t << 10) | intid;
      const f = this.flight.get(key);
      if (f && f.assert !== NONE && f.ack === NONE) continue;
      this.flight.set(key, { assert: time, deliver: NONE, ack: NONE, eoi: NONE, intid });
      this.asserts.set(intid, (this.asserts.get(intid) ?? 0) + 1);
    }
    void from;
  }

  private keyOf(vcpu: number, intid: number): number {
    return intid < 32 ? (vcpu << 10) | intid : intid;
  }

  private roleOfSource(source: string, ctx: LiteContext): string {
    const r = ctx.region(source);
    if (r) return r.role;
    if (source === 'sgi') return 'sgi';
    const m = TIMER_ROLE_OF_SOURCE.exec(source);
    if (m) return m[1] === 'virt' ? 'vtimer' : m[1] === 'phys' ? 'ptimer' : `${m[1]}timer`;
    return source || 'unknown';
  }

  // Timer deadlines: CVAL (absolute ticks) or TVAL (relative to the counter now), armed while
  // CTL.ENABLE=1 and IMASK=0. The deadline→assert latency is measured at the next assert.
  private onTimer(e: Extract<TraceEvent, { kind: 'timer' }>): void {
    if (!this.ticksToTime) return;
    const intid = TIMER_INTID[e.timer];
    if (intid === undefined) return;
    const k = (e.vcpu << 3) | TIMER_NAMES_INDEX[e.timer]!;
    if (e.op === 'ctl') this.timerCtl.set(k, Number(e.value & 7n));
    else if (e.op === 'cval') this.setDeadline(k, Number(e.value) * this.ticksToTime, intid);
    else if (e.op === 'tval') {
      const now = Math.floor(e.time / this.ticksToTime) * this.ticksToTime;
      this.setDeadline(k, now + Number(BigInt.asIntN(32, e.value)) * this.ticksToTime, intid);
    } else if (e.op === 'disabled') this.timerCtl.set(k, 0);
  }

  private setDeadline(k: number, at: number, intid: number): void {
    this.deadline.set(k, { at, intid });
  }

  private timerAssert(vcpu: number, intid: number, time: number): void {
    if (intid >= 32 || !PPI_ROLES[intid]?.includes('timer')) return;
    for (const [k, d] of this.deadline) {
      if (k >> 3 !== vcpu || d.intid !== intid) continue;
      const ctl = this.timerCtl.get(k) ?? 1;
      if ((ctl & 1) === 0 || (ctl & 2) !== 0) continue;
      if (time >= d.at) this.dist(intid, 'deadline_to_assert').add(time - d.at);
      this.deadline.delete(k);
    }
  }

  roleOf(intid: number, ctx: LiteContext): string {
    return interruptRole(intid, ctx, this.xen, this.roleBySource);
  }

  finish(ctx: LiteContext): LatencyResult {
    if (!this.started) this.start(ctx);
    const toNs = (t: number) => ctx.toNs(t) - ctx.toNs(0);
    const intids = [...new Set([...this.stats.keys(), ...this.acks.keys(), ...this.asserts.keys()])].sort((a, b) => a - b);
    const byIntid: LatencyGroup[] = [];
    const roleDists = new Map<string, { interrupts: number; m: Map<Stage, Distribution[]> }>();
    for (const intid of intids) {
      const role = this.roleOf(intid, ctx);
      const interrupts = this.acks.get(intid) ?? this.asserts.get(intid) ?? 0;
      const m = this.stats.get(intid) ?? new Map<Stage, Distribution>();
      byIntid.push({ key: `INTID ${intid}`, intid, role, interrupts, stages: stageRows(m, toNs) });
      let rd = roleDists.get(role);
      if (!rd) roleDists.set(role, (rd = { interrupts: 0, m: new Map() }));
      rd.interrupts += interrupts;
      for (const [s, d] of m) {
        let arr = rd.m.get(s);
        if (!arr) rd.m.set(s, (arr = []));
        arr.push(d);
      }
    }
    const byRole: LatencyGroup[] = [...roleDists]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([role, rd]) => ({
        key: role,
        role,
        interrupts: rd.interrupts,
        stages: stageRows(mergeAll(rd.m), toNs),
      }));
    const unack = new Map<number, number>();
    for (const f of this.flight.values()) if (f.ack === NONE && f.assert !== NONE) unack.set(f.intid, (unack.get(f.intid) ?? 0) + 1);
    const notes: string[] = [];
    const kinds = new Set(byIntid.flatMap((g) => g.stages.map((s) => s.stage)));
    if (!intids.length) notes.push('no interrupts in this trace');
    else {
      if (!kinds.has('assert_to_deliver') && !kinds.has('deliver_to_ack'))
        notes.push('no irq_deliver events in this trace: delivery stages are absent');
      if (!kinds.has('assert_to_ack') && kinds.has('ack_to_eoi'))
        notes.push('no line assertions matched acknowledges: only ack→EOI is measured');
    }
    return {
      clock: ctx.clock.kind,
      byIntid,
      byRole,
      unacknowledged: [...unack].sort(([a], [b]) => a - b).map(([intid, count]) => ({ intid, count })),
      notes,
    };
  }
}

/** The role of an INTID: SGIs, architected PPIs, Xen's event channel PPI, devices' SPIs. */
export function interruptRole(
  intid: number,
  ctx: Pick<LiteContext, 'regions'>,
  xen: boolean,
  learned?: ReadonlyMap<number, string>,
): string {
  if (intid < 16) return 'sgi';
  if (intid < 32) {
    if (intid === 31 && xen) return 'xen-evtchn';
    return PPI_ROLES[intid] ?? learned?.get(intid) ?? 'ppi';
  }
  const r = ctx.regions.find((x) => x.intid === intid);
  return r ? r.role : (learned?.get(intid) ?? 'spi');
}

/** vCPUs an ICC_SGI1R_EL1 write targets (Aff0 = vCPU index within Aff1 groups of 16, as on virt). */
export function sgi1rTargets(v: bigint, self: number, vcpus = 512): number[] {
  if ((v >> 40n) & 1n)
    return Array.from({ length: vcpus }, (_, i) => i)
      .filter((i) => i !== self)
      .slice(0, 64);
  const aff1 = Number((v >> 16n) & 0xffn);
  const list = Number(v & 0xffffn);
  const out: number[] = [];
  for (let b = 0; b < 16; b++) if (list & (1 << b)) out.push(aff1 * 16 + b);
  return out;
}

/** vCPUs a GICD_SGIR write targets (GICv2: filter, CPU target list). */
export function sgirTargets(v: bigint, self: number): number[] {
  const filter = Number((v >> 24n) & 3n);
  if (filter === 2) return [self];
  if (filter === 1) return [0, 1, 2, 3, 4, 5, 6, 7].filter((c) => c !== self);
  const list = Number((v >> 16n) & 0xffn);
  const out: number[] = [];
  for (let b = 0; b < 8; b++) if (list & (1 << b)) out.push(b);
  return out;
}

const TIMER_NAMES_INDEX: Record<string, number> = { phys: 0, virt: 1, hyp: 2, sec: 3, hypvirt: 4, sel2phys: 5, sel2virt: 6 };

function mergeAll(m: Map<Stage, Distribution[]>): Map<Stage, Distribution> {
  const out = new Map<Stage, Distribution>();
  for (const [s, ds] of m) out.set(s, ds.length === 1 ? ds[0]! : Distribution.merge(ds));
  return out;
}

/** The figures of one distribution, with times also in nanoseconds. */
export function distributionStats(d: Distribution, toNs: (t: number) => number): DistributionStats {
  const p50 = d.quantile(0.5),
    p90 = d.quantile(0.9),
    p99 = d.quantile(0.99);
  const mean = d.count ? d.sum / d.count : 0;
  const histogram: [number, number][] = [];
  d.log2.forEach((c, k) => {
    if (c) histogram.push([k === 0 ? 1 : 2 ** k, c]);
  });
  const ns = { p50: toNs(p50), p90: toNs(p90), p99: toNs(p99), max: toNs(d.max), mean: toNs(mean) };
  return { count: d.count, p50, p90, p99, max: d.max, mean, exact: d.exactValues, ns, histogram };
}

function stageRows(m: Map<Stage, Distribution>, toNs: (t: number) => number): StageStats[] {
  return STAGES.filter((s) => m.has(s)).map((stage) => ({ stage, ...distributionStats(m.get(stage)!, toNs) }));
}

/** Latency of an event stream (for tests and callers without the engine). */
export function latencyOf(events: Iterable<TraceEvent>, ctx: LiteContext): LatencyResult {
  const a = new LatencyAnalysis();
  for (const e of events) a.onEvent(e, ctx);
  return a.finish(ctx);
}

// Periodic snapshots of a running machine, for reverse execution (emu/gdb): every `every`
// instructions the debugger's run loop stops at a round boundary and takes one; going back to a
// moment is restoring the last snapshot before it and running forward to it, which the machine's
// determinism makes exact. A snapshot holds the vCPUs (general, FP/SIMD and system registers,
// PSTATE, monitors), the devices, the scheduler and the recorder's position (graph.ts), guest
// memory as copy-on-write pages (ram.ts), and what the caller's participants save (the replay's
// comparator, the debugger's view of the events).
//
// Memory stays within `budget` bytes (by default the guest's memory size, so the machine and its
// snapshots take at most twice that): when over it, snapshots are thinned, always dropping the one
// whose neighbours are closest, so those left stay evenly spread; the first (the start) and the
// newest are kept.

import type { Machine } from '../machine/index.ts';
import type { DebugPoint } from '../scheduler.ts';
import { captureGraph, restoreGraph, type GraphCapture } from './graph.ts';
import { RamPages, type PageArray } from './ram.ts';

/** Something outside the machine whose state follows it (saved and restored with each snapshot). */
export interface SnapshotParticipant {
  save(): unknown;
  restore(state: unknown): void;
}

/** Where a snapshot was taken. */
export interface SnapshotPosition {
  /** Instructions retired by all vCPUs. */
  executed: number;
  time: number;
  /** Each vCPU's retired instructions. */
  instret: number[];
  /** Events recorded before it. */
  events: number;
}

interface Snapshot {
  readonly pos: SnapshotPosition;
  readonly pages: PageArray;
  readonly graph: GraphCapture;
  readonly extra: unknown[];
}

export interface SnapshotOptions {
  /** Instructions between snapshots. */
  every: number;
  /** Bytes the snapshots may take (default: the guest's memory). */
  budget?: number;
  /** Objects outside the machine that are part of the run's state (console bytes, input). */
  roots?: object[];
  /** Objects not to save (the debugger's breakpoints). */
  exclude?: object[];
  participants?: SnapshotParticipant[];
  /** Check all of guest memory at each snapshot for writes the tracking missed (tests). */
  verify?: boolean;
}

export interface SnapshotStats {
  count: number;
  bytes: number;
  budget: number;
  taken: number;
  restored: number;
  thinned: number;
}

export class Snapshots {
  private readonly m: Machine;
  private readonly ram: RamPages;
  private readonly opts: SnapshotOptions;
  readonly every: number;
  readonly budget: number;
  private readonly list: Snapshot[] = [];
  private taken = 0;
  private restored = 0;
  /** Executed count of the last snapshot taken or restored. */
  private lastTaken = 0;
  private thinned = 0;

  /** Start tracking and take the first snapshot (the machine must be between instructions). */
  constructor(m: Machine, opts: SnapshotOptions) {
    if (!(Number.isInteger(opts.every) && opts.every > 0))
      throw new RangeError(`snapshot interval must be a positive integer, not ${opts.every}`);
    this.m = m;
    this.opts = opts;
    this.every = opts.every;
    this.budget = opts.budget ?? m.config.memBytes;
    this.ram = new RamPages(m.bus, m.cpus[0]!.shared, () => this.flushTlbs(), { verify: opts.verify ?? false });
    this.take();
  }

  private flushTlbs(): void {
    for (const c of this.m.cpus) c.flushTlb();
  }

  /** The objects a capture leaves out: caches rebuilt after a restore, the trace sinks, RAM tracking. */
  private exclusions(): Set<object> {
    const m = this.m;
    const ex = new Set<object>(this.opts.exclude ?? []);
    const shared = m.cpus[0]!.shared;
    ex.add(shared.code);
    for (const d of shared.code) if (d) ex.add(d);
    if (shared.clean) ex.add(shared.clean);
    ex.add(shared.dirty);
    ex.add(m.bus.touched);
    ex.add(m.bus.touchedList);
    ex.add(m.bus.loadedPages);
    const sink = m.recorder.sinkRef;
    if (sink) ex.add(sink);
    for (const c of m.cpus) {
      const cc = c as unknown as Record<string, object | undefined>;
      for (const k of ['jit', 'tTag', 'tTagH', 'tOff', 'fDec', 'dv', 'stateMem']) if (cc[k]) ex.add(cc[k]);
    }
    return ex;
  }

  private position(): SnapshotPosition {
    const s = this.m.scheduler;
    return { executed: s.executed, time: s.now(), instret: this.m.cpus.map((c) => c.instret), events: this.m.recorder.count };
  }

  /** Take a snapshot here (between instructions, at a scheduler round boundary), thinning if over budget. */
  take(): void {
    const e = this.m.scheduler.executed;
    let at = this.list.length;
    while (at > 0 && this.list[at - 1]!.pos.executed > e) at--;
    const prev = this.list[at - 1];
    const graph = captureGraph(
      [this.m, ...(this.opts.roots ?? [])],
      { exclude: this.exclusions(), skipBuffers: new Set([this.m.bus.mem.buffer]) },
      prev?.graph,
    );
    const pages = this.ram.capture();
    const extra = (this.opts.participants ?? []).map((p) => p.save());
    this.list.splice(at, 0, { pos: this.position(), pages, graph, extra });
    this.taken++;
    this.lastTaken = e;
    this.thin();
  }

  /** Bytes held: page copies, page arrays, saved objects. */
  get bytes(): number {
    let b = this.ram.bytes;
    for (const s of this.list) b += s.graph.bytes + this.ram.arrayBytes;
    return b;
  }

  private thin(): void {
    while (this.bytes > this.budget && this.list.length > 2) {
      let best = 1,
        gap = Infinity;
      for (let i = 1; i < this.list.length - 1; i++) {
        const g = this.list[i + 1]!.pos.executed - this.list[i - 1]!.pos.executed;
        if (g < gap) {
          gap = g;
          best = i;
        }
      }
      const [gone] = this.list.splice(best, 1);
      this.ram.release(gone!.pages);
      this.thinned++;
    }
  }

  /**
   * The last snapshot strictly before the first moment `point` names (the first snapshot, the
   * start, when none is): running forward from it reaches that moment as a run from the start would.
   */
  before(point: DebugPoint & { events?: number }): SnapshotPosition {
    return this.find(point).pos;
  }

  private find(point: DebugPoint & { events?: number }): Snapshot {
    for (let i = this.list.length - 1; i > 0; i--) {
      const p = this.list[i]!.pos;
      if (point.executed !== undefined && !(p.executed < point.executed)) continue;
      if (point.time !== undefined && !(p.time < point.time)) continue;
      if (point.instret !== undefined && point.vcpu !== undefined && !(p.instret[point.vcpu]! < point.instret)) continue;
      if (point.events !== undefined && !(p.events <= point.events)) continue;
      return this.list[i]!;
    }
    return this.list[0]!;
  }

  /**
   * Restore the last snapshot before `point` (see before()); later snapshots stay (the run from
   * here is the same one) unless `dropLater`: the caller changed the run (a write to the guest).
   */
  restoreBefore(point: DebugPoint & { events?: number }, dropLater = false): SnapshotPosition {
    const s = this.find(point);
    restoreGraph(s.graph);
    this.ram.restore(s.pages);
    const parts = this.opts.participants ?? [];
    parts.forEach((p, i) => p.restore(s.extra[i]));
    const sched = this.m.scheduler;
    sched.debugPoint = null;
    sched.debugPaused = -1;
    for (const c of this.m.cpus) {
      c.dbgHit = undefined;
      c.dbgSkip = -1;
    }
    if (dropLater) this.dropAfter(s.pos.executed);
    this.lastTaken = s.pos.executed;
    this.restored++;
    return s.pos;
  }

  /**
   * Executed count at which the next snapshot is due: one interval after the last snapshot at or
   * before the current position (after a restore, the run passes the later ones, and refills the
   * gaps thinning left).
   */
  nextAt(): number {
    const e = this.m.scheduler.executed;
    // the last one taken counts even if thinning dropped it at once (else it would be taken again and again)
    let last = this.lastTaken <= e ? this.lastTaken : 0;
    for (const s of this.list) if (s.pos.executed <= e && s.pos.executed > last) last = s.pos.executed;
    return last + this.every;
  }

  /** Snapshots after `executed` belong to a run that no longer happens (the guest was written to). */
  dropAfter(executed: number): void {
    for (let i = this.list.length - 1; i > 0 && this.list[i]!.pos.executed > executed; i--) {
      this.ram.release(this.list[i]!.pages);
      this.list.splice(i, 1);
    }
  }

  /** A snapshot is due here. */
  due(): boolean {
    return this.m.scheduler.executed >= this.nextAt();
  }

  stats(): SnapshotStats {
    return {
      count: this.list.length,
      bytes: this.bytes,
      budget: this.budget,
      taken: this.taken,
      restored: this.restored,
      thinned: this.thinned,
    };
  }

  positions(): SnapshotPosition[] {
    return this.list.map((s) => s.pos);
  }
}

// What the GDB server debugs: one machine, paused between instructions or running in chunks
// that yield to the event loop. Breakpoints and watchpoints are the vCPUs' DebugPoints; every
// pause is a Scheduler.debugPoint, so the machine runs exactly as it would without a debugger
// (the recorded events are the same) and any pause can be found again by running a fresh
// machine to the same position: reverse execution (session.ts) is built on that.

import type { NewEvent } from '../../capture/model.ts';
import { STOP } from '../cpu/cpu.ts';
import type { Cpu } from '../cpu/cpu.ts';
import { DebugPoints, EVT_DEBUG, type DebugHit } from '../cpu/state.ts';
import type { Machine } from '../machine/index.ts';
import type { DebugPoint, StopInfo } from '../scheduler.ts';
import type { Recorder } from '../types.ts';
import type { Snapshots, SnapshotParticipant } from '../snapshot/index.ts';

/** A pause, named so that a fresh machine can be run to it: vCPU `vcpu` about to run with `executed` retired by all. */
export interface Position {
  executed: number;
  vcpu: number;
}

/** Why the machine stopped running. */
export type Halt =
  | { kind: 'hit'; vcpu: number; hit: DebugHit }
  | { kind: 'point'; vcpu: number }
  | { kind: 'interrupt'; vcpu: number }
  | { kind: 'exited'; stop: StopInfo };

/** Instructions per chunk between yields to the event loop while gdb waits. */
const CHUNK = 250_000;
/** Recent events kept for `monitor where` (run mode has no stored trace to look them up in). */
const RECENT = 8;

const yieldLoop = (): Promise<void> => new Promise((r) => setImmediate(r));

export class DebugTarget {
  m!: Machine;
  private step!: (pauseAt: number) => StopInfo | null;
  readonly points = new DebugPoints();
  /** Which kind of breakpoint gdb inserted at a PC (Z0 software, Z1 hardware): the stop reply names it. */
  readonly bpKinds = new Map<bigint, 'sw' | 'hw'>();
  /** The vCPU the last pause was at (gdb's current thread). */
  vcpu = 0;
  /** The run ended (the guest powered off, hung, …). */
  ended: StopInfo | undefined;
  /** gdb asked for a stop (0x03) while running. */
  interruptRequested = false;
  /** Events the current machine recorded so far: the seq of the next one. */
  events = 0;
  /** Last value the guest read or wrote at each device address: what gdb's memory reads show there. */
  readonly shadow = new Map<number, { value: bigint; size: number }>();
  readonly recent: NewEvent[] = [];
  /** The event seq the last `monitor event` moved to (-1: none). */
  atEvent = -1;
  /** Called with each event and its seq (the session looks for the event it runs to). */
  onEvent: ((seq: number, ev: NewEvent) => void) | undefined;
  /** debug mode: periodic snapshots of this machine (reverse moves restore one), or undefined. */
  snapshots: Snapshots | undefined;
  /** No snapshots are taken while set (the run goes on to its end without gdb). */
  snapshotsPaused = false;

  /** What of this object follows the machine in a snapshot: the events seen and device values. */
  readonly participant: SnapshotParticipant = {
    save: () => ({ events: this.events, shadow: new Map(this.shadow), recent: [...this.recent], atEvent: this.atEvent }),
    restore: (st) => {
      const v = st as { events: number; shadow: DebugTarget['shadow']; recent: NewEvent[]; atEvent: number };
      this.events = v.events;
      this.shadow.clear();
      for (const [k, x] of v.shadow) this.shadow.set(k, x);
      this.recent.length = 0;
      this.recent.push(...v.recent);
      this.atEvent = v.atEvent;
    },
  };

  /** Take over a freshly built machine, paused before its first instruction. */
  attach(m: Machine, step: (pauseAt: number) => StopInfo | null): void {
    this.m = m;
    this.step = step;
    this.ended = undefined;
    this.vcpu = 0;
    this.atEvent = -1;
    this.applyPoints(true);
  }

  /**
   * The recorder a new machine's events also go to (counts them, keeps device values); made
   * before the machine, whose first events (the boot vCPU's power-on) come before attach().
   */
  recorder(): Recorder {
    this.events = 0;
    this.shadow.clear();
    this.recent.length = 0;
    return {
      enabled: true,
      record: (ev: NewEvent) => {
        const seq = this.events++;
        if (ev.kind === 'mmio_read' || ev.kind === 'mmio_write') {
          const e = ev as unknown as { addr: number; size: number; value: bigint };
          this.shadow.set(e.addr, { value: e.value, size: e.size });
        }
        this.recent.push(ev);
        if (this.recent.length > RECENT) this.recent.shift();
        this.onEvent?.(seq, ev);
      },
    };
  }

  /** Breakpoints and watchpoints on (or all off, for moves that must not stop at them). */
  applyPoints(on: boolean): void {
    const active = on && this.points.active;
    for (const c of this.m.cpus) {
      c.dbg = this.points;
      c.dbgEvt = active ? EVT_DEBUG : 0;
      if (active) c.evt |= EVT_DEBUG;
      else c.evt &= ~EVT_DEBUG;
      c.flushTlb(); // loads and stores of watched pages must take the slow path
    }
  }

  get cpus(): Cpu[] {
    return this.m.cpus;
  }

  position(): Position {
    return { executed: this.m.scheduler.executed, vcpu: this.vcpu };
  }

  /**
   * Run until `point` (null: no point), a breakpoint or watchpoint (when `stopAtPoints`), gdb's
   * interrupt, or the end of the run. `skip` is the vCPU resumed from a stop: its breakpoint at
   * the current PC is not reported again.
   */
  async run(point: DebugPoint | null, opts: { stopAtPoints: boolean; skip?: number; onHit?: (h: Halt) => boolean }): Promise<Halt> {
    if (this.ended) return { kind: 'exited', stop: this.ended };
    const s = this.m.scheduler;
    this.applyPoints(opts.stopAtPoints);
    for (const c of this.cpus) c.dbgSkip = -1;
    if (opts.skip !== undefined) this.cpus[opts.skip]!.dbgSkip = this.cpus[opts.skip]!.instret;
    s.debugPoint = point;
    try {
      for (;;) {
        if (this.ended) return { kind: 'exited', stop: this.ended };
        if (this.interruptRequested) {
          this.interruptRequested = false;
          s.debugPoint = {}; // the next moment any vCPU is about to run
          point = {};
        }
        const sn = this.snapshotsPaused ? undefined : this.snapshots;
        const stop = this.step(Math.min(s.executed + CHUNK, sn ? sn.nextAt() : Infinity));
        if (stop) {
          this.ended = stop;
          return { kind: 'exited', stop };
        }
        const v = s.debugPaused;
        if (v < 0 && sn?.due()) sn.take(); // at a round boundary: the run pauses there for it
        if (v >= 0) {
          this.vcpu = v;
          const cpu = this.cpus[v]!;
          const hit = cpu.dbgHit;
          cpu.dbgHit = undefined;
          if (hit && cpu.stopReason === STOP.DEBUG) {
            const h: Halt = { kind: 'hit', vcpu: v, hit };
            // a caller collecting hits (reverse-continue) goes on past them
            if (opts.onHit && !opts.onHit(h)) {
              for (const c of this.cpus) c.dbgSkip = -1;
              cpu.dbgSkip = cpu.instret;
              continue;
            }
            return h;
          }
          return point !== null && Object.keys(point).length === 0 ? { kind: 'interrupt', vcpu: v } : { kind: 'point', vcpu: v };
        }
        await yieldLoop();
      }
    } finally {
      s.debugPoint = null;
      this.applyPoints(true);
    }
  }

  /** Bytes of guest memory at a virtual address of vCPU `vcpu` (or physical, `phys`); an error string when unmapped. */
  readMemory(vcpu: number, addr: bigint, len: number, phys = false): Uint8Array | string {
    const out = new Uint8Array(len);
    for (let i = 0; i < len;) {
      const va = addr + BigInt(i);
      const pa = phys ? Number(va) : this.cpus[vcpu]!.debugTranslate(va);
      if (pa === undefined || !Number.isSafeInteger(pa)) return `0x${va.toString(16)} is not mapped`;
      const n = Math.min(len - i, 4096 - (pa % 4096));
      const map = this.m.bus.mapPage(pa - (pa % 4096));
      if (map) out.set(this.m.bus.mem.subarray(map.off + (pa % 4096), map.off + (pa % 4096) + n), i);
      else if (this.m.bus.deviceAt(pa)) this.deviceBytes(pa, out.subarray(i, i + n));
      else return `0x${va.toString(16)} is not mapped`;
      i += n;
    }
    return out;
  }

  /**
   * Device registers are never read for gdb (a read has effects: it would change the run); each
   * byte shows the last value the guest read or wrote there, 0 before it did.
   */
  private deviceBytes(pa: number, out: Uint8Array): void {
    out.fill(0);
    for (const [a, { value, size }] of this.shadow) {
      for (let b = 0; b < size; b++) {
        const k = a + b - pa;
        if (k >= 0 && k < out.length) out[k] = Number((value >> BigInt(8 * b)) & 0xffn);
      }
    }
  }

  /** Write guest RAM at a virtual address (device addresses are refused); an error string on failure. */
  writeMemory(vcpu: number, addr: bigint, data: Uint8Array): string | undefined {
    for (let i = 0; i < data.length;) {
      const va = addr + BigInt(i);
      const pa = this.cpus[vcpu]!.debugTranslate(va);
      if (pa === undefined) return `0x${va.toString(16)} is not mapped`;
      const n = Math.min(data.length - i, 4096 - (pa % 4096));
      const map = this.m.bus.mapPage(pa - (pa % 4096));
      if (!map || !map.writable) return `0x${va.toString(16)} is not RAM (device registers are not written for gdb)`;
      const off = map.off + (pa % 4096);
      this.m.bus.mem.set(data.subarray(i, i + n), off);
      this.cpus[0]!.shared.invalidateMem(off, n); // decoded instructions there are stale (and snapshots see the write)
      i += n;
    }
    return undefined;
  }
}

// Deterministic vCPU scheduling and virtual time.
//
// Virtual time T counts instructions: every instruction retired by any vCPU advances T by one, and
// when every powered-on vCPU waits (WFI/WFE/CPU_SUSPEND) T jumps to the next device deadline. The
// vCPUs run round-robin in index order, each for a slice of at most `quantum` instructions, cut
// short at the next device deadline so timers fire exactly when their counter compare is reached.
// A device or system-register access that may move a deadline ends the slice (the CPU stops after
// that instruction) so the next slice is cut at the new deadline. Interrupts are taken at
// instruction boundaries the CPU evaluates (slice start, after MMIO/system-register accesses,
// ERET), which depend only on the guest's instruction stream: nothing from the host (wall time,
// randomness, thread scheduling) reaches the guest.

import { STOP, type Cpu } from './cpu/cpu.ts';
import { EVT_STOP } from './cpu/state.ts';
import type { EventRecorder } from './recorder.ts';

export type VcpuRunState = 'off' | 'run' | 'wfi' | 'wfe';

/** Why a run ended. */
export type StopKind = 'system_off' | 'system_reset' | 'insn_limit' | 'hang' | 'all_off' | 'exception_loop' | 'stopped' | 'interrupted';

export interface StopInfo {
  kind: StopKind;
  /** One line for people, e.g. 'PSCI SYSTEM_OFF', 'instruction limit (1000000)', 'guest hang: …'. */
  message: string;
}

/**
 * A debugger's pause point: the moment a vCPU is about to execute an instruction and every given
 * field matches (vcpu: that vCPU; instret: its retired instructions; time: virtual time, reached or passed;
 * executed: instructions retired by all vCPUs). Slices are cut there without changing the
 * interleaving (Scheduler.run).
 */
export interface DebugPoint {
  vcpu?: number;
  instret?: number;
  time?: number;
  executed?: number;
}

/** What the scheduler needs from the machine's devices. */
export interface DeadlineSource {
  nextDeadline(): number;
  tick(now: number): void;
}

export const DEFAULT_QUANTUM = 16384;

/** Virtual time of the next WFE wake-up event from the generic timer's event stream after t (or Infinity). */
export type EventStream = (vcpu: number, t: number) => number;

export class Scheduler {
  readonly cpus: Cpu[];
  readonly state: VcpuRunState[];
  /** Virtual time (instructions) at the start of the current slice. */
  sliceStart = 0;
  /** cpu.instret at the start of the current slice. */
  private sliceInstret = 0;
  /** vCPU running now, or -1 between slices. */
  current = -1;
  /** Instructions retired by all vCPUs. */
  executed = 0;
  /** Virtual time skipped while every vCPU waited. */
  skipped = 0;
  stopInfo: StopInfo | null = null;
  readonly quantum: number;
  private readonly waitStart: number[];
  /** For WFE waiters: when the timer event stream wakes them (Infinity when it is off). */
  private readonly wakeAt: number[];
  private readonly eventStream: EventStream;
  private readonly devices: DeadlineSource;
  private readonly rec: EventRecorder;
  /** Set when a slice must be re-cut at a possibly earlier deadline. */
  deadlineDirty = false;
  /** run()'s pauseTime: the virtual time of the next input delivery (Infinity: none). */
  private pauseTime = Infinity;
  /** The vCPU the next round step is for (a run paused inside a round resumes there). */
  private rr = 0;
  /** Budget left in vCPU rr's slice when a run paused inside it (0: the slice is to be started). */
  private sliceLeft = 0;
  /** Some vCPU ran in the current round. */
  private ranRound = false;
  /** Where a debugger wants the run to pause (see DebugPoint), or null. */
  debugPoint: DebugPoint | null = null;
  /** The vCPU at which the last run() paused for the debugger (-1: it did not). */
  debugPaused = -1;

  constructor(
    cpus: Cpu[],
    devices: DeadlineSource,
    rec: EventRecorder,
    quantum = DEFAULT_QUANTUM,
    eventStream: EventStream = () => Infinity,
  ) {
    if (!(Number.isInteger(quantum) && quantum > 0)) throw new RangeError(`quantum must be a positive integer, not ${quantum}`);
    this.cpus = cpus;
    this.state = cpus.map(() => 'off');
    this.waitStart = cpus.map(() => 0);
    this.wakeAt = cpus.map(() => Infinity);
    this.eventStream = eventStream;
    this.devices = devices;
    this.rec = rec;
    this.quantum = quantum;
  }

  /** Current virtual time, valid inside and between slices. */
  now(): number {
    const c = this.current;
    return c < 0 ? this.sliceStart : this.sliceStart + (this.cpus[c]!.instret - this.sliceInstret);
  }

  /** End the run with a reason (first reason wins); stops the running vCPU after its instruction. */
  stop(kind: StopKind, message: string): void {
    if (!this.stopInfo) this.stopInfo = { kind, message };
    if (this.current >= 0) this.cpus[this.current]!.requestStop();
  }

  /** A vCPU starts waiting (CPU_SUSPEND, or WFI/WFE seen by the scheduler). */
  wait(vcpu: number, kind: 'wfi' | 'wfe'): void {
    this.state[vcpu] = kind;
    const t = this.now();
    this.waitStart[vcpu] = t;
    this.wakeAt[vcpu] = kind === 'wfe' ? this.eventStream(vcpu, t) : Infinity;
    if (this.current === vcpu) this.cpus[vcpu]!.requestStop();
  }

  setState(vcpu: number, s: VcpuRunState): void {
    this.state[vcpu] = s;
    if (s === 'off' && this.current === vcpu) this.cpus[vcpu]!.requestStop();
  }

  /** Ask the running vCPU to end its slice after this instruction (a deadline may have moved). */
  recut(): void {
    this.deadlineDirty = true;
    if (this.current >= 0) this.cpus[this.current]!.requestStop();
  }

  /**
   * Run until a stop reason; `maxInsns` bounds the instructions executed (not skipped time).
   * Returns null (no stop) once `pauseAt` instructions have been executed, at a round boundary,
   * so callers can yield to the event loop and call run() again; pausing changes nothing.
   * A debugger (emu/gdb) also pauses the run inside a slice: at `debugPoint`, or when a vCPU stops
   * on a breakpoint or watchpoint (STOP.DEBUG); `debugPaused` then names the vCPU and the next
   * run() resumes the same slice with the budget it had left, so the vCPUs interleave exactly as
   * in a run that never paused.
   */
  run(maxInsns = Infinity, pauseAt = Infinity, pauseTime = Infinity): StopInfo | null {
    const cpus = this.cpus;
    // Input delivery (emu/input.ts): pause at the first round boundary at or after pauseTime; an
    // idle skip stops there (input arriving wakes the machine), so the delivery time is exact.
    this.pauseTime = pauseTime;
    this.debugPaused = -1;
    while (!this.stopInfo) {
      if (this.rr === 0 && this.sliceLeft === 0) {
        if (this.executed >= pauseAt || this.sliceStart >= pauseTime) return null;
        this.ranRound = false;
      }
      while (this.rr < cpus.length && !this.stopInfo) {
        const i = this.rr;
        if (this.sliceLeft === 0 && !this.startSlice(i, maxInsns)) {
          this.rr++;
          continue;
        }
        if (this.stopInfo) break;
        if (this.debugPoint && this.atDebugPoint(i)) {
          this.debugPaused = i;
          return null;
        }
        if (this.runSlice(i)) return null;
      }
      if (this.stopInfo) break;
      this.rr = 0;
      if (!this.ranRound) this.idle();
    }
    return this.stopInfo;
  }

  /**
   * Begin vCPU i's slice: wake it if it waits and may run, cut the budget. Returns false when it
   * does not run in this round (off, or still waiting).
   */
  private startSlice(i: number, maxInsns: number): boolean {
    const st = this.state[i];
    if (st === 'off') return false;
    const cpu = this.cpus[i]!;
    if (st !== 'run') {
      const irq = cpu.irqPending(),
        fiq = cpu.fiqPending();
      const ev = st === 'wfe' && (cpu.eventReg !== 0 || this.sliceStart >= this.wakeAt[i]!);
      if (!irq && !fiq && !ev) return false;
      if (ev && !irq && !fiq) cpu.eventReg = 0; // WFE consumes the event
      this.state[i] = 'run';
      if (this.rec.enabled) {
        this.rec.wfx(this.sliceStart, i, cpu.pc, st === 'wfe', fiq ? 'fiq' : irq ? 'irq' : 'event', this.sliceStart - this.waitStart[i]!);
      }
    }
    const left = maxInsns - this.executed;
    if (left <= 0) {
      this.stop('insn_limit', `instruction limit (${maxInsns})`);
      return true;
    }
    const dev = this.devices;
    let deadline = dev.nextDeadline();
    if (deadline <= this.sliceStart) {
      dev.tick(this.sliceStart);
      deadline = dev.nextDeadline();
    }
    const toDeadline = deadline - this.sliceStart;
    this.sliceLeft = Math.max(1, Math.min(this.quantum, left, toDeadline));
    this.deadlineDirty = false;
    return true;
  }

  /**
   * Run (the rest of) vCPU i's slice, up to the debugger's point if it lies inside. Returns true
   * when the run pauses for the debugger (a breakpoint or watchpoint stopped the vCPU).
   */
  private runSlice(i: number): boolean {
    const cpu = this.cpus[i]!;
    const budget = this.sliceLeft;
    const limit = this.debugPoint ? Math.min(budget, this.debugLimit(i)) : budget;
    this.current = i;
    this.sliceInstret = cpu.instret;
    const n = cpu.run(limit);
    this.current = -1;
    this.sliceStart += n;
    this.executed += n;
    this.ranRound = this.ranRound || n > 0;
    this.sliceLeft = budget - n;
    // A stop the last instruction requested (a deadline moved) ends the slice as it would have
    // without the debugger's cut: cpu.run() clears the pending request when it starts again.
    const why = cpu.stopReason === STOP.BUDGET && cpu.evt & EVT_STOP ? STOP.REQUEST : cpu.stopReason;
    if (why === STOP.DEBUG || (why === STOP.BUDGET && n === limit && limit < budget)) {
      if (this.sliceLeft > 0) {
        if (why === STOP.DEBUG) this.debugPaused = i;
        return why === STOP.DEBUG; // at the debugger's point: run() pauses at the top of the loop
      }
    }
    this.sliceLeft = 0;
    if (why === STOP.WFI && this.state[i] === 'run') this.wait(i, 'wfi');
    else if (why === STOP.WFE && this.state[i] === 'run') this.wait(i, 'wfe');
    if (this.devices.nextDeadline() <= this.sliceStart) this.devices.tick(this.sliceStart);
    this.rr++;
    if (why === STOP.DEBUG) {
      this.debugPaused = i;
      return true;
    }
    return false;
  }

  /** The debugger's point is here: vCPU i is about to run (its next instruction not yet executed). */
  private atDebugPoint(i: number): boolean {
    const p = this.debugPoint!;
    if (p.vcpu !== undefined && p.vcpu !== i) return false;
    if (p.instret !== undefined && this.cpus[i]!.instret !== p.instret) return false;
    if (p.time !== undefined && this.sliceStart < p.time) return false; // at or after: an idle skip may jump over it
    if (p.executed !== undefined && this.executed !== p.executed) return false;
    return true;
  }

  /** Instructions vCPU i may run before the debugger's point (Infinity: the point is not ahead). */
  private debugLimit(i: number): number {
    const p = this.debugPoint!;
    if (p.vcpu !== undefined && p.vcpu !== i) return Infinity;
    let lim = Infinity;
    const ahead = (d: number): void => {
      if (d > 0 && d < lim) lim = d;
    };
    if (p.instret !== undefined) ahead(p.instret - this.cpus[i]!.instret);
    if (p.time !== undefined) ahead(p.time - this.sliceStart);
    if (p.executed !== undefined) ahead(p.executed - this.executed);
    return lim;
  }

  /** Nothing ran in a whole round: skip to the next deadline, or stop. */
  private idle(): void {
    if (this.state.every((s) => s === 'off')) {
      this.stop('all_off', 'all vCPUs are off');
      return;
    }
    // A waiting vCPU may already be wakeable (an event or interrupt raised after its check).
    for (let i = 0; i < this.cpus.length; i++) {
      const s = this.state[i],
        c = this.cpus[i]!;
      if ((s === 'wfi' || s === 'wfe') && (c.irqPending() || c.fiqPending() || (s === 'wfe' && c.eventReg !== 0))) return;
    }
    let deadline = this.devices.nextDeadline();
    for (let i = 0; i < this.cpus.length; i++) if (this.state[i] === 'wfe' && this.wakeAt[i]! < deadline) deadline = this.wakeAt[i]!;
    if (this.pauseTime < deadline) deadline = this.pauseTime; // pending input (see run())
    if (!Number.isFinite(deadline)) {
      const waiting = this.state
        .map((s, i) => (s === 'off' ? '' : `cpu${i} ${s.toUpperCase()} at 0x${this.cpus[i]!.pc.toString(16)}`))
        .filter(Boolean);
      this.stop('hang', `guest hang: ${waiting.join(', ')} with no interrupt pending at its CPU interface and no device deadline ahead`);
      return;
    }
    if (deadline > this.sliceStart) {
      this.skipped += deadline - this.sliceStart;
      this.sliceStart = deadline;
      this.devices.tick(this.sliceStart);
      return;
    }
    // A deadline already due that ticking does not clear would spin forever.
    this.devices.tick(this.sliceStart);
    if (
      this.devices.nextDeadline() <= this.sliceStart &&
      !this.cpus.some((c, i) => this.state[i] !== 'off' && (c.irqPending() || c.fiqPending()))
    ) {
      this.stop('hang', `guest hang: a device deadline at ${deadline} does not wake any vCPU`);
    }
  }
}

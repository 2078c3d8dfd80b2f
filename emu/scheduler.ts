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
import type { EventRecorder } from './recorder.ts';

export type VcpuRunState = 'off' | 'run' | 'wfi' | 'wfe';

/** Why a run ended. */
export type StopKind = 'system_off' | 'system_reset' | 'insn_limit' | 'hang' | 'all_off' | 'exception_loop' | 'stopped' | 'interrupted';

export interface StopInfo {
  kind: StopKind;
  /** One line for people, e.g. 'PSCI SYSTEM_OFF', 'instruction limit (1000000)', 'guest hang: …'. */
  message: string;
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
   */
  run(maxInsns = Infinity, pauseAt = Infinity, pauseTime = Infinity): StopInfo | null {
    const cpus = this.cpus;
    const dev = this.devices;
    // Input delivery (emu/input.ts): pause at the first round boundary at or after pauseTime; an
    // idle skip stops there (input arriving wakes the machine), so the delivery time is exact.
    this.pauseTime = pauseTime;
    while (!this.stopInfo) {
      if (this.executed >= pauseAt || this.sliceStart >= pauseTime) return null;
      let ran = false;
      for (let i = 0; i < cpus.length && !this.stopInfo; i++) {
        const st = this.state[i];
        if (st === 'off') continue;
        const cpu = cpus[i]!;
        if (st !== 'run') {
          const irq = cpu.irqPending(),
            fiq = cpu.fiqPending();
          const ev = st === 'wfe' && (cpu.eventReg !== 0 || this.sliceStart >= this.wakeAt[i]!);
          if (!irq && !fiq && !ev) continue;
          if (ev && !irq && !fiq) cpu.eventReg = 0; // WFE consumes the event
          this.state[i] = 'run';
          if (this.rec.enabled) {
            this.rec.wfx(
              this.sliceStart,
              i,
              cpu.pc,
              st === 'wfe',
              fiq ? 'fiq' : irq ? 'irq' : 'event',
              this.sliceStart - this.waitStart[i]!,
            );
          }
        }
        const left = maxInsns - this.executed;
        if (left <= 0) {
          this.stop('insn_limit', `instruction limit (${maxInsns})`);
          break;
        }
        let deadline = dev.nextDeadline();
        if (deadline <= this.sliceStart) {
          dev.tick(this.sliceStart);
          deadline = dev.nextDeadline();
        }
        const toDeadline = deadline - this.sliceStart;
        const budget = Math.max(1, Math.min(this.quantum, left, toDeadline));
        this.current = i;
        this.sliceInstret = cpu.instret;
        this.deadlineDirty = false;
        const n = cpu.run(budget);
        this.current = -1;
        this.sliceStart += n;
        this.executed += n;
        ran = ran || n > 0;
        if (cpu.stopReason === STOP.WFI && this.state[i] === 'run') this.wait(i, 'wfi');
        else if (cpu.stopReason === STOP.WFE && this.state[i] === 'run') this.wait(i, 'wfe');
        if (dev.nextDeadline() <= this.sliceStart) dev.tick(this.sliceStart);
      }
      if (this.stopInfo) break;
      if (!ran) this.idle();
    }
    return this.stopInfo;
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

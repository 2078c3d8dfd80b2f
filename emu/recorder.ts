// The bridge between the machine and wherever events go: the store's writer while recording,
// a comparator while replaying, or nothing. Devices, the GIC, the timer and the personality
// record through the `Recorder` contract themselves; the machine uses the typed helpers here
// for what only it sees (MMIO accesses on its bus, exceptions, system registers, WFI/WFE,
// vCPU power changes).

import type { MmioOutcome, NewEvent } from '../capture/model.ts';
import type { Recorder } from './types.ts';

/** Counts events and forwards them to a sink (or drops them when there is none). */
export class EventRecorder implements Recorder {
  enabled = false;
  /** Events recorded so far (the next event's seq). */
  count = 0;
  private sink: Recorder | null = null;

  constructor(sink: Recorder | null = null) {
    this.attach(sink);
  }

  /** Where events go (machine snapshots leave it out: it is not machine state). */
  get sinkRef(): Recorder | null {
    return this.sink;
  }

  /** Send events to `sink` from now on (null: drop them). */
  attach(sink: Recorder | null): void {
    this.sink = sink && sink.enabled ? sink : null;
    this.enabled = this.sink !== null;
  }

  private held: NewEvent[] | null = null;
  private depth = 0;

  record(ev: NewEvent): void {
    if (!this.sink) return;
    if (this.held) {
      this.held.push(ev);
      return;
    }
    this.count++;
    this.sink.record(ev);
  }

  /**
   * Hold events produced by a device during one access, so the access itself (recorded when its
   * value and outcome are known) comes first and what it caused follows.
   */
  hold(): void {
    if (this.depth++ === 0) this.held = [];
  }

  /** Record what was held since hold(); events of kind `first` (the cause) go first. */
  release(first?: NewEvent['kind']): void {
    if (this.depth === 0 || --this.depth > 0) return;
    const h = this.held;
    this.held = null;
    if (!h) return;
    if (first) for (const ev of h) if (ev.kind === first) this.record(ev);
    for (const ev of h) if (ev.kind !== first) this.record(ev);
  }

  /** Record an event ahead of anything held (the access that caused them). */
  private recordNow(ev: NewEvent): void {
    if (!this.sink) return;
    this.count++;
    this.sink.record(ev);
  }

  mmio(
    write: boolean,
    time: number,
    vcpu: number,
    pc: bigint,
    addr: number,
    size: number,
    value: bigint,
    device: string,
    register: string,
    outcome: MmioOutcome,
  ): void {
    this.recordNow({ kind: write ? 'mmio_write' : 'mmio_read', time, vcpu, pc, addr, size, value, device, register, outcome });
  }

  exception(
    time: number,
    vcpu: number,
    pc: bigint,
    ec: number,
    esr: number,
    far: bigint,
    fromEl: number,
    toEl: number,
    detail: string,
  ): void {
    this.record({ kind: 'exception', time, vcpu, pc, ec, esr, far, from_el: fromEl, to_el: toEl, detail });
  }

  irqDeliver(time: number, vcpu: number, pc: bigint, intid: number, fiq: boolean): void {
    this.record({ kind: 'irq_deliver', time, vcpu, pc, intid, exception: fiq ? 'fiq' : 'irq' });
  }

  sysreg(
    time: number,
    vcpu: number,
    pc: bigint,
    name: string,
    encoding: number,
    write: boolean,
    value: bigint,
    outcome: 'handled' | 'undefined',
  ): void {
    this.record({ kind: 'sysreg', time, vcpu, pc, name, encoding, write, value, outcome });
  }

  wfx(time: number, vcpu: number, pc: bigint, wfe: boolean, wake: 'irq' | 'fiq' | 'event' | 'none', slept: number): void {
    this.record({ kind: 'wfx', time, vcpu, pc, wfe, wake, slept });
  }

  vcpuState(
    time: number,
    vcpu: number,
    target: number,
    state: 'on' | 'off' | 'suspend',
    entry: bigint,
    context: bigint,
    reason: string,
  ): void {
    this.record({ kind: 'vcpu_state', time, vcpu, state, target, entry, context, reason });
  }
}

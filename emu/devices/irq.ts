// Interrupt plumbing shared by the device models: the environment devices see (clock, recorder),
// the interrupt-controller contract the machine and CPU use, and an output line that records
// its changes.

import type { Recorder } from '../types.ts';
import { NULL_RECORDER, type IrqSink } from '../types.ts';

/** What a device may ask of the machine: virtual time and the recorder. */
export interface DeviceEnv {
  readonly recorder: Recorder;
  /** Current virtual time (instruction count), for event timestamps and deadlines. */
  now(): number;
}

/** An environment for tests and for devices used outside a machine. */
export function staticEnv(recorder: Recorder = NULL_RECORDER, time = { t: 0 }): DeviceEnv & { time: { t: number } } {
  return { recorder, time, now: () => time.t };
}

/** An interrupt controller as the machine and the CPUs see it. */
export interface InterruptController extends IrqSink {
  /**
   * Make an interrupt pending regardless of its configured trigger, as a hypervisor injecting an
   * edge does (Xen's old vGIC for the vpl011). PPIs/SGIs need the target vCPU.
   */
  inject(intid: number, vcpu?: number): void;
  /** Is the IRQ output to this vCPU asserted? (Cheap: a cached flag.) */
  irqPending(vcpu: number): boolean;
  /** Is the FIQ output to this vCPU asserted? */
  fiqPending(vcpu: number): boolean;
  /** Called whenever a vCPU's IRQ/FIQ output changes (the machine wakes WFI with it). */
  onSignal?: (vcpu: number, irq: boolean, fiq: boolean) => void;
}

/**
 * One interrupt output of a device. Calls the sink only on changes and records an irq_line
 * event for each change (the GIC never records line changes itself).
 */
export class IrqLine {
  level = false;
  readonly intid: number;
  readonly trigger: 'level' | 'edge';
  readonly source: string;
  /** Target vCPU for PPIs; -1 for SPIs. */
  readonly vcpu: number;
  private readonly sink: IrqSink;
  private readonly env: DeviceEnv;

  constructor(sink: IrqSink, intid: number, source: string, env: DeviceEnv, opts: { trigger?: 'level' | 'edge'; vcpu?: number } = {}) {
    this.sink = sink;
    this.intid = intid;
    this.source = source;
    this.env = env;
    this.trigger = opts.trigger ?? 'level';
    this.vcpu = opts.vcpu ?? -1;
  }

  set(level: boolean): void {
    if (level === this.level) return;
    this.level = level;
    this.record(level ? 1 : 0);
    this.sink.setLine(this.intid, level, this.vcpu >= 0 ? this.vcpu : undefined);
  }

  /** An edge injected straight into the controller's pending state (see InterruptController.inject). */
  inject(): void {
    this.record(1, 'edge');
    const s = this.sink as Partial<InterruptController>;
    if (typeof s.inject === 'function') s.inject(this.intid, this.vcpu >= 0 ? this.vcpu : undefined);
    else {
      this.sink.setLine(this.intid, true, this.vcpu >= 0 ? this.vcpu : undefined);
      this.sink.setLine(this.intid, false, this.vcpu >= 0 ? this.vcpu : undefined);
    }
  }

  private record(level: number, trigger = this.trigger): void {
    const r = this.env.recorder;
    if (!r.enabled) return;
    r.record({ kind: 'irq_line', time: this.env.now(), vcpu: this.vcpu, intid: this.intid, level, trigger, source: this.source });
  }
}

/** A sink that drops everything (devices not wired to a controller). */
export const NULL_SINK: IrqSink = { setLine() {} };

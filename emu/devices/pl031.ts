// ARM PL031 real-time clock as QEMU models it (hw/rtc/pl031.c): DR counts seconds from a
// configured epoch plus elapsed virtual time (never host time); LR loads the count; MR raises
// the alarm (RIS bit 0) when the count reaches it; CR reads 1 (always enabled); the interrupt
// output is level = RIS & IMSC. Registers as Arm DDI 0224 (PL031 TRM) §3.2 lists them.

import type { DeviceRegion, MmioOutcome } from '../../capture/model.ts';
import { PL031, registerName as pl031RegisterName } from '../../arch/regmaps/pl031.ts';
import type { IrqSink, MmioDevice } from '../types.ts';
import type { TimeBase } from './generic-timer.ts';
import { IrqLine, type DeviceEnv } from './irq.ts';

export const PL031_ID = [0x31, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1] as const;

export interface Pl031Options {
  region: DeviceRegion;
  irq: IrqSink;
  env: DeviceEnv;
  timeBase: TimeBase;
  /** Seconds since 1970 at virtual time 0 (default 2024-01-01T00:00:00Z). */
  epochSeconds?: number;
}

export const DEFAULT_RTC_EPOCH = 1704067200;

export class Pl031 implements MmioDevice {
  readonly region: DeviceRegion;
  lastOutcome: MmioOutcome = 'handled';
  private readonly env: DeviceEnv;
  private readonly tb: TimeBase;
  private readonly line: IrqLine;
  private readonly epoch: number;
  private tickOffset: number;
  mr = 0;
  lr = 0;
  im = 0;
  is = 0;
  private alarmAt = Infinity;

  constructor(opts: Pl031Options) {
    this.region = opts.region;
    this.env = opts.env;
    this.tb = opts.timeBase;
    this.epoch = opts.epochSeconds ?? DEFAULT_RTC_EPOCH;
    this.tickOffset = this.epoch;
    this.line = new IrqLine(opts.irq, opts.region.intid ?? 34, opts.region.name, opts.env);
  }

  registerName(offset: number): string {
    return pl031RegisterName(offset);
  }

  reset(): void {
    this.tickOffset = this.epoch;
    this.mr = this.lr = this.im = this.is = 0;
    this.alarmAt = Infinity;
    this.update();
  }

  /** Seconds elapsed in virtual time (whole seconds of the counter). */
  private elapsed(): number {
    return Math.floor(this.tb.counterAt(this.env.now()) / this.tb.frequency);
  }

  count(): number {
    return (this.tickOffset + this.elapsed()) >>> 0;
  }

  read(offset: number, size: number, _vcpu = 0): number {
    const shift = (offset & 3) * 8;
    const v = this.readReg(offset & ~3) >>> shift;
    return size >= 4 ? v >>> 0 : v & ((1 << (size * 8)) - 1);
  }

  private readReg(off: number): number {
    switch (off) {
      case PL031.DR:
        return this.count();
      case PL031.MR:
        return this.mr;
      case PL031.LR:
        return this.lr;
      case PL031.CR:
        return 1;
      case PL031.IMSC:
        return this.im;
      case PL031.RIS:
        return this.is;
      case PL031.MIS:
        return this.is & this.im;
      default:
        if (off >= PL031.ID && off < PL031.ID_END) return PL031_ID[(off - PL031.ID) >> 2]!;
        return 0;
    }
  }

  write(offset: number, _size: number, value: number, _vcpu = 0): void {
    const v = (value << ((offset & 3) * 8)) >>> 0;
    switch (offset & ~3) {
      case PL031.MR:
        this.mr = v;
        this.setAlarm();
        return;
      case PL031.LR:
        this.lr = v;
        this.tickOffset = (this.tickOffset + (v - this.count())) >>> 0;
        this.setAlarm();
        return;
      case PL031.IMSC:
        this.im = v & 1;
        this.update();
        return;
      case PL031.ICR:
        this.is &= ~v;
        this.update();
        return;
      default:
        return; // CR writes are ignored; DR/RIS/MIS are read-only
    }
  }

  private setAlarm(): void {
    const ticks = (this.mr - this.count()) >>> 0;
    if (ticks === 0) {
      this.alarmAt = Infinity;
      this.is = 1;
      this.update();
      return;
    }
    // The count reaches MR when the elapsed seconds reach elapsed() + ticks.
    this.alarmAt = this.tb.timeOfCounter((this.elapsed() + ticks) * this.tb.frequency);
  }

  nextDeadline(): number {
    return this.alarmAt;
  }

  tick(now: number): void {
    if (now >= this.alarmAt) {
      this.alarmAt = Infinity;
      this.is = 1;
      this.update();
    }
  }

  private update(): void {
    this.line.set((this.is & this.im) !== 0);
  }
}

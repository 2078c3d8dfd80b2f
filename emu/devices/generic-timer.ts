// The ARM generic timer as EL1 sees it: per-vCPU EL1 physical and virtual timers (CTL, CVAL,
// TVAL), CNTFRQ, CNTPCT and CNTVCT derived from virtual time (never host time), CNTKCTL_EL1 as
// storage, and level outputs to PPIs 30 (physical) and 27 (virtual). `nextDeadline()` tells the
// machine when an output will rise, so WFI can skip ahead. Arm DDI 0487, chapter 'The Generic Timer
// in AArch64 state'; what the model does is listed in docs/emulator-platform.md (Device models).

import type { IrqSink, SysregProvider } from '../types.ts';
import { IrqLine, type DeviceEnv } from './irq.ts';
import { CNT } from '../../arch/sysregs.ts';

/** PPI INTIDs of the EL1 timers (BSA numbering, as QEMU wires them). */
export const TIMER_PPI = { phys: 30, virt: 27, hypPhys: 26, hypVirt: 28, secPhys: 29 } as const;

/** How virtual time maps to the system counter. */
export interface TimeBase {
  /** CNTFRQ_EL0 in Hz. */
  readonly frequency: number;
  /** Counter value at virtual time t. */
  counterAt(t: number): number;
  /** Earliest virtual time at which the counter has reached c (Infinity if never). */
  timeOfCounter(c: number): number;
}

/**
 * The counter advances `ticks` counts every `units` units of virtual time (instructions), from 0
 * at time 0. Default: one count per instruction.
 */
export class LinearTimeBase implements TimeBase {
  readonly frequency: number;
  private readonly ticks: number;
  private readonly units: number;
  constructor(frequency: number, ticks = 1, units = 1) {
    if (!(ticks > 0 && units > 0 && Number.isInteger(ticks) && Number.isInteger(units)))
      throw new RangeError('time base ratio must be positive integers');
    this.frequency = frequency;
    this.ticks = ticks;
    this.units = units;
  }
  counterAt(t: number): number {
    return this.ticks === this.units ? t : Math.floor((t * this.ticks) / this.units);
  }
  timeOfCounter(c: number): number {
    if (!Number.isFinite(c)) return Infinity;
    return this.ticks === this.units ? c : Math.ceil((c * this.units) / this.ticks);
  }
}

const CTL_ENABLE = 1;
const CTL_IMASK = 2;
const CTL_ISTATUS = 4;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

interface Timer {
  name: 'phys' | 'virt';
  ctl: number;
  cval: bigint;
  /** CVAL in physical counter terms as a number (Infinity beyond 2^53), for deadline maths. */
  cvalPhys: number;
  line: IrqLine;
}

export interface GenericTimerOptions {
  numCpu: number;
  irq: IrqSink;
  env: DeviceEnv;
  timeBase: TimeBase;
  /** CNTVOFF_EL2 per vCPU (what a hypervisor programs); default 0. */
  cntvoff?: bigint;
}

export class GenericTimer implements SysregProvider {
  readonly timeBase: TimeBase;
  private readonly env: DeviceEnv;
  private readonly cntvoff: bigint;
  private readonly timers: Timer[][]; // [vcpu][0 = phys, 1 = virt]
  readonly cntkctl: Uint32Array;

  constructor(opts: GenericTimerOptions) {
    this.timeBase = opts.timeBase;
    this.env = opts.env;
    this.cntvoff = opts.cntvoff ?? 0n;
    this.cntkctl = new Uint32Array(opts.numCpu);
    this.timers = [];
    for (let c = 0; c < opts.numCpu; c++) {
      const mk = (name: 'phys' | 'virt', ppi: number): Timer => ({
        name,
        ctl: 0,
        cval: 0n,
        cvalPhys: 0,
        line: new IrqLine(opts.irq, ppi, `timer:${name}`, opts.env, { vcpu: c }),
      });
      this.timers.push([mk('phys', TIMER_PPI.phys), mk('virt', TIMER_PPI.virt)]);
    }
  }

  reset(): void {
    for (const pair of this.timers) {
      for (const t of pair) {
        t.ctl = 0;
        t.cval = 0n;
        t.cvalPhys = 0;
        t.line.set(false);
      }
    }
    this.cntkctl.fill(0);
  }

  /** Physical counter now. */
  counter(): bigint {
    return BigInt(this.timeBase.counterAt(this.env.now()));
  }

  private offsetOf(t: Timer): bigint {
    return t.name === 'virt' ? this.cntvoff : 0n;
  }

  private istatus(t: Timer, physCount: bigint): boolean {
    return BigInt.asUintN(64, physCount - this.offsetOf(t)) >= t.cval;
  }

  private recalc(t: Timer): void {
    if (!(t.ctl & CTL_ENABLE)) {
      t.ctl &= ~CTL_ISTATUS;
      t.line.set(false);
      return;
    }
    const st = this.istatus(t, this.counter());
    t.ctl = st ? t.ctl | CTL_ISTATUS : t.ctl & ~CTL_ISTATUS;
    t.line.set(st && !(t.ctl & CTL_IMASK));
  }

  private setCval(t: Timer, cval: bigint): void {
    t.cval = BigInt.asUintN(64, cval);
    const phys = BigInt.asUintN(64, t.cval + this.offsetOf(t));
    t.cvalPhys = phys > MAX_SAFE ? Infinity : Number(phys);
  }

  /** Re-evaluate every output at the current time (the machine calls this at deadlines). */
  tick(_now?: number): void {
    for (const pair of this.timers) for (const t of pair) if (t.ctl & CTL_ENABLE) this.recalc(t);
  }

  /** Earliest virtual time at which an enabled, unmasked timer's output will rise. */
  nextDeadline(): number {
    let best = Infinity;
    for (const pair of this.timers) {
      for (const t of pair) {
        if ((t.ctl & (CTL_ENABLE | CTL_IMASK)) !== CTL_ENABLE || t.line.level) continue;
        const when = this.timeBase.timeOfCounter(t.cvalPhys);
        if (when < best) best = when;
      }
    }
    return best;
  }

  /** Earliest deadline of one vCPU's timers (for per-vCPU WFI). */
  nextDeadlineFor(vcpu: number): number {
    let best = Infinity;
    for (const t of this.timers[vcpu] ?? []) {
      if ((t.ctl & (CTL_ENABLE | CTL_IMASK)) !== CTL_ENABLE || t.line.level) continue;
      best = Math.min(best, this.timeBase.timeOfCounter(t.cvalPhys));
    }
    return best;
  }

  /** Output level of a vCPU's timer (tests). */
  outputLevel(vcpu: number, which: 'phys' | 'virt'): boolean {
    return this.timers[vcpu]![which === 'phys' ? 0 : 1]!.line.level;
  }

  readSysreg(vcpu: number, encoding: number): bigint | undefined {
    const pair = this.timers[vcpu];
    if (!pair) return undefined;
    switch (encoding) {
      case CNT.CNTFRQ_EL0:
        return BigInt(this.timeBase.frequency);
      case CNT.CNTPCT_EL0:
        return this.counter();
      case CNT.CNTVCT_EL0:
        return BigInt.asUintN(64, this.counter() - this.cntvoff);
      case CNT.CNTKCTL_EL1:
        return BigInt(this.cntkctl[vcpu]!);
      case CNT.CNTP_CTL_EL0:
      case CNT.CNTV_CTL_EL0: {
        const t = pair[encoding === CNT.CNTP_CTL_EL0 ? 0 : 1]!;
        this.recalc(t);
        return BigInt(t.ctl);
      }
      case CNT.CNTP_CVAL_EL0:
        return pair[0]!.cval;
      case CNT.CNTV_CVAL_EL0:
        return pair[1]!.cval;
      case CNT.CNTP_TVAL_EL0:
      case CNT.CNTV_TVAL_EL0: {
        const t = pair[encoding === CNT.CNTP_TVAL_EL0 ? 0 : 1]!;
        return BigInt.asUintN(32, t.cval - (this.counter() - this.offsetOf(t)));
      }
      default:
        return undefined;
    }
  }

  writeSysreg(vcpu: number, encoding: number, value: bigint): boolean {
    const pair = this.timers[vcpu];
    if (!pair) return false;
    switch (encoding) {
      case CNT.CNTFRQ_EL0:
        return false; // only the highest EL may write it: UNDEFINED at EL1
      case CNT.CNTPCT_EL0:
      case CNT.CNTVCT_EL0:
        return false; // read-only
      case CNT.CNTKCTL_EL1:
        this.cntkctl[vcpu] = Number(value & 0x3ffn);
        return true;
      case CNT.CNTP_CTL_EL0:
      case CNT.CNTV_CTL_EL0: {
        const t = pair[encoding === CNT.CNTP_CTL_EL0 ? 0 : 1]!;
        t.ctl = (t.ctl & CTL_ISTATUS) | Number(value & 3n);
        this.record(vcpu, t, 'ctl', value & 3n);
        this.recalc(t);
        return true;
      }
      case CNT.CNTP_CVAL_EL0:
      case CNT.CNTV_CVAL_EL0: {
        const t = pair[encoding === CNT.CNTP_CVAL_EL0 ? 0 : 1]!;
        this.setCval(t, value);
        this.record(vcpu, t, 'cval', t.cval);
        this.recalc(t);
        return true;
      }
      case CNT.CNTP_TVAL_EL0:
      case CNT.CNTV_TVAL_EL0: {
        const t = pair[encoding === CNT.CNTP_TVAL_EL0 ? 0 : 1]!;
        const tval = BigInt.asIntN(32, value);
        this.setCval(t, this.counter() - this.offsetOf(t) + tval);
        this.record(vcpu, t, 'tval', BigInt.asUintN(64, tval));
        this.recalc(t);
        return true;
      }
      default:
        return false;
    }
  }

  private record(vcpu: number, t: Timer, op: 'ctl' | 'cval' | 'tval', value: bigint): void {
    const r = this.env.recorder;
    if (r.enabled) r.record({ kind: 'timer', time: this.env.now(), vcpu, timer: t.name, op, value: BigInt.asUintN(64, value) });
  }
}

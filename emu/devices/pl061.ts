// ARM PL061 GPIO (PrimeCell GPIO TRM, Arm DDI 0190 §3.3), as QEMU's virt machine has it at
// 0x09030000 (SPI 7) with its power button on line 3: eight lines, each an output (GPIODIR bit set)
// or an input driven from outside; lines nobody drives read 0 (virt pulls them down). GPIODATA's
// address bits [9:2] mask which lines an access sees. Interrupts per line: edge (GPIOIS = 0; one
// edge chosen by GPIOIEV, or both with GPIOIBE) latched in GPIORIS until GPIOIC clears it, or level
// (GPIOIS = 1; RIS follows the line being at GPIOIEV's level); the output is RIS & GPIOIE.
//
// The power button is QEMU's gpio-key: pressing it drives line 3 high for 100 ms of guest time.

import type { DeviceRegion, MmioOutcome } from '../../capture/model.ts';
import { PL061, PL061_ID, registerName as pl061RegisterName } from '../../arch/regmaps/pl061.ts';
import { PRIMECELL } from '../../arch/regmaps/table.ts';
import type { IrqSink, MmioDevice } from '../types.ts';
import type { TimeBase } from './generic-timer.ts';
import { IrqLine, type DeviceEnv } from './irq.ts';

/** QEMU virt's power-button line and how long its gpio-key holds it (hw/gpio/gpio_key.c). */
export const POWER_BUTTON_LINE = 3;
export const POWER_BUTTON_PULSE_SECONDS = 0.1;

export interface Pl061Options {
  region: DeviceRegion;
  irq: IrqSink;
  env: DeviceEnv;
  timeBase: TimeBase;
}

export class Pl061 implements MmioDevice {
  readonly region: DeviceRegion;
  lastOutcome: MmioOutcome = 'handled';
  private readonly env: DeviceEnv;
  private readonly tb: TimeBase;
  private readonly line: IrqLine;
  /** Levels driven from outside on the input lines. */
  inputs = 0;
  out = 0;
  dir = 0;
  is = 0;
  ibe = 0;
  iev = 0;
  ie = 0;
  ris = 0;
  afsel = 0;
  /** Line levels at the last evaluation (edge detection). */
  private pins = 0;
  private releaseAt = Infinity;

  constructor(opts: Pl061Options) {
    this.region = opts.region;
    this.env = opts.env;
    this.tb = opts.timeBase;
    this.line = new IrqLine(opts.irq, opts.region.intid ?? 39, opts.region.name, opts.env);
  }

  registerName(offset: number): string {
    return pl061RegisterName(offset);
  }

  reset(): void {
    this.inputs = this.out = this.dir = this.is = this.ibe = this.iev = this.ie = this.ris = this.afsel = 0;
    this.pins = 0;
    this.releaseAt = Infinity;
    this.update();
  }

  /** What each line carries: the output for output lines, the outside level for inputs. */
  private levels(): number {
    return ((this.out & this.dir) | (this.inputs & ~this.dir)) & 0xff;
  }

  read(offset: number, _size: number, _vcpu = 0): number {
    if (offset < PL061.DATA_END) return this.levels() & ((offset >> 2) & 0xff);
    switch (offset) {
      case PL061.DIR:
        return this.dir;
      case PL061.IS:
        return this.is;
      case PL061.IBE:
        return this.ibe;
      case PL061.IEV:
        return this.iev;
      case PL061.IE:
        return this.ie;
      case PL061.RIS:
        return this.ris;
      case PL061.MIS:
        return this.ris & this.ie;
      case PL061.AFSEL:
        return this.afsel;
      default:
        if (offset >= PRIMECELL.PeriphID && offset < PRIMECELL.END && (offset & 3) === 0)
          return PL061_ID[(offset - PRIMECELL.PeriphID) >> 2]!;
        return 0; // GPIOIC is write-only; reserved offsets read 0
    }
  }

  write(offset: number, _size: number, value: number, _vcpu = 0): void {
    const v = value & 0xff;
    if (offset < PL061.DATA_END) {
      const mask = (offset >> 2) & this.dir;
      this.out = (this.out & ~mask) | (v & mask);
    } else {
      switch (offset) {
        case PL061.DIR:
          this.dir = v;
          break;
        case PL061.IS:
          this.is = v;
          break;
        case PL061.IBE:
          this.ibe = v;
          break;
        case PL061.IEV:
          this.iev = v;
          break;
        case PL061.IE:
          this.ie = v;
          break;
        case PL061.IC:
          this.ris &= ~v;
          break;
        case PL061.AFSEL:
          this.afsel = v;
          break;
        default:
          return; // RIS, MIS, IDs: read-only
      }
    }
    this.update();
  }

  /** Drive input line `n` (0-7) to `level` from outside the device. */
  setInput(n: number, level: boolean): void {
    this.inputs = level ? this.inputs | (1 << n) : this.inputs & ~(1 << n);
    this.update();
  }

  /** QEMU's system_powerdown on virt: the gpio-key raises line 3 and lets it go 100 ms later. */
  pressPowerButton(): void {
    this.setInput(POWER_BUTTON_LINE, true);
    const now = this.env.now();
    this.releaseAt = this.tb.timeOfCounter(this.tb.counterAt(now) + Math.round(POWER_BUTTON_PULSE_SECONDS * this.tb.frequency));
  }

  nextDeadline(): number {
    return this.releaseAt;
  }

  tick(now: number): void {
    if (now >= this.releaseAt) {
      this.releaseAt = Infinity;
      this.setInput(POWER_BUTTON_LINE, false);
    }
  }

  private update(): void {
    const pins = this.levels();
    const changed = pins ^ this.pins;
    const edge = changed & ~this.is;
    const wanted = this.ibe | (this.iev & pins) | (~this.iev & ~pins);
    this.ris |= edge & wanted & 0xff;
    // Level-sensitive lines: the status is the line being at the chosen level, now.
    this.ris = ((this.ris & ~this.is) | (this.is & ~(pins ^ this.iev))) & 0xff;
    this.pins = pins;
    this.line.set((this.ris & this.ie) !== 0);
  }
}

// SBSA generic UART exactly as Xen's vpl011 emulates it (xen/arch/arm/vpl011.c, Xen-internal
// backend): DR, RSR, FR, RIS, MIS, IMSC and ICR at 8/16/32 bits; every other offset reads 0 and
// ignores writes; a read of ICR or a 64-bit access to one of those registers gives the guest a
// data abort (a 64-bit access elsewhere reads as zero, as Xen's `default:` case does). The output
// ring drains at once (FR.TXFE stays set, TXI is raised by every write); the 32-byte input
// ring raises RTI while it holds data and RXI when it is at least half full. Interrupts are
// injected as edges when a new MIS bit appears (the old vGIC has no level model).
// Arm DEN0029 appendix B; what the model does is listed in docs/emulator-platform.md (Device models).

import type { DeviceRegion, MmioOutcome } from '../../capture/model.ts';
import { PL011_FR, PL011_INT } from '../../arch/regmaps/pl011.ts';
import { SBSA_UART, registerName as sbsaRegisterName } from '../../arch/regmaps/sbsa-uart.ts';
import type { IrqSink, MmioDevice } from '../types.ts';
import { IrqLine, type DeviceEnv } from './irq.ts';

const { DR, RSR, FR, IMSC, RIS, MIS, ICR } = SBSA_UART;
/** The registers Xen emulates; every other offset is RAZ/WI (see `razWi`). */
const HANDLED: ReadonlySet<number> = new Set(Object.values(SBSA_UART));

const { BUSY: SBSA_FR_BUSY, RXFE: SBSA_FR_RXFE, TXFF: SBSA_FR_TXFF, RXFF: SBSA_FR_RXFF, TXFE: SBSA_FR_TXFE } = PL011_FR;
const { RX: SBSA_RXI, TX: SBSA_TXI, RT: SBSA_RTI } = PL011_INT;

/** Xen's SBSA_UART_FIFO_SIZE and the level at which RXI is raised (in_fifo_level ≥ size − 16). */
const IN_RING = 32;
const FIFO_LEVEL = 16;

export interface SbsaUartOptions {
  region: DeviceRegion;
  irq: IrqSink;
  env: DeviceEnv;
  onTx?: (byte: number) => void;
}

export class SbsaUart implements MmioDevice {
  readonly region: DeviceRegion;
  lastOutcome: MmioOutcome = 'handled';
  private readonly env: DeviceEnv;
  private readonly line: IrqLine;
  private readonly onTx: (byte: number) => void;

  fr = SBSA_FR_TXFE | SBSA_FR_RXFE;
  ris = 0;
  imsc = 0;
  private shadowMis = 0;
  private readonly inRing: number[] = [];
  private input: number[] = [];

  constructor(opts: SbsaUartOptions) {
    this.region = opts.region;
    this.env = opts.env;
    this.onTx = opts.onTx ?? (() => {});
    // Xen describes the SPI as level-high in the DT but injects edges.
    this.line = new IrqLine(opts.irq, opts.region.intid ?? 32, opts.region.name, opts.env, { trigger: 'edge' });
  }

  registerName(offset: number): string {
    return sbsaRegisterName(offset);
  }

  reset(): void {
    this.fr = SBSA_FR_TXFE | SBSA_FR_RXFE;
    this.ris = this.imsc = this.shadowMis = 0;
    this.inRing.length = 0;
    this.input = [];
  }

  /** Queue bytes for the guest (recorded as an input event). */
  pushInput(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    const r = this.env.recorder;
    if (r.enabled) r.record({ kind: 'input', time: this.env.now(), vcpu: -1, port: this.region.name, bytes: bytes.slice() });
    for (const b of bytes) this.input.push(b);
    this.fillRing();
  }

  read(offset: number, size: number, _vcpu = 0): number {
    if (size === 8) return Number(this.read64(offset));
    let v: number;
    switch (offset) {
      case DR:
        v = this.readData();
        break;
      case RSR:
        v = 0; // no receive errors are ever reported
        break;
      case FR:
        v = this.fr;
        break;
      case RIS:
        v = this.ris;
        break;
      case MIS:
        v = this.ris & this.imsc;
        break;
      case IMSC:
        v = this.imsc;
        break;
      case ICR:
        return this.abort(); // write-only: Xen injects a data abort
      default:
        return this.razWi();
    }
    return size >= 4 ? v >>> 0 : v & ((1 << (size * 8)) - 1);
  }

  write(offset: number, size: number, value: number, _vcpu = 0): void {
    if (size === 8) {
      this.write64(offset);
      return;
    }
    switch (offset) {
      case DR:
        this.writeData(value & 0xff);
        return;
      case RSR:
        return; // nothing to clear
      case IMSC:
        this.imsc = value & 0x7ff;
        this.updateInterrupt();
        return;
      case ICR:
        this.ris &= ~value;
        this.updateInterrupt();
        return;
      case FR:
      case RIS:
      case MIS:
        return; // read-only: ignored
      default:
        this.razWi();
    }
  }

  /** 64-bit accesses: Xen's width check rejects them on the emulated registers only. */
  read64(offset: number, _vcpu?: number): bigint {
    if (HANDLED.has(offset)) this.abort();
    else this.razWi();
    return 0n;
  }

  write64(offset: number, _value?: bigint, _vcpu?: number): void {
    if (HANDLED.has(offset)) this.abort();
    else this.razWi();
  }

  /** Offsets outside the SBSA subset (and 64-bit accesses there) read 0 and ignore writes, as Xen's `default:` case. */
  private razWi(): number {
    this.lastOutcome = 'raz_wi';
    return 0;
  }

  private abort(): number {
    this.lastOutcome = 'abort';
    return 0;
  }

  private readData(): number {
    let data = 0;
    if (this.inRing.length > 0) data = this.inRing.shift()!;
    if (this.inRing.length === 0) {
      this.fr |= SBSA_FR_RXFE;
      this.ris &= ~SBSA_RTI;
    }
    this.fr &= ~SBSA_FR_RXFF;
    if (IN_RING - this.inRing.length > FIFO_LEVEL) this.ris &= ~SBSA_RXI;
    this.updateInterrupt();
    this.fillRing();
    return data;
  }

  private writeData(byte: number): void {
    this.onTx(byte);
    const r = this.env.recorder;
    if (r.enabled) r.record({ kind: 'console', time: this.env.now(), vcpu: -1, port: this.region.name, bytes: Uint8Array.of(byte) });
    // The Xen backend consumes the byte at once: the ring is empty again.
    this.fr = (this.fr | SBSA_FR_TXFE) & ~(SBSA_FR_BUSY | SBSA_FR_TXFF);
    this.ris |= SBSA_TXI;
    this.updateInterrupt();
  }

  private fillRing(): void {
    if (this.input.length === 0) return;
    while (this.input.length > 0 && this.inRing.length < IN_RING) this.inRing.push(this.input.shift()!);
    const level = this.inRing.length;
    if (level > 0) this.fr &= ~SBSA_FR_RXFE;
    if (level === IN_RING) this.fr |= SBSA_FR_RXFF;
    if (level >= IN_RING - FIFO_LEVEL) this.ris |= SBSA_RXI;
    if (level > 0) this.ris |= SBSA_RTI;
    this.updateInterrupt();
  }

  /** Inject an edge only when a MIS bit appears that was not set last time. */
  private updateInterrupt(): void {
    const mis = this.ris & this.imsc;
    if (mis & ~this.shadowMis) this.line.inject();
    this.shadowMis = mis;
  }
}

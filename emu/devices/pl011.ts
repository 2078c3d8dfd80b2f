// ARM PL011 UART (PrimeCell r1p5 register set) with QEMU's behaviour (hw/char/pl011.c, 7.2):
// transmit is instantaneous (every DR write sets RIS.TX and the byte goes straight to the
// console), the RX FIFO is 16 deep with FEN and 1 deep without, RX raises at the first byte
// (QEMU's fixed read trigger), the interrupt output is level = (RIS & IMSC) != 0.
// Arm DDI 0183 chapter 3; what the model does is listed in docs/emulator-platform.md (Device models).

import type { DeviceRegion, MmioOutcome } from '../../capture/model.ts';
import { registerName as pl011RegisterName } from '../../arch/regmaps/pl011.ts';
import type { IrqSink, MmioDevice } from '../types.ts';
import { IrqLine, type DeviceEnv } from './irq.ts';

/** QEMU's PL011 identification bytes: PeriphID0-3, PCellID0-3 (PeriphID 0x00141011, rev 1). */
export const PL011_QEMU_ID = [0x11, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1] as const;
/** A genuine r1p5 part (revision 3 in PeriphID2[7:4]). */
export const PL011_R1P5_ID = [0x11, 0x10, 0x34, 0x00, 0x0d, 0xf0, 0x05, 0xb1] as const;

// Flag register bits
export const FR_BUSY = 0x08;
export const FR_RXFE = 0x10;
export const FR_TXFF = 0x20;
export const FR_RXFF = 0x40;
export const FR_TXFE = 0x80;
// Interrupt bits (RIS/MIS/IMSC/ICR)
export const INT_RX = 0x10;
export const INT_TX = 0x20;
export const INT_RT = 0x40;

const LCR_FEN = 0x10;
const FIFO_DEPTH = 16;

export interface Pl011Options {
  region: DeviceRegion;
  irq: IrqSink;
  env: DeviceEnv;
  /** Eight ID bytes (PeriphID0-3, PCellID0-3); QEMU's by default. */
  id?: readonly number[];
  /** Receives every transmitted byte (the machine prints it). */
  onTx?: (byte: number) => void;
}

export class Pl011 implements MmioDevice {
  readonly region: DeviceRegion;
  lastOutcome: MmioOutcome = 'handled';
  private readonly env: DeviceEnv;
  private readonly line: IrqLine;
  private readonly id: readonly number[];
  private readonly onTx: (byte: number) => void;
  private readonly txByte = new Uint8Array(1);

  // Registers
  flags = FR_RXFE | FR_TXFE;
  rsr = 0;
  ilpr = 0;
  ibrd = 0;
  fbrd = 0;
  lcr = 0;
  cr = 0x300;
  ifl = 0x12;
  imsc = 0;
  ris = 0;
  dmacr = 0;
  // RX FIFO (entries keep data in [7:0] and error bits in [11:8]) and the input waiting for room.
  private readonly rxFifo = new Uint16Array(FIFO_DEPTH);
  private rxPos = 0;
  rxCount = 0;
  private input: number[] = [];
  private inputHead = 0;

  constructor(opts: Pl011Options) {
    this.region = opts.region;
    this.env = opts.env;
    this.id = opts.id ?? PL011_QEMU_ID;
    this.onTx = opts.onTx ?? (() => {});
    this.line = new IrqLine(opts.irq, opts.region.intid ?? 33, opts.region.name, opts.env);
  }

  registerName(offset: number): string {
    return pl011RegisterName(offset);
  }

  reset(): void {
    this.flags = FR_RXFE | FR_TXFE;
    this.rsr = this.ilpr = this.ibrd = this.fbrd = this.lcr = this.imsc = this.ris = this.dmacr = 0;
    this.cr = 0x300;
    this.ifl = 0x12;
    this.rxPos = this.rxCount = 0;
    this.input = [];
    this.inputHead = 0;
    this.update();
  }

  /** Queue bytes for the guest to receive (recorded as an input event). */
  pushInput(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    const r = this.env.recorder;
    if (r.enabled) r.record({ kind: 'input', time: this.env.now(), vcpu: -1, port: this.region.name, bytes: bytes.slice() });
    for (const b of bytes) this.input.push(b);
    this.acceptInput();
  }

  /** Bytes queued but not yet in the FIFO. */
  get pendingInput(): number {
    return this.input.length - this.inputHead;
  }

  read(offset: number, size: number, _vcpu = 0): number {
    const shift = (offset & 3) * 8;
    const v = this.readReg(offset & ~3) >>> shift;
    return size >= 4 ? v >>> 0 : v & ((1 << (size * 8)) - 1);
  }

  write(offset: number, _size: number, value: number, _vcpu = 0): void {
    // Narrower accesses are widened to the 32-bit register, as QEMU's memory core does.
    this.writeReg(offset & ~3, (value << ((offset & 3) * 8)) >>> 0);
  }

  private readReg(off: number): number {
    switch (off) {
      case 0x000: // FR is the hot path, but DR reads must pop the FIFO
        return this.readDr();
      case 0x004:
        return this.rsr;
      case 0x018:
        return this.flags;
      case 0x020:
        return this.ilpr;
      case 0x024:
        return this.ibrd;
      case 0x028:
        return this.fbrd;
      case 0x02c:
        return this.lcr;
      case 0x030:
        return this.cr;
      case 0x034:
        return this.ifl;
      case 0x038:
        return this.imsc;
      case 0x03c:
        return this.ris;
      case 0x040:
        return this.ris & this.imsc;
      case 0x048:
        return this.dmacr;
      default:
        if (off >= 0xfe0 && off <= 0xffc) return this.id[(off - 0xfe0) >> 2] ?? 0;
        return 0; // unknown offsets and write-only ICR read as 0 ("Bad offset")
    }
  }

  private readDr(): number {
    this.flags &= ~FR_RXFF;
    const c = this.rxFifo[this.rxPos]!;
    if (this.rxCount > 0) {
      this.rxCount--;
      if (++this.rxPos === FIFO_DEPTH) this.rxPos = 0;
    }
    if (this.rxCount === 0) this.flags |= FR_RXFE;
    if (this.rxCount === 0) this.ris &= ~INT_RX; // read trigger is 1: below it once empty
    this.rsr = c >> 8;
    this.update();
    this.acceptInput();
    return c;
  }

  private writeReg(off: number, value: number): void {
    switch (off) {
      case 0x000:
        this.transmit(value & 0xff);
        return;
      case 0x004:
        this.rsr = 0;
        return;
      case 0x020:
        this.ilpr = value & 0xff;
        return;
      case 0x024:
        this.ibrd = value & 0xffff;
        return;
      case 0x028:
        this.fbrd = value & 0x3f;
        return;
      case 0x02c:
        if ((this.lcr ^ value) & LCR_FEN) {
          this.rxCount = 0;
          this.rxPos = 0;
          this.flags = (this.flags | FR_RXFE) & ~FR_RXFF;
        }
        this.lcr = value & 0xff;
        this.acceptInput();
        return;
      case 0x030:
        this.cr = value & 0xffff;
        return;
      case 0x034:
        this.ifl = value & 0x3f;
        return;
      case 0x038:
        this.imsc = value & 0x7ff;
        this.update();
        return;
      case 0x044:
        this.ris &= ~value;
        this.update();
        return;
      case 0x048:
        this.dmacr = value & 7;
        return;
      default:
        return; // FR, RIS, MIS, IDs and unknown offsets ignore writes
    }
  }

  private transmit(byte: number): void {
    // QEMU sends the byte whether or not UARTEN/TXE are set.
    this.onTx(byte);
    const r = this.env.recorder;
    if (r.enabled) {
      this.txByte[0] = byte;
      r.record({ kind: 'console', time: this.env.now(), vcpu: -1, port: this.region.name, bytes: this.txByte.slice() });
    }
    this.ris |= INT_TX;
    this.update();
  }

  private fifoDepth(): number {
    return this.lcr & LCR_FEN ? FIFO_DEPTH : 1;
  }

  private acceptInput(): void {
    const depth = this.fifoDepth();
    while (this.inputHead < this.input.length && this.rxCount < depth) {
      this.putFifo(this.input[this.inputHead++]!);
    }
    if (this.inputHead > 4096 && this.inputHead === this.input.length) {
      this.input = [];
      this.inputHead = 0;
    }
  }

  private putFifo(value: number): void {
    let slot = this.rxPos + this.rxCount;
    if (slot >= FIFO_DEPTH) slot -= FIFO_DEPTH;
    this.rxFifo[slot] = value;
    this.rxCount++;
    this.flags &= ~FR_RXFE;
    if (!(this.lcr & LCR_FEN) || this.rxCount === FIFO_DEPTH) this.flags |= FR_RXFF;
    if (this.rxCount === 1) {
      this.ris |= INT_RX;
      this.update();
    }
  }

  private update(): void {
    this.line.set((this.ris & this.imsc) !== 0);
  }

  /** Current level of the interrupt output. */
  get irqLevel(): boolean {
    return this.line.level;
  }
}

// ARM PL011 UART (PrimeCell r1p5 register set) with QEMU's behaviour (hw/char/pl011.c, 7.2):
// transmit is instantaneous (every DR write sets RIS.TX and the byte goes straight to the
// console), the RX FIFO is 16 deep with FEN and 1 deep without, RX raises at the first byte
// (QEMU's fixed read trigger), the interrupt output is level = (RIS & IMSC) != 0.
// Arm DDI 0183 chapter 3; what the model does is listed in docs/emulator-platform.md (Device models).

import type { DeviceRegion, MmioOutcome } from '../../capture/model.ts';
import { PL011, PL011_FR, PL011_INT, PL011_LCR_H_FEN as LCR_FEN, registerName as pl011RegisterName } from '../../arch/regmaps/pl011.ts';
import type { IrqSink, MmioDevice } from '../types.ts';
import { IrqLine, type DeviceEnv } from './irq.ts';

/** QEMU's PL011 identification bytes: PeriphID0-3, PCellID0-3 (PeriphID 0x00141011, rev 1). */
export const PL011_QEMU_ID = [0x11, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1] as const;
/** A genuine r1p5 part (revision 3 in PeriphID2[7:4]). */
export const PL011_R1P5_ID = [0x11, 0x10, 0x34, 0x00, 0x0d, 0xf0, 0x05, 0xb1] as const;

const { RXFE: FR_RXFE, RXFF: FR_RXFF, TXFE: FR_TXFE } = PL011_FR;
const { RX: INT_RX, TX: INT_TX } = PL011_INT;
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
      case PL011.DR: // FR is the hot path, but DR reads must pop the FIFO
        return this.readDr();
      case PL011.RSR:
        return this.rsr;
      case PL011.FR:
        return this.flags;
      case PL011.ILPR:
        return this.ilpr;
      case PL011.IBRD:
        return this.ibrd;
      case PL011.FBRD:
        return this.fbrd;
      case PL011.LCR_H:
        return this.lcr;
      case PL011.CR:
        return this.cr;
      case PL011.IFLS:
        return this.ifl;
      case PL011.IMSC:
        return this.imsc;
      case PL011.RIS:
        return this.ris;
      case PL011.MIS:
        return this.ris & this.imsc;
      case PL011.DMACR:
        return this.dmacr;
      default:
        if (off >= PL011.ID && off < PL011.ID_END) return this.id[(off - PL011.ID) >> 2] ?? 0;
        // RAZ, as QEMU: the write-only ICR and offsets with no register read 0 ("Bad offset").
        return 0;
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
      case PL011.DR:
        this.transmit(value & 0xff);
        return;
      case PL011.RSR: // ECR: any write clears the error flags
        this.rsr = 0;
        return;
      case PL011.ILPR:
        this.ilpr = value & 0xff;
        return;
      case PL011.IBRD:
        this.ibrd = value & 0xffff;
        return;
      case PL011.FBRD:
        this.fbrd = value & 0x3f;
        return;
      case PL011.LCR_H:
        if ((this.lcr ^ value) & LCR_FEN) {
          this.rxCount = 0;
          this.rxPos = 0;
          this.flags = (this.flags | FR_RXFE) & ~FR_RXFF;
        }
        this.lcr = value & 0xff;
        this.acceptInput();
        return;
      case PL011.CR:
        this.cr = value & 0xffff;
        return;
      case PL011.IFLS:
        this.ifl = value & 0x3f;
        return;
      case PL011.IMSC:
        this.imsc = value & 0x7ff;
        this.update();
        return;
      case PL011.ICR:
        this.ris &= ~value;
        this.update();
        return;
      case PL011.DMACR:
        this.dmacr = value & 7;
        return;
      default:
        // WI: the read-only FR, RIS, MIS and IDs and offsets with no register ignore writes.
        return;
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

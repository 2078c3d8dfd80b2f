// PL011 / SBSA generic UART register state, per UART region (PL011 TRM DDI 0183, SBSA UART).
// Updated from mmio_read/mmio_write events on regions of role 'uart'. Bounded: one record per region.

import { PRIMECELL } from '../../arch/regmaps/table.ts';
import type { DeviceRegion, MmioEvent } from '../../capture/model.ts';

export const CR_UARTEN = 0x1;
export const CR_TXE = 0x100;
export const CR_RXE = 0x200;
/** PrimeCell cell ID every PL011 reads (CIDR3..0). */
export const PRIMECELL_CID = 0xb105f00d;
/** Linux's AMBA match for a PL011: (periphid & 0x000fffff) == 0x00041011. */
export const PL011_PID_MASK = 0x000fffff;
export const PL011_PID = 0x00041011;

export interface UartRegs {
  readonly region: DeviceRegion;
  cr: number;
  lcrh: number;
  ibrd: number;
  fbrd: number;
  imsc: number;
  ris: number;
  /** Seq of the first IBRD/FBRD write not yet latched by an LCR_H write (-1 if none). */
  unlatchedDivisorSeq: number;
  /** Values read from PeriphID0..3 and PCellID0..3 (-1 until read). */
  readonly periphId: number[];
  readonly cellId: number[];
  /** Seq of the first ID register read (-1 if none). */
  firstIdReadSeq: number;
  accesses: number;
  reads: number;
  writes: number;
  txWrites: number;
  firstAccessSeq: number;
  firstTxSeq: number;
  /** Seq of the CR write that set UARTEN (-1 if never). */
  enableSeq: number;
}

/** Reset values (PL011 TRM: CR resets to 0x300, TXE|RXE set, UARTEN clear). */
function freshRegs(region: DeviceRegion): UartRegs {
  return {
    region,
    cr: 0x300,
    lcrh: 0,
    ibrd: 0,
    fbrd: 0,
    imsc: 0,
    ris: 0,
    unlatchedDivisorSeq: -1,
    periphId: [-1, -1, -1, -1],
    cellId: [-1, -1, -1, -1],
    firstIdReadSeq: -1,
    accesses: 0,
    reads: 0,
    writes: 0,
    txWrites: 0,
    firstAccessSeq: -1,
    firstTxSeq: -1,
    enableSeq: -1,
  };
}

/** Combined ID value from four byte-wide ID registers (-1 when any is unread). */
export function idValue(bytes: readonly number[]): number {
  if (bytes.some((b) => b < 0)) return -1;
  return ((bytes[0]! & 0xff) | ((bytes[1]! & 0xff) << 8) | ((bytes[2]! & 0xff) << 16) | ((bytes[3]! & 0xff) << 24)) >>> 0;
}

/** Does a PL011's ID pass Linux's AMBA bus match? undefined while unread. */
export function amba(regs: UartRegs): { cid: number; pid: number; matches: boolean } | undefined {
  const cid = idValue(regs.cellId);
  const pid = idValue(regs.periphId);
  if (cid < 0 && pid < 0) return undefined;
  return { cid, pid, matches: cid === PRIMECELL_CID && (pid & PL011_PID_MASK) >>> 0 === PL011_PID };
}

export type UartChange = (what: string, key: string, from: unknown, to: unknown) => void;

export class UartState {
  readonly byRegion = new Map<string, UartRegs>();

  constructor(regions: readonly DeviceRegion[]) {
    for (const r of regions) if (r.role === 'uart') this.byRegion.set(r.name, freshRegs(r));
  }

  private lastName = '';
  private lastRegs: UartRegs | undefined;

  get(name: string): UartRegs | undefined {
    if (name === this.lastName) return this.lastRegs;
    this.lastName = name;
    return (this.lastRegs = this.byRegion.get(name));
  }

  enabled(r: UartRegs): boolean {
    return (r.cr & CR_UARTEN) !== 0;
  }

  canTransmit(r: UartRegs): boolean {
    return (r.cr & (CR_UARTEN | CR_TXE)) === (CR_UARTEN | CR_TXE);
  }

  apply(e: MmioEvent, change: UartChange): void {
    const r = this.get(e.device);
    if (!r) return;
    r.accesses++;
    if (r.firstAccessSeq < 0) r.firstAccessSeq = e.seq;
    const reg = e.register;
    if (e.kind === 'mmio_read') {
      r.reads++;
      // FR polls dominate UART traffic and change no state.
      if (reg !== 'FR') this.applyRead(r, reg, e);
      return;
    }
    r.writes++;
    if (reg === 'DR') {
      r.txWrites++;
      if (r.firstTxSeq < 0) r.firstTxSeq = e.seq;
      return;
    }
    // The value (low 32 bits) is only computed for the registers that use it.
    switch (reg) {
      case 'CR': {
        const v = lo32(e.value);
        const was = this.enabled(r);
        const old = r.cr;
        r.cr = v & 0xffff;
        if (old !== r.cr) change('uart.cr', r.region.name, old, r.cr);
        const now = this.enabled(r);
        if (now && !was && r.enableSeq < 0) r.enableSeq = e.seq;
        if (now !== was) change('uart.enabled', r.region.name, was, now);
        break;
      }
      case 'LCR_H':
        r.lcrh = lo32(e.value) & 0xff;
        r.unlatchedDivisorSeq = -1; // an LCR_H write latches IBRD/FBRD
        break;
      case 'IBRD':
        r.ibrd = lo32(e.value) & 0xffff;
        if (r.unlatchedDivisorSeq < 0) r.unlatchedDivisorSeq = e.seq;
        break;
      case 'FBRD':
        r.fbrd = lo32(e.value) & 0x3f;
        if (r.unlatchedDivisorSeq < 0) r.unlatchedDivisorSeq = e.seq;
        break;
      case 'IMSC': {
        const old = r.imsc;
        r.imsc = lo32(e.value) & 0x7ff;
        if (old !== r.imsc) change('uart.imsc', r.region.name, old, r.imsc);
        break;
      }
      case 'ICR':
        r.ris &= ~lo32(e.value);
        break;
    }
  }

  // ID registers by offset: an SBSA UART's register table has no names there (they read 0 on Xen).
  private applyRead(r: UartRegs, reg: string, e: MmioEvent): void {
    const off = e.addr - r.region.base;
    if (off >= PRIMECELL.PeriphID && off < PRIMECELL.END) {
      const i = (off & 0xf) >> 2;
      (off >= PRIMECELL.PCellID ? r.cellId : r.periphId)[i] = lo32(e.value) & 0xff;
      if (r.firstIdReadSeq < 0) r.firstIdReadSeq = e.seq;
    } else if (reg === 'RIS') r.ris = lo32(e.value);
    else if (reg === 'CR') r.cr = lo32(e.value) & 0xffff;
    else if (reg === 'IMSC') r.imsc = lo32(e.value) & 0x7ff;
  }
}

/** Number(v & 0xffffffffn) without a bigint operation when v is a safe integer (the usual case). */
export function lo32(v: bigint): number {
  const n = Number(v);
  return n <= Number.MAX_SAFE_INTEGER && n >= -Number.MAX_SAFE_INTEGER ? n >>> 0 : Number(v & 0xffffffffn);
}

// ARM PL011 UART registers (PrimeCell UART TRM, Arm DDI 0183, §3.2 'Summary of registers' and §3.3
// 'Register descriptions'; docs/arch.md).
import { makeLookup, PRIMECELL_ID, type RegisterDef } from './table.ts';

/** Register offsets (DDI 0183 Table 3-1), the names devices and console reconstruction use. */
export const PL011 = {
  DR: 0x000,
  RSR: 0x004, // RSR on read, ECR on write
  FR: 0x018,
  ILPR: 0x020,
  IBRD: 0x024,
  FBRD: 0x028,
  LCR_H: 0x02c,
  CR: 0x030,
  IFLS: 0x034,
  IMSC: 0x038,
  RIS: 0x03c,
  MIS: 0x040,
  ICR: 0x044,
  DMACR: 0x048,
  /** PeriphID0..3 then PCellID0..3, one byte per word, up to 0xffc (PrimeCell identification). */
  ID: 0xfe0,
  ID_END: 0x1000,
} as const;

export const PL011_REGISTERS: readonly RegisterDef[] = [
  ...(['DR', 'RSR', 'FR', 'ILPR', 'IBRD', 'FBRD', 'LCR_H', 'CR', 'IFLS', 'IMSC', 'RIS', 'MIS', 'ICR', 'DMACR'] as const).map((name) => ({
    offset: PL011[name],
    name,
  })),
  ...PRIMECELL_ID,
];

/** UARTFR flag bits (§3.3.3). */
export const PL011_FR = { BUSY: 0x08, RXFE: 0x10, TXFF: 0x20, RXFF: 0x40, TXFE: 0x80 } as const;
/** Interrupt bits, the same in IMSC, RIS, MIS and ICR (§3.3.10-§3.3.13). */
export const PL011_INT = { RX: 0x10, TX: 0x20, RT: 0x40 } as const;
/** UARTLCR_H.FEN: FIFOs enabled (§3.3.7). */
export const PL011_LCR_H_FEN = 0x10;

/** QEMU ≥ 8.1 prints these names in pl011_read/pl011_write (`reg NAME`); LCRH is our LCR_H. */
export const QEMU_PL011_REG_NAMES: Readonly<Record<string, string>> = { LCRH: 'LCR_H', UNKN: '' };

export const registerName = makeLookup(PL011_REGISTERS);

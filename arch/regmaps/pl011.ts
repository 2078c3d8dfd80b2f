// ARM PL011 UART registers (PrimeCell UART TRM, Arm DDI 0183, §3.2 'Summary of registers' and §3.3
// 'Register descriptions'; docs/arch.md).
import { makeLookup, PRIMECELL_ID, type RegisterDef } from './table.ts';

export const PL011_REGISTERS: readonly RegisterDef[] = [
  { offset: 0x000, name: 'DR' },
  { offset: 0x004, name: 'RSR' }, // RSR on read, ECR on write
  { offset: 0x018, name: 'FR' },
  { offset: 0x020, name: 'ILPR' },
  { offset: 0x024, name: 'IBRD' },
  { offset: 0x028, name: 'FBRD' },
  { offset: 0x02c, name: 'LCR_H' },
  { offset: 0x030, name: 'CR' },
  { offset: 0x034, name: 'IFLS' },
  { offset: 0x038, name: 'IMSC' },
  { offset: 0x03c, name: 'RIS' },
  { offset: 0x040, name: 'MIS' },
  { offset: 0x044, name: 'ICR' },
  { offset: 0x048, name: 'DMACR' },
  ...PRIMECELL_ID,
];

/** Offsets used by code that drives the UART (emulator, console reconstruction). */
export const PL011 = {
  DR: 0x000,
  RSR: 0x004,
  FR: 0x018,
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
} as const;

/** QEMU ≥ 8.1 prints these names in pl011_read/pl011_write (`reg NAME`); LCRH is our LCR_H. */
export const QEMU_PL011_REG_NAMES: Readonly<Record<string, string>> = { LCRH: 'LCR_H', UNKN: '' };

export const registerName = makeLookup(PL011_REGISTERS);

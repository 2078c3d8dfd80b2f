// ARM PL031 real-time clock registers (PrimeCell RTC TRM, Arm DDI 0224; QEMU virt's RTC at 0x09010000).
import { makeLookup, PRIMECELL_ID, type RegisterDef } from './table.ts';

export const PL031_REGISTERS: readonly RegisterDef[] = [
  { offset: 0x000, name: 'DR' },
  { offset: 0x004, name: 'MR' },
  { offset: 0x008, name: 'LR' },
  { offset: 0x00c, name: 'CR' },
  { offset: 0x010, name: 'IMSC' },
  { offset: 0x014, name: 'RIS' },
  { offset: 0x018, name: 'MIS' },
  { offset: 0x01c, name: 'ICR' },
  ...PRIMECELL_ID,
];

export const registerName = makeLookup(PL031_REGISTERS);

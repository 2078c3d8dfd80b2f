// ARM PL031 real-time clock registers (PrimeCell RTC TRM, Arm DDI 0224, §3.2 'Summary of RTC
// registers' and §3.3 'Register descriptions'; QEMU virt's RTC at 0x09010000).
import { makeLookup, PRIMECELL_ID, type RegisterDef } from './table.ts';

/** Register offsets (DDI 0224 §3.2), the names the device model and the register lookup use. */
export const PL031 = {
  DR: 0x000,
  MR: 0x004,
  LR: 0x008,
  CR: 0x00c,
  IMSC: 0x010,
  RIS: 0x014,
  MIS: 0x018,
  ICR: 0x01c,
  /** PeriphID0..3 then PCellID0..3, one byte per word, up to 0xffc (PrimeCell identification). */
  ID: 0xfe0,
  ID_END: 0x1000,
} as const;

export const PL031_REGISTERS: readonly RegisterDef[] = [
  ...(['DR', 'MR', 'LR', 'CR', 'IMSC', 'RIS', 'MIS', 'ICR'] as const).map((name) => ({ offset: PL031[name], name })),
  ...PRIMECELL_ID,
];

export const registerName = makeLookup(PL031_REGISTERS);

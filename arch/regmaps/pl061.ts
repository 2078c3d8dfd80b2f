// ARM PL061 general-purpose input/output registers (PrimeCell GPIO TRM, Arm DDI 0190 §3.3;
// QEMU virt's GPIO at 0x09030000, SPI 7, with the power button on line 3).
import { makeLookup, PRIMECELL_ID, type RegisterDef } from './table.ts';

/** Register offsets (DDI 0190 §3.3). */
export const PL061 = {
  DATA: 0x000,
  DATA_END: 0x400,
  DIR: 0x400,
  IS: 0x404,
  IBE: 0x408,
  IEV: 0x40c,
  IE: 0x410,
  RIS: 0x414,
  MIS: 0x418,
  IC: 0x41c,
  AFSEL: 0x420,
} as const;

export const PL061_REGISTERS: readonly RegisterDef[] = [
  // GPIODATA spans 0x000-0x3FC: address bits [9:2] mask which lines an access reads or writes.
  { offset: PL061.DATA, name: 'DATA', width: PL061.DATA_END - PL061.DATA },
  ...(['DIR', 'IS', 'IBE', 'IEV', 'IE', 'RIS', 'MIS', 'IC', 'AFSEL'] as const).map((name) => ({ offset: PL061[name], name })),
  ...PRIMECELL_ID,
];

/** Identification bytes at 0xFE0-0xFFC (PeriphID0-3: part 0x061, designer Arm, revision 0; PCellID). */
export const PL061_ID = [0x61, 0x10, 0x04, 0x00, 0x0d, 0xf0, 0x05, 0xb1] as const;

export const registerName = makeLookup(PL061_REGISTERS);

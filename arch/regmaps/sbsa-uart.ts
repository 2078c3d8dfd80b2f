// SBSA Generic UART: the PL011 subset firmware leaves to the OS (Arm DEN0029, SBSA, appendix B
// 'Generic UART'; docs/arch.md).
// Offsets outside the subset have no name: on Xen's vpl011 they read 0 and ignore writes.
import { PL011 } from './pl011.ts';
import { makeLookup, type RegisterDef } from './table.ts';

/** The registers the SBSA UART keeps, at their PL011 offsets; flag and interrupt bits are the PL011's. */
export const SBSA_UART = {
  DR: PL011.DR,
  RSR: PL011.RSR,
  FR: PL011.FR,
  IMSC: PL011.IMSC,
  RIS: PL011.RIS,
  MIS: PL011.MIS,
  ICR: PL011.ICR,
} as const;

export const SBSA_UART_REGISTERS: readonly RegisterDef[] = Object.entries(SBSA_UART).map(([name, offset]) => ({ offset, name }));

export const registerName = makeLookup(SBSA_UART_REGISTERS);

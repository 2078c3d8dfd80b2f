// SBSA Generic UART: the PL011 subset firmware leaves to the OS (Arm DEN0029, SBSA, appendix B
// 'Generic UART'; docs/arch.md).
// Offsets outside the subset have no name: on Xen's vpl011 they read 0 and ignore writes.
import { makeLookup, type RegisterDef } from './table.ts';

export const SBSA_UART_REGISTERS: readonly RegisterDef[] = [
  { offset: 0x000, name: 'DR' },
  { offset: 0x004, name: 'RSR' },
  { offset: 0x018, name: 'FR' },
  { offset: 0x038, name: 'IMSC' },
  { offset: 0x03c, name: 'RIS' },
  { offset: 0x040, name: 'MIS' },
  { offset: 0x044, name: 'ICR' },
];

export const registerName = makeLookup(SBSA_UART_REGISTERS);

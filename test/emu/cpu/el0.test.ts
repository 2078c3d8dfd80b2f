// EL0 rules: unprivileged loads/stores (LDTR/STTR), EL0 access to system registers (allowed, UNDEFINED,
// or trapped with EC 0x18), SP_EL0 with SPSel=0, literal loads.

import { describe, expect, it } from 'vitest';
import { sysregByName } from '../../../emu/cpu/sysregs.ts';
import { VECTOR_PRELUDE, hex, runAsm, type TestMachine } from '../../helpers/cpu-harness.ts';

const PRELUDE = VECTOR_PRELUDE;
const TO_EL0 = `
  ldr x0, =user
  msr elr_el1, x0
  msr spsr_el1, xzr
  eret
user:
`;
const esr = (m: TestMachine): string => hex(m.cpu.readSysregValue(sysregByName('ESR_EL1'))!);

describe('EL0', () => {
  it('reads CTR_EL0, DCZID_EL0, TPIDR_EL0, NZCV; writes TPIDR_EL0', () => {
    const m = runAsm(`${PRELUDE}${TO_EL0}
      mrs x1, ctr_el0
      mrs x2, dczid_el0
      mov x3, #0x55
      msr tpidr_el0, x3
      mrs x4, tpidr_el0
      mrs x5, nzcv
      svc #0
    `);
    expect(hex(m.cpu.getX(1))).toBe('0x8444c004');
    expect(m.cpu.getX(2)).toBe(4n);
    expect(m.cpu.getX(4)).toBe(0x55n);
    expect(esr(m)).toBe('0x56000000');
  });

  it('EL1 registers are UNDEFINED at EL0; TPIDRRO_EL0 is read-only there', () => {
    const a = runAsm(`${PRELUDE}${TO_EL0}
      mrs x1, sctlr_el1
    `);
    expect(esr(a)).toBe('0x2000000');
    expect(a.exceptions[0].fromEl).toBe(0);
    const b = runAsm(`${PRELUDE}${TO_EL0}
      msr tpidrro_el0, x1
    `);
    expect(esr(b)).toBe('0x2000000');
  });

  it('DAIF access from EL0 traps with EC 0x18 unless SCTLR_EL1.UMA', () => {
    const m = runAsm(`${PRELUDE}${TO_EL0}
      msr daifset, #2
    `);
    expect(m.exceptions[0].ec).toBe(0x18);
    // ISS: Op0=0 Op2=6 Op1=3 CRn=4 Rt=31 CRm=2, write
    expect(esr(m)).toBe(hex((0x18n << 26n) | (1n << 25n) | (6n << 17n) | (3n << 14n) | (4n << 10n) | (31n << 5n) | (2n << 1n)));
  });

  it('ERET, TLBI, DC IVAC and HVC are UNDEFINED at EL0', () => {
    for (const insn of ['eret', 'tlbi vmalle1', 'dc ivac, x0', 'hvc #1', 'msr spsel, #0']) {
      const m = runAsm(`${PRELUDE}${TO_EL0}
        ${insn}
      `);
      expect(esr(m), insn).toBe('0x2000000');
    }
  });

  it('LDTR/STTR at EL1 use EL0 permissions (MMU off: allowed), and execute like LDR/STR', () => {
    const m = runAsm(`${PRELUDE}
      ldr x0, =0x40100000
      mov x1, #0x1234
      sttr x1, [x0, #8]
      ldtr x2, [x0, #8]
      ldtrsb x3, [x0, #9]
      sttrh w1, [x0, #16]
      ldtrh w4, [x0, #16]
      hvc #0
    `);
    expect(m.cpu.getX(2)).toBe(0x1234n);
    expect(m.cpu.getX(3)).toBe(0x12n);
    expect(m.cpu.getX(4)).toBe(0x1234n);
  });

  it('SP_EL0 is UNDEFINED through MRS while SPSel=0', () => {
    const m = runAsm(`${PRELUDE}
      msr spsel, #0
      mrs x1, sp_el0
    `);
    expect(esr(m)).toBe('0x2000000');
  });

  it('literal loads: LDR W/X, LDRSW, PRFM', () => {
    const m = runAsm(`
      ldr w1, lit
      ldr x2, lit
      ldrsw x3, lit
      prfm pldl1keep, lit
      hvc #0
      .balign 8
    lit: .quad 0x00000001fffffffe
    `);
    expect(m.cpu.getX(1)).toBe(0xfffffffen);
    expect(m.cpu.getX(2)).toBe(0x1fffffffen);
    expect(m.cpu.getX(3)).toBe(0xfffffffffffffffen);
  });
});

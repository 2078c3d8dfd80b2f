// FP/SIMD unit cases: CPACR_EL1.FPEN traps with exact ESR, FP absent = UNDEFINED, known values for
// loads/stores, string-function idioms, rounding modes, fused multiply-add and FPSR flags.

import { describe, expect, it } from 'vitest';
import { sysregByName } from '../../../emu/cpu/sysregs.ts';
import { RAM_BASE, VECTOR_PRELUDE, runAsm } from '../../helpers/cpu-harness.ts';

const PRELUDE = VECTOR_PRELUDE;
const ENABLE = `  mov x0, #(3 << 20)
  msr cpacr_el1, x0
  isb
`;

const v64 = (m: { cpu: { vr: Int32Array } }, r: number, k = 0): bigint => new BigUint64Array(m.cpu.vr.buffer)[r * 2 + k];
const d = (m: { cpu: { vr: Int32Array } }, r: number): number => new Float64Array(m.cpu.vr.buffer)[r * 2];
const s = (m: { cpu: { vr: Int32Array } }, r: number): number => new Float32Array(m.cpu.vr.buffer)[r * 4];
const sr = (m: { cpu: { readSysregValue(e: number): bigint | undefined } }, name: string): bigint =>
  m.cpu.readSysregValue(sysregByName(name))!;

describe('FP/SIMD access control', () => {
  it('FP absent (fpsimd: false): SIMD&FP instructions and FPCR are UNDEFINED, ID_AA64PFR0.FP/AdvSIMD = 0xF', () => {
    const m = runAsm(`${PRELUDE}${ENABLE}  fmov d0, x1\n  hvc #1`, { fpsimd: false });
    expect(m.exceptions[0].ec).toBe(0);
    expect(m.exceptions[0].detail).toBe('FP/SIMD not implemented');
    expect((sr(m, 'ID_AA64PFR0_EL1') >> 16n) & 0xffn).toBe(0xffn);
    const m2 = runAsm(`${PRELUDE}${ENABLE}  mrs x1, fpcr\n  hvc #1`, { fpsimd: false });
    expect(m2.exceptions[0].ec).toBe(0);
  });

  it('FP present: ID_AA64PFR0.FP/AdvSIMD = 0', () => {
    const m = runAsm(`${PRELUDE}  mrs x1, id_aa64pfr0_el1\n  hvc #0`, { fpsimd: true });
    expect((m.cpu.getX(1) >> 16n) & 0xffn).toBe(0n);
  });

  for (const [fpen, el1Traps] of [
    [0, true],
    [1, false],
    [2, true],
    [3, false],
  ] as const) {
    it(`CPACR_EL1.FPEN=${fpen}: EL1 ${el1Traps ? 'traps with EC 0x07, ESR 0x1fe00000' : 'runs'}`, () => {
      const m = runAsm(
        `${PRELUDE}  mov x0, #(${fpen} << 20)
  msr cpacr_el1, x0
  isb
  mov x1, #5
  adr x20, fp
fp: fmov d0, x1
  hvc #0`,
        { fpsimd: true },
      );
      if (el1Traps) {
        expect(m.exceptions.length).toBe(1);
        expect(m.exceptions[0].ec).toBe(0x07);
        expect(m.exceptions[0].esr).toBe(0x1fe00000);
        expect(m.exceptions[0].elr).toBe(m.cpu.getX(20));
        expect(m.exceptions[0].detail).toBe('FP/SIMD access trapped by CPACR_EL1.FPEN');
      } else {
        expect(m.exceptions).toEqual([]);
        expect(v64(m, 0)).toBe(5n);
      }
    });
  }

  it('CPACR_EL1.FPEN=1 traps EL0 (EC 0x07 from EL0), and MRS FPSR traps like an FP instruction', () => {
    const m = runAsm(
      `${PRELUDE}  mov x0, #(1 << 20)
  msr cpacr_el1, x0
  adr x0, el0
  msr elr_el1, x0
  msr spsr_el1, xzr
  eret
el0:
  mrs x1, fpsr
  hvc #1`,
      { fpsimd: true },
    );
    expect(m.exceptions[0].ec).toBe(0x07);
    expect(m.exceptions[0].fromEl).toBe(0);
    expect(m.exceptions[0].esr).toBe(0x1fe00000);
  });
});

describe('FP/SIMD known values', () => {
  const run = (body: string) =>
    runAsm(
      `${PRELUDE}${ENABLE}${body}\n  hvc #0\n  .balign 16\ndata:\n  .ascii "hello, world\\0abcdefghijklmnopqrstuvwxyz0123456789"\n  .balign 8\n`,
      { fpsimd: true },
    );

  it('strlen idiom: LD1 + CMEQ + UMAXV/ADDP + FMOV finds the NUL', () => {
    const m = run(`  adr x0, data
  ld1 {v0.16b}, [x0]
  cmeq v1.16b, v0.16b, #0
  umaxv b2, v1.16b
  fmov w3, s2
  shrn v3.8b, v1.8h, #4
  fmov x4, d3
  rbit x4, x4
  clz x4, x4
  lsr x4, x4, #2`);
    expect(m.exceptions).toEqual([]);
    expect(m.cpu.getX(3)).toBe(0xffn);
    expect(m.cpu.getX(4)).toBe(12n); // strlen("hello, world")
  });

  it('LDP/STP Q, post-index LD1 of 4 registers, LD1R, TBL', () => {
    const m = run(`  adr x0, data
  ldp q0, q1, [x0]
  sub sp, sp, #32
  stp q1, q0, [sp]
  ldr q2, [sp, #16]
  mov x5, x0
  ld1 {v4.16b, v5.16b, v6.16b, v7.16b}, [x5], #64
  ld1r {v8.4s}, [x0]
  movi v9.16b, #3
  tbl v10.16b, {v0.16b}, v9.16b
  add sp, sp, #32`);
    expect(v64(m, 2)).toBe(v64(m, 0));
    expect(v64(m, 4, 1)).toBe(v64(m, 0, 1));
    expect(m.cpu.getX(5) - m.cpu.getX(0)).toBe(64n);
    expect(v64(m, 8)).toBe(0x6c6c65686c6c6568n); // "hell" twice
    expect(v64(m, 10)).toBe(0x6c6c6c6c6c6c6c6cn); // data[3] = 'l'
  });

  it('scalar arithmetic, conversions and FPSR.IXC', () => {
    const m = run(`  fmov d0, #1.0
  fmov d1, #3.0
  fdiv d2, d0, d1
  fsqrt d3, d1
  fcvt s4, d2
  mov x1, #-7
  scvtf d5, x1
  fcvtzs x6, d2
  fmov d7, #-2.5
  fcvtns x8, d7
  fcvtas x9, d7
  mrs x10, fpsr`);
    expect(d(m, 2)).toBe(1 / 3);
    expect(d(m, 3)).toBe(Math.sqrt(3));
    expect(s(m, 4)).toBe(Math.fround(1 / 3));
    expect(d(m, 5)).toBe(-7);
    expect(m.cpu.getX(6)).toBe(0n);
    expect(m.cpu.getX(8)).toBe(-2n & 0xffffffffffffffffn); // ties to even
    expect(m.cpu.getX(9)).toBe(-3n & 0xffffffffffffffffn); // ties away
    expect(m.cpu.getX(10) & 0x10n).toBe(0x10n); // IXC
  });

  it('FMADD is fused: one rounding (differs from multiply then add)', () => {
    // a = 1 + 2^-30, a*a = 1 + 2^-29 + 2^-60; fma(a, a, -(1 + 2^-29)) = 2^-60 exactly
    const m = run(`  ldr d0, =0x3ff0000000400000
  ldr d1, =0xbff0000000800000
  fmadd d2, d0, d0, d1
  fmul d3, d0, d0
  fadd d3, d3, d1`);
    expect(d(m, 2)).toBe(2 ** -60);
    expect(d(m, 3)).toBe(0);
  });

  it('FPCR.RMode: round toward zero and toward +inf; FPCR.DN gives the default NaN', () => {
    const m = run(`  mov x0, #(3 << 22)
  msr fpcr, x0
  fmov d0, #1.0
  fmov d1, #3.0
  fdiv d2, d0, d1
  mov x0, #(1 << 22)
  msr fpcr, x0
  fdiv d3, d0, d1
  mov x0, #(1 << 25)
  msr fpcr, x0
  ldr d4, =0x7ff0000000000123
  fadd d5, d4, d0
  mrs x11, fpcr
  mrs x12, fpsr`);
    const third = 1 / 3; // RN result: below 1/3, so RZ equals it and RP is the next double up
    expect(d(m, 2)).toBe(third);
    expect(v64(m, 3)).toBe(v64(m, 2) + 1n);
    expect(v64(m, 5)).toBe(0x7ff8000000000000n);
    expect(m.cpu.getX(11)).toBe(1n << 25n);
    expect(m.cpu.getX(12) & 0x11n).toBe(0x11n); // IOC (signalling NaN) and IXC
  });

  it('FCMP sets NZCV (unordered = 0011) and FCSEL picks by condition', () => {
    const m = run(`  fmov d0, #1.0
  fmov d1, #2.0
  fcmp d0, d1
  cset x1, mi
  fcsel d2, d0, d1, gt
  ldr d3, =0x7ff8000000000000
  fcmp d3, d0
  mrs x2, nzcv`);
    expect(m.cpu.getX(1)).toBe(1n);
    expect(d(m, 2)).toBe(2);
    expect(m.cpu.getX(2)).toBe(0x30000000n);
  });
});

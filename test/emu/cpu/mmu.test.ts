// MMU: 4-level walks, blocks and pages, TTBR0/TTBR1, AF/permission/translation faults with exact
// syndromes, EL0 permissions, TBI, AT → PAR_EL1, TLBI.

import { describe, expect, it } from 'vitest';
import { sysregByName } from '../../../emu/cpu/sysregs.ts';
import { RAM_BASE, STOP_VECTORS, hex, machine, type TestMachine } from '../../helpers/cpu-harness.ts';

const L0 = 0x40100000,
  L1 = 0x40101000,
  L2 = 0x40102000,
  L3 = 0x40103000,
  L2DEV = 0x40104000;
const AF = 1n << 10n;
const PAGE = 0x40200000; // 2 MiB region mapped with 4K pages

function put(m: TestMachine, pa: number, v: bigint): void {
  new DataView(m.bus.mem.buffer).setBigUint64(pa - RAM_BASE, v, true);
}

/**
 * Tables: VA 0x40000000-0x401fffff identity (L2 block, EL1 RW); 0x40200000 + n*4K pages:
 * 0 RW, 1 AF=0, 2 read-only, 3 EL0 RW, 4 invalid, 5 RW at PA 0x40300000; 0x09000000 device block.
 * TTBR1 uses the same tables (VA 0xffff0000_4xxxxxxx).
 */
function buildTables(m: TestMachine): void {
  put(m, L0, BigInt(L1) | 3n);
  put(m, L1 + 0 * 8, BigInt(L2DEV) | 3n);
  put(m, L1 + 1 * 8, BigInt(L2) | 3n);
  put(m, L2 + 0 * 8, 0x40000000n | AF | 1n); // block, AttrIndx 0
  put(m, L2 + 1 * 8, BigInt(L3) | 3n);
  put(m, L3 + 0 * 8, BigInt(PAGE) | AF | (1n << 2n) | 3n);
  put(m, L3 + 1 * 8, BigInt(PAGE + 0x1000) | 3n);
  put(m, L3 + 2 * 8, BigInt(PAGE + 0x2000) | AF | (2n << 6n) | 3n);
  put(m, L3 + 3 * 8, BigInt(PAGE + 0x3000) | AF | (1n << 6n) | 3n);
  put(m, L3 + 5 * 8, 0x40300000n | AF | 3n);
  put(m, L2DEV + 72 * 8, 0x09000000n | AF | (1n << 54n) | (1n << 53n) | 1n);
}

const MMU_ON = `
  ldr x0, =vectors
  msr vbar_el1, x0
  ldr x0, =0x0000004000ff44ff    // MAIR: attr0 normal WB, attr1 normal WT, attr2 device
  msr mair_el1, x0
  ldr x0, =0x00000023b5103510    // T0SZ=T1SZ=16, TG1=4K, AS=16-bit, TBI0
  msr tcr_el1, x0
  ldr x0, =${L0}
  msr ttbr0_el1, x0
  ldr x1, =0x0001000000000000 + ${L0}   // ASID 1 in TTBR1 (A1=0 uses TTBR0's)
  msr ttbr1_el1, x1
  isb
  mrs x0, sctlr_el1
  orr x0, x0, #1
  msr sctlr_el1, x0
  isb
${STOP_VECTORS}`;

function run(body: string): TestMachine {
  const m = machine(`${MMU_ON}\n${body}`);
  buildTables(m);
  m.run();
  return m;
}

const esr = (m: TestMachine): string => hex(m.cpu.readSysregValue(sysregByName('ESR_EL1'))!);
const far = (m: TestMachine): bigint => m.cpu.readSysregValue(sysregByName('FAR_EL1'))!;

describe('stage-1 translation', () => {
  it('maps pages and blocks, TTBR1 aliases, and page 5 to a different PA', () => {
    const m = run(`
      ldr x0, =${PAGE + 0x5000}
      mov x1, #0x77
      str x1, [x0]
      ldr x2, =0xffff000040205000
      ldr x3, [x2]
      ldr x4, =0xffff000040000000
      ldr w5, [x4]                 // first instruction word of the program via TTBR1
      mov x6, #0x09000000
      ldr w7, [x6]                 // device block
      hvc #0
    `);
    expect(m.exceptions.map((e) => `${e.detail} far=${e.far.toString(16)} elr=${e.elr.toString(16)}`)).toEqual([]);
    expect(m.cpu.getX(3)).toBe(0x77n);
    expect(m.cpu.getX(5)).toBe(BigInt(new DataView(m.bus.mem.buffer).getUint32(0, true)));
    expect(m.cpu.getX(7)).toBe(0x12345678n);
  });

  it('access-flag fault: DFSC 0x0B (level 3), FAR exact', () => {
    const m = run(`
      ldr x0, =${PAGE + 0x1008}
      ldr x1, [x0]
    `);
    expect(esr(m)).toBe('0x9600000b');
    expect(far(m)).toBe(BigInt(PAGE + 0x1008));
  });

  it('permission fault on a write to a read-only page: DFSC 0x0F with WnR', () => {
    const m = run(`
      ldr x0, =${PAGE + 0x2000}
      ldr x1, [x0]
      str x1, [x0]
    `);
    expect(esr(m)).toBe('0x9600004f');
  });

  it('translation faults report their level', () => {
    const l3 = run(`
      ldr x0, =${PAGE + 0x4000}
      ldr x1, [x0]
    `);
    expect(esr(l3)).toBe('0x96000007');
    const l1 = run(`
      ldr x0, =0x80000000
      ldr x1, [x0]
    `);
    expect(esr(l1)).toBe('0x96000005');
    const l0 = run(`
      ldr x0, =0x0000800000000000
      ldr x1, [x0]
    `);
    expect(esr(l0)).toBe('0x96000004');
  });

  it('instruction abort when branching to an unmapped page', () => {
    const m = run(`
      ldr x0, =${PAGE + 0x4000}
      br x0
    `);
    expect(esr(m)).toBe('0x86000007');
    expect(far(m)).toBe(BigInt(PAGE + 0x4000));
  });

  it('EL0 may use an AP=01 page but not an EL1-only page (EC 0x24)', () => {
    const d = run(`
      ldr x0, =user
      msr elr_el1, x0
      msr spsr_el1, xzr
      ldr x2, =${PAGE + 0x3000}
      ldr x3, =${PAGE}
      eret
    user:
      mov x1, #5
      str x1, [x2]                 // EL0 RW page: fine
      ldr x4, [x3]                 // EL1-only page: permission fault level 3
    `);
    expect(d.exceptions[0]).toMatchObject({ ec: 0x24, fromEl: 0 });
    expect(esr(d)).toBe('0x9200000f');
    expect(far(d)).toBe(BigInt(PAGE));
  });

  it('TBI0 ignores the top byte of data addresses', () => {
    const m = run(`
      ldr x0, =0x5a00000040200000
      mov x1, #0x31
      str x1, [x0]
      ldr x2, =${PAGE}
      ldr x3, [x2]
      hvc #0
    `);
    expect(m.exceptions).toEqual([]);
    expect(m.cpu.getX(3)).toBe(0x31n);
  });

  it('AT S1E1R/S1E1W write PAR_EL1 (success with attributes, or the fault code)', () => {
    const m = run(`
      ldr x0, =${PAGE + 0x5123}
      at s1e1r, x0
      mrs x1, par_el1
      ldr x0, =${PAGE + 0x2000}
      at s1e1w, x0
      mrs x2, par_el1
      ldr x0, =${PAGE + 0x4000}
      at s1e1r, x0
      mrs x3, par_el1
      hvc #0
    `);
    expect(hex(m.cpu.getX(1))).toBe('0xff00000040300200'); // PA, NS, attr0 = MAIR byte 0 (0xff)
    expect(hex(m.cpu.getX(2))).toBe('0x1f'); // F=1, FST=0x0F
    expect(hex(m.cpu.getX(3))).toBe('0xf'); // F=1, FST=0x07
  });

  it('TLBI VAE1 makes a changed descriptor visible', () => {
    const m = run(`
      ldr x0, =${PAGE + 0x5000}
      ldr x1, [x0]                 // cache the old translation (PA 0x40300000)
      ldr x5, =${L3 + 5 * 8}
      ldr x6, =${PAGE + 0x0000} + 0x403    // page 5 now maps to PA 0x40200000 (AF | page)
      str x6, [x5]
      dsb ishst
      lsr x7, x0, #12
      tlbi vae1is, x7
      dsb ish
      isb
      ldr x2, [x0]
      hvc #0
    `);
    put(m, 0x40300000, 0n);
    expect(m.exceptions).toEqual([]);
    expect(m.cpu.getX(2)).toBe(m.cpu.getX(2)); // value at PA 0x40200000 (first word of page 0)
    const dv = new DataView(m.bus.mem.buffer);
    expect(m.cpu.getX(2)).toBe(dv.getBigUint64(PAGE - RAM_BASE, true));
  });
});

// Branches, exclusives, system registers, DC ZVA and decode-cache invalidation on assembled snippets.

import { describe, expect, it } from 'vitest';
import { MIDR_A57, sysregByName } from '../../../emu/cpu/sysregs.ts';
import { Cpu } from '../../../emu/cpu/cpu.ts';
import { SimpleBus } from '../../../emu/cpu/bus.ts';
import { RAM_BASE, VECTOR_PRELUDE, hex, runAsm } from '../../helpers/cpu-harness.ts';

const VECTORS = VECTOR_PRELUDE;

describe('branches', () => {
  it('B, BL/RET, BLR, BR, B.cond, CBZ/CBNZ, TBZ/TBNZ', () => {
    const m = runAsm(`
      mov x0, #0
      mov x1, #10
    loop:                      // sum 1..10 with a backwards B.NE
      add x0, x0, x1
      subs x1, x1, #1
      b.ne loop
      bl func                  // x2 = 7
      adr x3, func2
      blr x3                   // x4 = 9
      mov x5, #0
      cbz x5, 1f
      mov x5, #99
    1:cbnz x5, 2f
      mov x6, #0x100000000
      tbnz x6, #32, 3f
      b .
    2:b .
    3:tbz x6, #31, 4f
      b .
    4:adr x7, 5f
      br x7
      b .
    5:mov x8, #0x7fffffff
      adds w9, w8, #1          // V set
      b.vs 6f
      b .
    6:cmp x0, #55
      b.eq 7f
      b .
    7:mov x10, #1
      hvc #0
    func:
      mov x2, #7
      ret
    func2:
      mov x4, #9
      ret
    `);
    expect(m.cpu.getX(0)).toBe(55n);
    expect(m.cpu.getX(2)).toBe(7n);
    expect(m.cpu.getX(4)).toBe(9n);
    expect(m.cpu.getX(5)).toBe(0n);
    expect(m.cpu.getX(10)).toBe(1n);
  });
});

describe('CRC32', () => {
  it('CRC32B/W/X and CRC32CB give the standard check values of "123456789"', () => {
    const m = runAsm(`
      .arch armv8-a+crc
      adr x1, msg
      mov w0, #-1
      mov w5, #-1
      mov x2, #9
    1:ldrb w3, [x1], #1
      crc32b w0, w0, w3
      crc32cb w5, w5, w3
      subs x2, x2, #1
      b.ne 1b
      mvn w0, w0
      mvn w5, w5
      adr x1, msg
      mov w6, #-1
      ldr x3, [x1]
      crc32x w6, w6, x3            // first 8 bytes at once
      ldrb w3, [x1, #8]
      crc32b w6, w6, w3
      mvn w6, w6
      mov w7, #-1
      ldr w3, [x1]
      crc32w w7, w7, w3
      ldr w3, [x1, #4]
      crc32w w7, w7, w3
      ldrb w3, [x1, #8]
      crc32b w7, w7, w3
      mvn w7, w7
      hvc #0
    msg: .ascii "123456789"
    `);
    expect(hex(m.cpu.getX(0))).toBe('0xcbf43926');
    expect(hex(m.cpu.getX(5))).toBe('0xe3069283');
    expect(hex(m.cpu.getX(6))).toBe('0xcbf43926');
    expect(hex(m.cpu.getX(7))).toBe('0xcbf43926');
  });
});

describe('exclusives and acquire/release', () => {
  it('LDXR/STXR succeed, STXR without a reservation fails, CLREX clears, pairs work', () => {
    const m = runAsm(`
      ldr x0, =0x40100000
      mov x1, #5
      str x1, [x0]
      ldaxr x2, [x0]
      add x2, x2, #1
      stlxr w3, x2, [x0]       // 0: success
      stxr w4, x2, [x0]        // 1: no reservation
      ldxr w5, [x0]
      clrex
      stxr w6, w5, [x0]        // 1
      ldxp x7, x8, [x0]
      mov x9, #0x11
      mov x10, #0x22
      stxp w11, x9, x10, [x0]  // 0
      ldp x12, x13, [x0]
      stlr x1, [x0]
      ldar x14, [x0]
      ldarb w15, [x0]
      hvc #0
    `);
    const x = (i: number): bigint => m.cpu.getX(i);
    expect([x(3), x(4), x(6), x(11)]).toEqual([0n, 1n, 1n, 0n]);
    expect(x(5)).toBe(6n);
    expect([x(12), x(13)]).toEqual([0x11n, 0x22n]);
    expect([x(14), x(15)]).toEqual([5n, 5n]);
  });

  it('a misaligned exclusive raises an alignment fault (DFSC 0x21)', () => {
    const m = runAsm(`${VECTORS}
      ldr x0, =0x40100004
      ldxr x1, [x0]
    `);
    expect(hex(m.cpu.readSysregValue(sysregByName('ESR_EL1'))!)).toBe('0x96000021');
    expect(m.cpu.readSysregValue(sysregByName('FAR_EL1'))).toBe(0x40100004n);
  });

  it("another vCPU's store to the granule clears the monitor and sets its event register", () => {
    const bus = new SimpleBus([[0x40000000, 0x100000]]);
    const a = new Cpu({ bus, id: 0 });
    const b = new Cpu({ bus, id: 1, shared: a.shared });
    const code = (words: number[], at: number): void =>
      words.forEach((w, i) => new DataView(bus.mem.buffer).setUint32(at - 0x40000000 + 4 * i, w, true));
    // a: ldxr x1, [x0]
    code([0xc85f7c01], 0x40001000);
    // b: str x2, [x0, #8] (same 64-byte granule)
    code([0xf9000402], 0x40002000);
    // a: stxr w3, x1, [x0]
    code([0xc8037c01], 0x40001004);
    a.setX(0, 0x40080000n);
    b.setX(0, 0x40080000n);
    a.pc = 0x40001000n;
    a.run(1);
    expect(a.exGranule).toBeGreaterThanOrEqual(0);
    b.pc = 0x40002000n;
    b.run(1);
    expect(a.exGranule).toBe(-1);
    expect(a.eventReg).toBe(1);
    a.run(1);
    expect(a.getX(3)).toBe(1n);
  });
});

describe('system registers', () => {
  it('ID registers describe a Cortex-A57 with FP/AdvSIMD; unallocated ID space reads zero', () => {
    const m = runAsm(`
      mrs x0, midr_el1
      mrs x1, id_aa64pfr0_el1
      mrs x2, id_aa64mmfr0_el1
      mrs x3, id_aa64isar0_el1
      mrs x4, s3_0_c0_c3_7     // unallocated ID space
      mrs x5, mpidr_el1
      mrs x6, currentel
      mrs x7, dczid_el0
      mrs x8, ctr_el0
      hvc #0
    `);
    const x = (i: number): bigint => m.cpu.getX(i);
    expect(x(0)).toBe(MIDR_A57);
    expect(hex(x(1))).toBe('0x11'); // FP = AdvSIMD = 0 (implemented), EL0/EL1 AArch64
    expect(hex(x(2))).toBe('0xf001024');
    expect([x(3), x(4)]).toEqual([0x10000n, 0n]); // ISAR0: CRC32 only
    expect(hex(x(5))).toBe('0x80000000');
    expect(x(6)).toBe(4n);
    expect(x(7)).toBe(4n);
    expect(hex(x(8))).toBe('0x8444c004');
  });

  it('NZCV, DAIF, SPSel, SP_EL0, TPIDR round-trip', () => {
    const m = runAsm(`
      mov x0, #0x60000000
      msr nzcv, x0
      mrs x1, nzcv
      msr daifclr, #0xf
      msr daifset, #0x2
      mrs x2, daif
      ldr x3, =0x12345678abcdef
      msr tpidr_el1, x3
      mrs x4, tpidr_el1
      mov x5, #0x1000
      msr sp_el0, x5
      msr spsel, #0
      mov x6, sp
      msr spsel, #1
      mrs x7, spsel
      hvc #0
    `);
    const x = (i: number): bigint => m.cpu.getX(i);
    expect(hex(x(1))).toBe('0x60000000');
    expect(hex(x(2))).toBe('0x80');
    expect(x(4)).toBe(0x12345678abcdefn);
    expect(x(6)).toBe(0x1000n);
    expect(x(7)).toBe(1n);
  });

  it('system register providers are asked first and their accesses reported', () => {
    const seen: string[] = [];
    let cval = 0n;
    const m = runAsm(
      `
      mrs x0, cntfrq_el0
      mov x1, #77
      msr cntv_cval_el0, x1
      mrs x2, cntv_cval_el0
      hvc #0
    `,
      {
        providers: [
          {
            readSysreg: (_v, enc) => (enc === 0xdf00 ? 62500000n : enc === 0xdf1a ? cval : undefined),
            writeSysreg: (_v, enc, v) => {
              if (enc !== 0xdf1a) return false;
              cval = v;
              return true;
            },
          },
        ],
        hooks: { onSysreg: (_c, _e, name, w, v) => seen.push(`${w ? 'W' : 'R'} ${name} ${v}`) },
      },
    );
    expect(m.cpu.getX(0)).toBe(62500000n);
    expect(m.cpu.getX(2)).toBe(77n);
    expect(seen).toEqual(['R S3_3_C14_C0_0 62500000', 'W S3_3_C14_C3_2 77', 'R S3_3_C14_C3_2 77']);
  });
});

describe('memory maintenance and self-modifying code', () => {
  it('DC ZVA zeroes a 64-byte block', () => {
    const m = runAsm(`
      ldr x0, =0x40100000
      mov x1, #-1
      .rept 10
      str x1, [x0], #8
      .endr
      ldr x0, =0x40100010
      dc zva, x0
      ldr x0, =0x40100000
      ldr x2, [x0]
      ldr x3, [x0, #72]
      hvc #0
    `);
    expect(m.cpu.getX(2)).toBe(0n);
    expect(m.cpu.getX(3)).toBe(0xffffffffffffffffn);
  });

  it('a store over already-executed code is seen by the next execution', () => {
    const m = runAsm(`
      mov x5, #0
    again:
      bl patchme
      add x5, x5, #1
      cmp x5, #2
      b.eq done
      ldr w1, =0xd2800542      // mov x2, #42
      adr x0, patchme
      str w1, [x0]
      ic ivau, x0
      isb
      b again
    done:
      hvc #0
    patchme:
      mov x2, #1
      ret
    `);
    expect(m.cpu.getX(2)).toBe(42n);
  });
});

describe('host robustness', () => {
  it('100,000 random instruction words never throw in the host (fixed seed)', () => {
    const bus = new SimpleBus([[0x40000000, 0x200000]]);
    const cpu = new Cpu({ bus, hypervisor: { call: () => 0 } });
    const dv = new DataView(bus.mem.buffer);
    let s = 0x1234567;
    const rnd = (): number => {
      s ^= s << 13;
      s >>>= 0;
      s ^= s >>> 17;
      s ^= s << 5;
      s >>>= 0;
      return s;
    };
    // vectors at 0x40000000: every entry is "b ." so a case ends quickly wherever it goes
    for (let v = 0; v < 16; v++) dv.setUint32(v * 0x80, 0x14000000, true);
    let executed = 0;
    for (let k = 0; k < 100_000; k++) {
      if (k % 2000 === 0) {
        cpu.reset();
      }
      const at = 0x1000 + (k % 1000) * 8;
      dv.setUint32(at, rnd(), true);
      dv.setUint32(at + 4, rnd(), true);
      cpu.shared.invalidateMem(at, 8);
      for (let r = 0; r < 31; r++) cpu.setXNum(r, rnd() % 3 === 0 ? 0x40000000 + (rnd() % 0x200000) : rnd());
      cpu.pc = BigInt(0x40000000 + at);
      executed += cpu.run(4);
      expect(cpu.instret).toBeGreaterThan(0);
    }
    expect(executed).toBeGreaterThan(100_000);
  });
});

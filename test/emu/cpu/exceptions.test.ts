// Exception entry/return: vectors, ESR/FAR/ELR/SPSR exact, SVC/BRK/UNDEF/aborts, IRQ, ERET, WFI.

import { describe, expect, it } from 'vitest';
import { STOP } from '../../../emu/cpu/cpu.ts';
import { sysregByName } from '../../../emu/cpu/sysregs.ts';
import { RAM_BASE, VECTOR_PRELUDE, hex, runAsm, machine } from '../../helpers/cpu-harness.ts';

const PRELUDE = VECTOR_PRELUDE;
const VBAR = BigInt(RAM_BASE + 0x800);

function sr(m: { cpu: { readSysregValue(e: number): bigint | undefined } }, name: string): bigint {
  return m.cpu.readSysregValue(sysregByName(name))!;
}

describe('synchronous exceptions', () => {
  it('UDF: EC 0, IL, ELR = faulting instruction, SPSR = EL1h with DAIF masked', () => {
    const m = runAsm(`${PRELUDE}
      movz x1, #0xf000, lsl #16
      msr nzcv, x1
      bad: udf #0
    `);
    expect(m.exceptions).toHaveLength(1);
    expect(hex(sr(m, 'ESR_EL1'))).toBe('0x2000000');
    expect(sr(m, 'SPSR_EL1')).toBe(0xf00003c5n);
    expect(sr(m, 'ELR_EL1')).toBe(m.cpu.pc - 4n - 0x200n - VBAR + sr(m, 'ELR_EL1')); // sanity: vector reached
    expect(m.cpu.pc).toBe(VBAR + 0x200n + 4n); // current EL with SP_ELx, sync; after the hvc
    expect(m.exceptions[0]).toMatchObject({ kind: 'sync', ec: 0, fromEl: 1, toEl: 1 });
  });

  it('BRK: EC 0x3C with the immediate, ELR = the BRK itself', () => {
    const m = runAsm(`${PRELUDE}
      nop
      brk #0x123
    `);
    expect(hex(sr(m, 'ESR_EL1'))).toBe('0xf2000123');
    const elr = sr(m, 'ELR_EL1');
    const word = new DataView(m.bus.mem.buffer).getUint32(Number(elr) - RAM_BASE, true);
    expect(hex(BigInt(word))).toBe('0xd4202460');
  });

  it('SVC from EL0 goes to the lower-EL vector; ERET returns with restored PSTATE', () => {
    const m = runAsm(`${PRELUDE}
      ldr x0, =user
      msr elr_el1, x0
      mov x0, #0            // SPSR: EL0t, flags clear, interrupts unmasked
      msr spsr_el1, x0
      ldr x1, =0x40800000
      msr sp_el0, x1
      eret
    user:
      mov x2, sp
      svc #7
    `);
    expect(m.cpu.getX(2)).toBe(0x40800000n);
    expect(hex(sr(m, 'ESR_EL1'))).toBe('0x56000007');
    expect(m.cpu.pc).toBe(VBAR + 0x400n + 4n);
    expect(sr(m, 'SPSR_EL1')).toBe(0n);
    expect(m.exceptions[0]).toMatchObject({ ec: 0x15, fromEl: 0, toEl: 1 });
    expect(m.cpu.el).toBe(1);
    // SP_EL1 selected again, SP_EL0 preserved
    expect(m.cpu.sp).toBe(BigInt(RAM_BASE + 16 * 1024 * 1024));
  });

  it('EL1t uses the SP_EL0 vector group', () => {
    const m = runAsm(`${PRELUDE}
      msr spsel, #0
      udf #1
    `);
    expect(m.cpu.pc).toBe(VBAR + 0x000n + 4n);
    expect(sr(m, 'SPSR_EL1')).toBe(0x3c4n);
  });

  it('data abort on unassigned MMIO: EC 0x25, DFSC 0x10, WnR, FAR', () => {
    const m = runAsm(`${PRELUDE}
      ldr x0, =0x0a000010
      ldr w1, [x0]
    `);
    expect(hex(sr(m, 'ESR_EL1'))).toBe('0x96000010');
    expect(sr(m, 'FAR_EL1')).toBe(0x0a000010n);
    const w = runAsm(`${PRELUDE}
      ldr x0, =0x09000800
      str w1, [x0]
    `);
    expect(hex(sr(w, 'ESR_EL1'))).toBe('0x96000050');
    expect(sr(w, 'FAR_EL1')).toBe(0x09000800n);
    expect(w.exceptions[0].detail).toMatch(/external/);
  });

  it('HVC: personality may continue, stop or reject; HVC from EL0 is UNDEFINED', () => {
    const m = runAsm(`${PRELUDE}
      hvc #5
      mov x3, #1
      hvc #0xdead
    `);
    expect(m.hvcs).toEqual([5, 0xdead, 0]);
    expect(m.cpu.getX(3)).toBe(1n);
    expect(hex(sr(m, 'ESR_EL1'))).toBe('0x2000000');
    const u = runAsm(`${PRELUDE}
      ldr x0, =user
      msr elr_el1, x0
      msr spsr_el1, xzr
      eret
    user:
      hvc #1
    `);
    expect(u.hvcs).toEqual([0]);
    expect(u.exceptions[0]).toMatchObject({ ec: 0, fromEl: 0 });
  });

  it('PC alignment fault on BR to a misaligned target', () => {
    const m = runAsm(`${PRELUDE}
      ldr x0, =0x40001002
      br x0
    `);
    expect(hex(sr(m, 'ESR_EL1'))).toBe('0x8a000000');
    expect(sr(m, 'FAR_EL1')).toBe(0x40001002n);
    expect(sr(m, 'ELR_EL1')).toBe(0x40001002n);
  });

  it('unknown system register is UNDEFINED and reported through the hook', () => {
    const seen: string[] = [];
    const m = runAsm(
      `${PRELUDE}
      mrs x0, s3_0_c15_c0_0
    `,
      { hooks: { onSysregUndefined: (_c, _e, name) => seen.push(name) } },
    );
    expect(seen).toEqual(['S3_0_C15_C0_0']);
    expect(m.cpu.pc).toBe(VBAR + 0x200n + 4n);
  });

  it('illegal exception return sets PSTATE.IL and raises EC 0x0E', () => {
    const m = runAsm(`${PRELUDE}
      ldr x0, =next
      msr elr_el1, x0
      mov x0, #0x9     // EL2h: not implemented
      msr spsr_el1, x0
      eret
    next:
      nop
    `);
    expect(hex(sr(m, 'ESR_EL1'))).toBe('0x3a000000');
    expect(sr(m, 'SPSR_EL1') & (1n << 20n)).toBe(1n << 20n);
  });
});

describe('interrupts and waiting', () => {
  it('IRQ is taken after DAIFClr, ELR = next instruction, vector +0x280', () => {
    const m = machine(`${PRELUDE}
      mov x1, #1
      msr daifclr, #2
      mov x2, #2
    `);
    m.irq.line = true;
    m.run();
    expect(m.cpu.getX(1)).toBe(1n);
    expect(m.cpu.getX(2)).toBe(0n);
    expect(m.cpu.pc).toBe(VBAR + 0x280n + 4n);
    const elr = sr(m, 'ELR_EL1');
    expect(new DataView(m.bus.mem.buffer).getUint32(Number(elr) - RAM_BASE, true)).toBe(0xd2800042); // mov x2, #2
    expect(sr(m, 'SPSR_EL1')).toBe(0x345n);
    expect(m.exceptions[0].kind).toBe('irq');
  });

  it('WFI ends the run when nothing is pending and continues when an interrupt is', () => {
    const m = machine(`${PRELUDE}
      wfi
      mov x1, #1
      hvc #0
    `);
    m.run();
    expect(m.cpu.stopReason).toBe(STOP.WFI);
    expect(m.cpu.getX(1)).toBe(0n);
    m.run();
    expect(m.cpu.getX(1)).toBe(1n);
    expect(m.cpu.stopReason).toBe(STOP.HYPERVISOR);
    const p = machine(`${PRELUDE}
      wfi
      mov x1, #1
      hvc #0
    `);
    p.irq.line = true; // masked, but pending: WFI completes at once
    p.run();
    expect(p.cpu.getX(1)).toBe(1n);
  });

  it('WFE consumes the event register set by SEVL', () => {
    const m = runAsm(`${PRELUDE}
      sevl
      wfe
      mov x1, #1
      wfe
      mov x2, #2
    `);
    expect(m.cpu.getX(1)).toBe(1n);
    expect(m.cpu.stopReason).toBe(STOP.WFE);
    expect(m.cpu.getX(2)).toBe(0n);
  });

  it('requestStop from an MMIO callback ends the run after the instruction', () => {
    const m = machine(`${PRELUDE}
      ldr x0, =0x09000000
      str w1, [x0]
      mov x1, #1
      hvc #0
    `);
    const write = m.bus.mmioWrite.bind(m.bus);
    m.bus.mmioWrite = (pa: number, size: number, value: number | bigint, vcpu: number): boolean => {
      m.cpu.requestStop();
      return write(pa, size, value, vcpu);
    };
    m.run();
    expect(m.cpu.stopReason).toBe(STOP.REQUEST);
    expect(m.cpu.getX(1)).toBe(0n);
  });
});

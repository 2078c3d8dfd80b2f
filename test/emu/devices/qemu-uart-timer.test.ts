// PL011, PL031 and the virtual timer (with its PPI through the GIC) read by the same snippet on
// QEMU 7.2 and on emu/cpu with our models. The counter itself differs (QEMU's follows host
// time), so the snippet reads only states that do not depend on how fast time passes.
import { describe, expect, it } from 'vitest';
import { assembleRaw, runOnEmu, runOnQemu } from '../../helpers/qemu-harness.ts';

const UART = `
  ldr x20, =0x09000000
  mov w0, #0x41
  strb w0, [x20]              // DR: 'A' (sets RIS.TX)
  ldr w1, [x20, #0x3c]        // RIS
  ldr w2, [x20, #0x40]        // MIS (masked)
  mov w0, #0x20
  str w0, [x20, #0x38]        // IMSC = TX
  ldr w3, [x20, #0x40]        // MIS
  str w0, [x20, #0x44]        // ICR TX
  ldr w4, [x20, #0x3c]
  mov w0, #13
  str w0, [x20, #0x24]        // IBRD (Linux's value for 115200 at 24 MHz)
  mov w0, #1
  str w0, [x20, #0x28]        // FBRD
  mov w0, #0x70
  str w0, [x20, #0x2c]        // LCR_H: 8 bits, FIFO
  ldr w0, =0x301
  str w0, [x20, #0x30]        // CR
  mov w0, #0x3f
  str w0, [x20, #0x34]        // IFLS
  mov w0, #3
  str w0, [x20, #0x48]        // DMACR
  ldr w5, [x20, #0x24]
  ldr w6, [x20, #0x28]
  ldr w7, [x20, #0x2c]
  ldr w8, [x20, #0x30]
  ldr w9, [x20, #0x34]
  ldr w10, [x20, #0x48]
  ldr w11, [x20, #0x18]       // FR
  ldrh w12, [x20, #0x30]      // 16-bit read as the amba driver does
  ldr w13, [x20, #0x00]       // DR with nothing received
  ldr w14, [x20, #0x04]       // RSR
  str w0, [x20, #0x04]        // ECR
  ldr w15, [x20, #0x44]       // ICR is write-only: reads 0
  ldr w16, [x20, #0x100]      // undecoded offset
  ldr x21, =0x09010000
  ldr w17, [x21, #0x0c]       // RTC CR
  mov w0, #1
  str w0, [x21, #0x10]        // RTC IMSC
  ldr w18, [x21, #0x10]
  ldr w19, [x21, #0x14]       // RIS
`;

const TIMER = `
  ldr x20, =0x08000000
  ldr x21, =0x08010000
  mov w0, #1
  str w0, [x20]
  mov w0, #0xf0
  str w0, [x21, #4]
  mov w0, #1
  str w0, [x21]
  mov w0, #(1 << 27)
  str w0, [x20, #0x100]       // enable PPI 27
  mrs x1, cntfrq_el0
  mov x0, #0
  msr cntv_cval_el0, x0       // already expired
  mov x0, #1
  msr cntv_ctl_el0, x0
  isb
  mrs x2, cntv_ctl_el0        // ENABLE | ISTATUS
  ldr w3, [x21, #0x18]        // HPPIR: 27
  ldr w4, [x20, #0x200]       // ISPENDR0
  mov x0, #3
  msr cntv_ctl_el0, x0        // IMASK
  isb
  mrs x5, cntv_ctl_el0
  ldr w6, [x21, #0x18]        // 1023: line dropped
  mov x0, #-1
  msr cntv_cval_el0, x0       // far future
  mov x0, #1
  msr cntv_ctl_el0, x0
  isb
  mrs x7, cntv_ctl_el0        // ENABLE only
  ldr w8, [x21, #0x18]
  mov x0, #0
  msr cntv_ctl_el0, x0
  mrs x9, cntv_ctl_el0
  mrs x10, cntp_ctl_el0
  mrs x11, cntkctl_el1
  mov x0, #0
  msr cntp_cval_el0, x0
  mov x0, #1
  msr cntp_ctl_el0, x0
  isb
  mov w0, #(1 << 30)
  str w0, [x20, #0x100]       // enable PPI 30
  ldr w12, [x21, #0x18]       // 30
  ldr w13, [x21, #0x0c]       // IAR 30
  ldr w14, [x20, #0x300]      // ISACTIVER0
  str w13, [x21, #0x10]       // EOI with the level still high
  ldr w15, [x21, #0x18]       // pending again: 30
`;

function compare(gic: 2 | 3, snippet: string, count: number) {
  const { bin } = assembleRaw(snippet);
  const q = runOnQemu(bin, gic, count);
  const o = runOnEmu(bin, gic, count);
  const fmt = (v: bigint[]) => Object.fromEntries(v.map((x, i) => [`x${i + 1}`, '0x' + x.toString(16)]));
  expect(fmt(o)).toEqual(fmt(q));
}

describe('UART, RTC and timer: our models read what QEMU 7.2 reads', () => {
  it('PL011 interrupt bits, register read-back, FR; PL031 CR/IMSC/RIS', () => compare(2, UART, 19));
  it('virtual and physical timer status and their level PPIs through GICv2', () => compare(2, TIMER, 15));
});

// The GIC interrupt protocol, register by register, on QEMU 7.2 and on our models: the same
// snippet (SGIs, priorities and preemption, acknowledge/EOI/DIR in both EOI modes, SPIs set
// pending) runs on both with interrupts masked in PSTATE, and every value it read must agree.
import { describe, expect, it } from 'vitest';
import { assembleRaw, runOnEmu, runOnQemu } from '../../helpers/qemu-harness.ts';

const GICV2 = `
  ldr x20, =0x08000000        // GICD
  ldr x21, =0x08010000        // GICC
  mov w0, #1
  str w0, [x20]               // GICD_CTLR
  mov w0, #0xf0
  str w0, [x21, #4]           // GICC_PMR
  mov w0, #1
  str w0, [x21]               // GICC_CTLR
  mov w0, #0x80
  strb w0, [x20, #0x403]      // SGI 3 priority 0x80
  mov w0, #0xa0
  strb w0, [x20, #0x405]      // SGI 5 priority 0xa0
  strb w0, [x20, #0x421]      // SPI 33 priority 0xa0
  ldr w0, =0x02000005         // SGIR: self, SGI 5
  str w0, [x20, #0xf00]
  ldr w1, [x21, #0x18]        // HPPIR
  ldr w2, [x21, #0x0c]        // IAR
  ldr w0, =0x02000003
  str w0, [x20, #0xf00]       // self, SGI 3 (preempts)
  ldr w3, [x21, #0x18]
  ldr w4, [x21, #0x14]        // RPR
  ldr w5, [x21, #0x0c]
  ldr w6, [x21, #0x14]
  ldr w19, [x21, #0xd0]       // APR0
  ldr w22, [x21, #0xd8]       // APR2
  str w5, [x21, #0x10]        // EOIR 3
  ldr w7, [x21, #0x14]
  str w2, [x21, #0x10]        // EOIR 5
  ldr w8, [x21, #0x14]
  ldr w9, [x21, #0x0c]        // nothing pending: 1023
  mov w0, #2
  str w0, [x20, #0x104]       // ISENABLER1: SPI 33
  str w0, [x20, #0x204]       // ISPENDR1
  ldr w10, [x21, #0x18]
  ldr w11, [x20, #0x204]
  ldr w12, [x21, #0x0c]
  ldr w13, [x20, #0x304]      // ISACTIVER1
  str w12, [x21, #0x10]
  ldr w14, [x20, #0x304]
  ldr w0, =0x201
  str w0, [x21]               // EOImode = 1
  ldr w15, [x21]
  mov w0, #2
  str w0, [x20, #0x204]
  ldr w16, [x21, #0x0c]
  str w16, [x21, #0x10]       // priority drop only
  ldr w17, [x20, #0x304]
  ldr w18, [x21, #0x14]
  ldr w0, =0x1000
  add x0, x21, x0
  str w16, [x0]               // DIR
  ldr w23, [x20, #0x304]
  ldr w24, [x20, #0xf20]      // SPENDSGIR0
  ldr w0, =0x00000001
  str w0, [x20, #0xf20]       // SPENDSGIR0: SGI 0 pending from CPU 0
  ldr w25, [x21, #0x0c]
  ldr w26, [x20, #0x200]      // ISPENDR0
`;

const GICV3 = `
  ldr x20, =0x08000000        // GICD
  ldr x21, =0x080a0000        // GICR RD_base
  ldr x22, =0x080b0000        // GICR SGI_base
  mov w0, #0x13
  str w0, [x20]
  str wzr, [x21, #0x14]       // WAKER: wake
  ldr w19, [x21, #0x14]
  mov w0, #-1
  str w0, [x22, #0x80]        // IGROUPR0: Group 1
  ldr w0, =0xffff
  str w0, [x22, #0x100]       // ISENABLER0: SGIs
  mov w0, #0x80
  strb w0, [x22, #0x403]
  mov w0, #0xa0
  strb w0, [x22, #0x405]
  mov w0, #0xf0
  msr s3_0_c4_c6_0, x0        // ICC_PMR_EL1
  mov x0, #1
  msr s3_0_c12_c12_7, x0      // ICC_IGRPEN1_EL1
  isb
  mov x0, #(5 << 24)
  orr x0, x0, #1
  msr s3_0_c12_c11_5, x0      // ICC_SGI1R_EL1: SGI 5 to Aff0 0
  isb
  mrs x1, s3_0_c12_c12_2      // HPPIR1
  mrs x2, s3_0_c12_c12_0      // IAR1
  mov x0, #(3 << 24)
  orr x0, x0, #1
  msr s3_0_c12_c11_5, x0
  isb
  mrs x3, s3_0_c12_c12_2
  mrs x4, s3_0_c12_c11_3      // RPR
  mrs x5, s3_0_c12_c12_0
  mrs x6, s3_0_c12_c11_3
  mrs x7, s3_0_c12_c9_0       // AP1R0
  msr s3_0_c12_c12_1, x5      // EOIR1
  mrs x8, s3_0_c12_c11_3
  msr s3_0_c12_c12_1, x2
  mrs x9, s3_0_c12_c11_3
  mrs x23, s3_0_c12_c12_0     // 1023
  mov w0, #-1
  str w0, [x20, #0x84]        // IGROUPR1
  mov w0, #0xa0
  strb w0, [x20, #0x421]
  mov w0, #2
  str w0, [x20, #0x104]
  str w0, [x20, #0x204]
  isb
  mrs x10, s3_0_c12_c12_2
  ldr w11, [x20, #0x204]
  mrs x12, s3_0_c12_c12_0
  ldr w13, [x20, #0x304]
  msr s3_0_c12_c12_1, x12
  ldr w14, [x20, #0x304]
  mov x0, #2
  msr s3_0_c12_c12_4, x0      // ICC_CTLR_EL1.EOImode
  mrs x15, s3_0_c12_c12_4
  mov w0, #2
  str w0, [x20, #0x204]
  isb
  mrs x16, s3_0_c12_c12_0
  msr s3_0_c12_c12_1, x16
  ldr w17, [x20, #0x304]
  mrs x18, s3_0_c12_c11_3
  msr s3_0_c12_c11_1, x16     // DIR
  isb
  ldr w24, [x20, #0x304]
  ldr w25, [x22, #0x200]      // GICR_ISPENDR0
  mrs x26, s3_0_c12_c8_3      // BPR0
  mrs x27, s3_0_c12_c12_3     // BPR1
`;

function compare(gic: 2 | 3, snippet: string, count: number) {
  const { bin } = assembleRaw(snippet);
  const q = runOnQemu(bin, gic, count);
  const o = runOnEmu(bin, gic, count);
  const fmt = (v: bigint[]) => Object.fromEntries(v.map((x, i) => [`x${i + 1}`, '0x' + x.toString(16)]));
  expect(fmt(o)).toEqual(fmt(q));
}

describe('GIC protocol: our models read what QEMU 7.2 reads', () => {
  it('GICv2: SGIs, preemption, APRs, EOI, SPI pending, EOImode/DIR', () => compare(2, GICV2, 26));
  it('GICv3: SGI1R, preemption, AP1R0, EOIR1, SPI pending, EOImode/DIR', () => compare(3, GICV3, 27));
});

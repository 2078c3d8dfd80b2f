// GICv3 (QEMU arm_gicv3, DS = 1, ARE on): identification, the redistributor walk and WAKER
// handshake, affinity routing, the ICC_* CPU interface, SGIs through ICC_SGI1R_EL1.
import { describe, expect, it } from 'vitest';
import { GicV3 } from '../../../emu/devices/gicv3.ts';
import { ICC, iccRegisterName } from '../../../arch/sysregs.ts';
import { reg, testEnv } from './helpers.ts';

const STRIDE = 0x20000;
const SGI = 0x10000;

function gic(numCpu = 2) {
  const { rec, env } = testEnv();
  const g = new GicV3({
    numCpu,
    env,
    distRegion: reg('gic-dist@8000000', 'gicv3-dist', 0x8000000, 0x10000),
    redistRegion: reg('gic-redist@80a0000', 'gicv3-redist', 0x80a0000, numCpu * STRIDE),
  });
  const dw = (off: number, v: number) => g.dist.write(off, 4, v, 0);
  const dr = (off: number) => g.dist.read(off, 4, 0);
  const rw = (cpu: number, off: number, v: number) => g.redist.write(cpu * STRIDE + off, 4, v, cpu);
  const rr = (cpu: number, off: number) => g.redist.read(cpu * STRIDE + off, 4, cpu);
  const sr = (cpu: number, e: number) => g.readSysreg(cpu, e);
  const sw = (cpu: number, e: number, v: bigint | number) => g.writeSysreg(cpu, e, BigInt(v));
  /** Linux's gic_dist_init, gic_cpu_init (redistributor) and gic_cpu_sys_reg_init. */
  const linuxInit = () => {
    dw(0x0, 0);
    for (let i = 32; i < g.numIrq; i += 32) {
      dw(0x80 + i / 8, 0xffffffff);
      dw(0x180 + i / 8, 0xffffffff);
    }
    for (let i = 32; i < g.numIrq; i += 4) dw(0x400 + i, 0xa0a0a0a0);
    dw(0x0, 0x13);
    for (let i = 32; i < g.numIrq; i++) g.dist.write64!(0x6000 + i * 8, 0n, 0);
    for (let c = 0; c < numCpu; c++) {
      rw(c, 0x14, 0);
      rw(c, SGI + 0x80, 0xffffffff);
      rw(c, SGI + 0x180, 0xffff0000); // PPIs off
      rw(c, SGI + 0x100, 0x0000ffff); // SGIs on
      for (let i = 0; i < 32; i += 4) rw(c, SGI + 0x400 + i, 0xa0a0a0a0);
      sw(c, ICC.PMR_EL1, 0xf0);
      sw(c, ICC.BPR1_EL1, 0);
      sw(c, ICC.CTLR_EL1, 0);
      sw(c, ICC.IGRPEN1_EL1, 1);
    }
  };
  return { g, rec, dw, dr, rw, rr, sr, sw, linuxInit };
}

describe('GICv3 identification', () => {
  it('has the DS/ARE view of GICD_CTLR, QEMU TYPER/IIDR/PIDR2', () => {
    const { dr, dw, g } = gic();
    expect(dr(0x0)).toBe(0x50);
    dw(0x0, 0x13);
    expect(dr(0x0)).toBe(0x53);
    expect(dr(0x4)).toBe(0x37a0007);
    expect(dr(0x8)).toBe(0x43b);
    expect(dr(0xffe8)).toBe(0x3b);
    expect(dr(0xfff0)).toBe(0x0d);
    expect(g.dist.registerName(0x104)).toBe('GICD_ISENABLER1');
  });

  it('logs undecoded offsets as RAZ/WI', () => {
    const { g } = gic();
    g.dist.lastOutcome = 'handled';
    expect(g.dist.read(0x20, 4, 0)).toBe(0);
    expect(g.dist.lastOutcome).toBe('raz_wi');
    g.dist.lastOutcome = 'handled';
    g.dist.read(0x100, 2, 0); // halfword access to a 32-bit-only register
    expect(g.dist.lastOutcome).toBe('raz_wi');
  });

  it('walks redistributors by GICR_TYPER (affinity, processor number, Last) and wakes them', () => {
    const { g, rr, rw } = gic(3);
    const typers = [0, 1, 2].map((c) => g.redist.read64!(c * STRIDE + 8, c));
    expect(typers.map((t) => Number(t >> 32n))).toEqual([0, 1, 2]);
    expect(typers.map((t) => Number((t >> 8n) & 0xffffn))).toEqual([0, 1, 2]);
    expect(typers.map((t) => Number((t >> 4n) & 1n))).toEqual([0, 0, 1]);
    expect(rr(1, 0xc)).toBe(1);
    expect(rr(0, 0x14)).toBe(0x6); // ProcessorSleep | ChildrenAsleep
    rw(0, 0x14, 0);
    expect(rr(0, 0x14)).toBe(0);
    rw(0, 0x14, 0x2);
    expect(rr(0, 0x14)).toBe(0x6);
    expect(rr(0, 0xffe8)).toBe(0x3b);
    expect(g.redist.registerName(STRIDE + SGI + 0x100)).toBe('GICR_ISENABLER0');
  });

  it('reports 5 priority bits and 24-bit IDs in ICC_CTLR_EL1 and masks PMR to them; SRE is RAO/WI', () => {
    const { sr, sw } = gic();
    expect(sr(0, ICC.CTLR_EL1)).toBe(0x8c00n);
    sw(0, ICC.PMR_EL1, 0xff);
    expect(sr(0, ICC.PMR_EL1)).toBe(0xf8n);
    sw(0, ICC.SRE_EL1, 0);
    expect(sr(0, ICC.SRE_EL1)).toBe(7n);
    expect(sr(0, ICC.EOIR1_EL1)).toBeUndefined();
    expect(sw(0, ICC.IAR1_EL1, 0)).toBe(false);
    expect(iccRegisterName(ICC.IAR1_EL1)).toBe('ICC_IAR1_EL1');
  });
});

describe('GICv3 interrupt protocol', () => {
  it('routes an SPI by IROUTER affinity and runs IAR1/EOIR1', () => {
    const { g, dw, sr, sw, linuxInit, rec } = gic();
    linuxInit();
    g.dist.write64!(0x6000 + 33 * 8, 1n, 0); // to CPU1 (Aff0 = 1)
    dw(0x104, 1 << 1);
    g.setLine(33, true);
    expect(g.routedTo(33)).toBe(1);
    expect(g.irqPending(0)).toBe(false);
    expect(g.irqPending(1)).toBe(true);
    expect(sr(1, ICC.HPPIR1_EL1)).toBe(33n);
    expect(sr(1, ICC.IAR1_EL1)).toBe(33n);
    expect(g.isActive(33, 1)).toBe(true);
    expect(sr(1, ICC.RPR_EL1)).toBe(0xa0n);
    expect(g.irqPending(1)).toBe(false);
    g.setLine(33, false);
    sw(1, ICC.EOIR1_EL1, 33);
    expect(g.isActive(33, 1)).toBe(false);
    expect(sr(1, ICC.RPR_EL1)).toBe(0xffn);
    expect(rec.of('irq_ack').map((e) => [e.vcpu, e.intid, e.via])).toEqual([[1, 33, 'icc_sysreg']]);
    expect(rec.of('irq_deactivate').map((e) => e.intid)).toEqual([33]);
  });

  it('leaves an SPI routed to an absent affinity undelivered', () => {
    const { g, dw, linuxInit } = gic();
    linuxInit();
    g.dist.write64!(0x6000 + 40 * 8, 0x0100n, 0); // Aff1 = 1: nobody
    dw(0x104, 1 << 8);
    g.setLine(40, true);
    expect(g.routedTo(40)).toBe(-1);
    expect(g.irqPending(0) || g.irqPending(1)).toBe(false);
  });

  it('needs IGRPEN1 and the distributor group enable', () => {
    const { g, dw, sw, rw, linuxInit } = gic();
    linuxInit();
    rw(0, SGI + 0x100, 1 << 27);
    sw(0, ICC.IGRPEN1_EL1, 0);
    g.setLine(27, true, 0);
    expect(g.irqPending(0)).toBe(false);
    sw(0, ICC.IGRPEN1_EL1, 1);
    expect(g.irqPending(0)).toBe(true);
    dw(0x0, 0x11); // Group 1 disabled at the distributor
    expect(g.irqPending(0)).toBe(false);
  });

  it('splits priority drop and deactivation with ICC_CTLR_EL1.EOImode', () => {
    const { g, rw, sr, sw, linuxInit } = gic();
    linuxInit();
    sw(0, ICC.CTLR_EL1, 2);
    rw(0, SGI + 0x100, 1 << 27);
    g.setLine(27, true, 0);
    expect(sr(0, ICC.IAR1_EL1)).toBe(27n);
    sw(0, ICC.EOIR1_EL1, 27);
    expect(g.isActive(27, 0)).toBe(true);
    expect(sr(0, ICC.RPR_EL1)).toBe(0xffn);
    expect(g.irqPending(0)).toBe(false); // still active
    sw(0, ICC.DIR_EL1, 27);
    expect(g.isActive(27, 0)).toBe(false);
    expect(g.irqPending(0)).toBe(true); // level still high
  });

  it('preempts only with a higher group priority and records EOIs', () => {
    const { g, rw, sr, sw, linuxInit, rec } = gic();
    linuxInit();
    rw(0, SGI + 0x100, (1 << 27) | (1 << 30));
    rw(0, SGI + 0x418, 0x80a0a0a0); // INTID 27 = 0x80 (bytes 24..27)
    rw(0, SGI + 0x41c, 0xa0a0c0a0); // INTID 29 = 0xc0, 30 = 0xa0
    g.setLine(30, true, 0);
    expect(sr(0, ICC.IAR1_EL1)).toBe(30n);
    g.setLine(27, true, 0);
    expect(g.irqPending(0)).toBe(true);
    expect(sr(0, ICC.IAR1_EL1)).toBe(27n);
    expect(sr(0, ICC.AP1R0_EL1)).toBe(BigInt((1 << (0xa0 >> 3)) | (1 << (0x80 >> 3))));
    sw(0, ICC.EOIR1_EL1, 27);
    expect(sr(0, ICC.RPR_EL1)).toBe(0xa0n);
    sw(0, ICC.EOIR1_EL1, 30);
    expect(rec.of('irq_eoi').map((e) => e.intid)).toEqual([27, 30]);
  });

  it('sends SGIs with ICC_SGI1R_EL1 to a target list or to all but self (IRM)', () => {
    const { g, sr, sw, linuxInit } = gic(3);
    linuxInit();
    sw(0, ICC.SGI1R_EL1, (1n << 24n) | 0b100n); // SGI 1 to Aff0 = 2
    expect([0, 1, 2].map((c) => g.irqPending(c))).toEqual([false, false, true]);
    expect(sr(2, ICC.IAR1_EL1)).toBe(1n);
    sw(2, ICC.EOIR1_EL1, 1);
    sw(1, ICC.SGI1R_EL1, (1n << 40n) | (2n << 24n)); // IRM: everyone but CPU1
    expect([0, 1, 2].map((c) => g.irqPending(c))).toEqual([true, false, true]);
    expect(sr(0, ICC.IAR1_EL1)).toBe(2n);
    sw(0, ICC.SGI1R_EL1, (3n << 24n) | (1n << 16n) | 1n); // Aff1 = 1: nobody
    expect(g.irqPending(1)).toBe(false);
  });

  it('does not pend a Group 0 SGI from SGI1R, and signals Group 0 as FIQ', () => {
    const { g, rw, sr, sw, linuxInit } = gic();
    linuxInit();
    rw(1, SGI + 0x80, 0xfffffffe); // SGI 0 is Group 0 on CPU1
    sw(0, ICC.SGI1R_EL1, 0b10n);
    expect(g.irqPending(1)).toBe(false);
    dw0(g);
    sw(1, ICC.IGRPEN0_EL1, 1);
    sw(0, ICC.SGI0R_EL1, 0b10n);
    expect(g.fiqPending(1)).toBe(true);
    expect(sr(1, ICC.IAR1_EL1)).toBe(1023n);
    expect(sr(1, ICC.IAR0_EL1)).toBe(0n);
  });
});

function dw0(g: GicV3) {
  g.dist.write(0, 4, 0x13, 0); // EnableGrp0 | EnableGrp1
}

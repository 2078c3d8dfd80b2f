// GICv2 (QEMU arm_gic behaviour): identification, targets, the Linux bring-up sequence,
// acknowledge/EOI/DIR with both EOI modes, priorities and preemption, SGIs with target filters.
import { describe, expect, it } from 'vitest';
import { GicV2 } from '../../../emu/devices/gicv2.ts';
import { reg, testEnv } from './helpers.ts';

const D = {
  CTLR: 0x0,
  TYPER: 0x4,
  IIDR: 0x8,
  IGROUPR: 0x80,
  ISENABLER: 0x100,
  ICENABLER: 0x180,
  ISPENDR: 0x200,
  ICPENDR: 0x280,
  ISACTIVER: 0x300,
  IPRIORITYR: 0x400,
  ITARGETSR: 0x800,
  ICFGR: 0xc00,
  SGIR: 0xf00,
  PIDR2: 0xfe8,
};
const C = { CTLR: 0x0, PMR: 0x4, BPR: 0x8, IAR: 0xc, EOIR: 0x10, RPR: 0x14, HPPIR: 0x18, APR0: 0xd0, IIDR: 0xfc, DIR: 0x1000 };

function gic(numCpu = 1, uniprocessorTargets?: 'raz_wi' | 'kvm' | 'xen') {
  const { rec, env } = testEnv();
  const g = new GicV2({
    numCpu,
    env,
    ...(uniprocessorTargets ? { uniprocessorTargets } : {}),
    distRegion: reg('gic-dist@8000000', 'gicv2-dist', 0x8000000, 0x10000),
    cpuRegion: reg('gic-cpu@8010000', 'gicv2-cpu', 0x8010000, 0x10000),
  });
  const signals: [number, boolean][] = [];
  g.onSignal = (cpu, irq) => signals.push([cpu, irq]);
  const dw = (off: number, v: number, cpu = 0) => g.dist.write(off, 4, v, cpu);
  const dr = (off: number, cpu = 0, size = 4) => g.dist.read(off, size, cpu);
  const cw = (off: number, v: number, cpu = 0) => g.cpu.write(off, 4, v, cpu);
  const cr = (off: number, cpu = 0) => g.cpu.read(off, 4, cpu);
  /** Linux's gic_dist_init + gic_cpu_init for every CPU. */
  const linuxInit = () => {
    dw(D.CTLR, 0);
    for (let i = 32; i < g.numIrq; i += 4) dw(D.IPRIORITYR + i, 0xa0a0a0a0);
    for (let i = 32; i < g.numIrq; i += 32) dw(D.ICENABLER + i / 8, 0xffffffff);
    dw(D.CTLR, 1);
    for (let c = 0; c < numCpu; c++) {
      for (let i = 0; i < 32; i += 4) dw(D.IPRIORITYR + i, 0xa0a0a0a0, c);
      cw(C.PMR, 0xf0, c);
      cw(C.CTLR, 1, c);
    }
  };
  return { g, rec, signals, dw, dr, cw, cr, linuxInit };
}

describe('GICv2 identification and configuration', () => {
  it('reports 288 INTIDs, the CPU count, IIDR and PIDR2 as QEMU does', () => {
    expect(gic(1).dr(D.TYPER)).toBe(8);
    expect(gic(2).dr(D.TYPER)).toBe(8 | (1 << 5));
    const { dr, cr, g } = gic();
    expect(dr(D.IIDR)).toBe(0x43b);
    expect(dr(D.PIDR2)).toBe(0x2b);
    expect(cr(C.IIDR)).toBe(0x2043b);
    expect(g.dist.registerName(0x104)).toBe('GICD_ISENABLER1');
    expect(g.cpu.registerName(0x1000)).toBe('GICC_DIR');
  });

  it('makes ITARGETSR RAZ/WI with one CPU and banks SGI/PPI targets with two', () => {
    const one = gic(1);
    one.dw(D.ITARGETSR + 32, 0x02020202);
    expect(one.dr(D.ITARGETSR + 32)).toBe(0);
    expect(one.dr(D.ITARGETSR)).toBe(0);
    const two = gic(2);
    expect(two.dr(D.ITARGETSR, 0)).toBe(0x01010101);
    expect(two.dr(D.ITARGETSR, 1)).toBe(0x02020202);
    expect(two.dr(D.ITARGETSR + 32)).toBe(0); // SPIs reset to no target on an SMP GIC
    two.dw(D.ITARGETSR + 32, 0x00000302);
    expect(two.dr(D.ITARGETSR + 32)).toBe(0x0302);
  });

  it("with one CPU as KVM's vgic-v2: ITARGETSR reads 0x01 per byte and keeps only the CPU0 bit; delivery stays on CPU0", () => {
    const g = gic(1, 'kvm');
    expect(g.dr(D.ITARGETSR)).toBe(0x01010101);
    expect(g.dr(D.ITARGETSR + 32)).toBe(0x01010101);
    g.dw(D.ITARGETSR + 32, 0x03020100);
    expect(g.dr(D.ITARGETSR + 32)).toBe(0x01000100);
    g.dw(D.ITARGETSR, 0);
    expect(g.dr(D.ITARGETSR)).toBe(0x01010101); // SGI/PPI targets are read-only
    g.linuxInit();
    g.dw(D.ITARGETSR + 40, 0);
    g.dw(D.ISENABLER + 4, 1 << 8); // INTID 40
    g.g.setLine(40, true);
    expect(g.signals).toContainEqual([0, true]);
    expect(g.cr(C.IAR)).toBe(40);
  });

  it("with one CPU as Xen's vgic: ITARGETSR reads 0x01 per byte and a write naming no vCPU is ignored", () => {
    const g = gic(1, 'xen');
    g.dw(D.ITARGETSR + 32, 0);
    expect(g.dr(D.ITARGETSR + 32)).toBe(0x01010101);
  });

  it('keeps SGIs enabled and edge-triggered; ICFGR of SPIs is writable', () => {
    const { dw, dr } = gic();
    expect(dr(D.ISENABLER) & 0xffff).toBe(0xffff);
    dw(D.ICENABLER, 0xffffffff);
    expect(dr(D.ISENABLER) & 0xffff).toBe(0xffff);
    expect(dr(D.ICFGR)).toBe(0xaaaaaaaa);
    dw(D.ICFGR + 8, 0x8);
    expect(dr(D.ICFGR + 8)).toBe(0x8);
  });

  it('stores 8 priority bits per INTID, byte-accessible', () => {
    const { g, dr } = gic();
    g.dist.write(D.IPRIORITYR + 33, 1, 0x5a, 0);
    expect(dr(D.IPRIORITYR + 32)).toBe(0x5a00);
    expect(dr(D.IPRIORITYR + 33, 0, 1)).toBe(0x5a);
  });
});

describe('GICv2 interrupt protocol', () => {
  it('delivers a level SPI, acknowledges, keeps it active until EOI, and re-pends while the line is high', () => {
    const { g, dw, cr, cw, rec, linuxInit } = gic();
    linuxInit();
    dw(D.ISENABLER + 4, 1 << 1); // INTID 33
    expect(g.irqPending(0)).toBe(false);
    g.setLine(33, true);
    expect(g.irqPending(0)).toBe(true);
    expect(cr(C.HPPIR)).toBe(33);
    expect(cr(C.IAR)).toBe(33);
    expect(g.isActive(33, 0)).toBe(true);
    expect(g.irqPending(0)).toBe(false); // active: not signalled again
    expect(cr(C.RPR)).toBe(0xa0);
    expect(cr(C.IAR)).toBe(1023);
    cw(C.EOIR, 33);
    expect(g.isActive(33, 0)).toBe(false);
    expect(g.irqPending(0)).toBe(true); // line still high: pending again (the storm case)
    g.setLine(33, false);
    expect(g.irqPending(0)).toBe(false);
    expect(cr(C.RPR)).toBe(0xff);
    expect(rec.of('irq_ack').map((e) => [e.intid, e.via])).toEqual([
      [33, 'gicc_mmio'],
      [1023, 'gicc_mmio'],
    ]);
    expect(rec.of('irq_eoi').map((e) => e.intid)).toEqual([33]);
    expect(rec.of('irq_deactivate').map((e) => e.intid)).toEqual([33]);
  });

  it('latches edge-triggered interrupts', () => {
    const { g, dw, cr, linuxInit } = gic();
    linuxInit();
    dw(D.ICFGR + 8, 0x2 << 2); // INTID 33 edge
    dw(D.ISENABLER + 4, 1 << 1);
    g.setLine(33, true);
    g.setLine(33, false);
    expect(g.irqPending(0)).toBe(true);
    expect(cr(C.IAR)).toBe(33);
    expect(g.isPending(33, 0)).toBe(false);
  });

  it('splits priority drop and deactivation with EOImode = 1; DIR is ignored with EOImode = 0', () => {
    const { g, dw, cr, cw, linuxInit, rec } = gic();
    linuxInit();
    dw(D.ISENABLER + 4, 1 << 1);
    g.setLine(33, true);
    expect(cr(C.IAR)).toBe(33);
    cw(C.DIR, 33); // EOImode 0: ignored
    expect(g.isActive(33, 0)).toBe(true);
    cw(C.EOIR, 33);
    expect(g.isActive(33, 0)).toBe(false);
    g.setLine(33, false);
    cw(C.CTLR, 0x201); // EOImodeNS as Linux writes it
    expect(cr(C.CTLR)).toBe(0x201);
    g.setLine(33, true);
    expect(cr(C.IAR)).toBe(33);
    cw(C.EOIR, 33);
    expect(g.isActive(33, 0)).toBe(true); // priority dropped only
    expect(cr(C.RPR)).toBe(0xff);
    expect(g.irqPending(0)).toBe(false);
    cw(C.DIR, 33);
    expect(g.isActive(33, 0)).toBe(false);
    expect(rec.of('irq_deactivate').map((e) => e.intid)).toEqual([33, 33, 33]); // DIR(ignored), EOI, DIR
  });

  it('ignores EOIs of spurious INTIDs and EOIs with nothing active', () => {
    const { g, cw, cr, linuxInit } = gic();
    linuxInit();
    cw(C.EOIR, 1023);
    cw(C.EOIR, 40);
    expect(cr(C.RPR)).toBe(0xff);
    expect(g.irqPending(0)).toBe(false);
  });

  it('masks with PMR (0 at reset masks everything) and preempts only with a higher group priority', () => {
    const { g, dw, cr, cw } = gic();
    dw(D.CTLR, 1);
    cw(C.CTLR, 1);
    dw(D.ISENABLER + 4, 0b1110); // 33, 34, 35
    dw(D.IPRIORITYR + 32, 0xc0_80_a0_00); // 33=a0 34=80 35=c0
    g.setLine(33, true);
    expect(g.irqPending(0)).toBe(false); // PMR = 0
    expect(cr(C.HPPIR)).toBe(1023);
    cw(C.PMR, 0xf0);
    expect(g.irqPending(0)).toBe(true);
    expect(cr(C.IAR)).toBe(33);
    g.setLine(35, true); // lower priority: no preemption
    expect(g.irqPending(0)).toBe(false);
    expect(cr(C.HPPIR)).toBe(35);
    g.setLine(34, true); // higher priority preempts
    expect(g.irqPending(0)).toBe(true);
    expect(cr(C.IAR)).toBe(34);
    expect(cr(C.RPR)).toBe(0x80);
    expect(cr(C.APR0 + 8)).toBe((1 << 16) | (1 << 0)); // preemption levels 0xa0>>1 = 80 and 0x80>>1 = 64 in APR2
    cw(C.EOIR, 34); // drops to 0xa0
    expect(cr(C.RPR)).toBe(0xa0);
    g.setLine(34, false);
    cw(C.EOIR, 33);
    expect(cr(C.RPR)).toBe(0xff);
    g.setLine(33, false);
    expect(cr(C.IAR)).toBe(35);
  });

  it('sends SGIs to a target list, to others and to self, with the source CPU in IAR', () => {
    const { g, dw, cr, cw, linuxInit } = gic(2);
    linuxInit();
    dw(D.SGIR, (0 << 24) | (0b10 << 16) | 3, 0); // list: CPU1, SGI 3 from CPU0
    expect(g.irqPending(1)).toBe(true);
    expect(g.irqPending(0)).toBe(false);
    expect(cr(C.IAR, 1)).toBe(3 | (0 << 10));
    cw(C.EOIR, 3, 1);
    dw(D.SGIR, (1 << 24) | 5, 1); // others, from CPU1
    expect(g.irqPending(0)).toBe(true);
    expect(g.irqPending(1)).toBe(false);
    expect(cr(C.IAR, 0)).toBe(5 | (1 << 10));
    cw(C.EOIR, 5 | (1 << 10), 0);
    dw(D.SGIR, (2 << 24) | 7, 1); // self
    expect(g.irqPending(1)).toBe(true);
    expect(cr(C.IAR, 1)).toBe(7 | (1 << 10));
  });

  it('banks PPIs per CPU', () => {
    const { g, dw, cr, linuxInit } = gic(2);
    linuxInit();
    dw(D.ISENABLER, 1 << 27, 1); // enable PPI 27 on CPU1 only
    g.setLine(27, true, 0);
    expect(g.irqPending(0)).toBe(false);
    g.setLine(27, true, 1);
    expect(g.irqPending(1)).toBe(true);
    expect(cr(C.IAR, 1)).toBe(27);
  });

  it('routes SPIs only to their targets on an SMP GIC', () => {
    const { g, dw, cr, linuxInit } = gic(2);
    linuxInit();
    dw(D.ISENABLER + 4, 1 << 1);
    g.setLine(33, true);
    expect(g.irqPending(0) || g.irqPending(1)).toBe(false); // no target yet
    dw(D.ITARGETSR + 32, 0x0200);
    expect(g.irqPending(1)).toBe(true);
    expect(cr(C.IAR, 1)).toBe(33);
  });
});

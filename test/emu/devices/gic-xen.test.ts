// The xen machine's GICs with Xen 4.17's register interface (gicv3-xen.ts, gicv2-xen.ts): what a
// domU reads and what its writes do, Xen's RAZ/WI and ignored-write cases, the accesses Xen turns
// into a data abort, and that Linux's initialisation still gets interrupts delivered (every
// interrupt Group 1 on v3 though IGROUPR is RAZ/WI). The reset values are also compared with real
// Xen by test/real/xen-oracle.test.ts (guests/xenprobe).
import { describe, expect, it } from 'vitest';
import { GicV2 } from '../../../emu/devices/gicv2.ts';
import { GicV3 } from '../../../emu/devices/gicv3.ts';
import { ICC } from '../../../arch/sysregs.ts';
import type { MmioDevice } from '../../../emu/types.ts';
import { reg, testEnv } from './helpers.ts';

const STRIDE = 0x20000;
const SGI = 0x10000;

/** The outcome of the access just made (a call, so TypeScript does not narrow the field). */
const aborted = (dev: MmioDevice): boolean => dev.lastOutcome === 'abort';

function v3(numCpu = 2, numSpis = 224) {
  const { env } = testEnv();
  const g = new GicV3({
    numCpu,
    numSpis,
    env,
    registers: 'xen',
    affinity: (c) => ((c >> 4) << 8) | (c & 15),
    distRegion: reg('gicv3-dist@3001000', 'gicv3-dist', 0x3001000, 0x10000),
    redistRegion: reg('gicv3-redist@3020000', 'gicv3-redist', 0x3020000, numCpu * STRIDE),
  });
  /** An access and its outcome: the value, or 'abort'. */
  const d = (off: number, size = 4, cpu = 0): number | 'abort' => {
    g.dist.lastOutcome = 'handled';
    const v = size === 8 ? Number(g.dist.read64!(off, cpu)) : g.dist.read(off, size, cpu);
    return aborted(g.dist) ? 'abort' : v;
  };
  const dw = (off: number, v: number, size = 4, cpu = 0): 'ok' | 'abort' => {
    g.dist.lastOutcome = 'handled';
    if (size === 8) g.dist.write64!(off, BigInt(v), cpu);
    else g.dist.write(off, size, v, cpu);
    return aborted(g.dist) ? 'abort' : 'ok';
  };
  const r = (cpu: number, off: number, size = 4): bigint | 'abort' => {
    g.redist.lastOutcome = 'handled';
    const v = size === 8 ? g.redist.read64!(cpu * STRIDE + off, 0) : BigInt(g.redist.read(cpu * STRIDE + off, size, 0));
    return aborted(g.redist) ? 'abort' : v;
  };
  const rw = (cpu: number, off: number, v: number, size = 4): 'ok' | 'abort' => {
    g.redist.lastOutcome = 'handled';
    if (size === 8) g.redist.write64!(cpu * STRIDE + off, BigInt(v), 0);
    else g.redist.write(cpu * STRIDE + off, size, v, 0);
    return aborted(g.redist) ? 'abort' : 'ok';
  };
  return { g, d, dw, r, rw };
}

describe("GICv3 as Xen 4.17's vgic-v3 shows it to a domU", () => {
  it('identification: 10 ID bits, no LPIs, SPIs / 32, IIDR 0x34c, PIDR2 0x30, the rest RAZ', () => {
    const { d, r } = v3(2, 224);
    expect(d(0x0)).toBe(0x10); // ARE_NS
    expect(d(0x4)).toBe(0x00480027); // IDbits 9, CPUNumber 1, ITLinesNumber 7
    expect(d(0x8)).toBe(0x34c);
    expect(d(0xffe8)).toBe(0x30);
    for (const off of [0xc, 0x10, 0xffd0, 0xffe0, 0xfff0, 0xfffc]) expect(d(off)).toBe(0);
    expect(v3(1, 0).d(0x4)).toBe(0x00480000); // an xl domU without devices: no SPIs
    expect(v3(1, 32).d(0x4)).toBe(0x00480001); // with the vpl011's SPI
    expect(v3(12, 32).d(0x4)).toBe(0x004800e1); // CPUNumber saturates at 8
    expect(r(0, 0x8, 8)).toBe(0n); // vCPU 0 of 2: affinity 0, processor 0, not Last, no PLPIS
    expect(r(1, 0x8, 8)).toBe(0x0000000100000110n);
    expect(r(1, 0xc)).toBe(1n); // the upper half as a word
    expect(r(0, 0x0)).toBe(0n); // GICR_CTLR: no ITS
    expect(r(0, 0x4)).toBe(0x34cn);
    expect(r(0, 0x14)).toBe(0n); // WAKER: no power management
    expect(r(0, 0xffe8)).toBe(0x30n);
    expect(r(0, 0x40)).toBe(0xdeadbeafn); // SETLPIR: write-only
    expect(r(0, 0x40, 8)).toBe(0xdeadbeafdeadbeafn);
    expect(r(0, 0xc0)).toBe(1n); // SYNCR
    expect(r(2, 0x8, 8)).toBe('abort'); // no third redistributor
  });

  it('only EnableGrp1A is writable in GICD_CTLR; RWP is never set', () => {
    const { d, dw } = v3();
    expect(dw(0x0, 0x80000013)).toBe('ok');
    expect(d(0x0)).toBe(0x12);
    dw(0x0, 0);
    expect(d(0x0)).toBe(0x10);
  });

  it('RAZ/WI and ignored writes: groups, pending and active state, WAKER, ICFGR0', () => {
    const { d, dw, r, rw } = v3();
    expect(dw(0x84, 0xffffffff)).toBe('ok');
    expect(d(0x84)).toBe(0); // IGROUPR1
    expect(dw(0x204, 0x1)).toBe('ok'); // ISPENDR1: makes SPI 32 pending…
    expect(d(0x204)).toBe(0); // …but pending state does not read back
    expect(dw(0x384, 0xffffffff)).toBe('ok'); // ICACTIVER1: ignored
    expect(dw(0x304, 0x1)).toBe('abort'); // ISACTIVER1: not handled
    expect(d(0x284)).toBe('abort'); // ICPENDR1: only ICPENDR0 is a handled read
    expect(d(0x280)).toBe(0);
    expect(rw(0, 0x14, 2)).toBe('ok');
    expect(r(0, 0x14)).toBe(0n);
    expect(rw(0, SGI + 0xc00, 0xaaaaaaaa)).toBe('ok'); // ICFGR0: ignored
    expect(r(0, SGI + 0xc00)).toBe(0n);
    expect(rw(0, SGI + 0xc04, 0x55)).toBe('ok'); // ICFGR1: read back as written
    expect(r(0, SGI + 0xc04)).toBe(0x55n);
    expect(dw(0xc08, 0x3)).toBe('ok');
    expect(d(0xc08)).toBe(0x3);
    expect(rw(0, SGI + 0x300, 1)).toBe('abort'); // GICR ISACTIVER0
  });

  it('access widths: word-only registers abort other widths, IPRIORITYR takes bytes, IROUTER 32 or 64 bits', () => {
    const { d, dw, r, rw } = v3();
    expect(d(0x0, 1)).toBe('abort');
    expect(d(0x4, 8)).toBe('abort');
    expect(dw(0x104, 1, 2)).toBe('abort');
    expect(dw(0x421, 0xa0, 1)).toBe('ok');
    expect(d(0x420)).toBe(0xa000);
    expect(d(0x421, 1)).toBe(0xa0);
    expect(d(0x420, 2)).toBe('abort');
    expect(d(0x6100, 2)).toBe('abort');
    expect(d(0xc, 1)).toBe(0); // reserved: any width
    expect(r(0, 0x0, 8)).toBe('abort');
    expect(r(0, 0x8)).toBe(0n);
    expect(r(0, 0x8, 2)).toBe('abort');
    // 4.17 aborts 32- and 64-bit writes to the 64-bit registers it does not implement
    expect(rw(0, 0x70, 0, 8)).toBe('abort'); // PROPBASER
    expect(rw(0, 0x8, 0)).toBe('abort'); // TYPER
    expect(rw(0, 0x8, 0, 1)).toBe('ok');
  });

  it('IROUTER names one vCPU: 1-of-N goes to vCPU 0, an unknown affinity leaves the route', () => {
    const { d, dw, g } = v3(2);
    expect(d(0x6100, 8)).toBe(0);
    dw(0x6100, 1, 8);
    expect(g.routedTo(32)).toBe(1);
    expect(d(0x6100, 8)).toBe(1);
    dw(0x6100, 5, 8); // vCPU 5 does not exist
    expect(g.routedTo(32)).toBe(1);
    dw(0x6100, 0x80000001, 8); // Interrupt_Routing_Mode
    expect(g.routedTo(32)).toBe(0);
    expect(d(0x6100, 8)).toBe(0);
    expect(d(0x6000 + 8 * 256, 8)).toBe(0); // beyond the domain's SPIs: RAZ
  });

  it("GICD's private words reach the calling vCPU's redistributor state", () => {
    const { d, dw, r } = v3(2);
    dw(0x100, 1 << 27, 4, 1); // ISENABLER0 from vCPU 1
    expect(r(1, SGI + 0x100)).toBe(BigInt(1 << 27));
    expect(r(0, SGI + 0x100)).toBe(0n);
    expect(d(0x100, 4, 1)).toBe(1 << 27);
    dw(0x418, 0x80808080, 4, 0); // IPRIORITYR6 (INTIDs 24-27) from vCPU 0
    expect(r(0, SGI + 0x418)).toBe(0x80808080n);
  });

  it("Linux's initialisation: a PPI and an SPI are delivered (Group 1, though IGROUPR is RAZ/WI)", () => {
    const { g, dw, rw } = v3(2);
    dw(0x0, 0x12);
    dw(0x84, 0xffffffff); // IGROUPR1: ignored
    dw(0x420, 0xa0a0a0a0);
    dw(0x104, 1); // SPI 32
    rw(0, 0x14, 0);
    rw(0, SGI + 0x80, 0xffffffff);
    rw(0, SGI + 0x100, 1 << 27); // the virtual timer PPI
    rw(0, SGI + 0x418, 0xa0a0a0a0);
    g.writeSysreg(0, ICC.PMR_EL1, 0xf0n);
    g.writeSysreg(0, ICC.IGRPEN1_EL1, 1n);
    g.setLine(27, true, 0);
    expect(g.irqPending(0)).toBe(true);
    expect(Number(g.readSysreg(0, ICC.IAR1_EL1)! & 0xffffffn)).toBe(27);
    g.writeSysreg(0, ICC.EOIR1_EL1, 27n);
    g.setLine(27, false, 0);
    g.setLine(32, true);
    expect(Number(g.readSysreg(0, ICC.IAR1_EL1)! & 0xffffffn)).toBe(32);
  });
});

function v2(numCpu = 1, numSpis = 256) {
  const { env } = testEnv();
  const g = new GicV2({
    numCpu,
    numSpis,
    env,
    registers: 'xen',
    distRegion: reg('gicv2-dist@3001000', 'gicv2-dist', 0x3001000, 0x1000),
    cpuRegion: reg('gicv2-cpu@3002000', 'gicv2-cpu', 0x3002000, 0x2000),
  });
  const d = (off: number, size = 4, cpu = 0): number | 'abort' => {
    g.dist.lastOutcome = 'handled';
    const v = g.dist.read(off, size, cpu);
    return aborted(g.dist) ? 'abort' : v;
  };
  const dw = (off: number, v: number, size = 4, cpu = 0): 'ok' | 'abort' => {
    g.dist.lastOutcome = 'handled';
    g.dist.write(off, size, v, cpu);
    return aborted(g.dist) ? 'abort' : 'ok';
  };
  const c = (off: number, cpu = 0) => g.cpu.read(off, 4, cpu);
  return { g, d, dw, c };
}

describe("GICv2 as Xen 4.17's vgic-v2 shows it (and the virtual CPU interface behind GICC)", () => {
  it('identification and the reset state Xen gives a domU', () => {
    const { d, c } = v2(1, 256);
    expect(d(0x0)).toBe(0);
    expect(d(0x4)).toBe(0x8); // 1 vCPU, 256 SPIs
    expect(v2(2, 32).d(0x4)).toBe(0x21);
    expect(d(0x8)).toBe(0x43b);
    expect(d(0x100)).toBe(0); // SGIs start disabled
    expect(d(0x800)).toBe(0x01010101); // SGI/PPI targets: the calling vCPU
    expect(d(0x820)).toBe(0x01010101); // SPIs: vCPU 0
    expect(d(0xc00)).toBe(0); // ICFGR0 as written (never)
    expect(d(0xf00)).toBe(0xdeadbeef); // GICD_SGIR: write-only
    expect(d(0xfe8)).toBe('abort'); // ICPIDR2: an unhandled read
    expect(d(0xfe0)).toBe(0);
    expect(c(0x8)).toBe(2); // GICV_BPR: the virtual interface's minimum
    expect(c(0x1c)).toBe(3); // GICV_ABPR
  });

  it('writes: Enable only, SGIs enabled by the guest, targets to one vCPU, fixed ICFGR0/1, aborts', () => {
    const { d, dw } = v2(2, 32);
    dw(0x0, 3);
    expect(d(0x0)).toBe(1);
    dw(0x100, 0xffff);
    expect(d(0x100)).toBe(0xffff);
    expect(d(0x800, 4, 1)).toBe(0x02020202); // vCPU 1 reads its own SGI/PPI targets
    expect(dw(0x800, 0x02020202)).toBe('ok'); // read-only: ignored
    expect(dw(0x800, 0x02, 1)).toBe('abort'); // … and only as a word
    dw(0x820, 0x03020100); // SPI 32 → none (ignored), 33 → vCPU 0, 34 → vCPU 1, 35 → vCPUs 0 and 1 → 0
    expect(d(0x820)).toBe(0x01020101);
    dw(0xc04, 0xffffffff);
    expect(d(0xc04)).toBe(0); // PPIs are not programmable
    dw(0xc08, 0x2);
    expect(d(0xc08)).toBe(0x2);
    expect(dw(0x300, 0)).toBe('ok'); // ISACTIVER: 0 is fine
    expect(dw(0x300, 1)).toBe('abort');
    expect(dw(0xf10, 1, 1)).toBe('abort'); // CPENDSGIR
    expect(dw(0xff0, 0)).toBe('abort'); // an identification register: an unhandled write
    expect(dw(0x80, 0xffffffff)).toBe('ok');
    expect(d(0x80)).toBe(0);
    expect(d(0x80, 1)).toBe('abort');
  });
});

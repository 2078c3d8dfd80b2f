// The GICv3 ITS as KVM's vgic-its presents it, driven the way Linux's irq-gic-v3-its.c drives it:
// identification, table and queue set-up, the commands, MSI translation into LPIs through the CPU
// interface, and bad commands and addresses (ignored and recorded, never a host error).
import { describe, expect, it } from 'vitest';
import { GicV3 } from '../../../emu/devices/gicv3.ts';
import { GicV3Its, ITS_IIDR } from '../../../emu/devices/gicv3-its.ts';
import { ICC } from '../../../arch/sysregs.ts';
import { reg, testEnv } from './helpers.ts';

const STRIDE = 0x20000;
const SGI = 0x10000;
const RAM = 0x4000_0000;
const RAM_SIZE = 0x80_0000; // 8 MiB
const PROP = RAM + 0x10_0000;
const PEND = [RAM + 0x20_0000, RAM + 0x21_0000];
const DEVT = RAM + 0x30_0000;
const COLLT = RAM + 0x40_0000;
const CMDQ = RAM + 0x50_0000;
const ITT = RAM + 0x60_0000;

const VALID = 1n << 63n;
const RAWAWB_INNER = 7n << 59n;
const INNER_SH = 1n << 10n;

function machine(opts: { indirect?: boolean } = {}) {
  const { rec, env } = testEnv();
  const mem = new Uint8Array(RAM_SIZE);
  const memory = { mem, memOffset: (pa: number) => (pa >= RAM && pa < RAM + RAM_SIZE ? pa - RAM : -1) };
  const g = new GicV3({
    numCpu: 2,
    env,
    lpis: true,
    distRegion: reg('gicv3-dist@8000000', 'gicv3-dist', 0x8000000, 0x10000),
    redistRegion: reg('gicv3-redist@80a0000', 'gicv3-redist', 0x80a0000, 2 * STRIDE),
  });
  const its = new GicV3Its({ region: reg('gicv3-its@8080000', 'gicv3-its', 0x8080000, 0x20000), gic: g, memory, env });
  const dv = new DataView(mem.buffer);
  const r64 = (pa: number) => dv.getBigUint64(pa - RAM, true);
  const w64 = (pa: number, v: bigint) => dv.setBigUint64(pa - RAM, v, true);
  let cmdOff = 0;
  /** Queue commands (4 doublewords each) and advance GITS_CWRITER past them. */
  const cmds = (...list: bigint[][]) => {
    for (const c of list) {
      c.forEach((d, i) => w64(CMDQ + cmdOff + i * 8, d));
      cmdOff = (cmdOff + 32) % 0x10000;
    }
    its.write64(0x88, BigInt(cmdOff), 0);
  };
  /** Linux's GIC and ITS bring-up: distributor, redistributors with LPIs, ITS tables, queue, enable. */
  const bringUp = () => {
    g.dist.write(0x0, 4, 0x13, 0);
    for (let c = 0; c < 2; c++) {
      g.redist.write(c * STRIDE + 0x14, 4, 0, c);
      g.redist.write64!(c * STRIDE + 0x70, BigInt(PROP) | (RAWAWB_INNER >> 52n) | INNER_SH | 15n, c);
      g.redist.write64!(c * STRIDE + 0x78, BigInt(PEND[c]!) | INNER_SH, c);
      g.redist.write(c * STRIDE + 0x0, 4, 1, c); // EnableLPIs
      g.writeSysreg(c, ICC.PMR_EL1, 0xf0n);
      g.writeSysreg(c, ICC.IGRPEN1_EL1, 1n);
    }
    const devBaser =
      BigInt(DEVT) | VALID | RAWAWB_INNER | INNER_SH | (1n << 56n) | (7n << 48n) | (2n << 8n) | (opts.indirect ? 1n << 62n : 0n);
    its.write64(0x100, devBaser, 0);
    its.write64(0x108, BigInt(COLLT) | VALID | RAWAWB_INNER | INNER_SH | (4n << 56n) | (7n << 48n) | (2n << 8n), 0);
    its.write64(0x80, BigInt(CMDQ) | VALID | RAWAWB_INNER | INNER_SH | 15n, 0);
    its.write64(0x88, 0n, 0);
    its.write(0x0, 4, 1, 0);
  };
  const MAPC = (icid: number, rd: number, v = true) => [0x09n, 0n, (v ? VALID : 0n) | (BigInt(rd) << 16n) | BigInt(icid), 0n];
  const MAPD = (dev: number, bits: number, itt: number, v = true) => [
    0x08n | (BigInt(dev) << 32n),
    BigInt(bits - 1),
    (v ? VALID : 0n) | BigInt(itt),
    0n,
  ];
  const MAPTI = (dev: number, ev: number, lpi: number, icid: number) => [
    0x0an | (BigInt(dev) << 32n),
    BigInt(ev) | (BigInt(lpi) << 32n),
    BigInt(icid),
    0n,
  ];
  const DEV = (cmd: number, dev: number, ev: number, icid = 0) => [BigInt(cmd) | (BigInt(dev) << 32n), BigInt(ev), BigInt(icid), 0n];
  const SYNC = (rd: number) => [0x05n, 0n, BigInt(rd) << 16n, 0n];
  const INVALL = (icid: number) => [0x0dn, 0n, BigInt(icid), 0n];
  const setCfg = (lpi: number, cfg: number) => (mem[PROP - RAM + lpi - 8192] = cfg);
  const ack = (cpu: number) => Number(g.readSysreg(cpu, ICC.IAR1_EL1));
  const eoi = (cpu: number, intid: number) => g.writeSysreg(cpu, ICC.EOIR1_EL1, BigInt(intid));
  return { g, its, rec, mem, r64, w64, cmds, bringUp, MAPC, MAPD, MAPTI, DEV, SYNC, INVALL, setCfg, ack, eoi };
}

describe('GICv3 ITS registers', () => {
  it('identifies as KVM vgic-its: IIDR, TYPER, PIDR2, the two tables, Quiescent while disabled', () => {
    const { its } = machine();
    expect(its.read(0x4, 4, 0)).toBe(ITS_IIDR);
    expect(its.read64(0x8, 0)).toBe(0x1ef71n); // Physical, ITT entry 8 bytes, 16 ID bits, 16 DeviceID bits
    expect(its.read(0xffe8, 4, 0)).toBe(0x3b); // ArchRev 3: Linux's "ITS detected" check
    expect(its.read(0x0, 4, 0)).toBe(0x80000000);
    expect(its.read64(0x100, 0) >> 56n).toBe(1n); // device table
    expect(its.read64(0x108, 0) >> 56n).toBe(4n); // collection table
    expect(its.read64(0x110, 0)).toBe(0n);
    expect(its.registerName(0x10040)).toBe('GITS_TRANSLATER');
    expect(its.registerName(0x108)).toBe('GITS_BASER1');
  });

  it('keeps GITS_BASER as Linux writes it (Type and Entry_Size read-only, 64 KiB pages), sanitises shareability', () => {
    const { its } = machine();
    const v = BigInt(DEVT) | VALID | RAWAWB_INNER | INNER_SH | (1n << 56n) | (7n << 48n) | (1n << 62n) | (2n << 8n) | 3n;
    its.write64(0x100, v, 0);
    expect(its.read64(0x100, 0)).toBe(v);
    its.write64(0x100, (v & ~(3n << 8n) & ~(3n << 10n)) | (2n << 10n), 0); // 4 KiB pages, Outer Shareable asked
    expect(its.read64(0x100, 0)).toBe(v);
    its.write(0x104, 4, 0, 0); // a 32-bit half: Valid cleared, RO fields stay, InnerCache nCnB becomes RaWb
    expect(its.read64(0x100, 0) >> 48n).toBe(0x1907n);
  });

  it('refuses to enable before the queue and tables are valid; ignores CBASER/BASER writes while enabled', () => {
    const { its, bringUp } = machine();
    its.write(0x0, 4, 1, 0);
    expect(its.read(0x0, 4, 0) & 1).toBe(0);
    bringUp();
    expect(its.read(0x0, 4, 0)).toBe(0x80000001);
    const cb = its.read64(0x80, 0);
    its.write64(0x80, 0n, 0);
    its.write64(0x100, 0n, 0);
    expect(its.read64(0x80, 0)).toBe(cb);
    expect(its.read64(0x100, 0) & VALID).toBe(VALID);
  });

  it('redistributor LPI registers: PROPBASER shared, PENDBASER per CPU, EnableLPIs, no writes after enabling', () => {
    const { g, bringUp } = machine();
    bringUp();
    expect(g.redist.read(0x0, 4, 0) & 1).toBe(1);
    expect(g.redist.read64!(0x70, 0) & 0xffff_f000n).toBe(BigInt(PROP) & 0xffff_f000n);
    expect(g.redist.read64!(STRIDE + 0x78, 1) & 0xffff_f000n).toBe(BigInt(PEND[1]!) & 0xffff_f000n);
    g.redist.write64!(0x78, 0n, 0);
    expect(g.redist.read64!(0x78, 0) & 0xffff_f000n).toBe(BigInt(PEND[0]!) & 0xffff_f000n);
    expect(g.redist.read(0x8, 4, 0) & 1).toBe(1); // GICR_TYPER.PLPIS
  });
});

describe('GICv3 ITS commands and translation', () => {
  it('MAPD/MAPC/MAPTI then an MSI raises the LPI on the collection target; ack, EOI; tables in guest memory', () => {
    const m = machine();
    m.bringUp();
    m.setCfg(8192, 0xa0 | 1);
    m.cmds(m.MAPC(0, 0), m.SYNC(0), m.MAPC(1, 1), m.INVALL(1), m.MAPD(0x10, 5, ITT), m.MAPTI(0x10, 3, 8192, 1));
    expect(m.its.read64(0x90, 0)).toBe(m.its.read64(0x88, 0)); // CREADR caught up
    expect(m.r64(COLLT + 8)).toBe(VALID | (1n << 16n) | 1n);
    expect(m.r64(DEVT + 0x10 * 8)).toBe(VALID | ((BigInt(ITT) >> 8n) << 5n) | 4n);
    expect(m.r64(ITT + 3 * 8)).toBe((8192n << 16n) | 1n);
    expect(m.its.translate(0x10, 3, 'virtio-blk@00:02.0')).toBe(8192);
    expect(m.g.irqPending(1)).toBe(true);
    expect(m.g.irqPending(0)).toBe(false);
    expect(m.ack(1)).toBe(8192);
    expect(m.g.isPending(8192, 1)).toBe(false);
    m.eoi(1, 8192);
    expect(m.ack(1)).toBe(1023);
    const line = m.rec.of('irq_line');
    expect(line).toEqual([expect.objectContaining({ intid: 8192, trigger: 'edge', source: 'virtio-blk@00:02.0' })]);
    expect(m.rec.of('irq_ack').map((e) => e.intid)).toEqual([8192, 1023]);
    expect(m.rec.of('irq_eoi').map((e) => e.intid)).toEqual([8192]);
  });

  it('masks through the configuration table only after INV; priority from the configuration byte', () => {
    const m = machine();
    m.bringUp();
    m.setCfg(8200, 0xa0 | 1);
    m.cmds(m.MAPC(0, 0), m.MAPD(1, 2, ITT), m.MAPTI(1, 0, 8200, 0));
    m.setCfg(8200, 0xa0); // disabled in memory, not yet invalidated
    m.its.translate(1, 0, 'dev');
    expect(m.g.irqPending(0)).toBe(true);
    m.cmds(m.DEV(0x0c, 1, 0)); // INV
    expect(m.g.irqPending(0)).toBe(false);
    expect(m.g.isPending(8200, 0)).toBe(true);
    m.setCfg(8200, 0xf8 | 1); // priority 0xf8 is masked by PMR 0xf0
    m.cmds(m.INVALL(0));
    expect(m.g.irqPending(0)).toBe(false);
    m.setCfg(8200, 0x10 | 1);
    m.cmds(m.INVALL(0));
    expect(m.g.irqPending(0)).toBe(true);
  });

  it('MOVI moves a pending LPI, CLEAR and DISCARD drop it, INT raises it, MAPI uses the EventID', () => {
    const m = machine();
    m.bringUp();
    for (const l of [8192, 8193, 5]) m.setCfg(l, 0x80 | 1);
    m.cmds(m.MAPC(0, 0), m.MAPC(1, 1), m.MAPD(7, 4, ITT), m.MAPTI(7, 0, 8192, 0), m.MAPTI(7, 1, 8193, 0));
    m.its.translate(7, 0, 'dev');
    expect(m.g.isPending(8192, 0)).toBe(true);
    m.cmds(m.DEV(0x01, 7, 0, 1)); // MOVI to collection 1
    expect(m.g.isPending(8192, 0)).toBe(false);
    expect(m.g.isPending(8192, 1)).toBe(true);
    expect(m.r64(ITT) & 0xffffn).toBe(1n);
    m.cmds(m.DEV(0x04, 7, 0)); // CLEAR
    expect(m.g.isPending(8192, 1)).toBe(false);
    m.cmds(m.DEV(0x03, 7, 1)); // INT
    expect(m.g.isPending(8193, 0)).toBe(true);
    m.cmds(m.DEV(0x0f, 7, 1)); // DISCARD
    expect(m.g.isPending(8193, 0)).toBe(false);
    expect(m.r64(ITT + 8)).toBe(0n);
    expect(m.its.translate(7, 1, 'dev')).toBe(0);
    m.cmds([0x0bn | (7n << 32n), 8200n, 0n, 0n]); // MAPI EventID 8200 (beyond 16 events): refused
    expect(m.rec.of('device_error').at(-1)?.detail).toMatch(/MAPI: EventID 8200 is beyond DeviceID 7's 16 events; command ignored/);
  });

  it('a collection remapped by MAPC takes its pending LPIs along; MAPD V=0 unmaps the device', () => {
    const m = machine();
    m.bringUp();
    m.setCfg(8192, 0x80 | 1);
    m.cmds(m.MAPC(0, 0), m.MAPD(2, 1, ITT), m.MAPTI(2, 0, 8192, 0));
    m.its.translate(2, 0, 'dev');
    m.cmds(m.MAPC(0, 1));
    expect(m.g.isPending(8192, 1)).toBe(true);
    m.cmds(m.MAPD(2, 1, ITT, false));
    expect(m.g.isPending(8192, 1)).toBe(false);
    expect(m.r64(DEVT + 16)).toBe(0n);
    expect(m.its.translate(2, 0, 'dev')).toBe(0);
  });

  it('two-level device table: a DeviceID whose level-1 entry is invalid is out of range', () => {
    const m = machine({ indirect: true });
    m.bringUp();
    m.w64(DEVT, VALID | BigInt(RAM + 0x70_0000)); // level-1 entry 0 → a 64 KiB level-2 page
    m.setCfg(8192, 0x80 | 1);
    m.cmds(m.MAPC(0, 0), m.MAPD(9, 1, ITT), m.MAPTI(9, 1, 8192, 0), m.MAPD(9000, 1, ITT));
    expect(m.r64(RAM + 0x70_0000 + 9 * 8) & VALID).toBe(VALID);
    expect(m.its.translate(9, 1, 'dev')).toBe(8192);
    expect(m.rec.of('device_error').map((e) => e.detail)).toEqual(['MAPD: DeviceID 9000 is outside the device table; command ignored']);
  });
});

describe('GICv3 ITS bad input', () => {
  it('ignores bad commands with the reason recorded, and carries on with the next one', () => {
    const m = machine();
    m.bringUp();
    m.setCfg(8192, 0x80 | 1);
    m.cmds(
      [0x42n, 0n, 0n, 0n],
      m.MAPC(0, 5), // no redistributor 5
      m.MAPTI(3, 0, 8192, 0), // device 3 not mapped
      m.MAPD(3, 1, ITT),
      m.MAPTI(3, 0, 100, 0), // not an LPI
      m.MAPTI(3, 0, 8192, 0),
      m.DEV(0x0c, 3, 1), // INV of an unmapped event
      m.INVALL(9), // collection 9 never mapped
      m.SYNC(7),
      m.MAPD(1 << 16, 1, ITT), // beyond Devbits
      m.MAPD(4, 17, ITT), // 17 EventID bits > IDbits
    );
    expect(m.rec.of('device_error').map((e) => e.detail)).toEqual([
      'unknown ITS command 0x42; command ignored',
      'MAPC: target redistributor 5 does not exist; command ignored',
      'MAPTI: DeviceID 3 is not mapped; command ignored',
      'MAPTI: pINTID 100 is not an LPI of the configuration table; command ignored',
      'INV: DeviceID 3 EventID 1 is not mapped; command ignored',
      'INVALL: collection 9 is not mapped; command ignored',
      'SYNC: target redistributor 7 does not exist; command ignored',
      'MAPD: DeviceID 65536 is outside the device table; command ignored',
      'MAPD: DeviceID 4: 17 EventID bits exceed GITS_TYPER.IDbits (16); command ignored',
    ]);
    expect(m.r64(ITT) >> 16n).toBe(8192n); // the good MAPTI took effect
    expect(m.its.read64(0x90, 0)).toBe(m.its.read64(0x88, 0));
  });

  it('tables and ITTs outside RAM are errors, a queue outside RAM stalls; the host never throws', () => {
    const m = machine();
    m.bringUp();
    m.cmds(m.MAPC(0, 0), m.MAPD(5, 2, 0x1000), m.MAPTI(5, 0, 8192, 0));
    expect(m.rec.of('device_error').map((e) => e.detail)).toEqual([
      "MAPTI: DeviceID 5's interrupt translation table at 0x1000 is outside guest RAM; command ignored",
    ]);
    expect(m.its.translate(5, 0, 'dev')).toBe(0);
    expect(m.its.translate(0xffff_ffff, 0xffff_ffff, 'dev')).toBe(0);
    // A queue in no RAM: enabling works (the register is valid), commands stall at CREADR.
    const { its, g, rec } = machine();
    for (let c = 0; c < 2; c++) g.redist.write(c * STRIDE, 4, 1, c);
    its.write64(0x100, VALID | 0x1_0000n, 0);
    its.write64(0x108, VALID | 0x2_0000n, 0);
    its.write64(0x80, VALID | 0x3_0000n, 0);
    its.write(0x0, 4, 1, 0);
    its.write64(0x88, 0x40n, 0);
    expect(its.read64(0x90, 0)).toBe(0n);
    expect(its.read(0x0, 4, 0)).toBe(1); // not quiescent: commands outstanding
    expect(rec.of('device_error')[0]?.detail).toBe('command queue at 0x30000 is outside guest RAM; the ITS stalls');
    its.write64(0x88, 0x2000n, 0); // CWRITER beyond the one-page queue: ignored
    expect(its.read64(0x88, 0)).toBe(0x40n);
    // Odd sizes and offsets read as zero, and GITS_TRANSLATER from a CPU names no device.
    expect(its.read(0x2, 2, 0)).toBe(0);
    its.write(0x10040, 4, 0, 0);
    expect(its.read(0x10040, 4, 0)).toBe(0);
  });

  it('an MSI to a redistributor without EnableLPIs, or with the ITS disabled, is dropped', () => {
    const m = machine();
    m.bringUp();
    m.setCfg(8192, 0x80 | 1);
    m.cmds(m.MAPC(0, 0), m.MAPD(1, 1, ITT), m.MAPTI(1, 0, 8192, 0));
    m.g.redist.write(0x0, 4, 0, 0);
    expect(m.its.translate(1, 0, 'dev')).toBe(0);
    m.g.redist.write(0x0, 4, 1, 0);
    m.its.write(0x0, 4, 0, 0);
    expect(m.its.translate(1, 0, 'dev')).toBe(0);
    m.its.write(0x0, 4, 1, 0);
    expect(m.its.translate(1, 0, 'dev')).toBe(8192);
  });
});

describe('GICv3 without an ITS', () => {
  it('keeps PROPBASER/PENDBASER RAZ/WI and EnableLPIs 0, as before', () => {
    const { env } = testEnv();
    const g = new GicV3({
      numCpu: 1,
      env,
      distRegion: reg('d', 'gicv3-dist', 0x8000000, 0x10000),
      redistRegion: reg('r', 'gicv3-redist', 0x80a0000, STRIDE),
    });
    g.redist.write64!(0x70, 0x4010_0000n, 0);
    g.redist.write(0x0, 4, 1, 0);
    expect(g.redist.read64!(0x70, 0)).toBe(0n);
    expect(g.redist.read(0x0, 4, 0)).toBe(2);
    expect(g.redist.read(SGI + 0x80, 4, 0)).toBe(0);
  });
});

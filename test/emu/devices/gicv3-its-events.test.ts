// What the ITS records for the `its` check rules: each command it consumes from the queue, decoded,
// with its reason when it refuses one (its_command), and each message to GITS_TRANSLATER with the LPI
// or why it was dropped, and the LPI's cached configuration byte beside the table's (its_translate).
import { describe, expect, it } from 'vitest';
import { GicV3 } from '../../../emu/devices/gicv3.ts';
import { GicV3Its } from '../../../emu/devices/gicv3-its.ts';
import { reg, testEnv } from './helpers.ts';

const STRIDE = 0x20000;
const RAM = 0x4000_0000;
const RAM_SIZE = 0x80_0000;
const PROP = RAM + 0x10_0000;
const PEND = RAM + 0x20_0000;
const DEVT = RAM + 0x30_0000;
const COLLT = RAM + 0x40_0000;
const CMDQ = RAM + 0x50_0000;
const ITT = RAM + 0x60_0000;
const VALID = 1n << 63n;

function machine() {
  const { rec, env } = testEnv();
  const mem = new Uint8Array(RAM_SIZE);
  const memory = { mem, memOffset: (pa: number) => (pa >= RAM && pa < RAM + RAM_SIZE ? pa - RAM : -1) };
  const g = new GicV3({
    numCpu: 1,
    env,
    lpis: true,
    distRegion: reg('gicv3-dist@8000000', 'gicv3-dist', 0x8000000, 0x10000),
    redistRegion: reg('gicv3-redist@80a0000', 'gicv3-redist', 0x80a0000, STRIDE),
  });
  const its = new GicV3Its({ region: reg('gicv3-its@8080000', 'gicv3-its', 0x8080000, 0x20000), gic: g, memory, env });
  const dv = new DataView(mem.buffer);
  let off = 0;
  const cmds = (...list: bigint[][]) => {
    for (const c of list) {
      c.forEach((d, i) => dv.setBigUint64(CMDQ - RAM + off + i * 8, d, true));
      off += 32;
    }
    its.write(0x88, 4, off, 0);
  };
  const bringUp = () => {
    g.dist.write(0x0, 4, 0x13, 0);
    g.redist.write(0x14, 4, 0, 0);
    g.redist.write64!(0x70, BigInt(PROP) | 15n, 0);
    g.redist.write64!(0x78, BigInt(PEND), 0);
    g.redist.write(0x0, 4, 1, 0);
    its.write64(0x100, BigInt(DEVT) | VALID | (1n << 56n) | (7n << 48n) | (2n << 8n), 0);
    its.write64(0x108, BigInt(COLLT) | VALID | (4n << 56n) | (7n << 48n) | (2n << 8n), 0);
    its.write64(0x80, BigInt(CMDQ) | VALID | 15n, 0);
  };
  const setCfg = (lpi: number, cfg: number) => (mem[PROP - RAM + lpi - 8192] = cfg);
  return { its, rec, cmds, bringUp, setCfg };
}

const MAPC = (icid: number, rd: number) => [0x09n, 0n, VALID | (BigInt(rd) << 16n) | BigInt(icid), 0n];
const MAPD = (dev: number, bits: number) => [0x08n | (BigInt(dev) << 32n), BigInt(bits - 1), VALID | BigInt(ITT), 0n];
const MAPTI = (dev: number, ev: number, lpi: number, icid: number) => [
  0x0an | (BigInt(dev) << 32n),
  BigInt(ev) | (BigInt(lpi) << 32n),
  BigInt(icid),
  0n,
];
const INV = (dev: number, ev: number) => [0x0cn | (BigInt(dev) << 32n), BigInt(ev), 0n, 0n];

describe('ITS events', () => {
  it('records each command decoded, in queue order, with the reason for one it refuses', () => {
    const m = machine();
    m.bringUp();
    m.its.write(0x0, 4, 1, 0);
    m.cmds(MAPC(0, 0), MAPTI(16, 0, 8192, 0), MAPD(16, 2), MAPTI(16, 0, 8192, 0), INV(16, 0), [0x42n, 0n, 0n, 0n]);
    expect(
      m.rec.of('its_command').map(({ cmd, offset, devid, eventid, intid, icid, rdbase, valid, error }) => ({
        cmd,
        offset,
        devid,
        eventid,
        intid,
        icid,
        rdbase,
        valid,
        error,
      })),
    ).toEqual([
      { cmd: 'MAPC', offset: 0, devid: 0, eventid: 0, intid: 0, icid: 0, rdbase: 0, valid: true, error: '' },
      {
        cmd: 'MAPTI',
        offset: 0x20,
        devid: 16,
        eventid: 0,
        intid: 8192,
        icid: 0,
        rdbase: 0,
        valid: true,
        error: 'MAPTI: DeviceID 16 is not mapped',
      },
      { cmd: 'MAPD', offset: 0x40, devid: 16, eventid: 0, intid: 0, icid: 0, rdbase: 0, valid: true, error: '' },
      { cmd: 'MAPTI', offset: 0x60, devid: 16, eventid: 0, intid: 8192, icid: 0, rdbase: 0, valid: true, error: '' },
      { cmd: 'INV', offset: 0x80, devid: 16, eventid: 0, intid: 8192, icid: 0, rdbase: 0, valid: true, error: '' },
      {
        cmd: 'unknown 0x42',
        offset: 0xa0,
        devid: 0,
        eventid: 0,
        intid: 0,
        icid: 0,
        rdbase: 0,
        valid: true,
        error: 'unknown ITS command 0x42',
      },
    ]);
    expect(m.rec.of('its_command').every((e) => e.device === 'gicv3-its@8080000' && e.vcpu === 0)).toBe(true);
  });

  it('records each message: dropped with the reason, or the LPI with its cached configuration beside the table byte', () => {
    const m = machine();
    m.bringUp();
    m.its.translate(16, 0, 'virtio-blk@00:02.0');
    m.its.write(0x0, 4, 1, 0);
    m.setCfg(8192, 0xa0);
    m.cmds(MAPC(0, 0), MAPD(16, 2), MAPTI(16, 0, 8192, 0));
    m.its.translate(16, 1, 'virtio-blk@00:02.0');
    m.its.translate(16, 0, 'virtio-blk@00:02.0');
    m.setCfg(8192, 0xa1); // the driver enables the LPI in the table...
    m.its.translate(16, 0, 'virtio-blk@00:02.0', true); // (a dry run records nothing)
    m.its.translate(16, 0, 'virtio-blk@00:02.0');
    m.cmds(INV(16, 0)); // ...and only now makes it visible
    m.its.translate(16, 0, 'virtio-blk@00:02.0');
    expect(
      m.rec.of('its_translate').map(({ devid, eventid, intid, icid, lpi_config, table_config, error }) => ({
        devid,
        eventid,
        intid,
        icid,
        lpi_config,
        table_config,
        error,
      })),
    ).toEqual([
      { devid: 16, eventid: 0, intid: 0, icid: 0, lpi_config: -1, table_config: -1, error: 'the ITS is disabled (GITS_CTLR.Enabled = 0)' },
      { devid: 16, eventid: 1, intid: 0, icid: 0, lpi_config: -1, table_config: -1, error: 'DeviceID 16 EventID 1 is not mapped' },
      { devid: 16, eventid: 0, intid: 8192, icid: 0, lpi_config: 0xa0, table_config: 0xa0, error: '' },
      { devid: 16, eventid: 0, intid: 8192, icid: 0, lpi_config: 0xa0, table_config: 0xa1, error: '' },
      { devid: 16, eventid: 0, intid: 8192, icid: 0, lpi_config: 0xa1, table_config: 0xa1, error: '' },
    ]);
    expect(m.rec.of('its_translate').every((e) => e.source === 'virtio-blk@00:02.0')).toBe(true);
  });
});

// The its rule family on hand-made streams of ITS events (the kinds the emulator's ITS records:
// its_command for each command it reads from the queue, its_translate for each message) and of the
// GITS_CBASER / GITS_CWRITER / GICR_INVLPIR writes. Each rule fires once and stays quiet on the
// sequence Linux 6.1 follows (MAPC per CPU, then per device MAPD, MAPTI per vector, each with a
// SYNC; LPI configuration changes followed by GICR_INVLPIR). The same rules on a real Linux boot,
// and on copies of it with one command removed, are in test/real/rules-pci-its.test.ts.
import { afterAll, describe, expect, it } from 'vitest';
import { check } from '../../analyze/check.ts';
import { ITS_RULES } from '../../analyze/rules/its.ts';
import type { DeviceRegion, EventOf, NewEvent } from '../../capture/model.ts';
import { formatEventLine } from '../../capture/describe.ts';
import { openTrace } from '../../capture/store/index.ts';
import { at, GICD3, GICR3, mmio, tmpTraces, writeTrace } from './engine-helpers.ts';

const tmp = tmpTraces();
afterAll(() => tmp.cleanup());

const ITS: DeviceRegion = { name: 'gicv3-its@8080000', model: 'gicv3-its', role: 'gic_its', base: 0x808_0000, size: 0x2_0000 };
const IDS = Object.values(ITS_RULES).map((r) => r.id);

type Cmd = Omit<EventOf<'its_command'>, 'seq' | 'time' | 'vcpu' | 'kind' | 'device' | 'offset'>;
let offset = 0;
function cmd(c: Partial<Cmd> & { cmd: string }): NewEvent {
  const e: NewEvent = {
    kind: 'its_command',
    time: at(),
    vcpu: 0,
    device: ITS.name,
    offset,
    devid: 0,
    eventid: 0,
    intid: 0,
    icid: 0,
    rdbase: 0,
    valid: true,
    error: '',
    ...c,
  };
  offset += 0x20;
  return e;
}
function msg(devid: number, eventid: number, intid: number, icid: number, config = 0xa1, table = config, error = ''): NewEvent {
  return {
    kind: 'its_translate',
    time: at(),
    vcpu: -1,
    device: ITS.name,
    source: 'virtio-blk@00:02.0',
    devid,
    eventid,
    intid,
    icid,
    lpi_config: config,
    table_config: table,
    error,
  };
}
const invlpir = (intid: number) => mmio('mmio_write', GICR3, 0xa0, intid, 'GICR_INVLPIR', 4);
const sync = (rd: number) => cmd({ cmd: 'SYNC', rdbase: rd });

/** What Linux 6.1 sends for 2 CPUs and virtio-blk's three vectors (DeviceID 16). */
const LINUX: NewEvent[] = [
  mmio('mmio_write', ITS, 0x80, 0xb800000040070400n, 'GITS_CBASER', 8),
  cmd({ cmd: 'MAPC', icid: 0, rdbase: 0 }),
  sync(0),
  cmd({ cmd: 'INVALL', icid: 0 }),
  sync(0),
  cmd({ cmd: 'MAPC', icid: 1, rdbase: 1 }),
  sync(1),
  mmio('mmio_write', ITS, 0x88, 0xe0, 'GITS_CWRITER'),
  cmd({ cmd: 'MAPD', devid: 16 }),
  cmd({ cmd: 'MAPTI', devid: 16, eventid: 0, intid: 8192, icid: 0 }),
  cmd({ cmd: 'MAPTI', devid: 16, eventid: 1, intid: 8193, icid: 0 }),
  cmd({ cmd: 'MAPTI', devid: 16, eventid: 2, intid: 8194, icid: 1 }),
  sync(1),
  mmio('mmio_write', ITS, 0x88, 0x1c0, 'GITS_CWRITER'),
  msg(16, 1, 8193, 0),
  // The driver changes LPI 8194's configuration, and the translation that follows, before the
  // GICR_INVLPIR, still sees the old byte: no finding, since the invalidation comes.
  msg(16, 2, 8194, 1, 0xa0, 0xa1),
  invlpir(8194),
  msg(16, 2, 8194, 1, 0xa1, 0xa1),
  cmd({ cmd: 'INV', devid: 16, eventid: 1, intid: 8193 }),
];

function findings(events: NewEvent[]) {
  const file = tmp.file(`its${at()}.trace`);
  writeTrace(file, [GICD3, GICR3, ITS], events).close();
  const r = openTrace(file);
  try {
    return check(r, new Set(IDS)).findings;
  } finally {
    r.close();
  }
}
const ids = (fs: { rule: string }[]) => [...new Set(fs.map((f) => f.rule))].sort();

describe('its rules on hand-made streams', () => {
  it('the sequence Linux 6.1 follows has no finding', () => {
    expect(findings(LINUX)).toEqual([]);
  });

  it('MAPTI before MAPD, and a message from a DeviceID never mapped: its.unmapped-device', () => {
    const fs = findings([
      cmd({ cmd: 'MAPC', icid: 0 }),
      cmd({ cmd: 'MAPTI', devid: 8, eventid: 0, intid: 8196, icid: 0, error: 'x' }),
      msg(24, 0, 0, 0, -1, -1, 'DeviceID 24 is not mapped'),
    ]);
    expect(ids(fs)).toEqual(['its.unmapped-device']);
    expect(fs.map((f) => f.message)).toEqual([
      'MAPTI names DeviceID 8, which no MAPD mapped; the ITS refuses the command (map the device first).',
      'message from virtio-blk@00:02.0 (DeviceID 24, EventID 0): no MAPD mapped the DeviceID; the interrupt is lost.',
    ]);
  });

  it('a message for an EventID with no MAPTI, an INV of one, and a MAPD V=0 that unmaps what was translated: its.unmapped-event', () => {
    const fs = findings([
      cmd({ cmd: 'MAPC', icid: 0 }),
      cmd({ cmd: 'MAPD', devid: 16 }),
      cmd({ cmd: 'MAPTI', devid: 16, eventid: 0, intid: 8192 }),
      msg(16, 1, 0, 0, -1, -1, 'DeviceID 16 EventID 1 is not mapped'),
      cmd({ cmd: 'INV', devid: 16, eventid: 3 }),
      cmd({ cmd: 'MAPD', devid: 16 }),
      msg(16, 0, 0, 0),
    ]);
    expect(ids(fs)).toEqual(['its.unmapped-event']);
    expect(fs.map((f) => f.message)).toEqual([
      'message from virtio-blk@00:02.0 (DeviceID 16, EventID 1): no MAPTI/MAPI translates the EventID; the interrupt is lost.',
      'INV names DeviceID 16 EventID 3, which no MAPTI/MAPI translated; the ITS refuses the command.',
      'message from virtio-blk@00:02.0 (DeviceID 16, EventID 0): no MAPTI/MAPI translates the EventID; the interrupt is lost.',
    ]);
  });

  it('INVALL of a collection never mapped, and a message to an LPI whose collection has no MAPC: its.unmapped-collection', () => {
    const fs = findings([
      cmd({ cmd: 'INVALL', icid: 0 }),
      cmd({ cmd: 'MAPD', devid: 16 }),
      cmd({ cmd: 'MAPTI', devid: 16, eventid: 0, intid: 8192, icid: 1 }),
      msg(16, 0, 0, 1, 0xa1, 0xa1, 'collection 1 is not mapped'),
    ]);
    expect(ids(fs)).toEqual(['its.unmapped-collection']);
    expect(fs.map((f) => f.message)).toEqual([
      'INVALL names collection 0, which no MAPC mapped to a redistributor; the ITS refuses the command.',
      'message from virtio-blk@00:02.0 (DeviceID 16, EventID 0) translates to LPI 8192 in collection 1, which no MAPC mapped; the interrupt has no redistributor.',
    ]);
  });

  it('an LPI enabled in the table but never invalidated fires once, at the end, with its count; INV, INVALL or GICR_INVALLR clear it', () => {
    const base = [
      cmd({ cmd: 'MAPC', icid: 0 }),
      cmd({ cmd: 'MAPD', devid: 16 }),
      cmd({ cmd: 'MAPTI', devid: 16, eventid: 0, intid: 8192 }),
    ];
    const stale = [msg(16, 0, 8192, 0, 0xa0, 0xa1), msg(16, 0, 8192, 0, 0xa0, 0xa1)];
    const fs = findings([...base, ...stale]);
    expect(ids(fs)).toEqual(['its.lpi-config-not-invalidated']);
    expect(fs[0]!.message).toBe(
      'LPI 8192 (from virtio-blk@00:02.0) was translated 2 time(s) with configuration 0xa0 while its table entry held 0xa1; no INV, INVALL or GICR_INVLPIR made the change visible.',
    );
    expect(fs[0]!.evidence[0]!.text).toMatch(
      /ITS message from virtio-blk@00:02\.0: DeviceID 16 EventID 0 -> LPI 8192 \(collection 0\) \[config 0xa0, table 0xa1\]$/,
    );
    for (const fix of [
      cmd({ cmd: 'INV', devid: 16, eventid: 0 }),
      cmd({ cmd: 'INVALL', icid: 0 }),
      mmio('mmio_write', GICR3, 0xb0, 0, 'GICR_INVALLR', 8),
    ])
      expect(findings([...base, ...stale, fix])).toEqual([]);
  });

  it('GITS_CWRITER past the queue GITS_CBASER describes (Size 0: one 4 KiB page): its.cwriter-outside-queue', () => {
    const fs = findings([
      mmio('mmio_write', ITS, 0x80, 0xb800000040070400n, 'GITS_CBASER', 8),
      mmio('mmio_write', ITS, 0x88, 0xfe0, 'GITS_CWRITER'),
      mmio('mmio_write', ITS, 0x88, 0x1000, 'GITS_CWRITER'),
    ]);
    expect(ids(fs)).toEqual(['its.cwriter-outside-queue']);
    expect(fs[0]!.message).toBe(
      'gicv3-its@8080000: GITS_CWRITER = 0x1000 points 0x1000 into a command queue of 0x1000 bytes (GITS_CBASER.Size 0); the ITS never reads the commands.',
    );
  });

  it('the events read as one line each', () => {
    expect(formatEventLine({ ...(cmd({ cmd: 'MAPC', icid: 1, rdbase: 1 }) as EventOf<'its_command'>), seq: 7 })).toMatch(
      /^#7 t=\d+ cpu0 its_command +ITS MAPC ICID 1 -> RD 1 @0x[0-9a-f]+$/,
    );
    expect(formatEventLine({ ...(msg(8, 2, 0, 0, -1, -1, 'the ITS is disabled') as EventOf<'its_translate'>), seq: 8 })).toMatch(
      /its_translate +ITS message from virtio-blk@00:02\.0: DeviceID 8 EventID 2 -> dropped: the ITS is disabled$/,
    );
  });
});

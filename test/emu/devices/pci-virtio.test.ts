// The PCIe host (emu/devices/pci-host.ts) and virtio-blk over the modern PCI transport
// (virtio-pci.ts, virtqueue.ts, virtio-blk.ts) driven directly, as a driver would through ECAM
// and BAR 4: QEMU 7.2's configuration layout, BAR sizing, INTx swizzling, a real request path,
// and every guest error the issue lists (descriptor outside RAM, looping chain, non-power-of-two
// queue size, BAR over RAM) ending as a guest-visible error, never a host exception.
import { writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import type { NewEvent } from '../../../capture/model.ts';
import { staticEnv, type InterruptController } from '../../../emu/devices/irq.ts';
import { PciHost, VIRT_PCIE } from '../../../emu/devices/pci-host.ts';
import { VirtioBlk } from '../../../emu/devices/virtio-blk.ts';
import { VirtioPci } from '../../../emu/devices/virtio-pci.ts';
import { VIRTQ_DESC_F, type GuestMemory } from '../../../emu/devices/virtqueue.ts';
import { DiskImage } from '../../../emu/storage/disk.ts';
import { Machine } from '../../../emu/machine/index.ts';
import { EventRecorder } from '../../../emu/recorder.ts';
import { tempDir } from '../helpers.ts';

const tmp = tempDir('bootscope-pci-');
afterAll(() => tmp.cleanup());

const RAM = 0x4000_0000;
const RAM_SIZE = 1 << 20;
const BAR4 = 0x1000_0000; // where the tests place BAR 4 (in the 32-bit window)

function rig(opts: { queues?: number; sectors?: number; msix?: number } = {}) {
  const events: NewEvent[] = [];
  const env = staticEnv({ enabled: true, record: (e) => events.push(e) });
  const lines: [number, boolean][] = [];
  const irq: InterruptController = { setLine: (i, l) => lines.push([i, l]), inject() {}, irqPending: () => false, fiqPending: () => false };
  const host = new PciHost({ irq, env });
  const mem = new Uint8Array(RAM_SIZE);
  const memory: GuestMemory = { mem, memOffset: (pa) => (pa >= RAM && pa < RAM + RAM_SIZE ? pa - RAM : -1) };
  const file = tmp.file(`d${Math.random().toString(36).slice(2)}.img`);
  const data = Buffer.alloc((opts.sectors ?? 64) * 512);
  for (let i = 0; i < data.length; i++) data[i] = (i >> 9) & 0xff; // each sector holds its number
  writeFileSync(file, data);
  const disk = DiskImage.open({ file, mode: 'cow' });
  const msis: [number, number][] = [];
  if (opts.msix) host.msiTarget = (addr, data, _src, dry) => (dry ? 0 : (msis.push([addr, data]), 0)) || (addr === 0x8020040 ? data : 0);
  const fn = new VirtioPci('virtio-blk@00:01.0', 'virtio-blk-pci', 1, new VirtioBlk(disk, { queues: opts.queues ?? 1 }), memory, env, {
    msixVectors: opts.msix ?? 0,
  });
  fn.intxIntid = 36;
  host.plug(fn);
  const ecam = host.ecam;
  const cfg = (dev: number, reg: number, size = 4) => ecam.read(dev * 0x8000 + reg, size, 0);
  const cfgW = (dev: number, reg: number, v: number, size = 4) => ecam.write(dev * 0x8000 + reg, size, v, 0);
  const mmio = host.windows[0]!;
  const bar = (off: number, size = 4) => mmio.read(BAR4 - VIRT_PCIE.MMIO + off, size, 0);
  const barW = (off: number, v: number, size = 4) => mmio.write(BAR4 - VIRT_PCIE.MMIO + off, size, v, 0);
  const view = new DataView(mem.buffer);
  return { events, lines, host, fn, disk, mem, view, cfg, cfgW, bar, barW, msis };
}

type Rig = ReturnType<typeof rig>;

/** Assign BAR 4, enable memory + bus master, negotiate, set up queue 0 at DESC/AVAIL/USED. */
const DESC = RAM + 0x1000,
  AVAIL = RAM + 0x2000,
  USED = RAM + 0x3000,
  QSIZE = 8;
function bringUp(r: Rig, features0 = 0x30000000 /* indirect + event idx */, size = QSIZE): void {
  r.cfgW(1, 0x20, BAR4 | 0xc);
  r.cfgW(1, 0x24, 0);
  r.cfgW(1, 0x04, 0x6, 2);
  r.barW(0x14, 0, 1);
  r.barW(0x14, 1, 1);
  r.barW(0x14, 3, 1);
  r.barW(0x08, 0);
  r.barW(0x0c, features0);
  r.barW(0x08, 1);
  r.barW(0x0c, 1); // VERSION_1
  r.barW(0x14, 0xb, 1);
  r.barW(0x16, 0, 2);
  r.barW(0x18, size, 2);
  r.barW(0x20, DESC);
  r.barW(0x24, 0);
  r.barW(0x28, AVAIL);
  r.barW(0x2c, 0);
  r.barW(0x30, USED);
  r.barW(0x34, 0);
  r.barW(0x1c, 1, 2);
  r.barW(0x14, 0xf, 1);
}

function desc(r: Rig, i: number, addr: number, len: number, flags: number, next = 0, table = DESC): void {
  const o = table - RAM + 16 * i;
  r.view.setUint32(o, addr % 2 ** 32, true);
  r.view.setUint32(o + 4, Math.floor(addr / 2 ** 32), true);
  r.view.setUint32(o + 8, len, true);
  r.view.setUint16(o + 12, flags, true);
  r.view.setUint16(o + 14, next, true);
}

/** Put head on the available ring and notify queue 0. */
function submit(r: Rig, head: number): void {
  const idx = r.view.getUint16(AVAIL - RAM + 2, true);
  r.view.setUint16(AVAIL - RAM + 4 + 2 * (idx % QSIZE), head, true);
  r.view.setUint16(AVAIL - RAM + 2, idx + 1, true);
  r.barW(0x3000, 0, 2);
}

const usedIdx = (r: Rig) => r.view.getUint16(USED - RAM + 2, true);
const HDR = RAM + 0x4000,
  DATA = RAM + 0x5000,
  STATUS = RAM + 0x6000;
function header(r: Rig, type: number, sector: number): void {
  r.view.setUint32(HDR - RAM, type, true);
  r.view.setUint32(HDR - RAM + 4, 0, true);
  r.view.setUint32(HDR - RAM + 8, sector, true);
  r.view.setUint32(HDR - RAM + 12, 0, true);
}

describe('PCIe host (QEMU 7.2 virt gpex)', () => {
  it('host bridge 1b36:0008 class 0x060000 at 00:00.0; absent functions and other buses read all-ones', () => {
    const r = rig();
    expect(r.cfg(0, 0)).toBe(0x00081b36);
    expect(r.cfg(0, 8)).toBe(0x06000000);
    expect(r.cfg(0, 0x2c)).toBe(0x11001af4);
    for (const [size, all] of [
      [1, 0xff],
      [2, 0xffff],
      [4, 0xffffffff],
    ] as const) {
      expect(r.cfg(2, 0, size)).toBe(all);
      expect(r.host.ecam.read((1 << 20) | 0, size, 0)).toBe(all); // bus 1
      expect(r.host.ecam.read(0x1000, size, 0)).toBe(all); // 00:00.1
    }
    expect(r.cfg(0, 0x100)).toBe(0xffffffff); // no extended configuration space
    const absent = r.events.filter((e) => e.kind === 'pci_config' && e.outcome === 'absent');
    expect(absent.length).toBe(9);
  });

  it("virtio-blk-pci: QEMU's modern layout, capability list, BAR 4 sizing, command bits", () => {
    const r = rig();
    expect(r.cfg(1, 0)).toBe(0x10421af4);
    expect(r.cfg(1, 8)).toBe(0x01000001); // class 0x010000, revision 1
    expect(r.cfg(1, 0x2c)).toBe(0x11001af4);
    expect(r.cfg(1, 0x3d, 1)).toBe(1);
    expect(r.cfg(1, 6, 2) & 0x10).toBe(0x10);
    // The capability list as QEMU 7.2 lays it out: 0x84 → 0x70 → 0x60 → 0x50 → 0x40.
    const caps: [number, number][] = [];
    for (let p = r.cfg(1, 0x34, 1); p; p = r.cfg(1, p + 1, 1)) caps.push([p, r.cfg(1, p + 3, 1)]);
    expect(caps).toEqual([
      [0x84, 5],
      [0x70, 2],
      [0x60, 4],
      [0x50, 3],
      [0x40, 1],
    ]);
    expect(r.cfg(1, 0x70 + 16)).toBe(4); // notify_off_multiplier
    expect(r.cfg(1, 0x70 + 8)).toBe(0x3000);
    // BAR sizing: BAR 4 is 16 KiB, 64-bit prefetchable; BAR 0 is not implemented.
    expect(r.cfg(1, 0x20)).toBe(0xc);
    r.cfgW(1, 0x20, 0xffffffff);
    r.cfgW(1, 0x24, 0xffffffff);
    expect(r.cfg(1, 0x20)).toBe(0xffffc00c);
    expect(r.cfg(1, 0x24)).toBe(0xffffffff);
    r.cfgW(1, 0x10, 0xffffffff);
    expect(r.cfg(1, 0x10)).toBe(0);
    // Command: writable bits only.
    r.cfgW(1, 4, 0xffff, 2);
    expect(r.cfg(1, 4, 2)).toBe(0x547);
    const bars = r.events.filter((e) => e.kind === 'pci_config' && e.bar === 4);
    expect(bars.length).toBeGreaterThan(0);
    expect(bars.every((e) => e.kind === 'pci_config' && (e.register === 'BAR4' || e.register === 'BAR5'))).toBe(true);
  });

  it('BAR 4 answers only while memory decoding is on; a BAR over RAM or outside the windows decodes nothing', () => {
    const r = rig();
    r.cfgW(1, 0x20, BAR4 | 0xc);
    expect(r.bar(0x12, 2)).toBe(0); // memory decoding off: nothing there
    r.cfgW(1, 4, 2, 2);
    expect(r.bar(0x12, 2)).toBe(1); // num_queues
    // Over RAM: the BAR moves out of every window; the window reads as nothing and RAM is RAM.
    r.cfgW(1, 0x20, RAM | 0xc);
    expect(r.host.route(RAM, 'mem')!.f.name).toBe('virtio-blk@00:01.0'); // on the PCI bus…
    expect(r.bar(0x12, 2)).toBe(0); // …but no window maps it where the CPU could reach it
    expect(r.host.windows.every((w) => RAM < w.region.base || RAM >= w.region.base + w.region.size)).toBe(true);
  });

  it("INTx follows the swizzle of QEMU's interrupt-map: slot s, INTA → SPI 3 + (s mod 4)", async () => {
    const { intxSpi } = await import('../../../emu/devices/pci-host.ts');
    expect([0, 1, 2, 3, 4, 5].map((s) => intxSpi(s, 1))).toEqual([3, 4, 5, 6, 3, 4]);
    expect([1, 2, 3, 4].map((p) => intxSpi(1, p))).toEqual([4, 5, 6, 3]);
  });
});

describe('virtio-blk over PCI', () => {
  it('reads and writes through direct and indirect descriptors; the file stays unchanged; INTx until the ISR is read', () => {
    const r = rig();
    bringUp(r);
    // A read of sectors 3-4 (direct chain: header, data, status).
    header(r, 0, 3);
    desc(r, 0, HDR, 16, VIRTQ_DESC_F.NEXT, 1);
    desc(r, 1, DATA, 1024, VIRTQ_DESC_F.NEXT | VIRTQ_DESC_F.WRITE, 2);
    desc(r, 2, STATUS, 1, VIRTQ_DESC_F.WRITE);
    submit(r, 0);
    expect(usedIdx(r)).toBe(1);
    expect(r.mem[STATUS - RAM]).toBe(0);
    expect(r.mem[DATA - RAM]).toBe(3);
    expect(r.mem[DATA - RAM + 512]).toBe(4);
    expect(r.lines).toEqual([[36, true]]);
    expect(r.bar(0x1000, 1)).toBe(1); // ISR: used-buffer bit; reading clears it and drops INTx
    expect(r.lines).toEqual([
      [36, true],
      [36, false],
    ]);
    // A write of sector 5 through an indirect table.
    const TABLE = RAM + 0x7000;
    header(r, 1, 5);
    r.mem.fill(0xee, DATA - RAM, DATA - RAM + 512);
    desc(r, 0, HDR, 16, VIRTQ_DESC_F.NEXT, 1, TABLE);
    desc(r, 1, DATA, 512, VIRTQ_DESC_F.NEXT, 2, TABLE);
    desc(r, 2, STATUS, 1, VIRTQ_DESC_F.WRITE, 0, TABLE);
    desc(r, 3, TABLE, 48, VIRTQ_DESC_F.INDIRECT);
    submit(r, 3);
    expect(usedIdx(r)).toBe(2);
    expect(r.mem[STATUS - RAM]).toBe(0);
    const back = new Uint8Array(512);
    r.disk.read(5, back);
    expect(back.every((b) => b === 0xee)).toBe(true);
    expect(r.disk.overlaySectors).toBe(1);
    const io = r.events.filter((e) => e.kind === 'block_request' || e.kind === 'block_complete');
    expect(io.map((e) => `${e.kind} ${'op' in e ? e.op : ''}`)).toEqual([
      'block_request read',
      'block_complete read',
      'block_request write',
      'block_complete write',
    ]);
    expect(io[1]).toMatchObject({ status: 'ok', length: 1025, intid: 36, request: 0n });
    expect(io[2]).toMatchObject({ sector: 5, length: 512, request: 3n });
  });

  it('a read past the end of the disk completes with IOERR; an unknown request type with UNSUPP', () => {
    const r = rig({ sectors: 8 });
    bringUp(r);
    header(r, 0, 7);
    desc(r, 0, HDR, 16, VIRTQ_DESC_F.NEXT, 1);
    desc(r, 1, DATA, 1024, VIRTQ_DESC_F.NEXT | VIRTQ_DESC_F.WRITE, 2);
    desc(r, 2, STATUS, 1, VIRTQ_DESC_F.WRITE);
    submit(r, 0);
    expect(r.mem[STATUS - RAM]).toBe(1);
    header(r, 99, 0);
    submit(r, 0);
    expect(r.mem[STATUS - RAM]).toBe(2);
  });

  it('event index: no interrupt until the used index passes used_event', () => {
    const r = rig();
    bringUp(r);
    r.view.setUint16(AVAIL - RAM + 4 + 2 * QSIZE, 1, true); // used_event = 1: interrupt after the 2nd completion
    header(r, 4, 0); // flush
    desc(r, 0, HDR, 16, VIRTQ_DESC_F.NEXT, 1);
    desc(r, 1, STATUS, 1, VIRTQ_DESC_F.WRITE);
    submit(r, 0);
    expect(r.lines).toEqual([[36, true]]); // the first decision always signals
    r.bar(0x1000, 1);
    submit(r, 0);
    expect(r.lines.length).toBe(3); // used 1 → 2 passes used_event 1: signalled
    expect(r.view.getUint16(USED - RAM + 4 + 8 * QSIZE, true)).toBe(2); // avail_event written by the device
    const done = r.events.filter((e) => e.kind === 'block_complete');
    expect(done.map((e) => (e.kind === 'block_complete' ? e.op : ''))).toEqual(['flush', 'flush']);
  });

  const broken: [string, (r: Rig) => void, RegExp][] = [
    [
      'a data buffer outside RAM',
      (r) => {
        header(r, 0, 0);
        desc(r, 0, HDR, 16, VIRTQ_DESC_F.NEXT, 1);
        desc(r, 1, 0x9000_0000, 512, VIRTQ_DESC_F.NEXT | VIRTQ_DESC_F.WRITE, 2);
        desc(r, 2, STATUS, 1, VIRTQ_DESC_F.WRITE);
      },
      /buffer at 0x90000000 \(\+512\) is outside guest RAM/,
    ],
    [
      'a buffer that runs past the end of RAM',
      (r) => {
        header(r, 0, 0);
        desc(r, 0, HDR, 16, VIRTQ_DESC_F.NEXT, 1);
        desc(r, 1, RAM + RAM_SIZE - 256, 512, VIRTQ_DESC_F.WRITE);
      },
      /outside guest RAM/,
    ],
    [
      'a looping chain',
      (r) => {
        header(r, 0, 0);
        desc(r, 0, HDR, 16, VIRTQ_DESC_F.NEXT, 1);
        desc(r, 1, DATA, 16, VIRTQ_DESC_F.NEXT, 0);
      },
      /loops or is longer than its table/,
    ],
    [
      'an indirect table pointing outside RAM',
      (r) => {
        desc(r, 0, 0x2_0000_0000, 64, VIRTQ_DESC_F.INDIRECT);
      },
      /indirect table at 0x200000000 \(\+64\) is outside guest RAM/,
    ],
    [
      'a looping indirect table',
      (r) => {
        const TABLE = RAM + 0x7000;
        header(r, 0, 0);
        desc(r, 0, HDR, 16, VIRTQ_DESC_F.NEXT, 1, TABLE);
        desc(r, 1, HDR, 16, VIRTQ_DESC_F.NEXT, 0, TABLE);
        desc(r, 0, TABLE, 32, VIRTQ_DESC_F.INDIRECT);
      },
      /loops/,
    ],
    [
      'a chain head outside the table',
      (r) => {
        r.view.setUint16(AVAIL - RAM + 4, 200, true);
        r.view.setUint16(AVAIL - RAM + 2, 1, true);
      },
      /chain head 200 is outside/,
    ],
  ];
  for (const [what, setup, re] of broken) {
    it(`${what}: DEVICE_NEEDS_RESET, a configuration interrupt and a device_error event, no host exception`, () => {
      const r = rig();
      bringUp(r);
      setup(r);
      if (what.startsWith('a chain head')) r.barW(0x3000, 0, 2);
      else submit(r, 0);
      expect(r.bar(0x14, 1) & 0x40).toBe(0x40);
      expect(r.bar(0x1000, 1)).toBe(2); // ISR: configuration change
      const err = r.events.find((e) => e.kind === 'device_error');
      expect(err && err.kind === 'device_error' ? err.detail : '').toMatch(re);
      expect(usedIdx(r)).toBe(0);
      // The device stays stopped until the driver resets it; after a reset it works again.
      r.barW(0x14, 0, 1);
      expect(r.bar(0x14, 1)).toBe(0);
      bringUp(r);
      expect(r.bar(0x14, 1)).toBe(0xf);
    });
  }

  it('queue sizes that are not a power of two (or above the maximum) are refused: the old size reads back', () => {
    const r = rig();
    bringUp(r, 0x30000000, 8);
    r.barW(0x16, 0, 2);
    expect(r.bar(0x18, 2)).toBe(8);
    r.barW(0x14, 0, 1); // reset so the queue can be resized
    for (const bad of [0, 3, 100, 1000, 512]) {
      r.barW(0x18, bad, 2);
      expect(r.bar(0x18, 2)).toBe(256);
    }
    r.barW(0x18, 64, 2);
    expect(r.bar(0x18, 2)).toBe(64);
  });

  it('rings outside RAM when the queue is enabled: DEVICE_NEEDS_RESET', () => {
    const r = rig();
    r.cfgW(1, 0x20, BAR4 | 0xc);
    r.cfgW(1, 4, 6, 2);
    r.barW(0x14, 0xb, 1);
    r.barW(0x20, 0x7000_0000);
    r.barW(0x1c, 1, 2);
    expect(r.bar(0x1c, 2)).toBe(0);
    expect(r.bar(0x14, 1) & 0x40).toBe(0x40);
  });
});

describe('MSI-X (GICv2 machines) and the GICv2m frame', () => {
  const BAR1 = 0x1000_8000;
  const table = (r: Rig, off: number, v?: number): number => {
    if (v === undefined) return r.host.windows[0]!.read(BAR1 - VIRT_PCIE.MMIO + off, 4, 0);
    r.host.windows[0]!.write(BAR1 - VIRT_PCIE.MMIO + off, 4, v, 0);
    return 0;
  };

  it('capability at 0x98 heading the list, BAR 1 of 4 KiB; a masked vector is pending until unmasked; INTx stays low', () => {
    const r = rig({ msix: 2 });
    expect(r.cfg(1, 0x34, 1)).toBe(0x98);
    expect(r.cfg(1, 0x98)).toBe(0x00018411); // id 0x11, next 0x84, table size 2
    expect(r.cfg(1, 0x9c)).toBe(1); // table at BAR 1 + 0
    expect(r.cfg(1, 0xa0)).toBe(0x801); // PBA at BAR 1 + 0x800
    r.cfgW(1, 0x14, 0xffffffff);
    expect(r.cfg(1, 0x14)).toBe(0xfffff000);
    r.cfgW(1, 0x14, BAR1);
    bringUp(r);
    r.cfgW(1, 0x9a, 0x8001, 2); // MSI-X enable
    r.barW(0x16, 0, 2);
    r.barW(0x1a, 1, 2); // queue 0 → vector 1
    expect(r.bar(0x1a, 2)).toBe(1);
    r.barW(0x1a, 7, 2); // no such vector: NO_VECTOR reads back
    expect(r.bar(0x1a, 2)).toBe(0xffff);
    r.barW(0x1a, 1, 2);
    table(r, 16, 0x8020040);
    table(r, 20, 0);
    table(r, 24, 81);
    header(r, 4, 0);
    desc(r, 0, HDR, 16, VIRTQ_DESC_F.NEXT, 1);
    desc(r, 1, STATUS, 1, VIRTQ_DESC_F.WRITE);
    submit(r, 0);
    expect(r.msis).toEqual([]); // vector 1 still masked (reset state)
    expect(table(r, 0x800) & 2).toBe(2);
    table(r, 28, 0); // unmask
    expect(r.msis).toEqual([[0x8020040, 81]]);
    expect(table(r, 0x800)).toBe(0);
    r.view.setUint16(AVAIL - RAM + 4 + 2 * QSIZE, 1, true); // used_event: tell me after the next one
    submit(r, 0);
    expect(r.msis).toEqual([
      [0x8020040, 81],
      [0x8020040, 81],
    ]);
    expect(r.lines).toEqual([]); // no INTx while MSI-X is on
    const msi = r.events.filter((e) => e.kind === 'msi');
    expect(msi).toHaveLength(2);
    expect(msi[0]).toMatchObject({ device: 'virtio-blk@00:01.0', addr: 0x8020040, msi_data: 81, intid: 81 });
    const done = r.events.filter((e) => e.kind === 'block_complete');
    expect(done.map((e) => (e.kind === 'block_complete' ? e.intid : -1))).toEqual([0, 81]);
  });

  it('GICv2m: MSI_TYPER says SPIs 80-143; a write of an SPI number raises it as an edge, others are ignored', async () => {
    const { GicV2m } = await import('../../../emu/devices/gicv2m.ts');
    const events: NewEvent[] = [];
    const lines: [number, boolean][] = [];
    const env = staticEnv({ enabled: true, record: (e) => events.push(e) });
    const irq: InterruptController = {
      setLine: (i, l) => lines.push([i, l]),
      inject() {},
      irqPending: () => false,
      fiqPending: () => false,
    };
    const f = new GicV2m({ name: 'gicv2m@8020000', model: 'gicv2m', role: 'gic_its', base: 0x8020000, size: 0x1000 }, irq, env);
    expect(f.read(0x8, 4, 0)).toBe(0x00500040);
    expect(f.read(0xfcc, 4, 0)).toBe(0x05100000);
    f.write(0x40, 4, 90, 0);
    f.write(0x40, 4, 79, 0);
    f.write(0x40, 4, 144, 0);
    expect(lines).toEqual([
      [90, true],
      [90, false],
    ]);
    expect(events).toMatchObject([{ kind: 'irq_line', intid: 90, trigger: 'edge', source: 'gicv2m@8020000' }]);
  });
});

describe('the kvm machine with a disk', () => {
  it('describes the PCI functions in its region table and keeps RAM reachable when a BAR is put over it', () => {
    const file = tmp.file('m.img');
    writeFileSync(file, Buffer.alloc(64 * 512));
    const disk = DiskImage.open({ file, mode: 'cow' });
    const m = new Machine({ machine: 'kvm', smp: 1, memBytes: 128 << 20, gic: 3, disks: [disk] }, new EventRecorder());
    const names = m.personality.regions.map((x) => x.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'pcie-ecam@4010000000',
        'pcie-mmio@10000000',
        'pcie-pio@3eff0000',
        'pcie-mmio-high@8000000000',
        'pcie-host@00:00.0',
        'virtio-blk@00:01.0',
      ]),
    );
    const ecam = 0x40_1000_0000 + 0x8000; // 00:01.0
    m.bus.mmioWrite(ecam + 0x20, 4, RAM | 0xc, 0, 0n);
    m.bus.mmioWrite(ecam + 0x04, 2, 6, 0, 0n);
    m.bus.mem[0] = 0x5a;
    expect(m.bus.mapPage(RAM)).toEqual({ off: 0, writable: true });
    expect(m.bus.deviceAt(RAM)).toBeUndefined();
    expect(m.bus.mmioRead(0x1000_0000, 4, 0, 0n)).toBe(0); // empty window: reads as nothing, no abort
    disk.close();
  });
});

// The pci rule family: each rule fires on a real run of guests/pcibad.c (a bare-metal driver that
// breaks it, on the kvm machine's PCIe host with a virtio-net function) and stays quiet on the
// same host enumerated correctly, as Linux 6.1 does it (hand-made stream of the accesses Linux's
// __pci_read_base and pci_enable_device make). The real Linux disk boot's quiet run is in
// test/real/rules-pci-its.test.ts.
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { check } from '../../analyze/check.ts';
import type { DeviceRegion, NewEvent } from '../../capture/model.ts';
import { openTrace } from '../../capture/store/index.ts';
import { runGuest } from '../../emu/run.ts';
import { at, tmpTraces, writeTrace } from './engine-helpers.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const tmp = tmpTraces();
afterAll(() => tmp.cleanup());

const ids = (fs: { rule: string }[]) => [...new Set(fs.map((f) => f.rule))].sort();

function checkFile(file: string, rules = 'pci') {
  const r = openTrace(file);
  try {
    return check(r, new Set([...(rules === 'pci' ? PCI_IDS : [rules])])).findings;
  } finally {
    r.close();
  }
}
const PCI_IDS = [
  'pci.bar-sizing-decode-on',
  'pci.bar-sizing-not-restored',
  'pci.bar-access-decode-off',
  'pci.bar-access-no-function',
  'pci.config-write-absent',
];

describe('pci rules on a real run of a guest that breaks them', () => {
  it('guests/pcibad on the kvm machine with a virtio-net function: each rule fires once, on the access that breaks it', async () => {
    const out = tmp.file('pcibad.trace');
    const r = await runGuest({
      machine: 'kvm',
      kernel: path.join(ROOT, 'guests/bin/pcibad.bin'),
      gic: 3,
      nics: [{}],
      output: out,
    });
    expect(Buffer.from(r.console).toString('latin1')).toContain('PASS pcibad');
    const fs = checkFile(out);
    expect(ids(fs)).toEqual([...PCI_IDS].sort());
    for (const f of fs) expect(f.count).toBe(1);
    const by = (id: string) => fs.find((f) => f.rule === id)!;
    expect(by('pci.config-write-absent').message).toMatch(/^00:1f\.0: configuration write to offset 0x4 /);
    expect(by('pci.bar-sizing-decode-on').evidence.map((e) => e.text)).toEqual([
      expect.stringMatching(/pci write 00:01\.0 BAR1 = 0xffffffff .*virtio-net@00:01\.0/),
      expect.stringMatching(/pci read  00:01\.0 BAR1 = 0xfffff000 /),
    ]);
    expect(by('pci.bar-sizing-not-restored').evidence[1]!.text).toMatch(/pci write 00:01\.0 COMMAND = 0x2 /);
    expect(by('pci.bar-access-decode-off').message).toMatch(
      /^virtio-net@00:01\.0: read at 0x10000000 \(BAR1 \+ 0x0\) while COMMAND = 0x0 has Memory Space disabled/,
    );
    expect(by('pci.bar-access-no-function').message).toMatch(/^read at 0x10100000 in pcie-mmio@10000000: no function has a BAR there/);
  });
});

// ---- hand-made streams: the same host, enumerated the way Linux does it ----

const ECAM: DeviceRegion = { name: 'pcie-ecam@4010000000', model: 'pcie-ecam', role: 'pcie', base: 0x40_1000_0000, size: 0x1000_0000 };
const WIN: DeviceRegion = { name: 'pcie-mmio@10000000', model: 'pcie-mmio', role: 'pcie', base: 0x1000_0000, size: 0x2eff_0000 };
const PIO: DeviceRegion = { name: 'pcie-pio@3eff0000', model: 'pcie-pio', role: 'pcie', base: 0x3eff_0000, size: 0x1_0000 };
const NET: DeviceRegion = { name: 'virtio-net@00:01.0', model: 'virtio-net-pci', role: 'virtio', base: 0, size: 0 };
const REGIONS = [ECAM, WIN, PIO, NET];

const REG: Record<number, string> = { 0x4: 'COMMAND', 0x10: 'BAR0', 0x14: 'BAR1', 0x20: 'BAR4', 0x24: 'BAR5', 0x30: 'ROM_ADDRESS' };
function cfg(write: boolean, offset: number, value: number, opts: { bdf?: string; size?: number } = {}): NewEvent {
  const absent = opts.bdf !== undefined && opts.bdf !== '00:01.0';
  return {
    kind: 'pci_config',
    time: at(),
    vcpu: 0,
    bdf: opts.bdf ?? '00:01.0',
    device: absent ? '' : NET.name,
    write,
    offset,
    size: opts.size ?? (offset === 4 ? 2 : 4),
    value: BigInt(value >>> 0),
    register: absent ? '' : (REG[offset] ?? ''),
    bar: absent ? -1 : offset === 0x14 ? 1 : offset === 0x20 || offset === 0x24 ? 4 : -1,
    outcome: absent ? 'absent' : 'handled',
  };
}
/** __pci_read_base for one BAR dword: save, all-ones, read back, restore (decode already off). */
const size = (off: number, orig: number, readback: number) => [
  cfg(false, off, orig),
  cfg(true, off, 0xffffffff),
  cfg(false, off, readback),
  cfg(true, off, orig),
];
function access(r: DeviceRegion, addr: number, device = r.name, register = ''): NewEvent {
  return {
    kind: 'mmio_read',
    time: at(),
    vcpu: 0,
    addr,
    size: 4,
    value: 0n,
    device,
    register,
    outcome: device === r.name ? 'raz_wi' : 'handled',
  };
}
/** Linux 6.1 enumerating a virtio-net-pci (BAR1 4 KiB MSI-X, BAR4 16 KiB 64-bit) and enabling it. */
const LINUX: NewEvent[] = [
  cfg(false, 0, 0x10411af4, { size: 4 }),
  cfg(false, 0, 0xffffffff, { bdf: '00:02.0', size: 4 }),
  cfg(false, 4, 0),
  cfg(true, 4, 0x400),
  cfg(false, 4, 0x400),
  cfg(true, 4, 0),
  ...size(0x10, 0, 0),
  ...size(0x14, 0, 0xfffff000),
  ...size(0x20, 0xc, 0xffffc00c),
  ...size(0x24, 0, 0xffffffff),
  cfg(false, 0x30, 0),
  cfg(true, 0x30, 0xfffff800),
  cfg(false, 0x30, 0),
  cfg(true, 0x30, 0),
  cfg(true, 0x14, 0x10000000),
  cfg(true, 0x20, 0x400c),
  cfg(true, 0x24, 0x80),
  cfg(true, 4, 0x2),
  cfg(true, 4, 0x6),
  access(WIN, 0x10000000, NET.name, 'BAR1+0x0'),
];

function streamFindings(events: NewEvent[]) {
  const file = tmp.file(`s${at()}.trace`);
  writeTrace(file, REGIONS, events).close();
  return checkFile(file);
}

describe('pci rules on hand-made streams', () => {
  it("Linux's enumeration (decode off while sizing, every BAR restored, decode on after assignment) and a read of an absent function: no finding", () => {
    expect(ids(streamFindings(LINUX))).toEqual([]);
  });

  it('an unimplemented BAR (reads back 0) sized with decode on and left all-ones is no finding', () => {
    expect(ids(streamFindings([cfg(true, 4, 2), cfg(true, 0x10, 0xffffffff), cfg(false, 0x10, 0), cfg(true, 4, 6)]))).toEqual([]);
  });

  it('a 64-bit BAR: the upper dword sized with Memory Space on is a memory BAR (its read-back of all-ones has bit 0 set)', () => {
    const fs = streamFindings([
      cfg(false, 0x20, 0xc),
      cfg(false, 4, 2),
      cfg(true, 0x24, 0xffffffff),
      cfg(false, 0x24, 0xffffffff),
      cfg(true, 0x24, 0),
    ]);
    expect(ids(fs)).toEqual(['pci.bar-sizing-decode-on']);
    expect(fs[0]!.message).toContain('BAR5 sized (all-ones written) while the Command register enabled its Memory Space decode');
  });

  it('a window access where a BAR holds an address but was never sized is not judged (the BAR size is unknown)', () => {
    expect(ids(streamFindings([cfg(true, 0x14, 0x10000000), cfg(true, 4, 0), access(WIN, 0x10100000)]))).toEqual([]);
  });

  it('an I/O BAR: an access in the I/O window (bus address = offset in the window) with I/O Space off', () => {
    const fs = streamFindings([
      cfg(false, 4, 0),
      cfg(false, 0x10, 0x1),
      cfg(true, 0x10, 0xffffffff),
      cfg(false, 0x10, 0xffffffe1),
      cfg(true, 0x10, 0x1001),
      access(PIO, PIO.base + 0x1004),
    ]);
    expect(ids(fs)).toEqual(['pci.bar-access-decode-off']);
    expect(fs[0]!.message).toContain('read at 0x3eff1004 (BAR0 + 0x4) while COMMAND = 0x0 has I/O Space disabled');
  });

  it('a trace with no configuration access (a QEMU log import) is not judged: window accesses stay quiet', () => {
    expect(ids(streamFindings([access(WIN, 0x10100000)]))).toEqual([]);
  });
});

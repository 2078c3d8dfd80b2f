// `explain disk`'s verdict order on hand-made states: the cases the real boots
// (test/real/explain-disk.test.ts) do not reach — a root mount that fails on the disk root= names,
// the kernel's own VFS panic lines, an initramfs-tools message, a xenstore ring dropped before any
// disk was found, a virtio driver that set DRIVER and stalled.
import { describe, expect, it } from 'vitest';
import { diskVerdict, type DiskState } from '../../analyze/explain-disk-verdict.ts';
import type { DiskDeviceReport } from '../../analyze/explain-disk-model.ts';

const ev = (seq: number) => ({ seq, vcpu: 0, time: seq, text: `#${seq}` });

function virtio(over: Partial<DiskDeviceReport> = {}): DiskDeviceReport {
  return {
    name: 'virtio-blk@00:01.0',
    transport: 'virtio-pci',
    found: ev(10),
    statusWrites: ['0x0', '0x1', '0x3', '0xb', '0xf'],
    status: '0xf',
    featuresRefused: false,
    frontend: [],
    backend: [],
    requests: 5,
    completions: 5,
    errors: 0,
    firstError: null,
    deviceError: '',
    kernelNames: ['vda'],
    ...over,
  };
}

function kvm(devices: DiskDeviceReport[], root: string, lines: string[]): DiskState {
  return {
    xen: false,
    bus: { kind: 'pci', present: true, accesses: 300, functions: ['virtio-blk@00:01.0'], error: '', first: ev(1) },
    devices,
    root,
    lines: lines.map((text, i) => ({ seq: 100 + i, text })),
  };
}

describe('explain disk verdicts', () => {
  it("the kernel's own VFS panic with root= naming another device is wrong-root", () => {
    const v = diskVerdict(
      kvm([virtio()], '/dev/vdb', [
        'VFS: Cannot open root device "vdb" or unknown-block(0,0): error -6',
        'Please append a correct "root=" boot option; here are the available partitions:',
        'Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)',
      ]),
    );
    expect(v.verdict).toBe('wrong-root');
    expect(v.reasons).toContain('console seq 100: "VFS: Cannot open root device "vdb" or unknown-block(0,0): error -6"');
  });

  it('a mount that fails on the disk root= names is root-not-mounted; none at all (no root=, no failure) is disk-ok', () => {
    expect(diskVerdict(kvm([virtio()], '/dev/vda', ['ALERT!  /dev/vda does not exist.  Dropping to a shell!'])).verdict).toBe(
      'root-not-mounted',
    );
    const ok = diskVerdict(kvm([virtio()], '', []));
    expect(ok.verdict).toBe('disk-ok');
    expect(ok.summary).toBe('virtio-blk@00:01.0 came up and its I/O completed (the console shows no mount)');
  });

  it('DRIVER set but DRIVER_OK never: negotiation-failed; no status write at all: driver-not-bound', () => {
    const stalled = diskVerdict(kvm([virtio({ statusWrites: ['0x0', '0x1', '0x3'], status: '0x3', requests: 0, completions: 0 })], '', []));
    expect(stalled.verdict).toBe('negotiation-failed');
    expect(stalled.reasons).toContain('DRIVER_OK was never set (status writes 0x0, 0x1, 0x3)');
    const none = diskVerdict(kvm([virtio({ statusWrites: [], status: '0x0', requests: 0, completions: 0 })], '', []));
    expect(none.verdict).toBe('driver-not-bound');
  });

  it('I/O error lines alone (no error completion recorded, e.g. an import) are io-errors', () => {
    const v = diskVerdict(kvm([virtio()], '', ['I/O error, dev vda, sector 2 op 0x0:(READ) flags 0x0 phys_seg 1 prio class 2']));
    expect(v.verdict).toBe('io-errors');
  });

  it('xen: a xenstore ring dropped before any disk was found is no-bus; a domain without vbd is no-disk', () => {
    const base: DiskState = {
      xen: true,
      bus: { kind: 'xenbus', present: true, accesses: 3, functions: [], error: 'XENSTORE_ERROR_RINGIDX', first: ev(1) },
      devices: [],
      root: '',
      lines: [],
    };
    expect(diskVerdict(base)).toMatchObject({
      verdict: 'no-bus',
      summary: 'xenbus dead: the xenstore ring failed (XENSTORE_ERROR_RINGIDX)',
    });
    expect(diskVerdict({ ...base, bus: { ...base.bus, error: '' } }).verdict).toBe('no-disk');
  });

  it('kvm: no PCIe host region is no-bus', () => {
    const s = kvm([], '', []);
    expect(diskVerdict({ ...s, bus: { ...s.bus, present: false, accesses: 0 } }).summary).toBe(
      'no PCI bus: the machine has no PCIe host, so no disk could be found',
    );
  });
});

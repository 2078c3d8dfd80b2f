// The DT as the rules read it: a PCI host bridge's `ranges` windows describe the BARs the guest
// assigns inside them (QEMU virt's 32-bit and 64-bit MMIO windows, on the kvm machine's own DTB).
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dtDeviceAt, readDt } from '../../analyze/dt-info.ts';
import { dtbFromMeta } from '../../capture/dtb-meta.ts';
import { openTrace } from '../../capture/store/index.ts';
import { runGuest } from '../../emu/run.ts';
import { tmpTraces } from './engine-helpers.ts';

const tmp = tmpTraces();
afterAll(() => tmp.cleanup());

describe('dt-info', () => {
  it("a PCI function's BAR is inside the host bridge's windows; a node's reg still wins; other addresses are undescribed", async () => {
    const out = tmp.file('dtb.trace');
    await runGuest({ kernel: path.resolve(import.meta.dirname, '../../guests/bin/uart.bin'), output: out, maxInsns: 1 });
    const r = openTrace(out);
    const dt = readDt(dtbFromMeta(r.meta.extra));
    r.close();
    expect(dt).toBeDefined();
    const host = dt!.devices.find((d) => d.windows.length)!;
    expect(host.path).toMatch(/^\/pcie@10000000$/);
    // QEMU virt: I/O at 0x3eff0000, 32-bit MMIO at 0x10000000, 64-bit MMIO at 0x80_0000_0000.
    expect(host.windows).toEqual([
      { base: 0x3eff0000, size: 0x10000 },
      { base: 0x10000000, size: 0x2eff0000 },
      { base: 0x8000000000, size: 0x8000000000 },
    ]);
    expect(dtDeviceAt(dt!, 0x8000000014)?.path).toBe(host.path); // virtio-pci BAR4 (common configuration)
    expect(dtDeviceAt(dt!, 0x1000100c)?.path).toBe(host.path); // an MSI-X table in BAR1
    expect(dtDeviceAt(dt!, 0x09000000)?.path).toMatch(/^\/pl011@9000000$/);
    expect(dtDeviceAt(dt!, 0x0b000000)).toBeUndefined();
  });
});

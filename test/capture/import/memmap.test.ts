import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildFdt, fdtNode } from '../../../arch/fdt.ts';
import { importFile } from '../../../cli/commands/import.ts';
import { openTrace } from '../../../capture/store/index.ts';
import { dtbFromMeta } from '../../../capture/dtb-meta.ts';
import { AddressMap, qemuVirtRegions, regionsFromDtb } from '../../../capture/import/memmap.ts';
import { tmp, tmpFile } from './helpers.ts';

/** A Xen-domU-like DT: SBSA UART at 0x22000000, GICv3 at 0x03001000. */
function xenLikeDtb(): Uint8Array {
  return buildFdt(
    fdtNode('', { '#address-cells': 2, '#size-cells': 2, compatible: 'xen,xenvm-4.17' }, [
      fdtNode('memory@40000000', { device_type: 'memory', reg: [0, 0x40000000, 0, 0x8000000] }),
      fdtNode('interrupt-controller@3001000', {
        compatible: 'arm,gic-v3',
        '#interrupt-cells': 3,
        reg: [0, 0x3001000, 0, 0x10000, 0, 0x3020000, 0, 0x1000000],
      }),
      fdtNode('sbsa-uart@22000000', {
        compatible: 'arm,sbsa-uart',
        reg: [0, 0x22000000, 0, 0x1000],
        interrupts: [0, 0, 4],
        'current-speed': 115200,
      }),
      fdtNode('hypervisor', { compatible: ['xen,xen-4.17', 'xen,xen'], reg: [0, 0x38000000, 0, 0x1000000], interrupts: [1, 15, 0xf08] }),
    ]),
  );
}

describe('memory maps', () => {
  it('QEMU virt: non-overlapping regions, found by address', () => {
    const regs = qemuVirtRegions(3);
    for (let i = 1; i < regs.length; i++) expect(regs[i]!.base).toBeGreaterThanOrEqual(regs[i - 1]!.base + regs[i - 1]!.size);
    const m = new AddressMap(regs);
    expect(m.find(0x9000018)?.name).toBe('pl011@9000000');
    expect(m.find(0xa000200 + 0x70)).toMatchObject({ name: 'virtio-mmio@a000200', intid: 49 });
    expect(m.find(0x80a0000 + 0x20014)?.role).toBe('gic_redist');
    expect(m.find(0x9100000)).toBeUndefined();
  });

  it('regions from a DTB', () => {
    const regs = regionsFromDtb(xenLikeDtb(), 'x.dtb');
    expect(regs.map((r) => [r.name, r.role, r.intid])).toEqual([
      ['gicv3-dist@3001000', 'gic_dist', undefined],
      ['gicv3-redist@3020000', 'gic_redist', undefined],
      ['sbsa-uart@22000000', 'uart', 32],
      ['xen-grant-table@38000000', 'xen_grant_table', 31],
      ['ram@40000000', 'ram', undefined],
    ]);
    expect(() => regionsFromDtb(new Uint8Array(64), 'junk.dtb')).toThrow(/^junk\.dtb: .*bad magic/);
  });

  it('QEMU dumpdtb gives the same device regions as the built-in virt map', () => {
    const dtb = join(tmp, 'virt.dtb');
    try {
      execFileSync('qemu-system-aarch64', ['-M', `virt,gic-version=3,dumpdtb=${dtb}`, '-cpu', 'cortex-a57', '-nographic'], {
        stdio: 'ignore',
      });
    } catch {
      /* dumpdtb exits after writing */
    }
    if (!existsSync(dtb)) return; // no QEMU here
    const fromDtb = regionsFromDtb(readFileSync(dtb), dtb).filter((r) => r.role !== 'ram');
    const virt = new Map(qemuVirtRegions(3).map((r) => [r.name, r]));
    for (const r of fromDtb) expect(virt.get(r.name), r.name).toMatchObject({ base: r.base, size: r.size, role: r.role });
  });

  it('--dtb: addresses resolve against the DTB (an SBSA UART becomes the console)', async () => {
    const dtb = join(tmp, 'xen.dtb');
    writeFileSync(dtb, xenLikeDtb());
    const f = tmpFile("memory_region_ops_write cpu 0 mr 0x1 addr 0x22000000 value 0x58 size 4 name 'sbsa'\n");
    const o = join(tmp, 'dtb.trace');
    await importFile({ input: f, output: o, dtb });
    const r = openTrace(o);
    const ev = [...r.events()];
    expect(ev.map((e) => e.kind)).toEqual(['mmio_write', 'console']);
    expect(ev[0]).toMatchObject({ device: 'sbsa-uart@22000000', register: 'DR' });
    expect(r.regions.map((x) => x.name)).toContain('sbsa-uart@22000000');
    expect(r.meta.hashes.dtb).toMatch(/^[0-9a-f]{64}$/);
    expect(dtbFromMeta(r.meta.extra)).toEqual(new Uint8Array(readFileSync(dtb)));
    r.close();
  });

  it('--dtb of QEMU virt: the DTB is stored as `run` stores it, and the virt map stands (a DT moving the UART does not move it)', async () => {
    // dumpdtb pads its blob to 1 MiB with zeros: stored trimmed, restored to the same bytes.
    const blob = buildFdt(
      fdtNode('', { '#address-cells': 2, '#size-cells': 2, compatible: 'linux,dummy-virt' }, [
        fdtNode('pl011@9000000', { compatible: ['arm,pl011', 'arm,primecell'], reg: [0, 0x9100000, 0, 0x1000], interrupts: [0, 1, 4] }),
        fdtNode('intc@8000000', { compatible: 'arm,cortex-a15-gic', reg: [0, 0x8000000, 0, 0x10000, 0, 0x8010000, 0, 0x10000] }),
        fdtNode('chosen', { bootargs: 'console=ttyAMA0 earlycon' }),
      ]),
    );
    const padded = new Uint8Array(0x100000);
    padded.set(blob);
    const dtb = join(tmp, 'virt-moved.dtb');
    writeFileSync(dtb, padded);
    const f = tmpFile(
      "memory_region_ops_write cpu 0 mr 0x1 addr 0x9000000 value 0x41 size 1 name 'pl011'\ngic_dist_write dist write at 0x00000000 size 4: 0x00000001\n",
    );
    for (const format of ['qemu-log', 'ftrace'] as const) {
      const o = join(tmp, `virt-${format}.trace`);
      if (format === 'ftrace') await importFile({ input: tmpFile('# tracer: nop\n'), output: o, dtb, format });
      else await importFile({ input: f, output: o, dtb });
      const r = openTrace(o);
      try {
        expect(r.meta.extra['dtbSize']).toBe(0x100000);
        expect(dtbFromMeta(r.meta.extra)).toEqual(padded);
        expect((r.meta.extra['dtbBase64'] as string).length).toBeLessThan(blob.length * 2);
        const names = r.regions.map((x) => x.name);
        expect(names).toContain('pl011@9000000');
        expect(names).not.toContain('pl011@9100000');
        // The GIC: from the log for qemu-log, from the DT's intc for ftrace (both GICv2 here).
        expect(names).toContain('gicv2-dist@8000000');
        if (format === 'qemu-log') expect([...r.events()][0]).toMatchObject({ device: 'pl011@9000000', register: 'DR' });
      } finally {
        r.close();
      }
    }
  });
});

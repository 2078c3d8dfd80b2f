// The kvm personality's DTB against the one QEMU 7.2 generates for the same machine
// (`-M virt,dumpdtb=`), compared as dtc source after removing what we deliberately leave out.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildFdt, findNode, parseFdt, propStrings, propU32, propU32s, type FdtNode } from '../../../arch/fdt.ts';
import { buildVirtDtb } from '../../../emu/dt/virt.ts';
import { virtAffinity } from '../../../emu/personality/kvm.ts';

const dir = mkdtempSync(join(tmpdir(), 'bootscope-virt-'));
const kernel = join(dir, 'kernel.bin');
const initrd = join(dir, 'initrd.img');
writeFileSync(kernel, new Uint8Array(4096));
writeFileSync(initrd, new Uint8Array(1000).fill(7));

/** Nodes and properties of QEMU's virt DTB that the kvm personality leaves out on purpose. */
const OMITTED_NODES = ['platform-bus@c000000', 'fw-cfg@9020000', 'pmu', 'flash@0'];
const OMITTED_CHOSEN = ['rng-seed', 'kaslr-seed'];

// GICv3: QEMU's default its=on puts an ITS node under the GIC and points the PCIe host's msi-map
// at it, its=off has neither (the kvm machine's --its off). With GICv2 QEMU always adds a GICv2m
// frame and points msi-map at it, as we do.
function qemuDtb(gic: 2 | 3, smp: number, memMiB: number, append: string, its: boolean): Uint8Array {
  const f = join(dir, `q-${gic}-${smp}-${its}.dtb`);
  execFileSync(
    'qemu-system-aarch64',
    [
      '-M',
      `virt,gic-version=${gic},its=${its ? 'on' : 'off'},dumpdtb=${f}`,
      '-cpu',
      'cortex-a57',
      '-smp',
      String(smp),
      '-m',
      String(memMiB),
      '-kernel',
      kernel,
      '-initrd',
      initrd,
      '-append',
      append,
      '-nographic',
    ],
    { stdio: 'ignore' },
  );
  return new Uint8Array(readFileSync(f));
}

function prune(root: FdtNode): FdtNode {
  root.children = root.children.filter((c) => !OMITTED_NODES.includes(c.name));
  const chosen = findNode(root, '/chosen')!;
  chosen.props = chosen.props.filter((p) => !OMITTED_CHOSEN.includes(p.name));
  return root;
}

function dts(blob: Uint8Array): string {
  const f = join(dir, `d${Math.random().toString(36).slice(2)}.dtb`);
  writeFileSync(f, blob);
  return execFileSync('dtc', ['-q', '-I', 'dtb', '-O', 'dts', f], { encoding: 'utf8' });
}

describe('virt DTB versus QEMU 7.2', () => {
  const configs: [2 | 3, number, boolean][] = [
    [2, 1, false],
    [2, 2, false],
    [3, 1, true],
    [3, 4, true],
    [3, 2, false],
  ];
  for (const [gic, smp, its] of configs) {
    it(`matches QEMU for GICv${gic}, ${smp} vCPU(s)${gic === 3 ? `, its=${its ? 'on' : 'off'}` : ''}, apart from the documented omissions`, () => {
      const append = 'console=ttyAMA0 earlycon root=/dev/vda';
      const q = parseFdt(qemuDtb(gic, smp, 256, append, its));
      const chosen = findNode(q.root, '/chosen')!;
      const start = propU32(chosen, 'linux,initrd-start')!;
      const end = propU32(chosen, 'linux,initrd-end')!;
      expect(end - start).toBe(1000);
      const theirs = dts(buildFdt(prune(q.root)));
      const ours = dts(
        buildVirtDtb({
          smp,
          gic,
          memBase: 0x40000000,
          memSize: 256 << 20,
          bootargs: append,
          initrd: { start, end },
          affinity: (c) => virtAffinity(c, gic),
          aliases: false,
          v2m: true,
          its,
        }),
      );
      expect(ours).toBe(theirs);
    });
  }

  it('adds /aliases/serial0 and no random seeds', () => {
    const root = parseFdt(buildVirtDtb({ smp: 1, gic: 2, memBase: 0x40000000, memSize: 128 << 20 })).root;
    expect(propStrings(findNode(root, '/aliases')!, 'serial0')).toEqual(['/pl011@9000000']);
    const chosen = findNode(root, '/chosen')!;
    expect(chosen.props.map((p) => p.name)).toEqual(['stdout-path']);
    expect(propU32s(findNode(root, '/timer')!, 'interrupts')).toEqual([1, 13, 0x104, 1, 14, 0x104, 1, 11, 0x104, 1, 10, 0x104]);
    expect(findNode(root, '/cpus/cpu@0')!.props.map((p) => p.name)).not.toContain('enable-method');
  });

  it('writes 64-bit initrd addresses as two cells', () => {
    const root = parseFdt(
      buildVirtDtb({ smp: 1, gic: 3, memBase: 0x40000000, memSize: 8 << 30, initrd: { start: 0x1_2000_0000, end: 0x1_2000_1000 } }),
    ).root;
    expect(propU32s(findNode(root, '/chosen')!, 'linux,initrd-start')).toEqual([1, 0x20000000]);
  });
});

// The shared FDT library against Debian's dtc: what we build, dtc decompiles to the same tree;
// what dtc (and QEMU) builds, we parse; malformed blobs give errors naming the offset.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  buildFdt,
  cells,
  FdtError,
  fdtNode,
  findCompatible,
  findNode,
  findPhandle,
  parseFdt,
  propString,
  propStrings,
  propU32,
  propU32s,
  regEntries,
} from '../../../arch/fdt.ts';

const dir = mkdtempSync(join(tmpdir(), 'bootscope-fdt-'));
let n = 0;
function dtcDecompile(blob: Uint8Array): string {
  const f = join(dir, `b${n++}.dtb`);
  writeFileSync(f, blob);
  return execFileSync('dtc', ['-q', '-I', 'dtb', '-O', 'dts', f], { encoding: 'utf8' });
}
function dtcCompile(dts: string): Uint8Array {
  const f = join(dir, `s${n++}.dts`);
  writeFileSync(f, dts);
  return new Uint8Array(execFileSync('dtc', ['-q', '-I', 'dts', '-O', 'dtb', f]));
}

function sample() {
  return fdtNode('', { '#address-cells': 2, '#size-cells': 2, compatible: 'linux,dummy-virt', model: 'test' }, [
    fdtNode('chosen', { bootargs: 'console=ttyAMA0 earlycon', 'stdout-path': '/pl011@9000000' }),
    fdtNode('apb-pclk', { phandle: 0x8000, '#clock-cells': 0, 'clock-frequency': 24000000, compatible: 'fixed-clock' }),
    fdtNode('pl011@9000000', {
      compatible: ['arm,pl011', 'arm,primecell'],
      reg: [0, 0x9000000, 0, 0x1000],
      clocks: [0x8000, 0x8000],
      'clock-names': ['uartclk', 'apb_pclk'],
      'dma-coherent': true,
      big: 0x1122334455667788n,
    }),
  ]);
}

describe('FDT builder', () => {
  it('produces a v17 blob that dtc decompiles to the same tree', () => {
    const blob = buildFdt(sample(), { memreserve: [{ address: 0x48000000n, size: 0x1000n }], bootCpuId: 0 });
    const dts = dtcDecompile(blob);
    expect(dts).toContain('/memreserve/\t0x0000000048000000 0x0000000000001000;');
    expect(dts).toContain('compatible = "arm,pl011\\0arm,primecell";');
    expect(dts).toContain('reg = <0x00 0x9000000 0x00 0x1000>;');
    expect(dts).toContain('clock-names = "uartclk\\0apb_pclk";');
    expect(dts).toContain('dma-coherent;');
    expect(dts).toContain('big = <0x11223344 0x55667788>;');
    expect(dts).toContain('bootargs = "console=ttyAMA0 earlycon";');
    // dtc → dtb of our decompiled text → same tree as ours
    const again = parseFdt(dtcCompile(dts));
    expect(again.root).toEqual(parseFdt(blob).root);
    expect(again.memreserve).toEqual([{ address: 0x48000000n, size: 0x1000n }]);
  });

  it('deduplicates strings and pads on request', () => {
    const blob = buildFdt(sample(), { padTo: 0x10000 });
    expect(blob.length).toBe(0x10000);
    const dv = new DataView(blob.buffer);
    expect(dv.getUint32(20)).toBe(17);
    expect(dv.getUint32(24)).toBe(16);
    const strings = new TextDecoder().decode(blob.subarray(dv.getUint32(12), dv.getUint32(12) + dv.getUint32(32)));
    expect(strings.split('\0').filter((s) => s === 'compatible')).toHaveLength(1);
    expect(dtcDecompile(blob)).toContain('linux,dummy-virt');
  });

  it('rejects invalid names and cell values', () => {
    expect(() => buildFdt(fdtNode('', {}, [fdtNode('a/b')]))).toThrow(/not valid/);
    expect(() => cells([2 ** 32])).toThrow(/not a u32/);
  });
});

describe('FDT parser', () => {
  it('parses a dtc-produced blob with phandles, memreserve and accessors', () => {
    const blob = dtcCompile(`/dts-v1/;
/memreserve/ 0x1000 0x2000;
/ {
  #address-cells = <2>; #size-cells = <2>;
  intc: intc@8000000 { compatible = "arm,cortex-a15-gic"; interrupt-controller; #interrupt-cells = <3>;
    reg = <0 0x8000000 0 0x10000>, <0 0x8010000 0 0x10000>; };
  uart@9000000 { compatible = "arm,pl011", "arm,primecell"; interrupt-parent = <&intc>; interrupts = <0 1 4>; };
};`);
    const fdt = parseFdt(blob);
    expect(fdt.version).toBe(17);
    expect(fdt.memreserve).toEqual([{ address: 0x1000n, size: 0x2000n }]);
    const intc = findNode(fdt.root, '/intc@8000000')!;
    expect(regEntries(intc)).toEqual([
      { address: 0x8000000n, size: 0x10000n },
      { address: 0x8010000n, size: 0x10000n },
    ]);
    const uart = findNode(fdt.root, '/uart')!;
    expect(propStrings(uart, 'compatible')).toEqual(['arm,pl011', 'arm,primecell']);
    expect(propU32s(uart, 'interrupts')).toEqual([0, 1, 4]);
    const ph = propU32(uart, 'interrupt-parent')!;
    expect(findPhandle(fdt.root, ph)).toBe(intc);
    expect(findCompatible(fdt.root, 'arm,primecell').map((x) => x.path)).toEqual(['/uart@9000000']);
  });

  it("parses QEMU's own virt DTB and rebuilds it so that dtc sees the same source", () => {
    const f = join(dir, 'qemu-virt.dtb');
    execFileSync('qemu-system-aarch64', ['-M', `virt,dumpdtb=${f}`, '-cpu', 'cortex-a57', '-smp', '2', '-nographic'], { stdio: 'ignore' });
    const blob = new Uint8Array(readFileSync(f));
    const fdt = parseFdt(blob, f);
    expect(propString(fdt.root, 'compatible')).toBe('linux,dummy-virt');
    expect(findNode(fdt.root, '/cpus/cpu@1')).toBeDefined();
    const rebuilt = buildFdt(fdt.root, { memreserve: fdt.memreserve, bootCpuId: fdt.bootCpuId });
    expect(dtcDecompile(rebuilt)).toBe(dtcDecompile(blob));
  });
});

describe('malformed DTBs', () => {
  const good = () => buildFdt(sample());
  const cases: [string, () => Uint8Array, RegExp][] = [
    ['too short', () => new Uint8Array(10), /offset 0x0: blob is 10 bytes, shorter than the 40-byte FDT header/],
    ['bad magic', () => new TextEncoder().encode('this is not a device tree blob at all!!!!!'), /offset 0x0: bad magic 0x74686973/],
    ['truncated', () => good().slice(0, 100), /offset 0x4: totalsize \d+ exceeds the 100 bytes available/],
    [
      'bad version',
      () => {
        const b = good();
        new DataView(b.buffer).setUint32(20, 2);
        return b;
      },
      /offset 0x14: unsupported version 2/,
    ],
    [
      'unknown token',
      () => {
        const b = good();
        const dv = new DataView(b.buffer);
        dv.setUint32(dv.getUint32(8) + 8, 0x77); // first token after the root's (empty) name
        return b;
      },
      /offset 0x[0-9a-f]+: unknown structure token 0x77/,
    ],
    [
      'bad string offset',
      () => {
        const b = good();
        const dv = new DataView(b.buffer);
        dv.setUint32(dv.getUint32(8) + 8 + 8, 0xffff); // nameoff of the first property
        return b;
      },
      /property name offset 65535 is outside/,
    ],
    [
      'missing end',
      () => {
        const b = good();
        const dv = new DataView(b.buffer);
        const endTok = dv.getUint32(8) + dv.getUint32(36) - 4;
        dv.setUint32(endTok, 4); // FDT_END → NOP: runs off the block
        return b;
      },
      /structure block ends without FDT_END/,
    ],
  ];
  for (const [what, make, msg] of cases) {
    it(`reports ${what} with its offset`, () => {
      let err: unknown;
      try {
        parseFdt(make(), 'guest.dtb');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(FdtError);
      expect((err as Error).message).toMatch(/^guest\.dtb: /);
      expect((err as Error).message).toMatch(msg);
    });
  }
});

// fw_cfg in its MMIO form as QEMU 7.2's virt machine has it: the traditional interface (selector,
// data), the file directory, and the DMA interface (big-endian descriptors) that EDK2 uses.
import { describe, expect, it } from 'vitest';
import { baseItems, FW_CFG, FwCfg, kernelItems } from '../../../emu/devices/fw-cfg.ts';
import { firmwareFwCfg } from '../../../emu/machine/firmware.ts';
import { reg } from './helpers.ts';

const RAM = 0x40000000;

function device(
  files = [
    { name: 'etc/z', data: Uint8Array.of(1, 2, 3) },
    { name: 'bootorder', data: new Uint8Array(0) },
  ],
) {
  const mem = new Uint8Array(0x10000);
  const items = baseItems(2);
  for (const [k, v] of kernelItems(
    Uint8Array.from({ length: 300 }, (_, i) => i & 0xff),
    undefined,
    'console=ttyAMA0',
  ))
    items.set(k, v);
  const d = new FwCfg({
    region: reg('fw-cfg@9020000', 'fw-cfg', 0x9020000, 0x18),
    content: { items, files },
    memory: { mem, memOffset: (pa) => (pa >= RAM && pa < RAM + mem.length ? pa - RAM : -1) },
  });
  return { d, mem, dv: new DataView(mem.buffer) };
}

/** The guest's little-endian 16-bit store of a big-endian selector. */
const selectLE = (sel: number): number => ((sel & 0xff) << 8) | (sel >> 8);

describe('fw_cfg (MMIO)', () => {
  it('traditional interface: the selector is big-endian; data streams the item, zeros past its end', () => {
    const { d } = device();
    d.write(8, 2, selectLE(FW_CFG.SIGNATURE));
    expect(d.read(0, 4)).toBe(0x554d4551); // "QEMU" in memory order
    expect(d.read(0, 1)).toBe(0);
    d.write(8, 2, selectLE(FW_CFG.ID));
    expect(d.read(0, 4)).toBe(3); // traditional + DMA
    d.write(8, 2, selectLE(FW_CFG.NB_CPUS));
    expect(d.read(0, 2)).toBe(2);
    expect(d.registerName(0)).toBe('data:nb_cpus');
    d.write(8, 2, selectLE(FW_CFG.CMDLINE_SIZE));
    expect(d.read(0, 4)).toBe(16); // with the NUL
    expect(d.read64(0)).toBe(0n);
  });

  it('file directory: be32 count, then entries sorted by name from selector 0x20', () => {
    const { d } = device();
    d.write(8, 2, selectLE(FW_CFG.FILE_DIR));
    const bytes: number[] = [];
    for (let i = 0; i < 4 + 2 * 64; i++) bytes.push(d.read(0, 1));
    const dv = new DataView(Uint8Array.from(bytes).buffer);
    expect(dv.getUint32(0)).toBe(2);
    const name = (o: number) => String.fromCharCode(...bytes.slice(o + 8, o + 64)).replace(/\0+$/, '');
    expect([name(4), dv.getUint32(4), dv.getUint16(8)]).toEqual(['bootorder', 0, 0x20]);
    expect([name(68), dv.getUint32(68), dv.getUint16(72)]).toEqual(['etc/z', 3, 0x21]);
    expect(d.itemName(0x21)).toBe('etc/z');
  });

  it('DMA: select + read into guest RAM, control cleared; skip; a write is an error', () => {
    const { d, mem, dv } = device();
    // descriptor at RAM+0x100: select kernel_data, read 8 bytes to RAM+0x200
    dv.setUint32(0x100, (FW_CFG.KERNEL_DATA << 16) | 0x08 | 0x02);
    dv.setUint32(0x104, 8);
    dv.setBigUint64(0x108, BigInt(RAM + 0x200));
    d.write(16, 4, 0); // high word (big-endian 0)
    d.write(20, 4, swap32(RAM + 0x100));
    expect(dv.getUint32(0x100)).toBe(0);
    expect(Array.from(mem.subarray(0x200, 0x208))).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(d.registerName(20)).toBe('dma:read:kernel_data:8');
    // skip 2, read 2: bytes 10 and 11
    dv.setUint32(0x100, 0x04);
    dv.setUint32(0x104, 2);
    d.write64(16, swap64(BigInt(RAM + 0x100)));
    dv.setUint32(0x100, 0x02);
    dv.setUint32(0x104, 2);
    dv.setBigUint64(0x108, BigInt(RAM + 0x300));
    d.write64(16, swap64(BigInt(RAM + 0x100)));
    expect(Array.from(mem.subarray(0x300, 0x302))).toEqual([10, 11]);
    dv.setUint32(0x100, 0x10);
    d.write64(16, swap64(BigInt(RAM + 0x100)));
    expect(dv.getUint32(0x100)).toBe(1); // error bit
    // a read to an address outside RAM fails too
    dv.setUint32(0x100, 0x02);
    dv.setUint32(0x104, 4);
    dv.setBigUint64(0x108, 0x1000n);
    d.write64(16, swap64(BigInt(RAM + 0x100)));
    expect(dv.getUint32(0x100)).toBe(1);
  });

  it('the DMA register reads as the "QEMU CFG" signature', () => {
    const { d } = device();
    expect(d.read64(16)).toBe(0x47464320554d4551n);
  });

  it("QEMU virt's files for a firmware boot: bootorder, bios-geometry, etc/boot-fail-wait", () => {
    const c = firmwareFwCfg({ smp: 1, kernel: new Uint8Array(4), append: 'x' });
    expect(c.files.map((f) => f.name).sort()).toEqual(['bios-geometry', 'bootorder', 'etc/boot-fail-wait']);
    expect(Array.from(c.items.get(FW_CFG.CMDLINE_DATA)!)).toEqual([0x78, 0]);
    expect(c.items.has(FW_CFG.INITRD_SIZE)).toBe(false);
  });
});

function swap32(v: number): number {
  return (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | ((v >>> 24) & 0xff)) >>> 0;
}

function swap64(v: bigint): bigint {
  let r = 0n;
  for (let i = 0n; i < 8n; i++) r = (r << 8n) | ((v >> (8n * i)) & 0xffn);
  return r;
}

// Loader placement against qemu-system-aarch64 7.2 itself (PC and x0 at kernel entry from
// `-d cpu -singlestep`), the real Debian cloud kernel when it is cached, and bad input.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { fetchGuests } from '../../helpers/real-guests.ts';
import { takeLogHead } from '../../helpers/qemu-log-window.ts';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { LoaderError, planBoot, type BootInput } from '../../../emu/loader/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'bootscope-loader-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const RAM = 0x40000000;
const MiB = 0x100000;
const LOOP = 0x14000000; // b .

function words(n: number, w = LOOP): Uint8Array {
  const b = new Uint8Array(n * 4);
  const dv = new DataView(b.buffer);
  for (let i = 0; i < n; i++) dv.setUint32(i * 4, w, true);
  return b;
}

function linuxImage(textOffset: bigint, imageSize: bigint, flags = 0xan, len = 8192): Uint8Array {
  const b = words(len / 4);
  const dv = new DataView(b.buffer);
  dv.setUint32(4, 0, true);
  dv.setBigUint64(8, textOffset, true);
  dv.setBigUint64(16, imageSize, true);
  dv.setBigUint64(24, flags, true);
  for (let o = 32; o < 56; o += 4) dv.setUint32(o, 0, true);
  dv.setUint32(0x38, 0x644d5241, true);
  dv.setUint32(0x3c, 0, true);
  return b;
}

function elf(at: number): Uint8Array {
  const s = join(dir, `e${at.toString(16)}.s`);
  const o = s.replace(/\.s$/, '.o');
  const e = s.replace(/\.s$/, '.elf');
  writeFileSync(s, '.global _start\n_start: b .\n');
  execFileSync('aarch64-linux-gnu-as', [s, '-o', o]);
  execFileSync('aarch64-linux-gnu-ld', [`-Ttext=0x${at.toString(16)}`, o, '-o', e]);
  return new Uint8Array(readFileSync(e));
}

/** Boot in QEMU and return PC and x0 when the first instruction outside the boot stub runs. */
function qemuEntry(kernel: Uint8Array, memMiB: number, initrd?: Uint8Array): { pc: bigint; x0: bigint } {
  const k = join(dir, `k${Math.random().toString(36).slice(2)}`);
  writeFileSync(k, kernel);
  const args = [
    '-M',
    'virt',
    '-cpu',
    'cortex-a57',
    '-m',
    String(memMiB),
    '-nographic',
    '-kernel',
    k,
    '-d',
    'cpu,nochain',
    '-singlestep',
    '-D',
    `${k}.log`,
  ];
  if (initrd) {
    writeFileSync(`${k}.rd`, initrd);
    args.push('-initrd', `${k}.rd`);
  }
  try {
    execFileSync('timeout', ['3', 'qemu-system-aarch64', ...args], { stdio: 'ignore' });
  } catch {
    // timeout ends QEMU: the guest spins forever by design
  }
  const log = takeLogHead(`${k}.log`);
  for (const m of log.matchAll(/PC=([0-9a-f]{16}) X00=([0-9a-f]{16})/g)) {
    const pc = BigInt('0x' + m[1]);
    if (pc >= 0x40001000n) return { pc, x0: BigInt('0x' + m[2]) };
  }
  throw new Error('QEMU never left its boot stub');
}

const fakeDtb =
  (size = MiB) =>
  () =>
    new Uint8Array(size);

describe('boot placement matches QEMU 7.2', () => {
  const cases: [string, () => Uint8Array, number, boolean][] = [
    ['raw image', () => words(1024), 128, false],
    ['raw image with initrd', () => words(1024), 128, true],
    ['Image, text_offset 0', () => linuxImage(0n, 0x200000n), 256, true],
    ['Image, text_offset 0x80000', () => linuxImage(0x80000n, 0x200000n), 256, false],
    ['Image, image_size 0 (pre-3.17)', () => linuxImage(0n, 0n), 1024, false],
    ['Image whose image_size reaches past the default initrd address', () => linuxImage(0n, 150n * BigInt(MiB)), 256, true],
    ['gzip-compressed Image', () => new Uint8Array(gzipSync(linuxImage(0n, 0x200000n))), 256, false],
  ];
  for (const [what, make, mem, withInitrd] of cases) {
    it(`${what} (${mem} MiB${withInitrd ? ', initrd' : ''})`, () => {
      const kernel = make();
      const initrd = withInitrd ? new Uint8Array(1000).fill(0x5a) : undefined;
      const plan = planBoot({
        kernel,
        kernelName: 'k',
        ram: { base: RAM, size: mem * MiB },
        dtb: fakeDtb(),
        ...(initrd ? { initrd } : {}),
      });
      const q = qemuEntry(kernel, mem, initrd);
      expect(plan.entry).toBe(q.pc);
      expect(plan.regs[0]).toBe(q.x0);
      expect(plan.regs.slice(1)).toEqual([0n, 0n, 0n]);
    });
  }

  it('ELF: entered at e_entry with x0 = 0, DTB at the base of RAM when it fits below', () => {
    const high = elf(0x40200000);
    const plan = planBoot({
      kernel: high,
      kernelName: 'e.elf',
      ram: { base: RAM, size: 256 * MiB },
      dtb: fakeDtb(),
      initrd: new Uint8Array(10),
    });
    expect(qemuEntry(high, 256)).toEqual({ pc: plan.entry, x0: 0n });
    expect(plan.kind).toBe('elf');
    expect(plan.dtbAddr).toBe(RAM);
    expect(plan.initrd).toBeUndefined();
    expect(plan.notes.join()).toMatch(/initrd ignored/);
    const low = planBoot({ kernel: elf(0x40100000), kernelName: 'e.elf', ram: { base: RAM, size: 256 * MiB }, dtb: fakeDtb() });
    expect(low.dtbAddr).toBeUndefined(); // 1 MiB DTB does not fit below 0x400f0000
    expect(low.entry).toBe(0x40100000n);
  });
});

describe('loader details', () => {
  it('raises the initrd above a large kernel and 2 MiB-aligns the DTB after it', () => {
    const big = linuxImage(0n, 150n * BigInt(MiB));
    const plan = planBoot({
      kernel: big,
      kernelName: 'k',
      ram: { base: RAM, size: 256 * MiB },
      initrd: new Uint8Array(5000),
      dtb: (rd) => new Uint8Array(rd ? 64 : 32),
    });
    expect(plan.initrd).toEqual({ start: RAM + 152 * MiB, end: RAM + 152 * MiB + 5000 });
    expect(plan.dtbAddr).toBe(RAM + 154 * MiB);
    expect(plan.blobs.find((b) => b.name === 'dtb')!.data.length).toBe(64); // built with the initrd known
  });

  it('zero-fills ELF bss', () => {
    const s = join(dir, 'bss.s');
    writeFileSync(s, '.global _start\n_start: b .\n.bss\n.space 8192\n');
    execFileSync('aarch64-linux-gnu-as', [s, '-o', `${s}.o`]);
    execFileSync('aarch64-linux-gnu-ld', ['-Ttext=0x40200000', `${s}.o`, '-o', `${s}.elf`]);
    const plan = planBoot({ kernel: new Uint8Array(readFileSync(`${s}.elf`)), kernelName: 'bss.elf', ram: { base: RAM, size: 64 * MiB } });
    expect(plan.blobs.some((b) => b.zeroFill >= 8192)).toBe(true);
  });

  // Debian's kernel as guests/inputs.lock pins it (scripts/fetch-guests.sh, cached under .cache/guests/).
  it("places Debian's 6.1 cloud kernel Image as QEMU does", () => {
    const path = fetchGuests().kernel;
    const vmlinuz = basename(path);
    const kernel = new Uint8Array(readFileSync(path));
    const plan = planBoot({
      kernel,
      kernelName: vmlinuz,
      ram: { base: RAM, size: 512 * MiB },
      dtb: fakeDtb(),
      initrd: new Uint8Array(4096),
    });
    expect(plan.kind).toBe('linux');
    expect(plan.header!.efi).toBe(true);
    expect(plan.header!.textOffset).toBe(0n);
    expect(plan.header!.pageSizeKiB).toBe(4);
    expect(plan.entry).toBe(BigInt(RAM + 2 * MiB));
    expect(plan.initrd!.start).toBe(RAM + 128 * MiB);
    expect(plan.dtbAddr).toBe(RAM + 130 * MiB);
  });
});

describe('bad input', () => {
  const ram = { base: RAM, size: 64 * MiB };
  const bad: [string, Partial<BootInput>, RegExp][] = [
    ['empty file', { kernel: new Uint8Array(0) }, /^bad\.img: kernel file is empty$/],
    [
      'text file',
      { kernel: new TextEncoder().encode('#!/bin/sh\necho this is not a kernel\n'.repeat(4)) },
      /^bad\.img: looks like text \("#!\/bin\/sh echo this is/,
    ],
    [
      'x86 bzImage',
      {
        kernel: (() => {
          const b = new Uint8Array(1024);
          b.set([0x48, 0x64, 0x72, 0x53], 0x202);
          return b;
        })(),
      },
      /x86 bzImage \("HdrS" at offset 0x202\)/,
    ],
    [
      'PE without arm64 magic',
      {
        kernel: (() => {
          const b = new Uint8Array(1024);
          b[0] = 0x4d;
          b[1] = 0x5a;
          return b;
        })(),
      },
      /PE\/EFI image \("MZ" at offset 0x0\) without the arm64 Image magic/,
    ],
    [
      'forced linux format on raw code',
      { kernel: words(64), format: 'linux' },
      /not a Linux arm64 Image: expected magic "ARM\\x64" \(0x644d5241\) at offset 0x38, found 0x14000000/,
    ],
    ['truncated Image', { kernel: new Uint8Array(20), format: 'linux' }, /shorter than the 64-byte header/],
    ['big-endian Image', { kernel: linuxImage(0n, 0x200000n, 0xbn) }, /big-endian arm64 Image/],
    ['corrupt gzip', { kernel: Uint8Array.of(0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3) }, /gzip-compressed kernel does not decompress/],
    ['kernel bigger than RAM', { kernel: words(17 * MiB) }, /does not fit in RAM 0x40000000-0x43ffffff/],
    [
      'initrd bigger than RAM',
      { kernel: words(16), initrd: new Uint8Array(40 * MiB), initrdName: 'rd.img' },
      /^rd\.img: initrd \(41943040 bytes at 0x42000000\) does not fit/,
    ],
    [
      'ELF for another machine',
      {
        kernel: (() => {
          const b = elf(0x40200000);
          b[18] = 62;
          return b;
        })(),
      },
      /ELF machine 62 at offset 0x12: expected EM_AARCH64/,
    ],
    [
      '32-bit ELF',
      {
        kernel: (() => {
          const b = elf(0x40200000);
          b[4] = 1;
          return b;
        })(),
      },
      /ELF class 1 at offset 0x4/,
    ],
    ['truncated ELF', { kernel: elf(0x40200000).slice(0, 40) }, /truncated ELF header: 40 bytes/],
    ['ELF outside RAM', { kernel: elf(0x1000) }, /PT_LOAD segment at 0x0\+0x[0-9a-f]+ is outside RAM/],
  ];
  for (const [what, input, msg] of bad) {
    it(`rejects ${what}`, () => {
      let err: unknown;
      try {
        planBoot({ kernel: new Uint8Array(0), kernelName: 'bad.img', ram, ...input } as BootInput);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(LoaderError);
      expect((err as Error).message).toMatch(msg);
    });
  }
});

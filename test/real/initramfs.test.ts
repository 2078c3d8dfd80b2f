// scripts/make-initramfs.ts: a gzip cpio newc archive with busybox and an /init that prints the
// marker and powers off. Checked by reading the archive back and by booting Debian's kernel with
// it on Debian's QEMU (the emulator needs FP/SIMD for busybox: docs/real-guests.md).
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initScript, makeInitramfs, USERSPACE_MARKER } from '../../scripts/make-initramfs.ts';
import { fetchGuests, tempDir, type Guests } from '../helpers/real-guests.ts';

const tmp = tempDir('bootscope-real-initramfs-');
let guests: Guests;
beforeAll(() => {
  guests = fetchGuests();
});
afterAll(() => tmp.cleanup());

interface CpioEntry {
  name: string;
  mode: number;
  rdev: [number, number];
  data: Buffer;
}

/** Read a newc archive back (independently of the writer's code). */
function readNewc(b: Buffer): CpioEntry[] {
  const out: CpioEntry[] = [];
  let off = 0;
  const align = (n: number): number => (n + 3) & ~3;
  for (;;) {
    expect(b.toString('latin1', off, off + 6)).toBe('070701');
    const field = (i: number): number => parseInt(b.toString('latin1', off + 6 + i * 8, off + 14 + i * 8), 16);
    const nameSize = field(11),
      fileSize = field(6);
    const name = b.toString('latin1', off + 110, off + 110 + nameSize - 1);
    const dataAt = align(off + 110 + nameSize);
    if (name === 'TRAILER!!!') return out;
    out.push({ name, mode: field(1), rdev: [field(9), field(10)], data: b.subarray(dataAt, dataAt + fileSize) });
    off = align(dataAt + fileSize);
  }
}

describe('make-initramfs', () => {
  it('writes busybox, /init, /dev/console and links into a newc archive', () => {
    const busybox = readFileSync(guests.busybox);
    const cpio = gunzipSync(makeInitramfs(busybox));
    expect(cpio.length % 512).toBe(0);
    const entries = readNewc(cpio);
    const byName = new Map(entries.map((e) => [e.name, e]));
    expect(byName.get('init')!.data.toString()).toBe(initScript(USERSPACE_MARKER));
    expect(byName.get('init')!.mode).toBe(0o100755);
    expect(byName.get('bin/busybox')!.data.equals(busybox)).toBe(true);
    expect(byName.get('bin/sh')!.data.toString()).toBe('busybox');
    expect(byName.get('dev/console')).toMatchObject({ mode: 0o020600, rdev: [5, 1] });
    // Same input, same bytes (no timestamps).
    expect(Buffer.from(makeInitramfs(busybox)).equals(Buffer.from(makeInitramfs(busybox)))).toBe(true);
  });

  it("boots to the marker and powers off on Debian's QEMU (2 vCPUs, GICv2)", async () => {
    const initrd = tmp.file('initramfs.cpio.gz');
    writeFileSync(initrd, makeInitramfs(readFileSync(guests.busybox)));
    const out = await new Promise<{ code: number | null; text: string }>((resolve, reject) => {
      const q = spawn(
        'qemu-system-aarch64',
        [
          '-M',
          'virt,gic-version=2',
          '-cpu',
          'cortex-a57',
          '-smp',
          '2',
          '-m',
          '512',
          '-nographic',
          '-no-reboot',
          '-kernel',
          guests.kernel,
          '-initrd',
          initrd,
          '-append',
          'console=ttyAMA0 earlycon=pl011,0x9000000',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let text = '';
      q.stdout.on('data', (d: Buffer) => (text += d.toString('latin1')));
      q.stderr.on('data', (d: Buffer) => (text += d.toString('latin1')));
      q.on('error', reject);
      q.on('exit', (code) => resolve({ code, text }));
    });
    expect(out.text).toContain('Run /init as init process');
    expect(out.text).toMatch(/\nBOOTSCOPE-USERSPACE-OK\r?\n/);
    expect(out.text).toContain('reboot: Power down');
    expect(out.code).toBe(0);
  });
});

// Golden `check`, `phases` and `latency` output of Debian's pinned 6.1 kernel booting the disk
// initramfs onto the ext4 disk (scripts/make-test-disk.ts) on --machine kvm (virtio-blk over PCIe)
// and --machine xen (blkfront/blkback), 1 vCPU each, and the deterministic part of their `diff`.
// The golden files name the kernel; a moved pin without new goldens fails (UPDATE_GOLDEN=1 writes
// them after review; docs/inputs.md).
//
// The diff golden keeps what does not hang on timing: the kinds each side has, the devices lined up
// by role, the hypercalls only one side makes, the device layer's role line, and the block requests
// up to the root mount's first flush (op, sector, length; no seq). Whether ext4 needs one more
// journal transaction before the read-only remount depends on when jbd2's thread runs, which each
// machine's timing moves (test/real/disk-diff.test.ts): the rest of the block stream, and the
// counts that follow it, are not golden material.
import { basename } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestDisk } from '../../scripts/make-test-disk.ts';
import { golden } from '../analyze/helpers.ts';
import { bootscope, fetchGuests, bootToPowerOff, tempDir } from '../helpers/real-guests.ts';

const tmp = tempDir('bootscope-real-disk-golden-');
let version = '';
let kvm: Promise<string>;
let xen: Promise<string>;

const boot = (name: string, disk: string, initrd: string, kernel: string, ...args: string[]): Promise<string> =>
  bootToPowerOff(tmp, name, { kernel, initrd, disk }, ...args);

beforeAll(() => {
  const guests = fetchGuests();
  version = basename(guests.kernel).replace(/^vmlinuz-/, '');
  const { disk, initramfs } = makeTestDisk(guests.kernel, guests.busybox, tmp.dir);
  kvm = boot('kvm', disk, initramfs, guests.kernel, '--append', 'console=ttyAMA0', '--mem', '512M');
  // One boot at a time: the machine's two cores are shared.
  xen = kvm.then(() => boot('xen', disk, initramfs, guests.kernel, '--machine', 'xen', '--append', 'console=hvc0', '--mem', '256M'));
  for (const p of [kvm, xen]) p.catch(() => {});
});
afterAll(() => tmp.cleanup());

async function cli(...args: string[]): Promise<string> {
  const r = await bootscope(tmp.dir, ...args);
  if (r.err !== '') throw new Error(`bootscope ${args[0]}: ${r.err}`);
  // The helper reads stdout as latin1 (guest bytes 1:1); these outputs are UTF-8 (µs, ×, §).
  return Buffer.from(r.out, 'latin1').toString('utf8');
}

/** The timing-independent part of `diff`'s text (see the header). */
function stableDiff(text: string): string {
  const lines = text.split('\n');
  const out: string[] = [];
  const firstDivergence = lines.indexOf('first divergence (vCPU 0)');
  out.push(...lines.slice(0, firstDivergence).filter((l) => !/^[AB]  /.test(l)));
  out.push(...lines.filter((l) => /^hypercalls only in [AB]: /.test(l)));
  const dev = lines.indexOf('device layer');
  out.push('', lines[dev]!, lines[dev + 1]!);
  const rows = lines.indexOf('    A                              B', dev);
  out.push('block requests to the root mount (A | B):');
  for (const l of lines.slice(rows + 1)) {
    const m = /^ +#\d+ (disk0 [^#]+?) +#\d+ (disk0 .+)$/.exec(l);
    if (!m) break;
    out.push(`  ${m[1]} | ${m[2]}`);
    if (m[1] === 'disk0 flush') break;
  }
  return out.join('\n') + '\n';
}

describe('golden check, phases, latency and diff of the disk boots (Debian 6.1, kvm and xen, 1 vCPU)', () => {
  for (const which of ['kvm', 'xen'] as const) {
    it(`${which}: check, phases and latency match the golden files`, async () => {
      const trace = await (which === 'kvm' ? kvm : xen);
      const c = golden(`check-disk-${which}-${version}.txt`, await cli('check', trace));
      expect(c.actual).toBe(c.expected);
      expect(c.actual).toMatch(/: 0 errors, /);
      const p = golden(`phases-disk-${which}-${version}.txt`, await cli('phases', trace));
      expect(p.actual).toBe(p.expected);
      expect(p.actual).toContain('root mount');
      const l = golden(`latency-disk-${which}-${version}.txt`, await cli('latency', trace));
      expect(l.actual).toBe(l.expected);
    });
  }

  it('diff kvm vs xen: the deterministic part matches the golden file', async () => {
    const text = await cli('diff', await kvm, await xen, '--no-findings');
    const d = golden(`diff-disk-kvm-xen-${version}.txt`, stableDiff(text));
    expect(d.actual).toBe(d.expected);
    expect(d.actual).toContain('  disk0 read 2+1024 | disk0 read 2+1024\n');
    expect(d.actual).toMatch(/ {2}disk0 flush \| disk0 flush\n$/);
  });
});

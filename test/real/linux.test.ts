// Debian's 6.1 cloud kernel on the kvm machine, 1 vCPU, GICv3, to the VFS panic: every platform
// line matches what the same kernel printed on QEMU's virt machine with the same command line
// (test/real/expected/linux-qemu-gicv3-smp1.txt, from scripts/make-linux-expected.sh).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootscope, fetchGuests, kernelLog, platformLines, REPO_ROOT, tempDir, type Guests } from './helpers.ts';

const APPEND = 'console=ttyAMA0 earlycon=pl011,0x9000000';
const tmp = tempDir('bootscope-real-linux-');
let guests: Guests;
beforeAll(() => {
  guests = fetchGuests();
});
afterAll(() => tmp.cleanup());

describe('Debian Linux 6.1 on --machine kvm', () => {
  it('boots to the VFS panic (1 vCPU, GICv3) with the platform lines QEMU virt prints', () => {
    const trace = tmp.file('linux.trace');
    const r = bootscope(tmp.dir, 'run', '--machine', 'kvm', '--kernel', guests.kernel, '--append', APPEND, '--smp', '1', '--gic', '3', '--mem', '512M',
      '--stop-on', 'end Kernel panic', '-o', trace, '--json');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const s = JSON.parse(r.out);
    expect(s.stop).toBe('stopped');
    expect(s.stopMessage).toBe('console printed "end Kernel panic"');
    const log = kernelLog(s.console);
    expect(log).toContain('Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)');
    const qemu = readFileSync(join(REPO_ROOT, 'test/real/expected/linux-qemu-gicv3-smp1.txt'), 'utf8').split('\n');
    const want = platformLines(qemu);
    expect(want.length).toBeGreaterThan(20);
    expect(want).toContain('9000000.pl011: ttyAMA0 at MMIO 0x9000000 (irq = 13, base_baud = 0) is a PL011 rev1');
    expect(platformLines(log)).toEqual(want);
    // The same kernel release as the stored QEMU console (a newer Debian kernel needs a new one).
    expect(log[1]).toBe(qemu[1]);
  });
});

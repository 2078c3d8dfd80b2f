// Debian's 6.1 kernel with the busybox initramfs (scripts/make-initramfs.sh), 2 vCPUs, GICv2: /init
// prints the marker and `poweroff -f` ends the run with PSCI SYSTEM_OFF. Busybox uses FP/SIMD, which the CPU has by default.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootscope, fetchGuests, REPO_ROOT, tempDir, type Guests } from '../helpers/real-guests.ts';

const tmp = tempDir('bootscope-real-userspace-');
let guests: Guests;
let initrd: string;
beforeAll(() => {
  guests = fetchGuests();
  initrd = tmp.file('initramfs.cpio.gz');
  execFileSync(process.execPath, [
    '--disable-warning=ExperimentalWarning',
    join(REPO_ROOT, 'scripts/make-initramfs.ts'),
    guests.busybox,
    initrd,
  ]);
});
afterAll(() => tmp.cleanup());

describe('Debian Linux 6.1 to userspace on --machine kvm', () => {
  const trace = tmp.file('userspace.trace');

  it('runs /init from the busybox initramfs, prints the marker and powers off (2 vCPUs, GICv2)', async () => {
    const r = await bootscope(
      tmp.dir,
      'run',
      '--kernel',
      guests.kernel,
      '--initrd',
      initrd,
      '--smp',
      '2',
      '--gic',
      '2',
      '--mem',
      '512M',
      '--append',
      'console=ttyAMA0 earlycon=pl011,0x9000000',
      '--max-insns',
      '4e9',
      '-o',
      trace,
      '--json',
    );
    expect(r.err).toBe('');
    const s = JSON.parse(r.out);
    const console = (s.console as string).replace(/\r/g, '');
    expect(console).toContain('Run /init as init process');
    expect(console).toMatch(/\nBOOTSCOPE-USERSPACE-OK\n/);
    expect(console).toContain('reboot: Power down');
    expect(s.stop).toBe('system_off');
    expect(console).toContain('SMP: Total of 2 processors activated.');
    expect(s.config.fpsimd).not.toBe(false); // FP/SIMD is on by default
  });

  it('replay of that run is identical', async () => {
    const r = await bootscope(tmp.dir, 'replay', trace);
    expect(r.err).toBe('');
    expect(r.out).toMatch(/^identical \([\d,]+ events\)\n$/);
  });
});

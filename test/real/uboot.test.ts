// Debian's U-Boot (u-boot-qemu, qemu_arm64) on the kvm machine: wrapped in an ELF by
// scripts/make-uboot-elf.ts (so the DTB is at the base of RAM), it reaches its prompt; a recorded
// --input stops the autoboot countdown, types `version` and a marker command; `version` runs; and
// `bootscope replay` of the run, fed the recorded input events, is identical.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootscope, fetchGuests, REPO_ROOT, tempDir } from '../helpers/real-guests.ts';

const tmp = tempDir('bootscope-real-uboot-');
let elf: string;
beforeAll(() => {
  const { uboot } = fetchGuests();
  elf = tmp.file('u-boot.elf');
  execFileSync(process.execPath, ['--disable-warning=ExperimentalWarning', join(REPO_ROOT, 'scripts/make-uboot-elf.ts'), uboot, elf]);
});
afterAll(() => tmp.cleanup());

// U-Boot prints "Hit any key to stop autoboot" at about 38 M instructions and counts down 2 s
// (2e9); the key at 100 M stops it, then the commands follow.
const INPUT = [
  '# stop autoboot, type version, then a marker command',
  '@100e6 \\x20',
  '@+20e6 version\\r',
  '@+20e6 echo BOOTSCOPE-UBOOT-DONE\\r',
  '',
].join('\n');

describe('U-Boot (qemu_arm64) on --machine kvm', () => {
  const trace = tmp.file('uboot.trace');

  it('reaches its prompt and runs a typed `version`', async () => {
    const input = tmp.file('uboot.in');
    writeFileSync(input, INPUT);
    const r = await bootscope(
      tmp.dir,
      'run',
      '--kernel',
      elf,
      '--input',
      input,
      '--stop-on',
      '\nBOOTSCOPE-UBOOT-DONE',
      '--max-insns',
      '2e9',
      '-o',
      trace,
      '--json',
    );
    expect(r.err).toBe('');
    const s = JSON.parse(r.out);
    expect(s.stopMessage).toBe('console printed "\\nBOOTSCOPE-UBOOT-DONE"');
    const lines = (s.console as string).replace(/\r/g, '').split('\n');
    const banner = lines.find((l) => l.startsWith('U-Boot 20'))!;
    expect(banner).toMatch(/^U-Boot 2023\.01/);
    expect(lines).toContain('Loading Environment from Flash... *** Warning - bad CRC, using default environment');
    expect(lines).toContain('In:    pl011@9000000');
    expect(lines.some((l) => l.startsWith('Hit any key to stop autoboot:'))).toBe(true);
    // The prompt echoes the command, and `version` prints the banner again and the toolchain.
    const at = lines.indexOf('=> version');
    expect(at).toBeGreaterThan(0);
    expect(lines[at + 1]).toBe(banner);
    expect(lines.slice(at + 2, at + 5).some((l) => l.startsWith('aarch64-linux-gnu-gcc'))).toBe(true);
    expect(lines).toContain('=> echo BOOTSCOPE-UBOOT-DONE');
  });

  it('replay feeds the recorded input back and is identical', async () => {
    const r = await bootscope(tmp.dir, 'replay', trace);
    expect(r.err).toBe('');
    expect(r.out).toMatch(/^identical \([\d,]+ events\)\n$/);
  });
});

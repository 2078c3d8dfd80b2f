// Shared by the analyzer tests: traces of our guests on the emulator and of the bundled QEMU
// Linux boot prefix, made once per test file in a temporary directory.
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { runGuest } from '../../emu/run.ts';
import { importFile } from '../../capture/import/index.ts';

export const ROOT = join(import.meta.dirname, '../..');
export const GOLDEN = join(import.meta.dirname, 'golden');
export const tmp = mkdtempSync(join(tmpdir(), 'bootscope-analyze-'));

/** The guests the golden files cover: emulator runs (kvm machine) of our guests. */
export const GOLDEN_GUESTS: readonly { id: string; guest: string; smp: number; gic: 2 | 3; extra?: Record<string, unknown> }[] = [
  { id: 'timer', guest: 'timer', smp: 1, gic: 3 },
  { id: 'smp', guest: 'smp', smp: 2, gic: 3 },
  { id: 'uart', guest: 'uart', smp: 1, gic: 2 },
  { id: 'timer-xen', guest: 'timer', smp: 1, gic: 3, extra: { machine: 'xen' } },
  { id: 'smp-xen', guest: 'smp', smp: 2, gic: 3, extra: { machine: 'xen' } },
  { id: 'uart-xen', guest: 'uart', smp: 1, gic: 3, extra: { machine: 'xen', vuart: 'sbsa' } },
];

export async function guestTrace(guest: string, smp: number, gic: 2 | 3, extra: Record<string, unknown> = {}): Promise<string> {
  const name = `${guest}-smp${smp}-gicv${gic}${Object.entries(extra)
    .map(([k, v]) => `-${k}-${String(v)}`)
    .join('')}`;
  const out = join(tmp, `${name}.trace`);
  if (existsSync(out)) return out;
  await runGuest({ kernel: join(ROOT, 'guests/bin', `${guest}.bin`), smp, gic, output: out, ...extra } as Parameters<typeof runGuest>[0]);
  return out;
}

/** A bundled QEMU log prefix, imported: 'linux-gicv3-smp2' (Linux boot) or 'uboot-gicv2-smp1' (U-Boot). */
export async function qemuFixtureTrace(name = 'linux-gicv3-smp2'): Promise<string> {
  const out = join(tmp, `qemu-${name}.trace`);
  if (existsSync(out)) return out;
  const log = join(tmp, `${name}.prefix.log`);
  writeFileSync(log, gunzipSync(readFileSync(join(ROOT, `test/fixtures/qemu/${name}.prefix.log.gz`))));
  await importFile({ input: log, output: out });
  return out;
}
export const qemuLinuxTrace = () => qemuFixtureTrace('linux-gicv3-smp2');

/** Compares text with a golden file; UPDATE_GOLDEN=1 rewrites the file instead. */
export function golden(name: string, text: string): { actual: string; expected: string } {
  const file = join(GOLDEN, name);
  if (process.env.UPDATE_GOLDEN === '1' || !existsSync(file)) {
    if (process.env.UPDATE_GOLDEN !== '1')
      throw new Error(`golden file ${file} is missing (run with UPDATE_GOLDEN=1 after reviewing the output)`);
    writeFileSync(file, text);
  }
  return { actual: text, expected: readFileSync(file, 'utf8') };
}

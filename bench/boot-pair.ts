// What the boot benchmarks share: the emulator and Debian's QEMU run as child processes in the same
// sitting, alternating, each timed from spawn to marker lines on its stdout, the emulator's peak
// RSS sampled from /proc, and the result written as one section of docs/benchmarks.md.

import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const REPO_ROOT = path.resolve(import.meta.dirname, '..');

/** `--runs N` (default 1), `--write-docs`, and any other flag by name. */
export function benchArgs(): { runs: number; writeDocs: boolean; has: (flag: string) => boolean } {
  const args = process.argv.slice(2);
  const runsAt = args.indexOf('--runs');
  return { runs: runsAt >= 0 ? Number(args[runsAt + 1]) : 1, writeDocs: args.includes('--write-docs'), has: (f) => args.includes(f) };
}

/** Paths of pinned inputs by name (`scripts/fetch-guests.sh` prints `NAME PATH` lines). */
export function fetchGuests(...names: string[]): Record<string, string> {
  const out = execFileSync(path.join(REPO_ROOT, 'scripts/fetch-guests.sh'), names, { encoding: 'utf8' });
  const found: Record<string, string> = {};
  for (const name of names) {
    const m = new RegExp(`^${name} (.*)$`, 'm').exec(out);
    if (!m) throw new Error(`fetch-guests.sh printed no path for ${name}`);
    found[name] = m[1]!;
  }
  return found;
}

export interface Sample {
  /** Spawn to each marker's first appearance on stdout, in marker order. */
  markerMs: number[];
  /** Spawn to exit. */
  totalMs: number;
  /** Peak RSS (VmHWM) of the child, when /proc could be read. */
  peakRssKiB?: number;
  stderr: string;
}

function vmHwmKiB(pid: number): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Spawn and time each marker line; `killAtLast`: stop the child once the last marker is seen
 * (QEMU's panic never ends). Rejects when the child exits before every marker appeared.
 */
export function timeMarkers(cmd: string, argv: string[], markers: readonly string[], killAtLast: boolean): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    const markerMs = markers.map(() => 0);
    let out = '',
      err = '',
      peak: number | undefined;
    const poll = setInterval(() => {
      const v = child.pid !== undefined ? vmHwmKiB(child.pid) : undefined;
      if (v !== undefined) peak = Math.max(peak ?? 0, v);
    }, 50);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString('latin1');
      markers.forEach((m, i) => {
        if (!markerMs[i] && out.includes(m)) markerMs[i] = performance.now() - t0;
      });
      if (killAtLast && markerMs[markers.length - 1]) child.kill('SIGKILL');
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
    child.on('error', reject);
    child.on('exit', () => {
      clearInterval(poll);
      const missing = markers.filter((_, i) => !markerMs[i]);
      if (missing.length)
        reject(
          new Error(`${cmd} exited before printing ${missing.map((m) => `"${m}"`).join(', ')}:\n${out.slice(-2000)}\n${err.slice(-2000)}`),
        );
      else resolve({ markerMs, totalMs: performance.now() - t0, ...(peak !== undefined ? { peakRssKiB: peak } : {}), stderr: err });
    });
  });
}

/** `bootscope ARGS…` as a plain-node child (no launcher in the timing). */
export function emulatorArgv(args: string[]): string[] {
  return ['--disable-warning=ExperimentalWarning', path.join(REPO_ROOT, 'cli/main.ts'), ...args];
}

/** Run QEMU then the emulator, `runs` times, reporting each pair's first marker on stderr. */
export async function alternate(
  runs: number,
  qemu: () => Promise<Sample>,
  emulator: (i: number) => Promise<Sample>,
): Promise<{ emu: Sample[]; qemu: Sample[]; load0: number }> {
  const load0 = os.loadavg()[0]!;
  const emu: Sample[] = [],
    q: Sample[] = [];
  const s = (x: Sample) => x.markerMs.map((ms) => `${(ms / 1000).toFixed(2)} s`).join(' / ');
  for (let i = 0; i < runs; i++) {
    q.push(await qemu());
    emu.push(await emulator(i));
    process.stderr.write(`run ${i + 1}/${runs}: emulator ${s(emu[i]!)}, QEMU ${s(q[i]!)}\n`);
  }
  return { emu, qemu: q, load0 };
}

export const median = (xs: number[]): number => {
  const v = [...xs].sort((a, b) => a - b),
    m = v.length >> 1;
  return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
};

/** A figure from the emulator's end-of-run summary on stderr ("instructions 871,336,714"). */
export const summaryNumber = (stderr: string, label: string): number =>
  Number((new RegExp(`${label}\\s+([\\d,]+)`).exec(stderr)?.[1] ?? 'NaN').replace(/,/g, ''));

/** "measured DATE UTC on N × CPU (1-minute load average L at the start …)". */
export function measuredOn(load0: number): string {
  return (
    `measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${os.cpus().length} × ${os.cpus()[0]?.model.trim() ?? 'CPU'}\n` +
    `(1-minute load average ${load0.toFixed(1)} at the start: other work on the machine slows both sides).`
  );
}

/** Replace (or append) the `## TITLE` section of docs/benchmarks.md. */
export function writeDocsSection(title: string, section: string): void {
  const file = path.join(REPO_ROOT, 'docs/benchmarks.md');
  const doc = readFileSync(file, 'utf8');
  const start = doc.indexOf(`\n## ${title}\n`);
  let next: string;
  if (start < 0) next = doc.trimEnd() + '\n\n' + section;
  else {
    const end = doc.indexOf('\n## ', start + 1);
    next = doc.slice(0, start + 1) + section + (end < 0 ? '' : doc.slice(end));
  }
  writeFileSync(file, next);
  process.stderr.write(`wrote the "## ${title}" section of ${file}\n`);
}

/** `bootscope run --machine kvm` with 1 vCPU, GICv3 and `mem` of RAM, then `extra`. */
export function emulatorRun(mem: string, extra: string[]): string[] {
  return emulatorArgv(['run', '--machine', 'kvm', '--smp', '1', '--gic', '3', '--mem', mem, ...extra]);
}

/** QEMU TCG on `-M machine` (virt, GICv3), cortex-a57, 1 vCPU, `mem` of RAM, no display, then `extra`. */
export function qemuVirt(machine: string, mem: string, extra: string[]): string[] {
  return ['-M', machine, '-accel', 'tcg', '-cpu', 'cortex-a57', '-smp', '1', '-m', mem, '-nographic', '-no-reboot', ...extra];
}

// The matrix of guest runs on Debian's real QEMU (`-M virt -cpu cortex-a57`, TCG) that the
// emulator is compared against, and a helper that performs one run. Shared by the QEMU tests
// here and by the emulator's differential tests.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const GUEST_BIN_DIR = path.join(REPO_ROOT, 'guests', 'bin');
export const GUEST_NAMES = ['uart', 'timer', 'smp', 'mmu', 'exceptions', 'selfcheck', 'workload'] as const;
export type GuestName = (typeof GUEST_NAMES)[number];

export interface GuestRun {
  /** unique id, also the name of the expected-console file test/guests/expected/<id>.txt */
  id: string;
  guest: GuestName;
  gic: 2 | 3;
  smp: number;
}

export const GUEST_RUNS: readonly GuestRun[] = [
  { id: 'uart', guest: 'uart', gic: 2, smp: 1 },
  { id: 'timer-gicv2', guest: 'timer', gic: 2, smp: 1 },
  { id: 'timer-gicv3', guest: 'timer', gic: 3, smp: 1 },
  { id: 'smp-gicv2', guest: 'smp', gic: 2, smp: 2 },
  { id: 'smp-gicv3', guest: 'smp', gic: 3, smp: 2 },
  { id: 'smp4-gicv3', guest: 'smp', gic: 3, smp: 4 },
  { id: 'mmu', guest: 'mmu', gic: 2, smp: 1 },
  { id: 'exceptions', guest: 'exceptions', gic: 2, smp: 1 },
  { id: 'selfcheck', guest: 'selfcheck', gic: 2, smp: 1 },
  { id: 'workload', guest: 'workload', gic: 2, smp: 1 },
];

export function guestBinary(guest: GuestName): string {
  return path.join(GUEST_BIN_DIR, `${guest}.bin`);
}

export function qemuArgs(run: GuestRun, kernel = guestBinary(run.guest)): string[] {
  return [
    '-M', `virt,gic-version=${run.gic}`,
    '-cpu', 'cortex-a57',
    '-smp', String(run.smp),
    '-m', '128M',
    '-nographic',
    '-monitor', 'none',
    '-no-reboot',
    '-kernel', kernel,
  ];
}

export interface QemuResult {
  stdout: string;
  stderr: string;
  code: number | null;
  timedOut: boolean;
}

/** Runs one guest on qemu-system-aarch64; kills it after `killAfterMs` so a hung guest cannot
 *  hang the suite (a safety net, not a speed limit). */
export function runOnQemu(run: GuestRun, opts: { kernel?: string; killAfterMs?: number } = {}): Promise<QemuResult> {
  const killAfterMs = opts.killAfterMs ?? 120_000;
  return new Promise((resolve, reject) => {
    const child = spawn('qemu-system-aarch64', qemuArgs(run, opts.kernel), { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('latin1').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, killAfterMs);
    child.on('error', (err) => { clearTimeout(timer); reject(err); });
    child.on('close', (code) => { clearTimeout(timer); resolve({ stdout, stderr, code, timedOut }); });
  });
}

// The matrix of guest runs on Debian's real QEMU (`-M virt -cpu cortex-a57`, TCG) that the
// emulator is compared against, and a helper that performs one run. Shared by the QEMU tests
// here and by the emulator's differential tests.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
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
  /** 'sbsa': QEMU's own DTB with the PL011 re-described as `arm,sbsa-uart` + `current-speed`,
   *  as Xen describes its vpl011, so the uart guest takes its SBSA path. */
  uartDt?: 'sbsa';
}

export const GUEST_RUNS: readonly GuestRun[] = [
  { id: 'uart', guest: 'uart', gic: 2, smp: 1 },
  { id: 'uart-gicv3', guest: 'uart', gic: 3, smp: 1 },
  { id: 'uart-sbsa-gicv2', guest: 'uart', gic: 2, smp: 1, uartDt: 'sbsa' },
  { id: 'uart-sbsa-gicv3', guest: 'uart', gic: 3, smp: 1, uartDt: 'sbsa' },
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

function machineArgs(run: GuestRun, machineExtra = ''): string[] {
  return ['-M', `virt,gic-version=${run.gic}${machineExtra}`, '-cpu', 'cortex-a57', '-smp', String(run.smp), '-m', '128M'];
}

export function qemuArgs(run: GuestRun, kernel = guestBinary(run.guest), dtb?: string): string[] {
  return [...machineArgs(run), '-nographic', '-monitor', 'none', '-no-reboot', '-kernel', kernel, ...(dtb ? ['-dtb', dtb] : [])];
}

/** QEMU's DTB for this machine configuration with the PL011 node described as Xen describes its
 *  SBSA vUART (dumped with dumpdtb, edited as source with Debian's dtc). */
export function sbsaUartDtb(run: GuestRun, dir: string): string {
  const dumped = path.join(dir, 'virt.dtb');
  const out = path.join(dir, 'sbsa.dtb');
  execFileSync('qemu-system-aarch64', [...machineArgs(run, `,dumpdtb=${dumped}`), '-nographic', '-monitor', 'none'], { stdio: 'pipe' });
  const dts = execFileSync('dtc', ['-q', '-I', 'dtb', '-O', 'dts', dumped], { encoding: 'utf8' });
  const pl011Compat = 'compatible = "arm,pl011\\0arm,primecell";';
  if (!dts.includes(pl011Compat)) throw new Error(`QEMU's DTB has no PL011 node to re-describe (${dumped})`);
  const edited = dts.replace(pl011Compat, 'compatible = "arm,sbsa-uart";\n\t\tcurrent-speed = <115200>;');
  writeFileSync(path.join(dir, 'sbsa.dts'), edited);
  execFileSync('dtc', ['-q', '-I', 'dts', '-O', 'dtb', '-o', out, path.join(dir, 'sbsa.dts')], { stdio: 'pipe' });
  readFileSync(out); // fail here, not in QEMU, if dtc wrote nothing
  return out;
}

export interface QemuResult {
  stdout: string;
  stderr: string;
  code: number | null;
  timedOut: boolean;
}

/** Runs one guest on qemu-system-aarch64; kills it after `killAfterMs` so a hung guest cannot
 *  hang the suite (a safety net, not a speed limit). `extraArgs` are appended to QEMU's command
 *  line, e.g. `['-trace', 'pl011_*', '-D', logFile]` to get a log for the trace importer. */
export function runOnQemu(run: GuestRun, opts: { kernel?: string; killAfterMs?: number; extraArgs?: string[] } = {}): Promise<QemuResult> {
  const killAfterMs = opts.killAfterMs ?? 120_000;
  const tmp = run.uartDt ? mkdtempSync(path.join(os.tmpdir(), 'bootscope-dtb-')) : undefined;
  const cleanup = () => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  };
  let dtb: string | undefined;
  try {
    if (tmp) dtb = sbsaUartDtb(run, tmp);
  } catch (err) {
    cleanup();
    return Promise.reject(err);
  }
  return new Promise((resolve, reject) => {
    const args = [...qemuArgs(run, opts.kernel, dtb), ...(opts.extraArgs ?? [])];
    const child = spawn('qemu-system-aarch64', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('latin1').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, killAfterMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      cleanup();
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      cleanup();
      resolve({ stdout, stderr, code, timedOut });
    });
  });
}

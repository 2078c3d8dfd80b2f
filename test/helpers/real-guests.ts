// Shared by the real-guest tests: fetch the pinned Debian guests (scripts/fetch-guests.sh,
// guests/inputs.lock), run the CLI
// as a child process (the CPU core is ~10x slower inside vitest's module transform), and pick the
// platform lines out of a Linux console.
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');

export interface Guests {
  /** Debian's 6.1 cloud kernel, the one the goldens were made with. */
  kernel: string;
  kernel612: string;
  uboot: string;
  busybox: string;
  xen: string;
  edk2: string;
}

/**
 * Fetch the pinned guests (once, cached under .cache/guests/) and return their paths. Never
 * skips: when a pinned input cannot be fetched, this throws with fetch-guests' one-line reason
 * and the tests that need it fail.
 */
export function fetchGuests(): Guests {
  let out: string;
  try {
    out = execFileSync(join(REPO_ROOT, 'scripts/fetch-guests.sh'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = (e as { stderr?: string }).stderr?.trim();
    throw new Error(`scripts/fetch-guests.sh failed: ${err || (e as Error).message}`);
  }
  const paths = Object.fromEntries(
    out
      .trim()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf(' ')), l.slice(l.indexOf(' ') + 1)]),
  );
  const need = (role: string) =>
    paths[role] ??
    (() => {
      throw new Error(`scripts/fetch-guests.sh printed no '${role}' line`);
    })();
  return {
    kernel: need('kernel'),
    kernel612: need('kernel-6.12'),
    uboot: need('u-boot'),
    busybox: need('busybox'),
    xen: need('xen'),
    edk2: need('edk2'),
  };
}

/**
 * `bootscope ARGS` under plain node; stdout as latin1 (guest bytes 1:1), stderr as UTF-8.
 * Asynchronous: a long spawnSync would starve the vitest worker's RPC ("Timeout calling onTaskUpdate").
 */
export function bootscope(cwd: string, ...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return bootscopeWith({ cwd }, ...args);
}

/** `bootscope ARGS` as above, in `cwd` with extra environment variables. */
export function bootscopeWith(
  opts: { cwd: string; env?: NodeJS.ProcessEnv },
  ...args: string[]
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', join(REPO_ROOT, 'cli/main.ts'), ...args], {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [],
      err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out: Buffer.concat(out).toString('latin1'), err: Buffer.concat(err).toString('utf8') }));
  });
}

/**
 * Runs a script of ours (e.g. the KVM oracle's corpus maker), its stderr passed through; rejects
 * with the exit status. Asynchronous for the same reason as `bootscope` above: these take minutes.
 */
export function runScript(file: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('error', reject);
    child.on('close', (code, signal) => (code === 0 ? resolve() : reject(new Error(`${file} ${args.join(' ')} exited ${code ?? signal}`))));
  });
}

export function tempDir(prefix: string) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, file: (name: string) => join(dir, name), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** What `bootscope run --json` prints about a run (the fields the disk-boot tests read). */
export interface RunSummary {
  stop: string;
  stopMessage: string;
  console: string;
  hashes: Record<string, string>;
}

/**
 * `bootscope run --kernel K --initrd I --disk COPY --max-insns N -o TRACE --json ARGS…` on a fresh
 * copy of `disk` (so each boot starts from the same image); throws when the run exits non-zero or
 * writes anything to stderr.
 */
export async function runOnDiskCopy(
  tmp: ReturnType<typeof tempDir>,
  name: string,
  guest: { kernel: string; initrd: string; disk: string; maxInsns?: string },
  ...args: string[]
): Promise<{ trace: string; disk: string; summary: RunSummary }> {
  const copy = tmp.file(`${name}.ext4`);
  copyFileSync(guest.disk, copy);
  const trace = tmp.file(`${name}.trace`);
  const common = ['--kernel', guest.kernel, '--initrd', guest.initrd, '--disk', copy, '--max-insns', guest.maxInsns ?? '4e9'];
  const r = await bootscope(tmp.dir, 'run', ...common, '-o', trace, '--json', ...args);
  if (r.code !== 0 || r.err !== '') throw new Error(`bootscope run ${name} exited ${r.code}: ${r.err}`);
  return { trace, disk: copy, summary: JSON.parse(r.out) as RunSummary };
}

/** `runOnDiskCopy`, for a boot that must end in a power-off (PSCI SYSTEM_OFF): its trace. */
export async function bootToPowerOff(
  tmp: ReturnType<typeof tempDir>,
  name: string,
  guest: { kernel: string; initrd: string; disk: string },
  ...args: string[]
): Promise<string> {
  const { trace, summary } = await runOnDiskCopy(tmp, name, guest, ...args);
  if (summary.stop !== 'system_off') throw new Error(`bootscope run ${name} did not power off`);
  return trace;
}

/** Drop printk timestamps and carriage returns, keep "Booting Linux" … end of the panic. */
export function kernelLog(console: string): string[] {
  const lines = console
    .replace(/\r/g, '')
    .split('\n')
    .map((l) => l.replace(/^\[ *\d+\.\d+\] /, ''));
  const start = lines.findIndex((l) => l.startsWith('Booting Linux'));
  const end = lines.findIndex((l) => l.startsWith('---[ end Kernel panic'));
  return lines.slice(Math.max(0, start), end < 0 ? undefined : end + 1);
}

/**
 * The lines where the kernel describes the platform (docs/real-guests.md lists them and the
 * exclusions): firmware (PSCI), interrupt controller, timer, UART, RTC, SMP bring-up, DT model.
 */
const PLATFORM = [
  /^Booting Linux on physical CPU /,
  /^Machine model: /,
  /^earlycon: /,
  /^printk: (boot)?console \[(pl11|ttyAMA0)\] /,
  /^psci: /,
  /^GICv[23]: /,
  /^GIC: /,
  /^NR_IRQS: /,
  /^Root IRQ handler: /,
  /^arch_timer: /,
  /^clocksource: arch_sys_counter: /,
  /^sched_clock: /,
  /^Calibrating delay loop/,
  /ttyAMA0 at MMIO 0x9000000/,
  /^rtc-pl031 [0-9a-f]+\.pl031: registered as rtc0/,
  /^smp: /,
  /^SMP: /,
  /^CPU: All CPU\(s\) started/,
  /^CPU\d+: Booted secondary processor/,
  /^Detected .* on CPU\d+/,
  /^Kernel command line: /,
  /^Kernel panic - not syncing: /,
];

/**
 * Excluded platform lines: they name the hypervisor (KVM's SMCCC 1.1 and its vendor services,
 * which QEMU TCG's firmware lacks) or depend on the GICv3 ITS or the GICv2m MSI frame, which the
 * expected QEMU logs may have been made without (test/real/disk-boot.test.ts compares the ITS lines).
 */
const EXCLUDED = [/^psci: SMC Calling Convention v/, /^smccc: /, /^GICv3: .*LPI/, /^ITS/, /^GICv2m: /];

export function platformLines(log: string[]): string[] {
  return log.filter((l) => PLATFORM.some((re) => re.test(l)) && !EXCLUDED.some((re) => re.test(l)));
}

/**
 * QEMU TCG's GICv3 lines as Linux prints them under KVM's vGICv3, which the kvm machine follows
 * (docs/emulator-platform.md): GICD_TYPER counts all 288 INTIDs where TCG's counts only the SPIs;
 * GICR_CTLR.IR makes Linux invalidate LPIs through the redistributors ("DirectLPI"); without an ITS
 * KVM reports no LPIs at all, so Linux does not look for one.
 */
export function gicLinesAsKvm(tcg: string[]): string[] {
  return tcg
    .filter((l) => l !== 'ITS: No ITS available, not enabling LPIs')
    .map((l) =>
      l === 'GICv3: 224 SPIs implemented'
        ? 'GICv3: 256 SPIs implemented'
        : l === 'GICv3: GICv3 features: 16 PPIs'
          ? 'GICv3: GICv3 features: 16 PPIs, DirectLPI'
          : l,
    );
}

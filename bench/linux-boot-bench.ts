// Debian's 6.1 cloud kernel to the "VFS: Unable to mount root fs" panic, on the emulator
// (`bootscope run`, recording on, as a plain-node child process) and on Debian's QEMU TCG with
// one vCPU, the same kernel and command line, in the same run.
//
//   ./bootscope node bench/linux-boot-bench.ts [--runs N] [--wasm] [--write-docs]
//
// Wall time is from spawning the process to the moment "end Kernel panic" appears on its stdout
// (both print the console live). Guest instructions come from the emulator's summary (it stops
// at the panic with --stop-on). Host memory is the emulator child's peak RSS (VmHWM, sampled from
// /proc every 50 ms while it runs, and the last sample before it exits). --write-docs replaces
// the "## Linux boot" section of docs/benchmarks.md.

import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const REPO_ROOT = path.resolve(import.meta.dirname, '..');
const APPEND = 'console=ttyAMA0 earlycon=pl011,0x9000000';
const PANIC = 'end Kernel panic';
const MEM = '512M';

const args = process.argv.slice(2);
const runsArg = args.indexOf('--runs');
const RUNS = runsArg >= 0 ? Number(args[runsArg + 1]) : 1;
const writeDocs = args.includes('--write-docs');
/** --jit wasm: the emulator runs with the WebAssembly back end (the docs section is not written then). */
const wasm = args.includes('--wasm');

const fetched = execFileSync(path.join(REPO_ROOT, 'scripts/fetch-guests.sh'), ['kernel'], { encoding: 'utf8' });
const kernel = /^kernel (.*)$/m.exec(fetched)![1]!;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'bootscope-linux-bench-'));

interface Sample {
  /** Spawn to the panic line on stdout. */
  toPanicMs: number;
  /** Spawn to exit. */
  totalMs: number;
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

/** Spawn, time to the panic line; `killAtPanic` for QEMU (its panic never ends). */
function timeToPanic(cmd: string, argv: string[], killAtPanic: boolean): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '',
      err = '',
      toPanicMs = 0,
      peak: number | undefined;
    const poll = setInterval(() => {
      const v = child.pid !== undefined ? vmHwmKiB(child.pid) : undefined;
      if (v !== undefined) peak = Math.max(peak ?? 0, v);
    }, 50);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString('latin1');
      if (!toPanicMs && out.includes(PANIC)) {
        toPanicMs = performance.now() - t0;
        if (killAtPanic) child.kill('SIGKILL');
      }
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
    child.on('error', reject);
    child.on('exit', () => {
      clearInterval(poll);
      if (!toPanicMs) reject(new Error(`${cmd} exited without reaching the panic:\n${out.slice(-2000)}\n${err.slice(-2000)}`));
      else resolve({ toPanicMs, totalMs: performance.now() - t0, ...(peak !== undefined ? { peakRssKiB: peak } : {}), stderr: err });
    });
  });
}

const emulator = (i: number) =>
  timeToPanic(
    process.execPath,
    [
      '--disable-warning=ExperimentalWarning',
      path.join(REPO_ROOT, 'cli/main.ts'),
      'run',
      '--machine',
      'kvm',
      '--kernel',
      kernel,
      '--append',
      APPEND,
      '--smp',
      '1',
      '--gic',
      '3',
      '--mem',
      MEM,
      '--stop-on',
      PANIC,
      '-o',
      path.join(tmp, `linux${i}.trace`),
      '-f',
      ...(wasm ? ['--jit', 'wasm'] : []),
    ],
    false,
  );

const qemu = () =>
  timeToPanic(
    'qemu-system-aarch64',
    [
      '-M',
      'virt,gic-version=3',
      '-accel',
      'tcg',
      '-cpu',
      'cortex-a57',
      '-smp',
      '1',
      '-m',
      MEM,
      '-nographic',
      '-no-reboot',
      '-kernel',
      kernel,
      '-append',
      APPEND,
    ],
    true,
  );

const median = (xs: number[]): number => {
  const v = [...xs].sort((a, b) => a - b),
    m = v.length >> 1;
  return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
};
const num = (s: string, label: string): number => Number((new RegExp(`${label}\\s+([\\d,]+)`).exec(s)?.[1] ?? 'NaN').replace(/,/g, ''));

const load0 = os.loadavg()[0]!;
const emu: Sample[] = [],
  q: Sample[] = [];
for (let i = 0; i < RUNS; i++) {
  q.push(await qemu());
  emu.push(await emulator(i));
  process.stderr.write(
    `run ${i + 1}/${RUNS}: emulator ${(emu[i]!.toPanicMs / 1000).toFixed(2)} s, QEMU ${(q[i]!.toPanicMs / 1000).toFixed(2)} s\n`,
  );
}
rmSync(tmp, { recursive: true, force: true });

const last = emu[emu.length - 1]!;
const insns = num(last.stderr, 'instructions');
const events = num(last.stderr, 'events');
const emuMs = median(emu.map((s) => s.toPanicMs));
const qemuMs = median(q.map((s) => s.toPanicMs));
const emuBest = Math.min(...emu.map((s) => s.toPanicMs));
const qemuBest = Math.min(...q.map((s) => s.toPanicMs));
const rssMiB = Math.max(...emu.map((s) => s.peakRssKiB ?? 0)) / 1024;
const ratio = emuMs / qemuMs;
const ok = (b: boolean): string => (b ? 'met' : '**not met**');

const section = [
  '## Linux boot',
  '',
  "`./bootscope node bench/linux-boot-bench.ts [--runs N] [--write-docs]`: Debian's",
  `\`${path.basename(kernel)}\` (fetched by \`scripts/fetch-guests.sh\`) to the "VFS: Unable to mount root fs"`,
  `panic, \`--append "${APPEND}"\`, 1 vCPU, GICv3, ${MEM} of guest RAM. Emulator: \`bootscope run …`,
  '--stop-on "end Kernel panic" -o TRACE` (recording on) as a plain-node child process; QEMU:',
  "`qemu-system-aarch64 -M virt,gic-version=3 -accel tcg -cpu cortex-a57 -smp 1` (Debian's 7.2), in the",
  "same run. Wall time is spawn → the panic's end line on stdout; host memory is the emulator",
  `process's peak RSS (VmHWM). ${RUNS} alternating run(s) each, median (best); measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${os.cpus().length} × ${os.cpus()[0]?.model.trim() ?? 'CPU'}`,
  `(1-minute load average ${load0.toFixed(1)} at the start: other work on the machine slows both sides).`,
  '',
  '| | emulator | QEMU TCG | target |',
  '|---|---:|---:|---|',
  `| wall time to the panic | ${(emuMs / 1000).toFixed(2)} s (${(emuBest / 1000).toFixed(2)} s) | ${(qemuMs / 1000).toFixed(2)} s (${(qemuBest / 1000).toFixed(2)} s) | ≤ 15 s: ${ok(emuMs <= 15_000)} |`,
  `| ratio emulator / QEMU | ${ratio.toFixed(1)}× (${(emuBest / qemuBest).toFixed(1)}×) | | ≤ 10×: ${ok(ratio <= 10)} (stretch ≤ 5×: ${ok(ratio <= 5)}) |`,
  `| guest instructions to the panic | ${insns.toLocaleString('en-US')} | | |`,
  `| emulator speed | ${(insns / emuMs / 1000).toFixed(1)} MIPS | | |`,
  `| events recorded | ${events.toLocaleString('en-US')} | | |`,
  `| host memory (peak RSS) | ${rssMiB.toFixed(0)} MiB | | ≤ 1.5 GiB: ${ok(rssMiB <= 1536)} |`,
  '',
].join('\n');

process.stdout.write(section + '\n');
if (writeDocs && !wasm) {
  const file = path.join(REPO_ROOT, 'docs/benchmarks.md');
  const doc = readFileSync(file, 'utf8');
  const start = doc.indexOf('\n## Linux boot\n');
  let next: string;
  if (start < 0) next = doc.trimEnd() + '\n\n' + section;
  else {
    const end = doc.indexOf('\n## ', start + 1);
    next = doc.slice(0, start + 1) + section + (end < 0 ? '' : doc.slice(end));
  }
  writeFileSync(file, next);
  process.stderr.write(`wrote the "## Linux boot" section of ${file}\n`);
}

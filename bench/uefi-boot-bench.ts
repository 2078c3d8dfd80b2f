// Debian's EDK2 (QEMU_EFI.fd) booting Debian's 6.1 cloud kernel in ACPI mode, from the reset
// vector to the kernel's EFI stub and to the rootfs panic, on the emulator (`bootscope run --bios`,
// recording on, as a plain-node child process) and on Debian's QEMU 7.2 TCG (`-bios`) with the same
// firmware, kernel and command line, 1 vCPU, GICv3, in the same run.
//
//   ./bootscope node bench/uefi-boot-bench.ts [--runs N] [--write-docs]
//
// Wall times are from spawning the process to the line appearing on its stdout. Guest instructions
// to the EFI stub come from the trace (the console event's virtual time, one unit per instruction).
// --write-docs replaces the "## UEFI boot" section of docs/benchmarks.md.

import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const REPO_ROOT = path.resolve(import.meta.dirname, '..');
const APPEND = 'console=ttyAMA0';
const STUB = 'EFI stub: Booting Linux Kernel';
const PANIC = 'end Kernel panic';
const MEM = '512M';

const args = process.argv.slice(2);
const runsArg = args.indexOf('--runs');
const RUNS = runsArg >= 0 ? Number(args[runsArg + 1]) : 1;
const writeDocs = args.includes('--write-docs');

const fetched = execFileSync(path.join(REPO_ROOT, 'scripts/fetch-guests.sh'), ['kernel', 'edk2'], { encoding: 'utf8' });
const kernel = /^kernel (.*)$/m.exec(fetched)![1]!;
const edk2 = /^edk2 (.*)$/m.exec(fetched)![1]!;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'bootscope-uefi-bench-'));

interface Sample {
  toStubMs: number;
  toPanicMs: number;
  stderr: string;
}

/** Spawn; time to the EFI stub's first line and to the panic's last; stop the process there. */
function timeLines(cmd: string, argv: string[]): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '',
      err = '',
      toStubMs = 0,
      toPanicMs = 0;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString('latin1');
      if (!toStubMs && out.includes(STUB)) toStubMs = performance.now() - t0;
      if (!toPanicMs && out.includes(PANIC)) {
        toPanicMs = performance.now() - t0;
        if (cmd === 'qemu-system-aarch64') child.kill('SIGKILL');
      }
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
    child.on('error', reject);
    child.on('exit', () => {
      if (!toPanicMs || !toStubMs) reject(new Error(`${cmd} did not reach the panic:\n${out.slice(-2000)}\n${err.slice(-2000)}`));
      else resolve({ toStubMs, toPanicMs, stderr: err });
    });
  });
}

const trace = (i: number): string => path.join(tmp, `uefi${i}.trace`);
const emulator = (i: number) =>
  timeLines(process.execPath, [
    '--disable-warning=ExperimentalWarning',
    path.join(REPO_ROOT, 'cli/main.ts'),
    'run',
    '--machine',
    'kvm',
    '--bios',
    edk2,
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
    trace(i),
    '-f',
  ]);

const qemu = () =>
  timeLines('qemu-system-aarch64', [
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
    '-monitor',
    'none',
    '-no-reboot',
    '-bios',
    edk2,
    '-kernel',
    kernel,
    '-append',
    APPEND,
  ]);

const median = (xs: number[]): number => {
  const v = [...xs].sort((a, b) => a - b),
    m = v.length >> 1;
  return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
};
const num = (s: string, label: string): number => Number((new RegExp(`${label}\\s+([\\d,]+)`).exec(s)?.[1] ?? 'NaN').replace(/,/g, ''));

/** Virtual time (= instructions) of the console event that completed the EFI stub's first line. */
function stubInstructions(file: string): number {
  const out = execFileSync(
    process.execPath,
    [
      '--disable-warning=ExperimentalWarning',
      path.join(REPO_ROOT, 'cli/main.ts'),
      'sql',
      file,
      "select time from events where kind = 'console' order by seq",
      '--json',
    ],
    { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 },
  );
  const console = execFileSync(
    process.execPath,
    ['--disable-warning=ExperimentalWarning', path.join(REPO_ROOT, 'cli/main.ts'), 'console', file],
    {
      encoding: 'latin1',
      maxBuffer: 256 * 1024 * 1024,
    },
  );
  const times = (JSON.parse(out) as { time: number }[]).map((r) => r.time);
  // One console event per byte: the byte that ends the marker.
  const at = console.indexOf(STUB) + STUB.length - 1;
  return times[at] ?? NaN;
}

const load0 = os.loadavg()[0]!;
const emu: Sample[] = [],
  q: Sample[] = [];
for (let i = 0; i < RUNS; i++) {
  q.push(await qemu());
  emu.push(await emulator(i));
  process.stderr.write(
    `run ${i + 1}/${RUNS}: emulator ${(emu[i]!.toStubMs / 1000).toFixed(2)} s / ${(emu[i]!.toPanicMs / 1000).toFixed(2)} s, QEMU ${(q[i]!.toStubMs / 1000).toFixed(2)} s / ${(q[i]!.toPanicMs / 1000).toFixed(2)} s\n`,
  );
}
const stubInsns = stubInstructions(trace(RUNS - 1));
rmSync(tmp, { recursive: true, force: true });

const last = emu[emu.length - 1]!;
const insns = num(last.stderr, 'instructions');
const events = num(last.stderr, 'events');
const s = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
const row = (label: string, pick: (x: Sample) => number): string => {
  const e = median(emu.map(pick)),
    qq = median(q.map(pick));
  return `| ${label} | ${s(e)} | ${s(qq)} | ${(e / qq).toFixed(1)}× |`;
};

const section = [
  '## UEFI boot',
  '',
  "`./bootscope node bench/uefi-boot-bench.ts [--runs N] [--write-docs]`: Debian's EDK2",
  `(\`${path.basename(edk2)}\`, qemu-efi-aarch64 2022.11) booting \`${path.basename(kernel)}\` in ACPI mode with`,
  `\`--append "${APPEND}"\`, no initrd, 1 vCPU, GICv3, ${MEM}, from the reset vector to the EFI stub's first line and to`,
  "the rootfs panic. Emulator: `bootscope run --bios QEMU_EFI.fd --kernel … --stop-on 'end Kernel panic' -o TRACE`",
  '(recording on) as a plain-node child process; QEMU: `qemu-system-aarch64 -M virt,gic-version=3 -accel tcg -cpu',
  "cortex-a57 -bios QEMU_EFI.fd -kernel …` (Debian's 7.2), in the same run. Wall time is spawn → the line on stdout.",
  `${RUNS} alternating run(s) each, median; measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${os.cpus().length} × ${os.cpus()[0]?.model.trim() ?? 'CPU'}`,
  `(1-minute load average ${load0.toFixed(1)} at the start: other work on the machine slows both sides).`,
  '',
  '| | emulator | QEMU TCG | ratio |',
  '|---|---:|---:|---:|',
  row('reset → EFI stub', (x) => x.toStubMs),
  row('reset → rootfs panic', (x) => x.toPanicMs),
  '',
  `Emulator: ${stubInsns.toLocaleString('en-US')} guest instructions to the EFI stub's first line, ${insns.toLocaleString('en-US')} to the`,
  `panic (${(insns / last.toPanicMs / 1000).toFixed(1)} MIPS over the run), ${events.toLocaleString('en-US')} events recorded.`,
  '',
].join('\n');

process.stdout.write(section + '\n');
if (writeDocs) {
  const file = path.join(REPO_ROOT, 'docs/benchmarks.md');
  const doc = readFileSync(file, 'utf8');
  const start = doc.indexOf('\n## UEFI boot\n');
  let next: string;
  if (start < 0) next = doc.trimEnd() + '\n\n' + section;
  else {
    const end = doc.indexOf('\n## ', start + 1);
    next = doc.slice(0, start + 1) + section + (end < 0 ? '' : doc.slice(end));
  }
  writeFileSync(file, next);
  process.stderr.write(`wrote the "## UEFI boot" section of ${file}\n`);
}

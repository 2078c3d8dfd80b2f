// Where an EDK2 boot's time goes on the emulator, in CPU time (not wall time: on a shared machine
// the wall clock mostly measures the other work). Debian's EDK2 booting Debian's 6.1 cloud kernel in
// ACPI mode to the rootfs panic, as bench/uefi-boot-bench.ts does, but in this process through
// runGuest (recording on), with the CPU time taken at three points: the machine ready at the reset
// vector (start-up: reading, hashing and placing the images, the trace file), the EFI stub's first
// console line (the firmware), the panic (the EFI stub and the kernel).
//
//   ./bootscope node bench/uefi-cpu-bench.ts [--write-docs]
//
// Prints each phase's CPU seconds and guest instructions per CPU second, the block compiler's profile
// line (bench/jit-bench.ts) and the trace digest. --write-docs replaces the "## UEFI boot: CPU time by
// phase" section of docs/benchmarks.md.

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runGuest } from '../emu/run.ts';
import type { Machine } from '../emu/machine/index.ts';
import { profileOf } from './jit-bench.ts';
import { benchArgs, fetchGuests, measuredOn, writeDocsSection } from './boot-pair.ts';

const APPEND = 'console=ttyAMA0';
const STUB = 'EFI stub: Booting Linux Kernel';
const PANIC = 'end Kernel panic';
const MEM = 512 << 20;

const { writeDocs } = benchArgs();
const { kernel, edk2 } = fetchGuests('kernel', 'edk2') as { kernel: string; edk2: string };
const tmp = mkdtempSync(path.join(os.tmpdir(), 'bootscope-uefi-cpu-'));

interface Mark {
  cpuS: number;
  wallS: number;
  insns: number;
}

const cpuS = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

const load0 = os.loadavg()[0]!;
const t0 = performance.now();
const c0 = cpuS();
const mark = (insns: number): Mark => ({ cpuS: cpuS() - c0, wallS: (performance.now() - t0) / 1000, insns });
let machine: Machine | undefined;
let ready: Mark | undefined;
let stub: Mark | undefined;
let text = '';
const r = await runGuest({
  kernel,
  bios: edk2,
  append: APPEND,
  memBytes: MEM,
  stopOn: PANIC,
  output: path.join(tmp, 'uefi.trace'),
  overwrite: true,
  onReady: (m) => {
    machine = m;
    ready = mark(0);
  },
  onConsole: (b) => {
    if (stub) return;
    text = (text + String.fromCharCode(b)).slice(-STUB.length);
    if (text === STUB) stub = mark(machine!.scheduler.executed);
  },
});
const end = mark(r.executed);
rmSync(tmp, { recursive: true, force: true });
if (!ready || !stub || r.stop.kind !== 'stopped') throw new Error(`the boot did not reach the panic: ${r.stop.message}`);

const row = (label: string, a: Mark, b: Mark): string => {
  const cpu = b.cpuS - a.cpuS,
    n = b.insns - a.insns;
  return `| ${label} | ${n.toLocaleString('en-US')} | ${cpu.toFixed(2)} s | ${n ? (n / cpu / 1e6).toFixed(1) : '–'} | ${(b.wallS - a.wallS).toFixed(2)} s |`;
};
const zero: Mark = { cpuS: 0, wallS: 0, insns: 0 };

const section = [
  '## UEFI boot: CPU time by phase',
  '',
  '`./bootscope node bench/uefi-cpu-bench.ts [--write-docs]`: the boot of "UEFI boot" above (EDK2, ACPI, 1 vCPU,',
  'GICv3, 512M, recording on, to the rootfs panic) run in the bench process through `runGuest`, with the',
  "process's CPU time (user + system, all threads: V8's compiler threads included) taken when the",
  "machine is ready at the reset vector, when the EFI stub's first line is printed and at the panic.",
  `One run; ${measuredOn(load0)}`,
  '',
  '| phase | guest instructions | CPU | MIPS (per CPU second) | wall |',
  '|---|---:|---:|---:|---:|',
  row('start-up (images read, hashed and placed; trace opened)', zero, ready),
  row('firmware: reset vector → EFI stub', ready, stub),
  row('EFI stub and kernel → rootfs panic', stub, end),
  row('whole run', zero, end),
  '',
  `Block compiler: ${profileOf(machine!.cpus[0], r.executed)}. Trace digest ${r.digest}.`,
  '',
].join('\n');

process.stdout.write(section + '\n');
if (writeDocs) writeDocsSection('UEFI boot: CPU time by phase', section);

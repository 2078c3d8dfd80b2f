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

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  alternate,
  benchArgs,
  emulatorRun,
  qemuVirt,
  fetchGuests,
  measuredOn,
  median,
  summaryNumber,
  timeMarkers,
  writeDocsSection,
} from './boot-pair.ts';

const APPEND = 'console=ttyAMA0 earlycon=pl011,0x9000000';
const PANIC = 'end Kernel panic';
const MEM = '512M';

const { runs: RUNS, writeDocs, has } = benchArgs();
/** --jit wasm: the emulator runs with the WebAssembly back end (the docs section is not written then). */
const wasm = has('--wasm');

const { kernel } = fetchGuests('kernel') as { kernel: string };
const tmp = mkdtempSync(path.join(os.tmpdir(), 'bootscope-linux-bench-'));

const emulator = (i: number) =>
  timeMarkers(
    process.execPath,
    emulatorRun(MEM, [
      '--kernel',
      kernel,
      '--append',
      APPEND,
      '--stop-on',
      PANIC,
      '-o',
      path.join(tmp, `linux${i}.trace`),
      '-f',
      ...(wasm ? ['--jit', 'wasm'] : []),
    ]),
    [PANIC],
    false,
  );

const qemu = () =>
  timeMarkers('qemu-system-aarch64', qemuVirt('virt,gic-version=3', MEM, ['-kernel', kernel, '-append', APPEND]), [PANIC], true);

const { emu, qemu: q, load0 } = await alternate(RUNS, qemu, emulator);
rmSync(tmp, { recursive: true, force: true });

const last = emu[emu.length - 1]!;
const insns = summaryNumber(last.stderr, 'instructions');
const events = summaryNumber(last.stderr, 'events');
const emuMs = median(emu.map((s) => s.markerMs[0]!));
const qemuMs = median(q.map((s) => s.markerMs[0]!));
const emuBest = Math.min(...emu.map((s) => s.markerMs[0]!));
const qemuBest = Math.min(...q.map((s) => s.markerMs[0]!));
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
  `process's peak RSS (VmHWM). ${RUNS} alternating run(s) each, median (best); ${measuredOn(load0)}`,
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
if (writeDocs && !wasm) writeDocsSection('Linux boot', section);

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

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  alternate,
  benchArgs,
  emulatorArgv,
  emulatorRun,
  qemuVirt,
  fetchGuests,
  measuredOn,
  median,
  summaryNumber,
  timeMarkers,
  writeDocsSection,
  type Sample,
} from './boot-pair.ts';

const APPEND = 'console=ttyAMA0';
const STUB = 'EFI stub: Booting Linux Kernel';
const PANIC = 'end Kernel panic';
const MEM = '512M';

const { runs: RUNS, writeDocs } = benchArgs();
const { kernel, edk2 } = fetchGuests('kernel', 'edk2') as { kernel: string; edk2: string };
const tmp = mkdtempSync(path.join(os.tmpdir(), 'bootscope-uefi-bench-'));

const trace = (i: number): string => path.join(tmp, `uefi${i}.trace`);
const emulator = (i: number) =>
  timeMarkers(
    process.execPath,
    emulatorRun(MEM, ['--bios', edk2, '--kernel', kernel, '--append', APPEND, '--stop-on', PANIC, '-o', trace(i), '-f']),
    [STUB, PANIC],
    false,
  );

const qemu = () =>
  timeMarkers(
    'qemu-system-aarch64',
    qemuVirt('virt,gic-version=3', MEM, ['-monitor', 'none', '-bios', edk2, '-kernel', kernel, '-append', APPEND]),
    [STUB, PANIC],
    true,
  );

/** Virtual time (= instructions) of the console event that completed the EFI stub's first line. */
function stubInstructions(file: string): number {
  const out = execFileSync(
    process.execPath,
    emulatorArgv(['sql', file, "select time from events where kind = 'console' order by seq", '--json']),
    { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 },
  );
  const console = execFileSync(process.execPath, emulatorArgv(['console', file]), {
    encoding: 'latin1',
    maxBuffer: 256 * 1024 * 1024,
  });
  const times = (JSON.parse(out) as { time: number }[]).map((r) => r.time);
  // One console event per byte: the byte that ends the marker.
  const at = console.indexOf(STUB) + STUB.length - 1;
  return times[at] ?? NaN;
}

const { emu, qemu: q, load0 } = await alternate(RUNS, qemu, emulator);
const stubInsns = stubInstructions(trace(RUNS - 1));
rmSync(tmp, { recursive: true, force: true });

const last = emu[emu.length - 1]!;
const insns = summaryNumber(last.stderr, 'instructions');
const events = summaryNumber(last.stderr, 'events');
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
  `${RUNS} alternating run(s) each, median; ${measuredOn(load0)}`,
  '',
  '| | emulator | QEMU TCG | ratio |',
  '|---|---:|---:|---:|',
  row('reset → EFI stub', (x) => x.markerMs[0]!),
  row('reset → rootfs panic', (x) => x.markerMs[1]!),
  '',
  `Emulator: ${stubInsns.toLocaleString('en-US')} guest instructions to the EFI stub's first line, ${insns.toLocaleString('en-US')} to the`,
  `panic (${(insns / last.markerMs[1]! / 1000).toFixed(1)} MIPS over the run), ${events.toLocaleString('en-US')} events recorded.`,
  '',
].join('\n');

process.stdout.write(section + '\n');
if (writeDocs) writeDocsSection('UEFI boot', section);

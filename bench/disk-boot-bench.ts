// Debian's 6.1 cloud kernel from the disk initramfs (scripts/make-test-disk.ts) onto the ext4
// disk over virtio-blk-pci, to the disk's /sbin/init (its marker line), on the emulator
// (`bootscope run --disk`, recording on, as a plain-node child process) and on Debian's QEMU TCG
// (virtio-blk-pci,disable-legacy=on) with one vCPU, GICv3, the same kernel, initramfs, disk and
// command line, in the same run.
//
//   ./bootscope node bench/disk-boot-bench.ts [--runs N] [--write-docs]
//
// Wall time is from spawning the process to the moment the init's marker appears on its stdout.
// Guest instructions and events come from the emulator's summary (the guest powers off). Host
// memory is the emulator child's peak RSS (VmHWM, sampled every 50 ms). --write-docs replaces the
// "## Disk boot" section of docs/benchmarks.md.

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DISK_MARKER, makeTestDisk } from '../scripts/make-test-disk.ts';
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

const APPEND = 'console=ttyAMA0';
const MEM = '512M';

const { runs: RUNS, writeDocs } = benchArgs();
const { kernel, busybox } = fetchGuests('kernel', 'busybox') as { kernel: string; busybox: string };
const tmp = mkdtempSync(path.join(os.tmpdir(), 'bootscope-disk-bench-'));
const { disk, initramfs } = makeTestDisk(kernel, busybox, tmp);

const emulator = (i: number) =>
  timeMarkers(
    process.execPath,
    emulatorRun(MEM, [
      '--kernel',
      kernel,
      '--initrd',
      initramfs,
      '--append',
      APPEND,
      '--disk',
      disk,
      '-o',
      path.join(tmp, `disk${i}.trace`),
      '-f',
    ]),
    [DISK_MARKER],
    false,
  );

const qemu = () =>
  timeMarkers(
    'qemu-system-aarch64',
    qemuVirt('virt,gic-version=3,its=off', MEM, [
      '-kernel',
      kernel,
      '-initrd',
      initramfs,
      '-append',
      APPEND,
      '-drive',
      `file=${disk},if=none,id=d0,format=raw,snapshot=on`,
      '-device',
      'virtio-blk-pci,drive=d0,disable-legacy=on',
      '-nic',
      'none',
    ]),
    [DISK_MARKER],
    false,
  );

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

const section = [
  '## Disk boot',
  '',
  "`./bootscope node bench/disk-boot-bench.ts [--runs N] [--write-docs]`: Debian's",
  `\`${path.basename(kernel)}\` from the disk initramfs onto the ext4 test disk over virtio-blk-pci`,
  `(\`scripts/make-test-disk.ts\`), to the disk's \`/sbin/init\` printing its marker; \`--append "${APPEND}"\`, 1 vCPU,`,
  `GICv3 (INTx), ${MEM} of guest RAM. Emulator: \`bootscope run … --disk test-disk.ext4 -o TRACE\` (recording on) as a`,
  'plain-node child process; QEMU: `qemu-system-aarch64 -M virt,gic-version=3,its=off -accel tcg -cpu cortex-a57 -smp 1`',
  "`-device virtio-blk-pci,disable-legacy=on` (Debian's 7.2), in the same run. Wall time is spawn → the marker on",
  `stdout; host memory is the emulator process's peak RSS (VmHWM). ${RUNS} alternating run(s) each, median (best); ${measuredOn(load0)}`,
  '',
  '| | emulator | QEMU TCG |',
  '|---|---:|---:|',
  `| wall time to the disk's init | ${(emuMs / 1000).toFixed(2)} s (${(emuBest / 1000).toFixed(2)} s) | ${(qemuMs / 1000).toFixed(2)} s (${(qemuBest / 1000).toFixed(2)} s) |`,
  `| ratio emulator / QEMU | ${ratio.toFixed(1)}× (${(emuBest / qemuBest).toFixed(1)}×) | |`,
  `| guest instructions (to power-off) | ${insns.toLocaleString('en-US')} | |`,
  `| emulator speed | ${(insns / last.totalMs / 1000).toFixed(1)} MIPS (whole run) | |`,
  `| events recorded | ${events.toLocaleString('en-US')} | |`,
  `| host memory (peak RSS) | ${rssMiB.toFixed(0)} MiB | |`,
  '',
].join('\n');

process.stdout.write(section + '\n');
if (writeDocs) writeDocsSection('Disk boot', section);

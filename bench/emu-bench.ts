// Whole-machine emulator speed on the CPU-bound guest (guests/bin/workload.bin), with recording
// off and on, against QEMU TCG running the same guest in the same process run.
//
//   ./bootscope node bench/emu-bench.ts [--runs N] [--write-docs]
//
// MIPS = instructions executed / wall time of runGuest() (machine build, load, run, trace close).
// QEMU's figure is the wall time of one `qemu-system-aarch64 -M virt -cpu cortex-a57` run
// (process start to exit, TCG) of the same binary; its MIPS uses the emulator's instruction count
// for the same guest (97.9 M; the guest does the same work on both).
// --write-docs replaces the "## Emulator (whole machine)" section of docs/benchmarks.md.

import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runGuest, type RunResult } from '../emu/run.ts';
import { GUEST_RUNS, guestBinary, REPO_ROOT, runOnQemu } from '../test/helpers/qemu-runs.ts';

const args = process.argv.slice(2);
const runsArg = args.indexOf('--runs');
const RUNS = runsArg >= 0 ? Number(args[runsArg + 1]) : 3;
const writeDocs = args.includes('--write-docs');
const run = GUEST_RUNS.find((r) => r.id === 'workload')!;
const kernel = guestBinary('workload');
const expected = readFileSync(path.join(REPO_ROOT, 'test/guests/expected/workload.txt'), 'latin1');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'bootscope-emu-bench-'));

interface Row {
  mode: string;
  ms: number[];
  insns: number;
  events?: number;
  bytes?: number;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const best = (xs: number[]): number => Math.min(...xs);
const mips = (insns: number, ms: number): number => insns / ms / 1000;

async function emulate(record: boolean, i: number): Promise<{ r: RunResult; bytes?: number }> {
  const output = record ? path.join(tmp, `w${i}.trace`) : undefined;
  const r = await runGuest({ kernel, gic: run.gic, smp: run.smp, memBytes: 128 << 20, ...(output ? { output } : {}) });
  if (Buffer.from(r.console).toString('latin1') !== expected) throw new Error('workload console differs from QEMU baseline');
  const bytes = output ? statSync(output).size : undefined;
  if (output) rmSync(output);
  return { r, ...(bytes !== undefined ? { bytes } : {}) };
}

try {
  const rows: Row[] = [];
  // One warm-up run so both modes see an optimised CPU core.
  await emulate(false, -1);
  const off: Row = { mode: 'emulator, recording off', ms: [], insns: 0 };
  const on: Row = { mode: 'emulator, recording on', ms: [], insns: 0 };
  for (let i = 0; i < RUNS; i++) {
    for (const [row, rec] of [
      [off, false],
      [on, true],
    ] as const) {
      const { r, bytes } = await emulate(rec, i);
      row.ms.push(r.wallMs);
      row.insns = r.executed;
      if (rec) {
        row.events = r.events;
        row.bytes = bytes;
      }
      process.stderr.write(`${row.mode}: ${(r.wallMs / 1000).toFixed(2)} s, ${mips(r.executed, r.wallMs).toFixed(1)} MIPS\n`);
    }
  }
  const qemu: Row = { mode: 'QEMU 7.2 TCG (process wall time)', ms: [], insns: off.insns };
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    const q = await runOnQemu(run);
    const ms = performance.now() - t0;
    if (q.code !== 0 || q.stdout !== expected) throw new Error('QEMU workload run failed');
    qemu.ms.push(ms);
    process.stderr.write(`qemu: ${(ms / 1000).toFixed(2)} s\n`);
  }
  rows.push(off, on, qemu);
  // The machine is shared: the best of N runs is the least disturbed figure.
  const overhead = (best(on.ms) / best(off.ms) - 1) * 100;
  const f2 = (x: number) => x.toFixed(2);
  const table = [
    `| mode | instructions | wall time, best of ${RUNS} | MIPS (best) | MIPS (median) | events | trace |`,
    '|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.mode} | ${r.insns.toLocaleString('en-US')} | ${f2(best(r.ms) / 1000)} s | **${mips(r.insns, best(r.ms)).toFixed(1)}** | ${mips(r.insns, median(r.ms)).toFixed(1)} | ${r.events?.toLocaleString('en-US') ?? '–'} | ${r.bytes !== undefined ? (r.bytes / 1024).toFixed(0) + ' KiB' : '–'} |`,
    ),
  ];
  const summary = `Recording overhead: ${overhead.toFixed(1)} % (best wall time, on vs off; runs alternate off/on).`;
  process.stdout.write(table.join('\n') + '\n\n' + summary + '\n');
  if (writeDocs) {
    const doc = path.join(REPO_ROOT, 'docs/benchmarks.md');
    const before = readFileSync(doc, 'utf8');
    const section = [
      '## Emulator (whole machine)',
      '',
      `\`./bootscope node bench/emu-bench.ts --write-docs\` (${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} CPUs ${os.cpus()[0]?.model ?? ''}, Node ${process.versions.node};`,
      `load average ${os
        .loadavg()
        .map((x) => x.toFixed(1))
        .join(' / ')}). The guest is \`guests/bin/workload.bin\` (CRC-32, sieve, matrix product; the`,
      "console is checked against QEMU's on every run) on the kvm personality, 1 vCPU, GICv2, 128 MiB, block compiler on (the default).",
      'Wall time covers building the machine, loading, running to PSCI SYSTEM_OFF and closing the trace.',
      "QEMU's row is the wall time of the whole `qemu-system-aarch64 -M virt -cpu cortex-a57` process",
      "(start-up included) on the same binary; its MIPS uses the emulator's instruction count for the guest.",
      'The workload is CPU-bound, so recording on adds few events (console bytes, the PL011 polling):',
      'the overhead measures the cost of having a recorder attached, not of heavy MMIO traffic.',
      '',
      ...table,
      '',
      summary,
      '',
    ].join('\n');
    const re = /## Emulator \(whole machine\)\n[\s\S]*?(?=\n## |$)/;
    const next = re.test(before) ? before.replace(re, section.trimEnd() + '\n') : before.trimEnd() + '\n\n' + section;
    writeFileSync(doc, next);
    process.stderr.write(`emu-bench: wrote the "Emulator (whole machine)" section of ${doc}\n`);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

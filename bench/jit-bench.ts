// Block compiler benchmark: MIPS with the jit off and on, on the CPU loops of cpu-bench.ts, on
// guests/bin/workload.bin (whole machine, trace recorded) and optionally on the Debian 6.1 kernel
// to its "VFS: Unable to mount root fs" panic; the guest runs also compare the trace digests.
//
//   node bench/jit-bench.ts [--insns N] [--linux] [--write-docs]
//
// --write-docs replaces the "## Block compiler" section of docs/benchmarks.md.

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync, mkdtempSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { runGuest } from '../emu/run.ts';
import type { Machine } from '../emu/machine/index.ts';
import { WORKLOADS, runWorkload } from './cpu-bench.ts';

const REPO_ROOT = path.resolve(import.meta.dirname, '..');

interface GuestSample { name: string; insns: number; cpuSeconds: number; digest: string; blocks?: number; coverage?: number }

function cpuNow(): number { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; }

async function guestRun(name: string, kernel: string, jit: boolean, extra: { append?: string; stopOn?: string; memBytes?: number; gic?: 2 | 3 }, out: string): Promise<GuestSample> {
  let m: Machine | undefined;
  const c0 = cpuNow();
  const r = await runGuest({ kernel, ...extra, jit, output: out, overwrite: true, onReady: (x) => { m = x; } });
  const cpuSeconds = cpuNow() - c0;
  const st = m!.cpus[0]!.jit?.stats;
  return {
    name, insns: r.executed, cpuSeconds, digest: r.digest!,
    ...(st ? { blocks: st.blocks, coverage: st.callInsns / r.executed } : {}),
  };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const insns = args.includes('--insns') ? Number(args[args.indexOf('--insns') + 1]) : 50_000_000;
  const rows: string[] = [];
  for (const w of Object.keys(WORKLOADS)) {
    const off = runWorkload(w, insns, false), on = runWorkload(w, insns, true);
    const line = `| ${w} (loop) | ${off.cpuMips.toFixed(1)} | ${on.cpuMips.toFixed(1)} | ${(on.cpuMips / off.cpuMips).toFixed(2)}x | - |`;
    console.log(line);
    rows.push(line);
  }
  const tmp = mkdtempSync(path.join(tmpdir(), 'bootscope-jit-bench-'));
  try {
    const guests: [string, string, Parameters<typeof guestRun>[3]][] = [
      ['workload.bin', path.join(REPO_ROOT, 'guests/bin/workload.bin'), { gic: 2, memBytes: 128 << 20 }],
    ];
    if (args.includes('--linux')) {
      const fetched = execFileSync(path.join(REPO_ROOT, 'scripts/fetch-guests.sh'), { encoding: 'utf8' });
      const kernel = /^kernel (.*)$/m.exec(fetched)![1]!;
      guests.push(['Linux to the panic', kernel, { append: 'console=ttyAMA0 earlycon=pl011,0x9000000', stopOn: 'end Kernel panic', memBytes: 512 << 20 }]);
    }
    for (const [name, kernel, extra] of guests) {
      const off = await guestRun(name, kernel, false, extra, path.join(tmp, 'off.trace'));
      const on = await guestRun(name, kernel, true, extra, path.join(tmp, 'on.trace'));
      const mipsOff = off.insns / off.cpuSeconds / 1e6, mipsOn = on.insns / on.cpuSeconds / 1e6;
      const same = off.digest === on.digest && off.insns === on.insns ? 'identical' : `DIFFERENT (${off.digest} vs ${on.digest})`;
      const line = `| ${name} (${(off.insns / 1e6).toFixed(0)} M insns, ${on.blocks} blocks, ${((on.coverage ?? 0) * 100).toFixed(0)} % compiled) | ${mipsOff.toFixed(1)} | ${mipsOn.toFixed(1)} | ${(mipsOn / mipsOff).toFixed(2)}x (${off.cpuSeconds.toFixed(1)} → ${on.cpuSeconds.toFixed(1)} s) | ${same} |`;
      console.log(line);
      rows.push(line);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  if (args.includes('--write-docs')) writeDocs(rows);
}

/** Findings that do not come from this run (measured while building the compiler, 2026-11-22). */
const NOTES = [
  'How it works (`emu/cpu/jit.ts`, templates in `emu/cpu/jit-ops.ts`): executions are counted per block start (slot of the',
  'physical page\'s decode array); a hot block (straight-line code up to and including the first branch, stopping before',
  'system instructions, WFI/WFE, FP/SIMD and undefined encodings) becomes one `new Function` over the same Int32Array',
  'register file with register slots folded into constants. PC and instret are stored before anything that may fault, a',
  'block exits after a memory access when an event is pending (MMIO, timer) or its code page was written, and it only',
  'starts when it fits in the remaining budget, so virtual time and traces are unchanged: `test/cpu/jit.test.ts` checks the',
  'same digest, events, virtual time and console on all 13 guest runs of the QEMU matrix (compiling on the 2nd execution),',
  'a precise data abort mid-block, self-modifying code, and 100,000 random instruction words against the interpreter.',
  'On the Debian 6.1 kernel the digest with `--jit` is the same as without at every threshold tried (500 to 100,000).',
  '',
  'Why the Linux gain is smaller than the loops\': V8 spends CPU compiling every block function (measured with',
  '`--trace-opt` at threshold 2000: 2,039 Maglev compilations, 2.5 s, and 740 TurboFan compilations, 5.2 s, for 2,309',
  'blocks), and on this 2-vCPU machine that background work competes with the emulator. Threshold sweep, Linux to the',
  'panic, CPU seconds of the process (interpreter: 14.3-15.0 s; measured before blocks looped on themselves):',
  '',
  '| threshold | blocks | instructions in compiled blocks | CPU s |',
  '|---|---|---|---|',
  '| 500 | 4,536 | 97 % | 14.3-14.9 |',
  '| 2,000 | 2,309 | 94 % | 12.8-13.5 |',
  '| 5,000 | 1,569 | 91 % | 11.4-13.7 |',
  '| 20,000 (default) | 589 | 82 % | 10.5 |',
  '| 100,000 | 120 | 69 % | 10.2-10.5 |',
  '',
  'Next steps if more speed is needed: chain blocks (jump to the successor without returning to the dispatch loop; blocks',
  'average 9 instructions), keep heavy helpers (TLB slow paths) out of the inlined code so each block compiles faster,',
  'or emit WebAssembly instead of JavaScript.',
];

export function writeDocs(rows: string[]): void {
  const file = path.join(REPO_ROOT, 'docs/benchmarks.md');
  const old = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
  const section = [
    '## Block compiler',
    '',
    `\`node bench/jit-bench.ts --linux --write-docs\` (Node ${process.version}, ${new Date().toISOString().slice(0, 10)}, load average`,
    `${loadavg().map((l) => l.toFixed(1)).join(' / ')} on 2 shared vCPUs). MIPS per CPU-second of the process (steadier than wall`,
    'time on a shared machine), jit off (`new Cpu({ jit: false })`, the default) and on (`bootscope run --jit`, default threshold:',
    'a block is compiled after 20000 executions). Guest rows record a trace; the last column compares the trace digests.',
    '',
    '| workload | MIPS off | MIPS on | speed-up | trace |',
    '|---|---|---|---|---|',
    ...rows,
    '',
    ...NOTES,
    '',
  ].join('\n');
  const re = /## Block compiler\n[\s\S]*?(?=\n## |$)/;
  const next = re.test(old) ? old.replace(re, section) : `${old.trimEnd()}\n\n${section}`;
  writeFileSync(file, next.endsWith('\n') ? next : next + '\n');
}

if (import.meta.url === `file://${process.argv[1]}`) await main();

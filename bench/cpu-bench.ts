// CPU benchmark: MIPS of the interpreter on CPU-bound loops assembled at run time.
// Usage: node bench/cpu-bench.ts [--insns N] [--write-docs]

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimpleBus } from '../emu/cpu/bus.ts';
import { Cpu, HV } from '../emu/cpu/cpu.ts';

const RAM = 0x40000000;

function assemble(src: string): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), 'bs-bench-'));
  try {
    writeFileSync(join(dir, 'a.S'), `.text\n.globl _start\n_start:\n${src}\n`);
    execFileSync('aarch64-linux-gnu-as', ['-o', join(dir, 'a.o'), join(dir, 'a.S')]);
    execFileSync('aarch64-linux-gnu-ld', ['-Ttext', `0x${RAM.toString(16)}`, '-o', join(dir, 'a.elf'), join(dir, 'a.o')]);
    execFileSync('aarch64-linux-gnu-objcopy', ['-O', 'binary', join(dir, 'a.elf'), join(dir, 'a.bin')]);
    return new Uint8Array(readFileSync(join(dir, 'a.bin')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Workloads: each loops forever; the budget ends the run. */
const WORKLOADS: Record<string, string> = {
  // the emulator notes' 12-instruction loop: ldr (reg offset), alu ops, str, cmp, b.ne
  'alu-loop': `
    ldr x1, =0x40100000
    mov x2, #0
    mov x3, #1
  1:ldr x4, [x1, x2, lsl #3]
    add x5, x4, x3
    eor x5, x5, x2
    lsl x6, x5, #3
    lsr x7, x5, #7
    orr x6, x6, x7
    sub x6, x6, x3
    and x6, x6, #0xffff
    str x6, [x1, x2, lsl #3]
    add x2, x2, #1
    and x2, x2, #1023
    cmp x3, #0
    b.ne 1b
  `,
  // byte checksum with a function call per block, pairs on the stack, conditional select
  'call-mix': `
    ldr x19, =0x40100000
    mov x20, #0
  1:mov x0, x19
    mov x1, #64
    bl sum
    add x20, x20, x0
    cmp x20, #0
    csel x21, x20, x0, ne
    b 1b
  sum:
    stp x29, x30, [sp, #-16]!
    mov x29, sp
    mov x2, #0
  2:ldrb w3, [x0], #1
    add x2, x2, x3
    subs x1, x1, #1
    b.ne 2b
    mov x0, x2
    ldp x29, x30, [sp], #16
    ret
  `,
};

export interface BenchResult { name: string; insns: number; seconds: number; mips: number }

export function runWorkload(name: string, insns: number): BenchResult {
  const bin = assemble(WORKLOADS[name]);
  const bus = new SimpleBus([[RAM, 16 * 1024 * 1024]]);
  bus.load(RAM, bin);
  const cpu = new Cpu({ bus, hypervisor: { call: () => HV.STOP } });
  cpu.pc = BigInt(RAM);
  cpu.sp = BigInt(RAM + 16 * 1024 * 1024);
  cpu.run(2_000_000); // warm-up (JIT tiers)
  const t0 = process.hrtime.bigint();
  let done = 0;
  while (done < insns) done += cpu.run(Math.min(1_000_000, insns - done)); // machine-like quanta
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { name, insns: done, seconds, mips: done / seconds / 1e6 };
}

function main(): void {
  const args = process.argv.slice(2);
  const insns = args.includes('--insns') ? Number(args[args.indexOf('--insns') + 1]) : 100_000_000;
  const results = Object.keys(WORKLOADS).map((n) => runWorkload(n, insns));
  for (const r of results) console.log(`${r.name.padEnd(10)} ${r.insns} insns in ${r.seconds.toFixed(2)} s: ${r.mips.toFixed(1)} MIPS`);
  if (args.includes('--write-docs')) writeDocs(results);
}

function writeDocs(results: BenchResult[]): void {
  const path = new URL('../docs/benchmarks.md', import.meta.url).pathname;
  const old = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmarks\n';
  const lines = [
    '## CPU',
    '',
    `Interpreter speed on CPU-bound loops (\`node bench/cpu-bench.ts --write-docs\`, Node ${process.version}, ` +
      `${new Date().toISOString().slice(0, 10)}; MMU off, 1M-instruction quanta as the machine runs them).`,
    '',
    '| workload | instructions | seconds | MIPS |',
    '|---|---|---|---|',
    ...results.map((r) => `| ${r.name} | ${r.insns} | ${r.seconds.toFixed(2)} | ${r.mips.toFixed(1)} |`),
    '',
  ].join('\n');
  const re = /## CPU\n[\s\S]*?(?=\n## |$)/;
  const next = re.test(old) ? old.replace(re, lines) : `${old.trimEnd()}\n\n${lines}`;
  writeFileSync(path, next.endsWith('\n') ? next : next + '\n');
}

if (import.meta.url === `file://${process.argv[1]}`) main();

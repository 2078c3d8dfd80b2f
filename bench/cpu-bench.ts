// CPU benchmark: MIPS of the interpreter on CPU-bound loops assembled at run time.
// Usage: node bench/cpu-bench.ts [--insns N] [--write-docs]

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimpleBus } from '../emu/cpu/bus.ts';
import { Cpu, HV } from '../emu/cpu/cpu.ts';
import type { JitOptions } from '../emu/cpu/jit.ts';

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
export const WORKLOADS: Record<string, string> = {
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
  // Linux's mpihelp_submul_1 inner loop (RSA in the boot-time crypto self-tests dominates the first
  // 500 M instructions of a Debian 6.1 boot): mul/madd, shifted and extended adds, csel/cinc, ldr/str lsl #3
  bignum: `
    ldr x1, =0x40100000
    ldr x11, =0x40108000
    ldr x3, =0x9e3779b97f4a7c15
  0:mov w2, #64
    neg w2, w2
    lsr x12, x3, #32
    and x10, x3, #0xffffffff
    sxtw x5, w2
    mov x0, #0
    mov x14, x5
    mov x13, #0x100000000
    b 2f
  1:sxtw x5, w2
  2:sub x5, x5, x14
    ldr x3, [x1, x5, lsl #3]
    ldr x7, [x11, x5, lsl #3]
    and x6, x3, #0xffffffff
    lsr x3, x3, #32
    mul x4, x6, x10
    mul x9, x3, x10
    madd x8, x12, x6, x9
    mul x3, x12, x3
    add x6, x0, w4, uxtw
    add x4, x8, x4, lsr #32
    add x8, x3, x13
    cmp x4, x9
    add x6, x6, x4, lsl #32
    csel x3, x8, x3, cc
    lsr x4, x4, #32
    cmp x6, x0
    cinc x4, x4, cc
    subs x7, x7, x6
    str x7, [x11, x5, lsl #3]
    cinc x3, x3, cc
    add x0, x3, x4
    adds w2, w2, #1
    b.ne 1b
    add x3, x3, x0
    b 0b
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

/** mips uses wall time; cpuMips uses the process's CPU time (steadier on a shared machine). */
export interface BenchResult {
  name: string;
  insns: number;
  seconds: number;
  mips: number;
  cpuSeconds: number;
  cpuMips: number;
}

export function runWorkload(name: string, insns: number, jit: boolean | JitOptions = false): BenchResult {
  const bin = assemble(WORKLOADS[name]);
  const bus = new SimpleBus([[RAM, 16 * 1024 * 1024]]);
  bus.load(RAM, bin);
  const cpu = new Cpu({ bus, hypervisor: { call: () => HV.STOP }, ...(jit ? { jit } : {}) });
  cpu.pc = BigInt(RAM);
  cpu.sp = BigInt(RAM + 16 * 1024 * 1024);
  cpu.run(2_000_000); // warm-up (JIT tiers)
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  let done = 0;
  while (done < insns) done += cpu.run(Math.min(1_000_000, insns - done)); // machine-like quanta
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(c0);
  const cpuSeconds = (c.user + c.system) / 1e6;
  return { name, insns: done, seconds, mips: done / seconds / 1e6, cpuSeconds, cpuMips: done / cpuSeconds / 1e6 };
}

function main(): void {
  const args = process.argv.slice(2);
  const insns = args.includes('--insns') ? Number(args[args.indexOf('--insns') + 1]) : 100_000_000;
  const results = Object.keys(WORKLOADS).map((n) => runWorkload(n, insns));
  for (const r of results) {
    console.log(
      `${r.name.padEnd(10)} ${r.insns} insns in ${r.seconds.toFixed(2)} s: ${r.mips.toFixed(1)} MIPS (${r.cpuMips.toFixed(1)} per CPU-second)`,
    );
  }
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
    `Load average when this ran: ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' / ')} (2 vCPUs shared with other jobs, so the`,
    'CPU-time column is the steadier figure).',
    '',
    '| workload | instructions | wall s | MIPS (wall) | MIPS per CPU-second |',
    '|---|---|---|---|---|',
    ...results.map((r) => `| ${r.name} | ${r.insns} | ${r.seconds.toFixed(2)} | ${r.mips.toFixed(1)} | ${r.cpuMips.toFixed(1)} |`),
    '',
    'Workloads: `alu-loop` is the 12-instruction loop of the emulator notes (register-offset load/store,',
    "ALU ops, compare and branch); `bignum` is Linux's `mpihelp_submul_1` inner loop (64-bit multiplies,",
    'shifted/extended adds, csel/cinc), which dominates the first 500 M instructions of the Debian 6.1',
    'boot (RSA in the crypto self-tests); `call-mix` is a byte checksum with a call, stack pairs and csel.',
    '',
  ].join('\n');
  const re = /## CPU\n[\s\S]*?(?=\n## |$)/;
  const next = re.test(old) ? old.replace(re, lines) : `${old.trimEnd()}\n\n${lines}`;
  writeFileSync(path, next.endsWith('\n') ? next : next + '\n');
}

if (import.meta.url === `file://${process.argv[1]}`) main();

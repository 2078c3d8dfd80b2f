// Test harness: assemble A64 snippets with binutils and run them on a Cpu with RAM and a test device.

import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimpleBus } from '../../emu/cpu/bus.ts';
import { Cpu, HV, type CpuOptions, type ExceptionInfo, type Hypervisor } from '../../emu/cpu/cpu.ts';

export const RAM_BASE = 0x40000000;
export const RAM_SIZE = 16 * 1024 * 1024;
export const DEV_BASE = 0x09000000;

const cache = new Map<string, Uint8Array>();

/** Assemble GNU as source (at address `base`) into a flat binary. */
export function assemble(src: string, base = RAM_BASE): Uint8Array {
  const key = `${base}:${src}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const dir = mkdtempSync(join(tmpdir(), 'bs-asm-'));
  try {
    writeFileSync(join(dir, 'a.S'), `.text\n.globl _start\n_start:\n${src}\n`);
    execFileSync('aarch64-linux-gnu-as', ['-o', join(dir, 'a.o'), join(dir, 'a.S')]);
    execFileSync('aarch64-linux-gnu-ld', ['-Ttext', `0x${base.toString(16)}`, '-o', join(dir, 'a.elf'), join(dir, 'a.o')]);
    execFileSync('aarch64-linux-gnu-objcopy', ['-O', 'binary', join(dir, 'a.elf'), join(dir, 'a.bin')]);
    const out = new Uint8Array(readFileSync(join(dir, 'a.bin')));
    cache.set(key, out);
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface MmioLog {
  write: boolean;
  pa: number;
  size: number;
  value: number | bigint;
}

export interface TestMachine {
  bus: SimpleBus;
  cpu: Cpu;
  exceptions: ExceptionInfo[];
  mmio: MmioLog[];
  hvcs: number[];
  /** Set to make the next irqPending() calls return true. */
  irq: { line: boolean };
  run(max?: number): number;
}

/**
 * A machine with RAM at 0x40000000, a 4K test device at 0x09000000 (reads return 0x12345678 +
 * offset, offset 0x800+ aborts) and a hypervisor where HVC #0 stops the run.
 */
export function machine(code: Uint8Array | string, opts: Partial<CpuOptions> = {}): TestMachine {
  const bin = typeof code === 'string' ? assemble(code) : code;
  const bus = new SimpleBus([[RAM_BASE, RAM_SIZE]]);
  bus.load(RAM_BASE, bin);
  const mmio: MmioLog[] = [];
  bus.addMmio({
    base: DEV_BASE,
    size: 0x1000,
    read(off, size) {
      if (off >= 0x800) return null;
      const v = size === 8 ? 0x1122334455667788n : (0x12345678 + off) >>> 0;
      mmio.push({ write: false, pa: DEV_BASE + off, size, value: v });
      return v;
    },
    write(off, size, value) {
      if (off >= 0x800) return false;
      mmio.push({ write: true, pa: DEV_BASE + off, size, value });
      return true;
    },
  });
  const exceptions: ExceptionInfo[] = [];
  const hvcs: number[] = [];
  const irq = { line: false };
  const hv: Hypervisor = {
    call(_cpu, _conduit, imm) {
      hvcs.push(imm);
      return imm === 0 ? HV.STOP : imm === 0xdead ? HV.UNDEFINED : HV.CONTINUE;
    },
  };
  const cpu = new Cpu({
    bus,
    hypervisor: hv,
    irqPending: () => irq.line,
    hooks: { onException: (_c, info) => exceptions.push(info) },
    ...opts,
  });
  cpu.pc = BigInt(RAM_BASE);
  cpu.sp = BigInt(RAM_BASE + RAM_SIZE);
  return {
    bus,
    cpu,
    exceptions,
    mmio,
    hvcs,
    irq,
    run(max = 1_000_000) {
      return cpu.run(max);
    },
  };
}

/** Run a snippet that ends with `hvc #0` and return the machine. */
export function runAsm(src: string, opts: Partial<CpuOptions> = {}): TestMachine {
  const m = machine(src, opts);
  m.run();
  return m;
}

export const hex = (v: bigint): string => '0x' + v.toString(16);

/** A vector table at RAM_BASE+0x800 whose 16 entries stop the run (hvc #0), then `main:`; code
 *  before it branches over it. */
export const STOP_VECTORS = `  b main
  .balign 2048
vectors:
  .rept 16
  hvc #0
  .balign 128
  .endr
main:
`;

/** Points VBAR_EL1 at STOP_VECTORS and continues at `main:`. */
export const VECTOR_PRELUDE = `
  ldr x0, =vectors
  msr vbar_el1, x0
${STOP_VECTORS}`;

/**
 * Runs the Unicorn oracle script with `input` as JSON on its stdin. Asynchronous: tens of thousands
 * of cases keep python busy long enough that a synchronous child would starve vitest's worker RPC.
 */
export function runUnicornOracle(script: string, input: unknown): Promise<{ status: number | null; stdout: Buffer; stderr: Buffer }> {
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/python3', [script], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout: Buffer.concat(out), stderr: Buffer.concat(err) }));
    child.stdin.end(JSON.stringify(input));
  });
}

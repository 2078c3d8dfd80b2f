// Differential check for SIMD&FP: random instructions from the implemented families on our CPU
// and on Unicorn (QEMU's TCG core, via python3-unicorn) must give identical X and V registers,
// NZCV and FPSR (and memory for loads/stores), under random FPCR rounding mode, FZ and DN.

import { runUnicornOracle } from '../../helpers/cpu-harness.ts';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SimpleBus } from '../../../emu/cpu/bus.ts';
import { Cpu, type ExceptionInfo } from '../../../emu/cpu/cpu.ts';

const ORACLE = new URL('./unicorn_fp_oracle.py', import.meta.url).pathname;

/** xorshift32 with a fixed seed: the same cases every run. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

/** [mask, value, name, extra fixed-zero mask]: instruction = random bits outside mask | value. */
export const FP_CLASSES: Array<[number, number, string]> = [
  [0xff200c00 | 0, 0x1e200800, 'fp 2-source'],
  [0xff207c00 | 0, 0x1e204000, 'fp 1-source'],
  [0xff203c07 | 0, 0x1e202000, 'fp compare'],
  [0xff200c00 | 0, 0x1e200400, 'fp ccmp'],
  [0xff200c00 | 0, 0x1e200c00, 'fp csel'],
  [0xff201fe0 | 0, 0x1e201000, 'fp imm'],
  [0xff000000 | 0, 0x1f000000, 'fp 3-source'],
  [0x7f20fc00, 0x1e200000, 'fp<->int'],
  [0x7f200000, 0x1e000000, 'fp<->fixed'],
  [0x9f200400 | 0, 0x0e200400, 'simd 3-same'],
  [0x9f3e0c00 | 0, 0x0e200800, 'simd 2-misc'],
  [0x9f3e0c00 | 0, 0x0e300800, 'simd across'],
  [0x9fe08400 | 0, 0x0e000400, 'simd copy'],
  [0x9ff80400 | 0, 0x0f000400, 'simd mod-imm'],
  [0x9f800400 | 0, 0x0f000400, 'simd shift-imm'],
  [0xbf208c00 | 0, 0x0e000800, 'simd permute'],
  [0xbfe08400 | 0, 0x2e000000, 'simd ext'],
  [0xbfe08c00 | 0, 0x0e000000, 'simd tbl'],
  [0x9f200c00 | 0, 0x0e200000, 'simd 3-diff'],
  [0xdfe08400 | 0, 0x5e000400, 'simd scalar dup'],
  [0xdf200400 | 0, 0x5e200400, 'simd scalar 3-same'],
  [0xdf800400 | 0, 0x5f000400, 'simd scalar shift'],
  [0xdf3e0c00 | 0, 0x5e200800, 'simd scalar 2-misc'],
  [0x9f000400 | 0, 0x0f000000, 'simd by element'],
  [0xdf000400 | 0, 0x5f000000, 'simd scalar by element'],
];

const F32 = [
  0, 0x80000000, 0x3f800000, 0xbf800000, 0x7f800000, 0xff800000, 0x7fc00000, 0x7fa00001, 0xffc00123, 0x00000001, 0x807fffff, 0x00800000,
  0x7f7fffff, 0x4f000000, 0xcf000000, 0x3effffff, 0x40490fdb, 0x4b000001, 0x3f000000,
];
const F64 = [
  0n,
  0x8000000000000000n,
  0x3ff0000000000000n,
  0xbff0000000000000n,
  0x7ff0000000000000n,
  0xfff0000000000000n,
  0x7ff8000000000000n,
  0x7ff4000000000001n,
  0x0000000000000001n,
  0x000fffffffffffffn,
  0x0010000000000000n,
  0x7fefffffffffffffn,
  0x43e0000000000000n,
  0xc3e0000000000000n,
  0x41dfffffffc00000n,
  0x3fe0000000000000n,
  0x400921fb54442d18n,
  0x4330000000000001n,
];

function randLane64(r: () => number): bigint {
  const k = r() % 6;
  if (k === 0) return F64[r() % F64.length];
  if (k === 1) return BigInt(F32[r() % F32.length] >>> 0) | (BigInt(F32[r() % F32.length] >>> 0) << 32n);
  if (k === 2) {
    // "nice" doubles with few mantissa bits (exercise exact cases and ties)
    const e = 1023 + (r() % 80) - 40;
    return (BigInt(r() & 1) << 63n) | (BigInt(e) << 52n) | (BigInt(r() & 0xff) << 44n);
  }
  if (k === 3) {
    // nearby single values
    const e = 127 + (r() % 60) - 30;
    const f = (((r() & 1) << 31) | (e << 23) | (r() & 0x7f0000)) >>> 0;
    return BigInt(f) | (BigInt(f ^ (r() & 0x10000)) << 32n);
  }
  return (BigInt(r() >>> 0) << 32n) | BigInt(r() >>> 0);
}

interface Case {
  insn: number;
  regs: string[];
  v: string[];
  nzcv: number;
  fpcr: number;
  fpsr: number;
  sp: string;
}
interface Result {
  regs?: string[];
  v?: string[];
  nzcv?: number;
  fpsr?: number;
  sp?: string;
  mem?: string;
  error?: string;
}

function randRegs(r: () => number): string[] {
  const regs: string[] = [];
  for (let i = 0; i < 31; i++) {
    const k = r() % 3;
    const v = k === 0 ? BigInt(r() % 64) : k === 1 ? F64[r() % F64.length] : (BigInt(r() >>> 0) << 32n) | BigInt(r() >>> 0);
    regs.push(v.toString());
  }
  return regs;
}

function randV(r: () => number): string[] {
  const v: string[] = [];
  for (let i = 0; i < 32; i++) v.push((randLane64(r) | (randLane64(r) << 64n)).toString());
  return v;
}

function makeCases(classes: Array<[number, number, string]>, n: number, seed: number): Case[] {
  const r = rng(seed);
  const cases: Case[] = [];
  while (cases.length < n) {
    const [mask, value] = classes[r() % classes.length];
    let insn = (r() & ~mask) | value | 0;
    if ((value & 0x5f000000) === 0x1e000000 || (value & 0x5f000000) === 0x1f000000) insn &= ~(1 << 23); // S/D types
    const fpcr = ((r() % 4) << 22) | ((r() % 4 === 0 ? 1 : 0) << 24) | ((r() % 3 === 0 ? 1 : 0) << 25);
    cases.push({ insn, regs: randRegs(r), v: randV(r), nzcv: (r() & 0xf) << 28, fpcr, fpsr: 0, sp: '131072' });
  }
  return cases;
}

function machine(): { cpu: Cpu; bus: SimpleBus; ex: ExceptionInfo[] } {
  // the same memory map as the oracle: code page at 0x10000, data at 0x20000-0x3ffff, nothing else
  const bus = new SimpleBus([
    [0x10000, 0x1000],
    [0x20000, 0x20000],
  ]);
  const ex: ExceptionInfo[] = [];
  const cpu = new Cpu({ bus, fpsimd: true, hooks: { onException: (_c, e) => ex.push(e) } });
  // CPACR_EL1.FPEN = 3 via MSR, so nothing traps
  new DataView(bus.mem.buffer).setInt32(bus.offsetOf(0x10000), 0xd5181040 | 0, true); // msr cpacr_el1, x0
  cpu.setX(0, 3n << 20n);
  cpu.pc = 0x10000n;
  cpu.run(1);
  return { cpu, bus, ex };
}

export interface DiffOutcome {
  compared: number;
  unimplemented: Map<string, number>;
  mismatches: string[];
}

/** Run cases on both sides and compare. */
async function runDiff(cases: Case[], mem: boolean, classes: Array<[number, number, string]>): Promise<DiffOutcome> {
  const res = await runUnicornOracle(ORACLE, { cases, mem });
  if (res.status !== 0) throw new Error(res.stderr.toString());
  const expected = JSON.parse(res.stdout.toString()) as Result[];
  const { cpu, bus, ex } = machine();
  const pattern = new Uint8Array(0x20000).map((_, i) => (i * 7 + 3) & 0xff);
  const out: DiffOutcome = { compared: 0, unimplemented: new Map(), mismatches: [] };
  const className = (insn: number): string => classes.find(([m, v]) => (insn & m) === v)?.[2] ?? '?';
  const w64 = new BigUint64Array(cpu.vr.buffer);
  cases.forEach((c, k) => {
    const e = expected[k];
    new DataView(bus.mem.buffer).setInt32(bus.offsetOf(0x10000), c.insn, true);
    if (mem) bus.mem.set(pattern, bus.offsetOf(0x20000));
    cpu.shared.invalidateMem(bus.offsetOf(0x10000), 4);
    cpu.run(0);
    for (let i = 0; i < 31; i++) cpu.setX(i, BigInt(c.regs[i]));
    for (let i = 0; i < 32; i++) {
      const v = BigInt(c.v[i]);
      w64[2 * i] = v & 0xffffffffffffffffn;
      w64[2 * i + 1] = v >> 64n;
    }
    cpu.sp = BigInt(c.sp);
    cpu.n = (c.nzcv >>> 31) & 1;
    cpu.z = (c.nzcv >>> 30) & 1;
    cpu.c = (c.nzcv >>> 29) & 1;
    cpu.v = (c.nzcv >>> 28) & 1;
    cpu.fpcr = c.fpcr;
    cpu.fpsr = c.fpsr;
    cpu.pc = 0x10000n;
    ex.length = 0;
    cpu.run(1);
    const hex = (c.insn >>> 0).toString(16);
    if (ex.length) {
      if (ex[0].ec !== 0 && e.error) return; // a data abort on both sides
      if (!e.error) {
        out.unimplemented.set(className(c.insn), (out.unimplemented.get(className(c.insn)) ?? 0) + 1);
        if (process.env.FP_DIFF_VERBOSE) console.log(`unimplemented 0x${hex}`);
      }
      return;
    }
    if (e.error) {
      if (out.mismatches.length < 30) out.mismatches.push(`insn 0x${hex} (${className(c.insn)}): executes here, UNDEFINED on Unicorn`);
      return;
    }
    out.compared++;
    const diffs: string[] = [];
    for (let i = 0; i < 31; i++) {
      if (cpu.getX(i).toString() !== e.regs![i]) diffs.push(`x${i}=${cpu.getX(i).toString(16)} want ${BigInt(e.regs![i]).toString(16)}`);
    }
    for (let i = 0; i < 32; i++) {
      const v = w64[2 * i] | (w64[2 * i + 1] << 64n);
      if (v.toString() !== e.v![i])
        diffs.push(`v${i}=${v.toString(16)} want ${BigInt(e.v![i]).toString(16)} (was ${BigInt(c.v[i]).toString(16)})`);
    }
    const nzcv = ((cpu.n << 31) | (cpu.z << 30) | (cpu.c << 29) | (cpu.v << 28)) >>> 0;
    if (nzcv !== e.nzcv) diffs.push(`nzcv=${nzcv.toString(16)} want ${e.nzcv!.toString(16)}`);
    if (cpu.fpsr >>> 0 !== e.fpsr) diffs.push(`fpsr=${(cpu.fpsr >>> 0).toString(16)} want ${e.fpsr!.toString(16)}`);
    if (cpu.sp.toString() !== e.sp) diffs.push(`sp=${cpu.sp.toString(16)} want ${BigInt(e.sp!).toString(16)}`);
    if (mem) {
      const h = createHash('sha256')
        .update(bus.mem.subarray(bus.offsetOf(0x20000), bus.offsetOf(0x20000) + 0x20000))
        .digest('hex');
      if (h !== e.mem) diffs.push('memory differs');
    }
    if (diffs.length && out.mismatches.length < 30)
      out.mismatches.push(`insn 0x${hex} (${className(c.insn)}) fpcr ${c.fpcr.toString(16)}: ${diffs.join(', ')}`);
  });
  return out;
}

describe('SIMD&FP differential vs Unicorn', () => {
  it('random data-processing instructions match (registers, NZCV, FPSR)', async () => {
    const out = await runDiff(makeCases(FP_CLASSES, 15000, 0xf10a7), false, FP_CLASSES);
    console.log(
      `compared ${out.compared}; not implemented here (UNDEFINED, executes on Unicorn): ${JSON.stringify([...out.unimplemented])}`,
    );
    expect(out.mismatches).toEqual([]);
    expect(out.compared).toBeGreaterThan(6000);
  });
});

/** SIMD&FP loads/stores: LDR/STR (all modes), literal, LDP/STP, LD1-4/ST1-4 multiple and single, LDxR. */
const LS_CLASSES: Array<[number, number, string]> = [
  [0x3f000000, 0x3d000000, 'ldr/str unsigned'],
  [0x3f200000, 0x3c000000, 'ldr/str imm9'],
  [0x3f200c00, 0x3c200800, 'ldr/str reg'],
  [0x3e000000, 0x2c000000, 'ldp/stp'],
  [0xbfbf0000 | 0, 0x0c000000, 'ld/st multiple'],
  [0xbfa00000 | 0, 0x0c800000, 'ld/st multiple post'],
  [0xbf9f0000 | 0, 0x0d000000, 'ld/st single'],
  [0xbf800000 | 0, 0x0d800000, 'ld/st single post'],
];

function makeMemCases(n: number, seed: number): Case[] {
  const r = rng(seed);
  const cases: Case[] = [];
  while (cases.length < n) {
    const [mask, value] = LS_CLASSES[r() % LS_CLASSES.length];
    const insn = (r() & ~mask) | value | 0;
    const rn = (insn >>> 5) & 31,
      rm = (insn >>> 16) & 31;
    if ((insn & 0x3e400000) === 0x2c400000 && (insn & 31) === ((insn >>> 10) & 31)) continue; // LDP t == t2: UNPREDICTABLE
    const regs: string[] = [];
    for (let i = 0; i < 31; i++) regs.push(BigInt(r() % 0x100).toString());
    const base = BigInt(0x20000 + 0x8000 + (r() % 0x8000));
    if (rn !== 31) regs[rn] = base.toString();
    if (rm !== rn && rm !== 31 && r() & 1) regs[rm] = ((BigInt(r() % 0x400) ^ 0xffffffffn) + 1n).toString();
    cases.push({ insn, regs, v: randV(r), nzcv: 0, fpcr: 0, fpsr: 0, sp: base.toString() });
  }
  return cases;
}

describe('SIMD&FP differential vs Unicorn (memory)', () => {
  it('random SIMD&FP loads/stores match registers and memory', async () => {
    const out = await runDiff(makeMemCases(5000, 0x51d0), true, LS_CLASSES);
    console.log(`compared ${out.compared}; not implemented here: ${JSON.stringify([...out.unimplemented])}`);
    expect(out.mismatches).toEqual([]);
    expect(out.compared).toBeGreaterThan(2000);
  });
});

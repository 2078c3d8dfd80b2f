// Differential check: random data-processing instructions on our CPU and on Unicorn (QEMU's TCG
// core, via Debian's python3-unicorn) must give identical registers and NZCV.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SimpleBus } from '../../../emu/cpu/bus.ts';
import { Cpu } from '../../../emu/cpu/cpu.ts';
import { decode } from '../../../emu/cpu/decode.ts';
import { OP } from '../../../emu/cpu/ops.ts';
import { runUnicornOracle } from '../../helpers/cpu-harness.ts';

const ORACLE = new URL('./unicorn_oracle.py', import.meta.url).pathname;
const hasUnicorn = spawnSync('/usr/bin/python3', ['-c', 'import unicorn'], { stdio: 'ignore' }).status === 0;

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

const CLASSES: Array<[number, number, string]> = [
  [0x1f000000, 0x11000000, 'add/sub imm'],
  [0x1f800000, 0x12000000, 'logical imm'],
  [0x1f800000, 0x12800000, 'move wide'],
  [0x1f800000, 0x13000000, 'bitfield'],
  [0x1f800000, 0x13800000, 'extr'],
  [0x1f000000, 0x0a000000, 'logical reg'],
  [0x1f200000, 0x0b000000, 'add/sub shifted'],
  [0x1f200000, 0x0b200000, 'add/sub ext'],
  [0x1fe00000, 0x1a000000, 'adc/sbc'],
  [0x1fe00000, 0x1a400000, 'ccmp'],
  [0x1fe00000, 0x1a800000, 'csel'],
  [0x5fe00000, 0x1ac00000, 'dp2'],
  [0x5fe00000, 0x5ac00000, 'dp1'],
  [0x1f000000, 0x1b000000, 'dp3'],
  [0x1f000000, 0x10000000, 'adr'],
];

const SPECIALS = [
  0n,
  1n,
  0xffffffffffffffffn,
  0x7fffffffn,
  0x80000000n,
  0xffffffffn,
  0x100000000n,
  0x8000000000000000n,
  0x7fffffffffffffffn,
  0xfffffffe00000000n,
  63n,
  64n,
  32n,
];

interface Case {
  insn: number;
  regs: string[];
  nzcv: number;
}
interface Result {
  regs?: string[];
  nzcv?: number;
  error?: string;
}

function makeCases(n: number): Case[] {
  const r = rng(0x5eed1234);
  const cases: Case[] = [];
  while (cases.length < n) {
    const [mask, value] = CLASSES[r() % CLASSES.length];
    const insn = (r() & ~mask) | value | 0;
    if (decode(insn).op === OP.UNDEF) continue;
    const regs: string[] = [];
    for (let i = 0; i < 31; i++) {
      const k = r() % 4;
      const v = k === 0 ? SPECIALS[r() % SPECIALS.length] : k === 1 ? BigInt(r() >>> 0) : (BigInt(r() >>> 0) << 32n) | BigInt(r() >>> 0);
      regs.push(v.toString());
    }
    cases.push({ insn, regs, nzcv: (r() & 0xf) << 28 });
  }
  return cases;
}

// The oracle is a real component the test set-up installs (test/setup-system.sh): never skip.
describe('Unicorn oracle', () => {
  it('is installed (python3-unicorn)', () => {
    expect(hasUnicorn && existsSync(ORACLE), 'python3-unicorn is missing: run test/setup-system.sh as root').toBe(true);
  });
});

describe('differential vs Unicorn', () => {
  it('20,000 random data-processing instructions match exactly', async () => {
    const cases = makeCases(20000);
    const res = await runUnicornOracle(ORACLE, { cases });
    expect(res.status, res.stderr?.toString()).toBe(0);
    const expected = JSON.parse(res.stdout.toString()) as Result[];
    const bus = new SimpleBus([[0, 0x100000]]);
    const cpu = new Cpu({ bus });
    const mismatches: string[] = [];
    let compared = 0;
    cases.forEach((c, k) => {
      const e = expected[k];
      if (e.error) return;
      new DataView(bus.mem.buffer).setInt32(0x10000, c.insn, true);
      cpu.shared.invalidateMem(0x10000, 4);
      cpu.run(0); // pick up the invalidation
      for (let i = 0; i < 31; i++) cpu.setX(i, BigInt(c.regs[i]));
      cpu.sp = 0x20000n;
      cpu.n = (c.nzcv >>> 31) & 1;
      cpu.z = (c.nzcv >>> 30) & 1;
      cpu.c = (c.nzcv >>> 29) & 1;
      cpu.v = (c.nzcv >>> 28) & 1;
      cpu.pc = 0x10000n;
      cpu.run(1);
      compared++;
      const diffs: string[] = [];
      for (let i = 0; i < 31; i++) {
        if (cpu.getX(i).toString() !== e.regs![i]) diffs.push(`x${i}=${cpu.getX(i).toString(16)} want ${BigInt(e.regs![i]).toString(16)}`);
      }
      const nzcv = ((cpu.n << 31) | (cpu.z << 30) | (cpu.c << 29) | (cpu.v << 28)) >>> 0;
      if (nzcv !== e.nzcv) diffs.push(`nzcv=${nzcv.toString(16)} want ${e.nzcv!.toString(16)}`);
      if (diffs.length && mismatches.length < 20) {
        mismatches.push(`insn 0x${(c.insn >>> 0).toString(16)}: ${diffs.join(', ')}`);
      }
    });
    expect(mismatches).toEqual([]);
    expect(compared).toBeGreaterThan(19000);
  });
});

const LS_CLASSES: Array<[number, number]> = [
  [0x3f000000, 0x39000000],
  [0x3f200000, 0x38000000],
  [0x3f200c00, 0x38200800],
  [0x3e000000, 0x28000000],
];
const MEM = 0x20000,
  MEM_SIZE = 0x20000;

interface MemCase extends Case {
  sp: string;
}

function makeMemCases(n: number): MemCase[] {
  const r = rng(0xabad1dea);
  const cases: MemCase[] = [];
  while (cases.length < n) {
    const [mask, value] = LS_CLASSES[r() % LS_CLASSES.length];
    const insn = (r() & ~mask) | value | 0;
    const f = decode(insn);
    if (f.op === OP.UNDEF || f.op === OP.LS_UNPRIV) continue;
    const rt = insn & 31,
      rn = (insn >>> 5) & 31,
      rm = (insn >>> 16) & 31,
      rt2 = (insn >>> 10) & 31;
    const pair = (insn & 0x3e000000) === 0x28000000;
    const wback = pair
      ? ((insn >>> 23) & 3) === 1 || ((insn >>> 23) & 3) === 3
      : (insn & 0x3f200000) === 0x38000000 && ((insn >>> 10) & 3) !== 0 && ((insn >>> 10) & 3) !== 2;
    if (wback && rn !== 31 && (rn === rt || (pair && rn === rt2))) continue; // CONSTRAINED UNPREDICTABLE
    const regs: string[] = [];
    for (let i = 0; i < 31; i++) regs.push(BigInt(r() % 0x200).toString());
    const base = BigInt(MEM + 0x8000 + (r() % 0x8000));
    if (rn !== 31) regs[rn] = base.toString();
    if (rm !== rn && rm !== 31 && r() & 1) regs[rm] = ((BigInt(r() % 0x400) ^ 0xffffffffn) + 1n).toString(); // small negative as W
    for (const t of [rt, rt2]) if (t !== rn && t !== 31 && t !== rm) regs[t] = ((BigInt(r()) << 32n) | BigInt(r())).toString();
    cases.push({ insn, regs, nzcv: 0, sp: base.toString() });
  }
  return cases;
}

describe('differential vs Unicorn (memory)', () => {
  it('10,000 random loads/stores in every addressing mode match registers and memory', async () => {
    const cases = makeMemCases(10000);
    const res = await runUnicornOracle(ORACLE, { cases, mem: true });
    expect(res.status, res.stderr?.toString()).toBe(0);
    const expected = JSON.parse(res.stdout.toString()) as Array<Result & { sp?: string; mem?: string }>;
    const bus = new SimpleBus([[0, 0x100000]]);
    const cpu = new Cpu({ bus });
    const pattern = new Uint8Array(MEM_SIZE).map((_, i) => (i * 7 + 3) & 0xff);
    const mismatches: string[] = [];
    let compared = 0;
    cases.forEach((c, k) => {
      const e = expected[k];
      if (e.error) return;
      new DataView(bus.mem.buffer).setInt32(0x10000, c.insn, true);
      bus.mem.set(pattern, MEM);
      cpu.shared.invalidateMem(0x10000, 4);
      cpu.run(0);
      for (let i = 0; i < 31; i++) cpu.setX(i, BigInt(c.regs[i]));
      cpu.sp = BigInt(c.sp);
      cpu.pc = 0x10000n;
      cpu.run(1);
      compared++;
      const diffs: string[] = [];
      for (let i = 0; i < 31; i++) {
        if (cpu.getX(i).toString() !== e.regs![i]) diffs.push(`x${i}=${cpu.getX(i).toString(16)} want ${BigInt(e.regs![i]).toString(16)}`);
      }
      if (cpu.sp.toString() !== e.sp) diffs.push(`sp=${cpu.sp.toString(16)} want ${BigInt(e.sp!).toString(16)}`);
      const h = createHash('sha256')
        .update(bus.mem.subarray(MEM, MEM + MEM_SIZE))
        .digest('hex');
      if (h !== e.mem) diffs.push('memory differs');
      if (diffs.length && mismatches.length < 20) mismatches.push(`insn 0x${(c.insn >>> 0).toString(16)}: ${diffs.join(', ')}`);
    });
    expect(mismatches).toEqual([]);
    expect(compared).toBeGreaterThan(9000);
  });
});

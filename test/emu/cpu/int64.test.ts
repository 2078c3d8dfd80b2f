// 64-bit helpers on int32 halves against BigInt, including the edge values of the multiply.

import { describe, expect, it } from 'vitest';
import { H, asr64, clz64, lsl64, lsr64, mul64, ror64, smul32, toBig, umul32 } from '../../../emu/cpu/int64.ts';

const EDGES = [0, 1, -1, 0x7fffffff, -0x80000000, 0xffff, 0x10000, -2, 0x12345678, -0x12345679, 3, 0x80000001 | 0];

const pair = (lo: number): bigint => toBig(H.hi, lo);
const M64 = (1n << 64n) - 1n;

describe('int64 helpers', () => {
  it('umul32/smul32 give the exact 64-bit product for edge and random values', () => {
    let s = 99;
    const vals = [...EDGES];
    for (let i = 0; i < 200; i++) {
      s = (Math.imul(s, 1103515245) + 12345) | 0;
      vals.push(s);
    }
    for (const a of vals) {
      for (const b of vals) {
        expect(pair(umul32(a, b))).toBe(BigInt(a >>> 0) * BigInt(b >>> 0));
        expect(pair(smul32(a, b))).toBe((BigInt(a) * BigInt(b)) & M64);
      }
    }
  });

  it('mul64 is the low 64 bits of the product', () => {
    const vals = [0n, 1n, M64, 0x8000000000000000n, 0x123456789abcdef0n, 0xffffffffn, 0x100000000n];
    for (const a of vals) {
      for (const b of vals) {
        const lo = mul64(Number(a >> 32n) | 0, Number(a & 0xffffffffn) | 0, Number(b >> 32n) | 0, Number(b & 0xffffffffn) | 0);
        expect(pair(lo)).toBe((a * b) & M64);
      }
    }
  });

  it('shifts and rotates by every amount', () => {
    const v = 0x8123456789abcdefn;
    const hi = Number(v >> 32n) | 0,
      lo = Number(v & 0xffffffffn) | 0;
    for (let s = 0; s < 64; s++) {
      const S = BigInt(s);
      expect(pair(lsl64(hi, lo, s))).toBe((v << S) & M64);
      expect(pair(lsr64(hi, lo, s))).toBe(v >> S);
      expect(pair(asr64(hi, lo, s))).toBe(BigInt.asUintN(64, BigInt.asIntN(64, v) >> S));
      expect(pair(ror64(hi, lo, s))).toBe(((v >> S) | (v << (64n - S))) & M64);
    }
    expect(clz64(0, 1)).toBe(63);
    expect(clz64(0, 0)).toBe(64);
  });
});

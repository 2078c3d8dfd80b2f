import { describe, it, expect } from 'vitest';
import {
  ByteReader,
  ByteWriter,
  DecodeError,
  readFixed,
  readU64Deltas,
  readVarint64s,
  readVarints,
  readZigzagDeltas,
  writeFixed,
  writeFixedI32,
  writeU64Deltas,
  splitU64,
  joinU64,
} from '../../../capture/store/bytes.ts';

function rand(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    return a;
  };
}

const EDGE64 = [
  0n,
  1n,
  127n,
  128n,
  0x0fffffffn,
  0x10000000n,
  0xffffffffn,
  0x100000000n,
  0x7ffffffffn,
  0x800000000n,
  (1n << 63n) - 1n,
  1n << 63n,
  (1n << 64n) - 1n,
];

describe('varints', () => {
  it('64-bit values round-trip one by one and in bulk, at every length', () => {
    const r = rand(1);
    const vals = [...EDGE64];
    for (let i = 0; i < 2000; i++) vals.push((BigInt(r()) << 32n) | BigInt(r()), BigInt(r() >>> (r() % 32)));
    const w = new ByteWriter(4);
    const halves = new Uint32Array(2);
    for (const v of vals) {
      splitU64(v, halves, 0);
      w.varint64(halves[0]!, halves[1]!);
    }
    const one = new ByteReader(w.view());
    for (const v of vals) {
      const lo = one.varint64();
      expect(joinU64(lo, one.hi)).toBe(v);
    }
    expect(one.done).toBe(true);
    const out = new Uint32Array(vals.length * 2);
    const bulk = new ByteReader(w.view());
    readVarint64s(bulk, out, vals.length);
    expect(bulk.done).toBe(true);
    vals.forEach((v, i) => expect(joinU64(out[2 * i]!, out[2 * i + 1]!)).toBe(v));
  });

  it('numbers up to 2^53 and signed deltas round-trip', () => {
    const vals = [0, 1, 127, 128, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 40 + 5, Number.MAX_SAFE_INTEGER];
    const w = new ByteWriter();
    for (const v of vals) w.varint(v);
    const out = new Float64Array(vals.length);
    readVarints(new ByteReader(w.view()), out, vals.length);
    expect([...out]).toEqual(vals);
    const times = [5, 3, 3, 2 ** 40, 7, 2 ** 45, 0];
    const z = new ByteWriter();
    let prev = 0;
    for (const t of times) {
      z.zigzag(t - prev);
      prev = t;
    }
    const got = new Float64Array(times.length);
    readZigzagDeltas(new ByteReader(z.view()), got, times.length, 0);
    expect([...got]).toEqual(times);
  });

  it('fixed-width columns pick 1, 2 or 4 bytes', () => {
    for (const [max, width] of [
      [200, 1],
      [60000, 2],
      [70000, 4],
    ] as const) {
      const vals = Float64Array.from([0, max, 3, max - 1]);
      const w = new ByteWriter();
      writeFixed(w, vals, 4);
      expect(w.pos).toBe(1 + 4 * width);
      const out = new Float64Array(4);
      expect(readFixed(new ByteReader(w.view()), out, 4)).toBe(max);
      expect([...out]).toEqual([...vals]);
    }
    const same = new ByteWriter();
    writeFixed(same, Float64Array.from([7, 7, 7, 7, 7]), 5);
    expect(same.pos).toBe(2);
    const back = new Float64Array(5);
    readFixed(new ByteReader(same.view()), back, 5);
    expect([...back]).toEqual([7, 7, 7, 7, 7]);
    const v = Int32Array.from([-1, 0, 5]);
    const w = new ByteWriter();
    writeFixedI32(w, v, 3, -1);
    const out = new Int32Array(3);
    readFixed(new ByteReader(w.view()), out, 3, -1);
    expect([...out]).toEqual([-1, 0, 5]);
  });

  it('64-bit deltas (PCs) round-trip across wraps', () => {
    const pcs = [0xffff800008000000n, 0xffff800008000004n, 0x400000n, 0xffffffffffffffffn, 0n, 0xffff800008000000n];
    const halves = new Uint32Array(pcs.length * 2);
    pcs.forEach((p, i) => splitU64(p, halves, 2 * i));
    const w = new ByteWriter();
    writeU64Deltas(w, halves, pcs.length);
    const out = new Uint32Array(pcs.length * 2);
    readU64Deltas(new ByteReader(w.view()), out, pcs.length);
    expect(pcs.map((_, i) => joinU64(out[2 * i]!, out[2 * i + 1]!))).toEqual(pcs);
  });

  it('short or overlong streams are decode errors', () => {
    expect(() => new ByteReader(Uint8Array.from([0x80])).varint()).toThrow(DecodeError);
    expect(() => readVarints(new ByteReader(Uint8Array.from([1, 2])), new Float64Array(3), 3)).toThrow('stream ends early');
    expect(() => new ByteReader(new Uint8Array(12).fill(0xff)).varint64()).toThrow(/longer than 64 bits|past the end/);
    expect(() => readFixed(new ByteReader(Uint8Array.from([3, 0, 0])), new Float64Array(1), 1)).toThrow('bad fixed width 3');
  });
});

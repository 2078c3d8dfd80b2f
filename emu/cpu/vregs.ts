// The SIMD&FP register file as the FP/SIMD execution files see it: the CPU interface they use,
// typed views of the V registers, element access, and a scratch result register. The V register
// file is an Int32Array of 32 x 4 little-endian words (V[n] bytes 0-15 at words 4n..4n+3).

/** What the FP/SIMD execution files need from the CPU (implemented by Cpu). */
export interface FpCpu {
  readonly x: Int32Array;
  readonly vr: Int32Array;
  fpcr: number;
  fpsr: number;
  pcLo: number;
  pcHi: number;
  n: number;
  z: number;
  c: number;
  v: number;
  rd8(hi: number, lo: number): number;
  rd16(hi: number, lo: number): number;
  rd32(hi: number, lo: number): number;
  rd64(hi: number, lo: number): number;
  wr8(hi: number, lo: number, v: number): void;
  wr16(hi: number, lo: number, v: number): void;
  wr32(hi: number, lo: number, v: number): void;
  wr64(hi: number, lo: number, vh: number, vl: number): void;
  cond(c: number): boolean;
}

/** Views over one V register file. */
export interface VViews {
  u8: Uint8Array;
  u16: Uint16Array;
  u32: Uint32Array;
  b64: BigUint64Array;
}

const views = new WeakMap<Int32Array, VViews>();
export function vviews(vr: Int32Array): VViews {
  let v = views.get(vr);
  if (!v) {
    const b = vr.buffer;
    const n = vr.length;
    v = {
      u8: new Uint8Array(b, vr.byteOffset, n * 4),
      u16: new Uint16Array(b, vr.byteOffset, n * 2),
      u32: new Uint32Array(b, vr.byteOffset, n),
      b64: new BigUint64Array(b, vr.byteOffset, n / 2),
    };
    views.set(vr, v);
  }
  return v;
}

// scratch result register (16 bytes) so destinations may alias sources
export const T = new Int32Array(8);
export const TV = vviews(T);
export const MASKS = [0xffn, 0xffffn, 0xffffffffn, 0xffffffffffffffffn];

/** Element i (size 8<<es bits) of V[r], unsigned. */
export function getE(w: VViews, r: number, i: number, es: number): bigint {
  switch (es) {
    case 0:
      return BigInt(w.u8[r * 16 + i]);
    case 1:
      return BigInt(w.u16[r * 8 + i]);
    case 2:
      return BigInt(w.u32[r * 4 + i]);
    default:
      return w.b64[r * 2 + i];
  }
}
export function setE(w: VViews, r: number, i: number, es: number, v: bigint): void {
  switch (es) {
    case 0:
      w.u8[r * 16 + i] = Number(v & 0xffn);
      break;
    case 1:
      w.u16[r * 8 + i] = Number(v & 0xffffn);
      break;
    case 2:
      w.u32[r * 4 + i] = Number(v & 0xffffffffn);
      break;
    default:
      w.b64[r * 2 + i] = BigInt.asUintN(64, v);
      break;
  }
}
export const sx = (v: bigint, es: number): bigint => BigInt.asIntN(8 << es, v);

export function clearT(): void {
  T.fill(0);
}
/** Copy the scratch register to V[d]; q=0 zeroes bits 64-127. */
export function commit(vr: Int32Array, d: number, q: number): void {
  vr[d * 4] = T[0];
  vr[d * 4 + 1] = T[1];
  vr[d * 4 + 2] = q ? T[2] : 0;
  vr[d * 4 + 3] = q ? T[3] : 0;
}
// T's second half (words 4-7) is a second scratch register at index 1 in TV
export const TMP = 0;

/** General register r as [hi, lo]; r = 31 is SP when sp, else the zero register. */
export function xslot(cpu: FpCpu, r: number, sp: boolean): [number, number] {
  if (r === 31 && !sp) return [0, 0];
  return [cpu.x[r * 2 + 1], cpu.x[r * 2]];
}

// IEEE 754 arithmetic as the architecture defines it (FPCR.RMode/FZ/DN, FPSR cumulative flags,
// ARM NaN propagation), for single (S) and double (D) precision.
//
// Approach: every operation computes its exact result as sign * mant * 2^exp with BigInt
// mantissas (products, sums and fused multiply-add are exact; quotients and square roots carry
// enough extra bits plus a sticky bit), then one rounding routine (fpRound, after the ARM
// pseudocode's FPRound) produces the result in the requested mode and sets the flags. This makes
// FMADD correctly rounded without a host FMA, and directed rounding exact. It is slow compared
// with host doubles, which is acceptable: FP is rare in the guests bootscope runs (kernel,
// firmware, busybox).

import type { FpCpu } from './fpsimd.ts';
import { getE, setE, vviews } from './fpsimd.ts';

/** Format: 0 = single, 1 = double. */
interface Fmt { ebits: number; fbits: number; bias: number; emax: number; width: number }
const FMTS: Fmt[] = [
  { ebits: 8, fbits: 23, bias: 127, emax: 254, width: 32 },
  { ebits: 11, fbits: 52, bias: 1023, emax: 2046, width: 64 },
];

export const FPSR = { IOC: 1, DZC: 2, OFC: 4, UFC: 8, IXC: 16, IDC: 128 } as const;
export const RM = { RN: 0, RP: 1, RM: 2, RZ: 3, RA: 4 } as const;

const CLS = { ZERO: 0, NORMAL: 1, INF: 2, QNAN: 3, SNAN: 4 } as const;

/** Mutable unpacked value: class, sign, value = mant * 2^exp. */
interface Unp { cls: number; sign: number; mant: bigint; exp: number }

/** FP environment of one operation: FPCR fields in, flags out. */
export interface FpEnv { fz: boolean; dn: boolean; rmode: number; flags: number }

export function envOf(fpcr: number): FpEnv {
  return { fz: ((fpcr >>> 24) & 1) === 1, dn: ((fpcr >>> 25) & 1) === 1, rmode: (fpcr >>> 22) & 3, flags: 0 };
}

function unpack(bits: bigint, f: Fmt, env: FpEnv): Unp {
  const sign = Number(bits >> BigInt(f.width - 1)) & 1;
  const e = Number((bits >> BigInt(f.fbits)) & BigInt((1 << f.ebits) - 1));
  const frac = bits & ((1n << BigInt(f.fbits)) - 1n);
  if (e === 0) {
    if (frac === 0n) return { cls: CLS.ZERO, sign, mant: 0n, exp: 0 };
    if (env.fz) { env.flags |= FPSR.IDC; return { cls: CLS.ZERO, sign, mant: 0n, exp: 0 }; }
    return { cls: CLS.NORMAL, sign, mant: frac, exp: 1 - f.bias - f.fbits };
  }
  if (e === (1 << f.ebits) - 1) {
    if (frac === 0n) return { cls: CLS.INF, sign, mant: 0n, exp: 0 };
    return { cls: (frac >> BigInt(f.fbits - 1)) & 1n ? CLS.QNAN : CLS.SNAN, sign, mant: frac, exp: 0 };
  }
  return { cls: CLS.NORMAL, sign, mant: frac | (1n << BigInt(f.fbits)), exp: e - f.bias - f.fbits };
}

const bitLen = (v: bigint): number => v.toString(2).length;

export function defaultNaN(f: Fmt): bigint { return ((1n << BigInt(f.ebits + 1)) - 1n) << BigInt(f.fbits - 1); }
function infBits(f: Fmt, sign: number): bigint { return (BigInt(sign) << BigInt(f.width - 1)) | (BigInt((1 << f.ebits) - 1) << BigInt(f.fbits)); }
function zeroBits(f: Fmt, sign: number): bigint { return BigInt(sign) << BigInt(f.width - 1); }
function maxBits(f: Fmt, sign: number): bigint { return (BigInt(sign) << BigInt(f.width - 1)) | (BigInt(f.emax) << BigInt(f.fbits)) | ((1n << BigInt(f.fbits)) - 1n); }

/** Round the exact value (-1)^sign * mant * 2^exp (mant > 0) to format f (ARM FPRound). */
function fpRound(sign: number, mant: bigint, exp: number, f: Fmt, env: FpEnv, mode = env.rmode): bigint {
  if (mant === 0n) return zeroBits(f, sign);
  const e = exp + bitLen(mant) - 1; // exponent of the leading bit
  const emin = 1 - f.bias;
  if (env.fz && e < emin) { env.flags |= FPSR.UFC; return zeroBits(f, sign); }
  const lsb = (e < emin ? emin : e) - f.fbits;
  let q: bigint, rem = 0n, half = 0n, shift = lsb - exp;
  if (shift > 0) {
    const s = BigInt(shift);
    q = mant >> s; rem = mant & ((1n << s) - 1n); half = 1n << (s - 1n);
  } else q = mant << BigInt(-shift);
  let up = false;
  if (rem !== 0n) {
    switch (mode) {
      case RM.RN: up = rem > half || (rem === half && (q & 1n) === 1n); break;
      case RM.RP: up = sign === 0; break;
      case RM.RM: up = sign === 1; break;
      case RM.RA: up = rem >= half; break;
      default: up = false;
    }
  }
  if (up) q += 1n;
  let lsbE = lsb;
  if (q >> BigInt(f.fbits + 1)) { q >>= 1n; lsbE++; }
  if (e < emin && rem !== 0n) env.flags |= FPSR.UFC;
  if (rem !== 0n) env.flags |= FPSR.IXC;
  let biased: number;
  if (q < 1n << BigInt(f.fbits)) biased = 0;
  else biased = lsbE + f.fbits + f.bias;
  if (biased > f.emax) {
    env.flags |= FPSR.OFC | FPSR.IXC;
    const toInf = mode === RM.RN || mode === RM.RA || (mode === RM.RP && sign === 0) || (mode === RM.RM && sign === 1);
    return toInf ? infBits(f, sign) : maxBits(f, sign);
  }
  const frac = q & ((1n << BigInt(f.fbits)) - 1n);
  return (BigInt(sign) << BigInt(f.width - 1)) | (BigInt(biased) << BigInt(f.fbits)) | frac;
}

function quiet(bits: bigint, f: Fmt, env: FpEnv): bigint {
  if (env.dn) return defaultNaN(f);
  return bits | (1n << BigInt(f.fbits - 1));
}

/** ARM NaN selection for 1-3 operands; returns undefined when none is a NaN. */
function processNaNs(ops: Unp[], bits: bigint[], f: Fmt, env: FpEnv): bigint | undefined {
  for (let k = 0; k < ops.length; k++) if (ops[k].cls === CLS.SNAN) { env.flags |= FPSR.IOC; return quiet(bits[k], f, env); }
  for (let k = 0; k < ops.length; k++) if (ops[k].cls === CLS.QNAN) return quiet(bits[k], f, env);
  return undefined;
}

function invalid(f: Fmt, env: FpEnv): bigint { env.flags |= FPSR.IOC; return defaultNaN(f); }

/** Exact sum of two finite values (either may be zero) rounded; zero sign per IEEE. */
function addExact(a: Unp, b: Unp, f: Fmt, env: FpEnv): bigint {
  if (a.cls === CLS.ZERO && b.cls === CLS.ZERO) {
    return zeroBits(f, a.sign === b.sign ? a.sign : env.rmode === RM.RM ? 1 : 0);
  }
  if (a.cls === CLS.ZERO) return fpRound(b.sign, b.mant, b.exp, f, env);
  if (b.cls === CLS.ZERO) return fpRound(a.sign, a.mant, a.exp, f, env);
  const e = Math.min(a.exp, b.exp);
  const ma = (a.mant << BigInt(a.exp - e)) * (a.sign ? -1n : 1n);
  const mb = (b.mant << BigInt(b.exp - e)) * (b.sign ? -1n : 1n);
  const s = ma + mb;
  if (s === 0n) return zeroBits(f, env.rmode === RM.RM ? 1 : 0);
  return fpRound(s < 0n ? 1 : 0, s < 0n ? -s : s, e, f, env);
}

export function fpAdd(x: bigint, y: bigint, f: Fmt, env: FpEnv, sub = false): bigint {
  const a = unpack(x, f, env), b = unpack(y, f, env);
  const nan = processNaNs([a, b], [x, y], f, env);
  if (nan !== undefined) return nan;
  if (sub) b.sign ^= 1;
  if (a.cls === CLS.INF && b.cls === CLS.INF) return a.sign === b.sign ? infBits(f, a.sign) : invalid(f, env);
  if (a.cls === CLS.INF) return infBits(f, a.sign);
  if (b.cls === CLS.INF) return infBits(f, b.sign);
  return addExact(a, b, f, env);
}

export function fpMul(x: bigint, y: bigint, f: Fmt, env: FpEnv, negate = false): bigint {
  const a = unpack(x, f, env), b = unpack(y, f, env);
  const nan = processNaNs([a, b], [x, y], f, env);
  if (nan !== undefined) return nan;
  const sign = a.sign ^ b.sign ^ (negate ? 1 : 0);
  if ((a.cls === CLS.INF && b.cls === CLS.ZERO) || (a.cls === CLS.ZERO && b.cls === CLS.INF)) return invalid(f, env);
  if (a.cls === CLS.INF || b.cls === CLS.INF) return infBits(f, sign);
  if (a.cls === CLS.ZERO || b.cls === CLS.ZERO) return zeroBits(f, sign);
  return fpRound(sign, a.mant * b.mant, a.exp + b.exp, f, env);
}

export function fpDiv(x: bigint, y: bigint, f: Fmt, env: FpEnv): bigint {
  const a = unpack(x, f, env), b = unpack(y, f, env);
  const nan = processNaNs([a, b], [x, y], f, env);
  if (nan !== undefined) return nan;
  const sign = a.sign ^ b.sign;
  if ((a.cls === CLS.INF && b.cls === CLS.INF) || (a.cls === CLS.ZERO && b.cls === CLS.ZERO)) return invalid(f, env);
  if (a.cls === CLS.INF || b.cls === CLS.ZERO) {
    if (b.cls === CLS.ZERO && a.cls !== CLS.INF) env.flags |= FPSR.DZC;
    return infBits(f, sign);
  }
  if (a.cls === CLS.ZERO || b.cls === CLS.INF) return zeroBits(f, sign);
  const k = f.fbits + 3 + bitLen(b.mant);
  const num = a.mant << BigInt(k);
  let q = num / b.mant;
  const r = num % b.mant;
  q = (q << 1n) | (r !== 0n ? 1n : 0n);
  return fpRound(sign, q, a.exp - b.exp - k - 1, f, env);
}

function isqrt(n: bigint): bigint {
  if (n < 2n) return n;
  let x = 1n << BigInt(Math.ceil(bitLen(n) / 2));
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) return x;
    x = y;
  }
}

export function fpSqrt(x: bigint, f: Fmt, env: FpEnv): bigint {
  const a = unpack(x, f, env);
  const nan = processNaNs([a], [x], f, env);
  if (nan !== undefined) return nan;
  if (a.cls === CLS.ZERO) return zeroBits(f, a.sign);
  if (a.sign) return invalid(f, env);
  if (a.cls === CLS.INF) return infBits(f, 0);
  let m = a.mant, e = a.exp;
  if (e & 1) { m <<= 1n; e -= 1; }
  const extra = 2 * (f.fbits + 4);
  m <<= BigInt(extra); e -= extra;
  let r = isqrt(m);
  const sticky = r * r !== m ? 1n : 0n;
  r = (r << 1n) | sticky;
  return fpRound(0, r, e / 2 - 1, f, env);
}

/** FMADD family: (negAdd ? -a : a) + (negProd ? -(n*m) : n*m), one rounding. */
export function fpMulAdd(ad: bigint, x: bigint, y: bigint, f: Fmt, env: FpEnv, negAdd: boolean, negProd: boolean): bigint {
  const A = unpack(ad, f, env), a = unpack(x, f, env), b = unpack(y, f, env);
  const infZero = (a.cls === CLS.INF && b.cls === CLS.ZERO) || (a.cls === CLS.ZERO && b.cls === CLS.INF);
  const nan = processNaNs([A, a, b], [ad, x, y], f, env);
  if (A.cls === CLS.QNAN && infZero) return invalid(f, env);
  if (nan !== undefined) return nan;
  if (negAdd) A.sign ^= 1;
  const ps = a.sign ^ b.sign ^ (negProd ? 1 : 0);
  if (infZero) return invalid(f, env);
  const pInf = a.cls === CLS.INF || b.cls === CLS.INF;
  if (A.cls === CLS.INF && pInf && A.sign !== ps) return invalid(f, env);
  if (A.cls === CLS.INF) return infBits(f, A.sign);
  if (pInf) return infBits(f, ps);
  const pZero = a.cls === CLS.ZERO || b.cls === CLS.ZERO;
  const P: Unp = pZero ? { cls: CLS.ZERO, sign: ps, mant: 0n, exp: 0 } : { cls: CLS.NORMAL, sign: ps, mant: a.mant * b.mant, exp: a.exp + b.exp };
  return addExact(A, P, f, env);
}

/** FMAX/FMIN (nm: the NM variants, where a single quiet NaN loses). */
export function fpMinMax(x: bigint, y: bigint, f: Fmt, env: FpEnv, max: boolean, nm: boolean): bigint {
  const a = unpack(x, f, env), b = unpack(y, f, env);
  if (nm) {
    if (a.cls === CLS.QNAN && b.cls !== CLS.QNAN && b.cls !== CLS.SNAN) return fpMinMax(infBits(f, max ? 1 : 0), y, f, env, max, false);
    if (b.cls === CLS.QNAN && a.cls !== CLS.QNAN && a.cls !== CLS.SNAN) return fpMinMax(x, infBits(f, max ? 1 : 0), f, env, max, false);
  }
  const nan = processNaNs([a, b], [x, y], f, env);
  if (nan !== undefined) return nan;
  const c = cmpUnp(a, b);
  if (c === 0) {
    // equal values: zeros differ in sign (max → +0, min → -0); otherwise identical
    const sign = max ? a.sign & b.sign : a.sign | b.sign;
    if (a.cls === CLS.ZERO) return zeroBits(f, sign);
  }
  const pick = (max ? c >= 0 : c <= 0) ? a : b;
  return repack(pick, f, env);
}

/** Re-encode an unpacked finite/inf value (exact, after FZ flushing). */
function repack(u: Unp, f: Fmt, env: FpEnv): bigint {
  if (u.cls === CLS.ZERO) return zeroBits(f, u.sign);
  if (u.cls === CLS.INF) return infBits(f, u.sign);
  return fpRound(u.sign, u.mant, u.exp, f, env);
}

/** -1, 0, 1 comparison of two non-NaN values. */
function cmpUnp(a: Unp, b: Unp): number {
  const val = (u: Unp): [number, bigint, number] => [u.cls, u.mant, u.exp];
  void val;
  const sgn = (u: Unp): number => (u.cls === CLS.ZERO ? 0 : u.sign ? -1 : 1);
  const sa = sgn(a), sb = sgn(b);
  if (sa !== sb) return sa < sb ? -1 : 1;
  if (sa === 0) return 0;
  // same sign, non-zero: compare magnitudes
  let mag: number;
  if (a.cls === CLS.INF || b.cls === CLS.INF) mag = a.cls === b.cls ? 0 : a.cls === CLS.INF ? 1 : -1;
  else {
    const e = Math.min(a.exp, b.exp);
    const ma = a.mant << BigInt(a.exp - e), mb = b.mant << BigInt(b.exp - e);
    mag = ma === mb ? 0 : ma > mb ? 1 : -1;
  }
  return sa < 0 ? -mag : mag;
}

/** FCMP/FCMPE: NZCV nibble. */
export function fpCompare(x: bigint, y: bigint, f: Fmt, env: FpEnv, signalAll: boolean): number {
  const a = unpack(x, f, env), b = unpack(y, f, env);
  if (a.cls >= CLS.QNAN || b.cls >= CLS.QNAN) {
    if (signalAll || a.cls === CLS.SNAN || b.cls === CLS.SNAN) env.flags |= FPSR.IOC;
    return 0x3;
  }
  const c = cmpUnp(a, b);
  return c === 0 ? 0x6 : c < 0 ? 0x8 : 0x2;
}

/** Vector compare (FCMEQ/FCMGE/FCMGT): kind 0 eq, 1 ge, 2 gt; true when the relation holds. */
export function fpCmpRel(x: bigint, y: bigint, f: Fmt, env: FpEnv, kind: number): boolean {
  const a = unpack(x, f, env), b = unpack(y, f, env);
  if (a.cls >= CLS.QNAN || b.cls >= CLS.QNAN) {
    if (kind !== 0 || a.cls === CLS.SNAN || b.cls === CLS.SNAN) env.flags |= FPSR.IOC;
    return false;
  }
  const c = cmpUnp(a, b);
  return kind === 0 ? c === 0 : kind === 1 ? c >= 0 : c > 0;
}

/** FCVT between formats. */
export function fpConvert(x: bigint, from: Fmt, to: Fmt, env: FpEnv): bigint {
  const a = unpack(x, from, env);
  if (a.cls === CLS.SNAN || a.cls === CLS.QNAN) {
    if (a.cls === CLS.SNAN) env.flags |= FPSR.IOC;
    if (env.dn) return defaultNaN(to);
    // keep the sign and the top fraction bits, quieted
    const frac = from.fbits > to.fbits ? a.mant >> BigInt(from.fbits - to.fbits) : a.mant << BigInt(to.fbits - from.fbits);
    return (BigInt(a.sign) << BigInt(to.width - 1)) | (BigInt((1 << to.ebits) - 1) << BigInt(to.fbits)) | frac | (1n << BigInt(to.fbits - 1));
  }
  return repack(a, to, env);
}

/** Round to an integral value in FP format (FRINT*); exact = FRINTX raises IXC. */
export function fpRoundInt(x: bigint, f: Fmt, env: FpEnv, mode: number, exact: boolean): bigint {
  const a = unpack(x, f, env);
  const nan = processNaNs([a], [x], f, env);
  if (nan !== undefined) return nan;
  if (a.cls !== CLS.NORMAL) return repack(a, f, env);
  if (a.exp >= 0) return x;
  const s = BigInt(-a.exp);
  let q = a.mant >> s;
  const rem = a.mant & ((1n << s) - 1n), half = 1n << (s - 1n);
  if (rem !== 0n) {
    let up = false;
    switch (mode) {
      case RM.RN: up = rem > half || (rem === half && (q & 1n) === 1n); break;
      case RM.RP: up = a.sign === 0; break;
      case RM.RM: up = a.sign === 1; break;
      case RM.RA: up = rem >= half; break;
    }
    if (up) q += 1n;
    if (exact) env.flags |= FPSR.IXC;
  }
  if (q === 0n) return zeroBits(f, a.sign);
  const e2 = { flags: 0, fz: false, dn: env.dn, rmode: env.rmode };
  return fpRound(a.sign, q, 0, f, e2);
}

/** FP → integer (FCVT*S/U), width 32 or 64, with saturation; returns the two's complement bits. */
export function fpToInt(x: bigint, f: Fmt, env: FpEnv, mode: number, unsigned: boolean, width: number, fbits = 0): bigint {
  const a = unpack(x, f, env);
  if (a.cls === CLS.SNAN || a.cls === CLS.QNAN) { env.flags |= FPSR.IOC; return 0n; }
  const min = unsigned ? 0n : -(1n << BigInt(width - 1));
  const max = unsigned ? (1n << BigInt(width)) - 1n : (1n << BigInt(width - 1)) - 1n;
  const wrap = (v: bigint): bigint => BigInt.asUintN(width, v);
  if (a.cls === CLS.ZERO) return 0n;
  if (a.cls === CLS.INF) { env.flags |= FPSR.IOC; return wrap(a.sign ? min : max); }
  const exp = a.exp + fbits;
  let q: bigint, rem = 0n, half = 0n;
  if (exp >= 0) q = a.mant << BigInt(exp);
  else { const s = BigInt(-exp); q = a.mant >> s; rem = a.mant & ((1n << s) - 1n); half = 1n << (s - 1n); }
  if (rem !== 0n) {
    let up = false;
    switch (mode) {
      case RM.RN: up = rem > half || (rem === half && (q & 1n) === 1n); break;
      case RM.RP: up = a.sign === 0; break;
      case RM.RM: up = a.sign === 1; break;
      case RM.RA: up = rem >= half; break;
    }
    if (up) q += 1n;
  }
  const v = a.sign ? -q : q;
  if (v < min || v > max) { env.flags |= FPSR.IOC; return wrap(v < min ? min : max); }
  if (rem !== 0n) env.flags |= FPSR.IXC;
  return wrap(v);
}

/** Integer → FP (SCVTF/UCVTF), fbits = fixed-point fraction bits. */
export function intToFp(v: bigint, f: Fmt, env: FpEnv, fbits = 0): bigint {
  if (v === 0n) return 0n;
  const sign = v < 0n ? 1 : 0;
  return fpRound(sign, sign ? -v : v, -fbits, f, env);
}

// ---------------------------------------------------------------- instruction execution

const FM = (type: number): Fmt | undefined => (type === 0 ? FMTS[0] : type === 1 ? FMTS[1] : undefined);

function readS(cpu: FpCpu, r: number, f: Fmt): bigint {
  const w = vviews(cpu.vr);
  return f.width === 32 ? BigInt(w.u32[r * 4]) : w.b64[r * 2];
}
function writeS(cpu: FpCpu, r: number, f: Fmt, v: bigint): void {
  const w = vviews(cpu.vr);
  w.b64[r * 2 + 1] = 0n;
  if (f.width === 32) { w.u32[r * 4] = Number(v); w.u32[r * 4 + 1] = 0; } else w.b64[r * 2] = v;
}

/** Run fn with an FP environment from FPCR, then accumulate the flags into FPSR. */
function withEnv<T>(cpu: FpCpu, fn: (env: FpEnv) => T): T {
  const env = envOf(cpu.fpcr);
  const r = fn(env);
  cpu.fpsr |= env.flags;
  return r;
}

function readX(cpu: FpCpu, r: number, sf: number): bigint {
  if (r === 31) return 0n;
  const lo = BigInt(cpu.x[r * 2] >>> 0);
  return sf ? (BigInt(cpu.x[r * 2 + 1] >>> 0) << 32n) | lo : lo;
}
function writeX(cpu: FpCpu, r: number, v: bigint, sf: number): void {
  if (r === 31) return;
  cpu.x[r * 2] = Number(v & 0xffffffffn) | 0;
  cpu.x[r * 2 + 1] = sf ? Number((v >> 32n) & 0xffffffffn) | 0 : 0;
}

/** Scalar FP data processing (op0 x111, bits 28-24 = 1111x, bit 30 = 0). */
export function execFpData(cpu: FpCpu, i: number): boolean {
  if ((i >>> 29) & 1 || (i >>> 31) & 1 && ((i >>> 24) & 1 || ((i >>> 21) & 1) === 0 || ((i >>> 10) & 63) !== 0)) {
    if (!((i >>> 31) & 1 && !((i >>> 29) & 1) && !((i >>> 24) & 1))) return false;
  }
  const type = (i >>> 22) & 3, d = i & 31, n = (i >>> 5) & 31, m = (i >>> 16) & 31;
  if ((i >>> 24) & 1) { // 3-source
    if ((i >>> 31) & 1) return false;
    const f = FM(type); if (!f) return false;
    const o1 = (i >>> 21) & 1, o0 = (i >>> 15) & 1, a = (i >>> 10) & 31;
    // FMSUB/FNMADD/FNMSUB negate operands (NaNs included) before the fused operation, as ARM does
    const sb = 1n << BigInt(f.width - 1);
    const av = readS(cpu, a, f) ^ (o1 ? sb : 0n), nv = readS(cpu, n, f) ^ (o0 ^ o1 ? sb : 0n);
    const r = withEnv(cpu, (env) => fpMulAdd(av, nv, readS(cpu, m, f), f, env, false, false));
    writeS(cpu, d, f, r);
    return true;
  }
  if (!((i >>> 21) & 1)) return fixedConv(cpu, i);
  const b1110 = (i >>> 10) & 3;
  if (b1110 === 0) {
    if (((i >>> 10) & 63) === 0) return intConv(cpu, i);
    if ((i >>> 31) & 1) return false;
    if (((i >>> 10) & 31) === 0x10) return dp1(cpu, i, type, d, n);
    if (((i >>> 10) & 15) === 8) { // compare
      const f = FM(type); if (!f || ((i >>> 14) & 3)) return false;
      const opc = i & 31;
      if (opc & 7) return false;
      const y = opc & 8 ? 0n : readS(cpu, m, f);
      const nzcv = withEnv(cpu, (env) => fpCompare(readS(cpu, n, f), y, f, env, (opc & 16) !== 0));
      setNzcv(cpu, nzcv);
      return true;
    }
    if (((i >>> 10) & 7) === 4) { // FMOV immediate
      const f = FM(type); if (!f || ((i >>> 5) & 31)) return false;
      const imm8 = (i >>> 13) & 0xff;
      writeS(cpu, d, f, f.width === 32 ? BigInt(vfp32(imm8)) : vfp64(imm8));
      return true;
    }
    return false;
  }
  if ((i >>> 31) & 1) return false;
  const f = FM(type); if (!f) return false;
  const cond = (i >>> 12) & 15;
  if (b1110 === 1) { // FCCMP/FCCMPE
    if (cpu.cond(cond)) {
      const nzcv = withEnv(cpu, (env) => fpCompare(readS(cpu, n, f), readS(cpu, m, f), f, env, ((i >>> 4) & 1) === 1));
      setNzcv(cpu, nzcv);
    } else setNzcv(cpu, i & 15);
    return true;
  }
  if (b1110 === 3) { // FCSEL
    writeS(cpu, d, f, readS(cpu, cpu.cond(cond) ? n : m, f));
    return true;
  }
  // 2-source
  const opc = (i >>> 12) & 15;
  if (opc > 8) return false;
  const x = readS(cpu, n, f), y = readS(cpu, m, f);
  const r = withEnv(cpu, (env) => op2(opc, x, y, f, env));
  writeS(cpu, d, f, r);
  return true;
}

function op2(opc: number, x: bigint, y: bigint, f: Fmt, env: FpEnv): bigint {
  switch (opc) {
    case 0: return fpMul(x, y, f, env);
    case 1: return fpDiv(x, y, f, env);
    case 2: return fpAdd(x, y, f, env);
    case 3: return fpAdd(x, y, f, env, true);
    case 4: return fpMinMax(x, y, f, env, true, false);
    case 5: return fpMinMax(x, y, f, env, false, false);
    case 6: return fpMinMax(x, y, f, env, true, true);
    case 7: return fpMinMax(x, y, f, env, false, true);
    default: return fpMul(x, y, f, env) ^ (1n << BigInt(f.width - 1)); // FNMUL: negate the rounded product
  }
}

function setNzcv(cpu: FpCpu, v: number): void {
  cpu.n = (v >>> 3) & 1; cpu.z = (v >>> 2) & 1; cpu.c = (v >>> 1) & 1; cpu.v = v & 1;
}

function vfp32(imm8: number): number {
  const a = imm8 >>> 7, b = (imm8 >>> 6) & 1, cdefgh = imm8 & 0x3f;
  return ((a << 31) | ((b ? 0 : 1) << 30) | ((b ? 0x1f : 0) << 25) | (cdefgh << 19)) >>> 0;
}
function vfp64(imm8: number): bigint {
  const a = BigInt(imm8 >>> 7), b = (imm8 >>> 6) & 1, cdefgh = BigInt(imm8 & 0x3f);
  return (a << 63n) | (BigInt(b ? 0 : 1) << 62n) | (BigInt(b ? 0xff : 0) << 54n) | (cdefgh << 48n);
}

function dp1(cpu: FpCpu, i: number, type: number, d: number, n: number): boolean {
  const f = FM(type); if (!f) return false;
  const opc = (i >>> 15) & 63;
  const x = readS(cpu, n, f);
  const sbit = 1n << BigInt(f.width - 1);
  let r: bigint;
  switch (opc) {
    case 0: r = x; break; // FMOV
    case 1: r = x & ~sbit; break; // FABS
    case 2: r = x ^ sbit; break; // FNEG
    case 3: r = withEnv(cpu, (env) => fpSqrt(x, f, env)); break;
    case 4: case 5: { // FCVT to S / D
      const to = FM(opc & 1)!;
      if (to === f) return false;
      r = withEnv(cpu, (env) => fpConvert(x, f, to, env));
      writeS(cpu, d, to, r);
      return true;
    }
    case 8: case 9: case 10: case 11: case 12: case 14: case 15: {
      const mode = opc === 12 ? RM.RA : opc === 14 || opc === 15 ? ((cpu.fpcr >>> 22) & 3) : opc - 8;
      r = withEnv(cpu, (env) => fpRoundInt(x, f, env, mode, opc === 14));
      break;
    }
    default: return false;
  }
  writeS(cpu, d, f, r);
  return true;
}

/** Conversions between FP and integer registers (bits 15-10 = 0). */
function intConv(cpu: FpCpu, i: number): boolean {
  const sf = i >>> 31, type = (i >>> 22) & 3, rmode = (i >>> 19) & 3, opcode = (i >>> 16) & 7;
  const d = i & 31, n = (i >>> 5) & 31;
  if (opcode === 6 || opcode === 7) { // FMOV
    const w = vviews(cpu.vr);
    if (rmode === 1) {
      if (!sf || type !== 2) return false;
      if (opcode === 6) writeX(cpu, d, w.b64[n * 2 + 1], 1);
      else w.b64[d * 2 + 1] = readX(cpu, n, 1);
      return true;
    }
    if (rmode !== 0 || (sf ? type !== 1 : type !== 0)) return false;
    if (opcode === 6) writeX(cpu, d, sf ? w.b64[n * 2] : BigInt(w.u32[n * 4]), sf);
    else writeS(cpu, d, FMTS[sf], readX(cpu, n, sf));
    return true;
  }
  const f = FM(type); if (!f) return false;
  const width = sf ? 64 : 32;
  if (opcode === 2 || opcode === 3) { // SCVTF/UCVTF
    if (rmode !== 0) return false;
    let v = readX(cpu, n, sf);
    if (opcode === 2) v = BigInt.asIntN(width, v);
    writeS(cpu, d, f, withEnv(cpu, (env) => intToFp(v, f, env)));
    return true;
  }
  let mode: number;
  if (opcode <= 1) mode = [RM.RN, RM.RP, RM.RM, RM.RZ][rmode];
  else if (opcode <= 5 && rmode === 0) mode = RM.RA;
  else return false;
  const x = readS(cpu, n, f);
  writeX(cpu, d, withEnv(cpu, (env) => fpToInt(x, f, env, mode, (opcode & 1) === 1, width)), sf);
  return true;
}

/** Fixed-point conversions: SCVTF/UCVTF/FCVTZS/FCVTZU with #fbits. */
function fixedConv(cpu: FpCpu, i: number): boolean {
  const sf = i >>> 31, type = (i >>> 22) & 3, rmode = (i >>> 19) & 3, opcode = (i >>> 16) & 7, scale = (i >>> 10) & 63;
  const d = i & 31, n = (i >>> 5) & 31;
  const f = FM(type); if (!f) return false;
  if (!sf && scale < 32) return false;
  const fbits = 64 - scale, width = sf ? 64 : 32;
  if (rmode === 0 && (opcode === 2 || opcode === 3)) {
    let v = readX(cpu, n, sf);
    if (opcode === 2) v = BigInt.asIntN(width, v);
    writeS(cpu, d, f, withEnv(cpu, (env) => intToFp(v, f, env, fbits)));
    return true;
  }
  if (rmode === 3 && (opcode === 0 || opcode === 1)) {
    const x = readS(cpu, n, f);
    writeX(cpu, d, withEnv(cpu, (env) => fpToInt(x, f, env, RM.RZ, opcode === 1, width, fbits)), sf);
    return true;
  }
  return false;
}

// ---------------------------------------------------------------- vector FP

/** AdvSIMD three-same FP (opcode 11xxx): FADD/FSUB/FMUL/FDIV/FMAX/FMIN(NM)/FCMxx/FADDP/FMLA/FMLS. */
export function vecFp3(cpu: FpCpu, i: number, scalar = false): boolean {
  const q = (i >>> 30) & 1, u = (i >>> 29) & 1, sz = (i >>> 22) & 1, hi = (i >>> 23) & 1, opcode = (i >>> 11) & 31;
  const d = i & 31, n = (i >>> 5) & 31, m = (i >>> 16) & 31;
  if (sz && !q && !scalar) return false;
  const f = FMTS[sz], es = sz ? 3 : 2, lanes = scalar ? 1 : (q ? 4 : 2) >> sz;
  const key0 = (u << 6) | (hi << 5) | opcode;
  // the scalar encoding space has only compares and FABD (FMULX/FRECPS/FRSQRTS are not implemented)
  if (scalar && ![0x1c, 1 << 6 | 0x1c, 1 << 6 | 1 << 5 | 0x1c, 1 << 6 | 0x1d, 1 << 6 | 1 << 5 | 0x1d, 1 << 6 | 1 << 5 | 0x1a].includes(key0)) return false;
  const w = vviews(cpu.vr);
  const key = (u << 6) | (hi << 5) | opcode;
  const out: bigint[] = [];
  const ok = withEnv(cpu, (env) => {
    for (let e = 0; e < lanes; e++) {
      let x: bigint, y: bigint;
      if (scalar) { x = getE(w, n, e, es); y = getE(w, m, e, es); } else if (key === (1 << 6 | 0x1a) || key === (1 << 6 | 0x1e) || key === (1 << 6 | 0x18) || key === (1 << 6 | 1 << 5 | 0x1e) || key === (1 << 6 | 1 << 5 | 0x18)) {
        const src = e < lanes / 2 ? n : m, k = (e % (lanes / 2)) * 2; // pairwise
        x = getE(w, src, k, es); y = getE(w, src, k + 1, es);
      } else { x = getE(w, n, e, es); y = getE(w, m, e, es); }
      const ones = sz ? 0xffffffffffffffffn : 0xffffffffn;
      let r: bigint;
      switch (key) {
        case 0x1a: case (1 << 6 | 0x1a): r = fpAdd(x, y, f, env); break; // FADD, FADDP
        case (1 << 5 | 0x1a): r = fpAdd(x, y, f, env, true); break; // FSUB
        case (1 << 6 | 1 << 5 | 0x1a): { // FABD: |x - y| (the sign of a NaN result is cleared too)
          r = fpAdd(x, y, f, env, true) & ~(1n << BigInt(f.width - 1));
          break;
        }
        case (1 << 6 | 0x1b): r = fpMul(x, y, f, env); break; // FMUL
        case (1 << 6 | 0x1f): r = fpDiv(x, y, f, env); break; // FDIV
        case 0x1e: case (1 << 6 | 0x1e): r = fpMinMax(x, y, f, env, true, false); break; // FMAX(P)
        case (1 << 5 | 0x1e): case (1 << 6 | 1 << 5 | 0x1e): r = fpMinMax(x, y, f, env, false, false); break;
        case 0x18: case (1 << 6 | 0x18): r = fpMinMax(x, y, f, env, true, true); break; // FMAXNM(P)
        case (1 << 5 | 0x18): case (1 << 6 | 1 << 5 | 0x18): r = fpMinMax(x, y, f, env, false, true); break;
        case 0x1c: r = fpCmpRel(x, y, f, env, 0) ? ones : 0n; break; // FCMEQ
        case (1 << 6 | 0x1c): r = fpCmpRel(x, y, f, env, 1) ? ones : 0n; break; // FCMGE
        case (1 << 6 | 1 << 5 | 0x1c): r = fpCmpRel(x, y, f, env, 2) ? ones : 0n; break; // FCMGT
        case (1 << 6 | 0x1d): case (1 << 6 | 1 << 5 | 0x1d): { // FACGE / FACGT
          const sb = 1n << BigInt(f.width - 1);
          r = fpCmpRel(x & ~sb, y & ~sb, f, env, hi ? 2 : 1) ? ones : 0n;
          break;
        }
        case 0x19: r = fpMulAdd(getE(w, d, e, es), x, y, f, env, false, false); break; // FMLA
        case (1 << 5 | 0x19): r = fpMulAdd(getE(w, d, e, es), x ^ (1n << BigInt(f.width - 1)), y, f, env, false, false); break; // FMLS: negate element 1 first
        default: return false;
      }
      out.push(r);
    }
    return true;
  });
  if (!ok) return false;
  if (scalar) { w.b64[d * 2] = 0n; w.b64[d * 2 + 1] = 0n; }
  out.forEach((r, e) => setE(w, d, e, es, r));
  if (!q || scalar) w.b64[d * 2 + 1] = 0n;
  return true;
}

/** AdvSIMD two-reg misc FP: FABS/FNEG/FSQRT/FRINTx/FCVTZS/FCVTZU/SCVTF/UCVTF/FCMxx #0. */
export function vecFp2(cpu: FpCpu, i: number, scalar = false): boolean {
  const q = (i >>> 30) & 1, u = (i >>> 29) & 1, sz = (i >>> 22) & 1, hi = (i >>> 23) & 1, opcode = (i >>> 12) & 31;
  const d = i & 31, n = (i >>> 5) & 31;
  if (!u && !hi && (opcode === 0x16 || opcode === 0x17) && !scalar) { // FCVTN/FCVTN2 (D→S), FCVTL/FCVTL2 (S→D); half forms absent
    if (!sz) return false;
    const w = vviews(cpu.vr);
    const res = withEnv(cpu, (env) => {
      const out: bigint[] = [];
      for (let e = 0; e < 2; e++) {
        out.push(opcode === 0x16 ? fpConvert(getE(w, n, e, 3), FMTS[1], FMTS[0], env) : fpConvert(getE(w, n, (q ? 2 : 0) + e, 2), FMTS[0], FMTS[1], env));
      }
      return out;
    });
    if (opcode === 0x16) {
      res.forEach((r, e) => setE(w, d, (q ? 2 : 0) + e, 2, r));
      if (!q) w.b64[d * 2 + 1] = 0n;
    } else res.forEach((r, e) => setE(w, d, e, 3, r));
    return true;
  }
  if (sz && !q && !scalar) return false;
  const f = FMTS[sz], es = sz ? 3 : 2, lanes = scalar ? 1 : (q ? 4 : 2) >> sz, width = f.width;
  const skey = (u << 6) | (hi << 5) | opcode;
  // scalar space: conversions and compares with zero only (FABS/FNEG/FSQRT/FRINT are vector-only here)
  if (scalar && ![0x1a, 1 << 6 | 0x1a, 1 << 5 | 0x1b, 1 << 6 | 1 << 5 | 0x1b, 0x1d, 1 << 6 | 0x1d, 1 << 5 | 0x0c, 1 << 6 | 1 << 5 | 0x0c,
    1 << 5 | 0x0d, 1 << 6 | 1 << 5 | 0x0d, 1 << 5 | 0x0e].includes(skey)) return false;
  const w = vviews(cpu.vr);
  const sbit = 1n << BigInt(width - 1), ones = sbit * 2n - 1n;
  const key = (u << 6) | (hi << 5) | opcode;
  const out: bigint[] = [];
  const ok = withEnv(cpu, (env) => {
    for (let e = 0; e < lanes; e++) {
      const x = getE(w, n, e, es);
      let r: bigint;
      switch (key) {
        case (1 << 5 | 0x0f): r = x & ~sbit; break; // FABS
        case (1 << 6 | 1 << 5 | 0x0f): r = x ^ sbit; break; // FNEG
        case (1 << 6 | 1 << 5 | 0x1f): r = fpSqrt(x, f, env); break; // FSQRT
        case 0x18: r = fpRoundInt(x, f, env, RM.RN, false); break; // FRINTN
        case 0x19: r = fpRoundInt(x, f, env, RM.RM, false); break; // FRINTM
        case (1 << 5 | 0x18): r = fpRoundInt(x, f, env, RM.RP, false); break; // FRINTP
        case (1 << 5 | 0x19): r = fpRoundInt(x, f, env, RM.RZ, false); break; // FRINTZ
        case (1 << 6 | 0x18): r = fpRoundInt(x, f, env, RM.RA, false); break; // FRINTA
        case (1 << 6 | 0x19): r = fpRoundInt(x, f, env, env.rmode, true); break; // FRINTX
        case (1 << 6 | 1 << 5 | 0x19): r = fpRoundInt(x, f, env, env.rmode, false); break; // FRINTI
        case (1 << 5 | 0x1b): r = fpToInt(x, f, env, RM.RZ, false, width); break; // FCVTZS
        case (1 << 6 | 1 << 5 | 0x1b): r = fpToInt(x, f, env, RM.RZ, true, width); break; // FCVTZU
        case 0x1a: r = fpToInt(x, f, env, RM.RN, false, width); break; // FCVTNS
        case (1 << 6 | 0x1a): r = fpToInt(x, f, env, RM.RN, true, width); break; // FCVTNU
        case 0x1d: r = intToFp(BigInt.asIntN(width, x), f, env); break; // SCVTF
        case (1 << 6 | 0x1d): r = intToFp(x, f, env); break; // UCVTF
        case (1 << 5 | 0x0c): r = fpCmpRel(x, 0n, f, env, 2) ? ones : 0n; break; // FCMGT #0
        case (1 << 6 | 1 << 5 | 0x0c): r = fpCmpRel(x, 0n, f, env, 1) ? ones : 0n; break; // FCMGE #0
        case (1 << 5 | 0x0d): r = fpCmpRel(x, 0n, f, env, 0) ? ones : 0n; break; // FCMEQ #0
        case (1 << 6 | 1 << 5 | 0x0d): r = fpCmpRel(0n, x, f, env, 1) ? ones : 0n; break; // FCMLE #0
        case (1 << 5 | 0x0e): r = fpCmpRel(0n, x, f, env, 2) ? ones : 0n; break; // FCMLT #0
        default: return false;
      }
      out.push(r);
    }
    return true;
  });
  if (!ok) return false;
  if (scalar) { w.b64[d * 2] = 0n; w.b64[d * 2 + 1] = 0n; }
  out.forEach((r, e) => setE(w, d, e, es, r));
  if (!q || scalar) w.b64[d * 2 + 1] = 0n;
  return true;
}

export { FMTS };

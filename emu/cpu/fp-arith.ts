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

/** Format: 0 = single, 1 = double. */
export interface Fmt {
  ebits: number;
  fbits: number;
  bias: number;
  emax: number;
  width: number;
}
export const FMTS: Fmt[] = [
  { ebits: 8, fbits: 23, bias: 127, emax: 254, width: 32 },
  { ebits: 11, fbits: 52, bias: 1023, emax: 2046, width: 64 },
];

export const FPSR = { IOC: 1, DZC: 2, OFC: 4, UFC: 8, IXC: 16, IDC: 128 } as const;
export const RM = { RN: 0, RP: 1, RM: 2, RZ: 3, RA: 4 } as const;

const CLS = { ZERO: 0, NORMAL: 1, INF: 2, QNAN: 3, SNAN: 4 } as const;

/** Mutable unpacked value: class, sign, value = mant * 2^exp. */
interface Unp {
  cls: number;
  sign: number;
  mant: bigint;
  exp: number;
}

/** FP environment of one operation: FPCR fields in, flags out. */
export interface FpEnv {
  fz: boolean;
  dn: boolean;
  rmode: number;
  flags: number;
}

export function envOf(fpcr: number): FpEnv {
  return { fz: ((fpcr >>> 24) & 1) === 1, dn: ((fpcr >>> 25) & 1) === 1, rmode: (fpcr >>> 22) & 3, flags: 0 };
}

function unpack(bits: bigint, f: Fmt, env: FpEnv): Unp {
  const sign = Number(bits >> BigInt(f.width - 1)) & 1;
  const e = Number((bits >> BigInt(f.fbits)) & BigInt((1 << f.ebits) - 1));
  const frac = bits & ((1n << BigInt(f.fbits)) - 1n);
  if (e === 0) {
    if (frac === 0n) return { cls: CLS.ZERO, sign, mant: 0n, exp: 0 };
    if (env.fz) {
      env.flags |= FPSR.IDC;
      return { cls: CLS.ZERO, sign, mant: 0n, exp: 0 };
    }
    return { cls: CLS.NORMAL, sign, mant: frac, exp: 1 - f.bias - f.fbits };
  }
  if (e === (1 << f.ebits) - 1) {
    if (frac === 0n) return { cls: CLS.INF, sign, mant: 0n, exp: 0 };
    return { cls: (frac >> BigInt(f.fbits - 1)) & 1n ? CLS.QNAN : CLS.SNAN, sign, mant: frac, exp: 0 };
  }
  return { cls: CLS.NORMAL, sign, mant: frac | (1n << BigInt(f.fbits)), exp: e - f.bias - f.fbits };
}

const bitLen = (v: bigint): number => v.toString(2).length;

export function defaultNaN(f: Fmt): bigint {
  return ((1n << BigInt(f.ebits + 1)) - 1n) << BigInt(f.fbits - 1);
}
function infBits(f: Fmt, sign: number): bigint {
  return (BigInt(sign) << BigInt(f.width - 1)) | (BigInt((1 << f.ebits) - 1) << BigInt(f.fbits));
}
function zeroBits(f: Fmt, sign: number): bigint {
  return BigInt(sign) << BigInt(f.width - 1);
}
function maxBits(f: Fmt, sign: number): bigint {
  return (BigInt(sign) << BigInt(f.width - 1)) | (BigInt(f.emax) << BigInt(f.fbits)) | ((1n << BigInt(f.fbits)) - 1n);
}

/** Round the exact value (-1)^sign * mant * 2^exp (mant > 0) to format f (ARM FPRound). */
function fpRound(sign: number, mant: bigint, exp: number, f: Fmt, env: FpEnv, mode = env.rmode): bigint {
  if (mant === 0n) return zeroBits(f, sign);
  const e = exp + bitLen(mant) - 1; // exponent of the leading bit
  const emin = 1 - f.bias;
  if (env.fz && e < emin) {
    env.flags |= FPSR.UFC;
    return zeroBits(f, sign);
  }
  const lsb = (e < emin ? emin : e) - f.fbits;
  let q: bigint,
    rem = 0n,
    half = 0n,
    shift = lsb - exp;
  if (shift > 0) {
    const s = BigInt(shift);
    q = mant >> s;
    rem = mant & ((1n << s) - 1n);
    half = 1n << (s - 1n);
  } else q = mant << BigInt(-shift);
  let up = false;
  if (rem !== 0n) {
    switch (mode) {
      case RM.RN:
        up = rem > half || (rem === half && (q & 1n) === 1n);
        break;
      case RM.RP:
        up = sign === 0;
        break;
      case RM.RM:
        up = sign === 1;
        break;
      case RM.RA:
        up = rem >= half;
        break;
      default:
        up = false;
    }
  }
  if (up) q += 1n;
  let lsbE = lsb;
  if (q >> BigInt(f.fbits + 1)) {
    q >>= 1n;
    lsbE++;
  }
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
  for (let k = 0; k < ops.length; k++)
    if (ops[k].cls === CLS.SNAN) {
      env.flags |= FPSR.IOC;
      return quiet(bits[k], f, env);
    }
  for (let k = 0; k < ops.length; k++) if (ops[k].cls === CLS.QNAN) return quiet(bits[k], f, env);
  return undefined;
}

function invalid(f: Fmt, env: FpEnv): bigint {
  env.flags |= FPSR.IOC;
  return defaultNaN(f);
}

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
  const a = unpack(x, f, env),
    b = unpack(y, f, env);
  const nan = processNaNs([a, b], [x, y], f, env);
  if (nan !== undefined) return nan;
  if (sub) b.sign ^= 1;
  if (a.cls === CLS.INF && b.cls === CLS.INF) return a.sign === b.sign ? infBits(f, a.sign) : invalid(f, env);
  if (a.cls === CLS.INF) return infBits(f, a.sign);
  if (b.cls === CLS.INF) return infBits(f, b.sign);
  return addExact(a, b, f, env);
}

export function fpMul(x: bigint, y: bigint, f: Fmt, env: FpEnv, negate = false): bigint {
  const a = unpack(x, f, env),
    b = unpack(y, f, env);
  const nan = processNaNs([a, b], [x, y], f, env);
  if (nan !== undefined) return nan;
  const sign = a.sign ^ b.sign ^ (negate ? 1 : 0);
  if ((a.cls === CLS.INF && b.cls === CLS.ZERO) || (a.cls === CLS.ZERO && b.cls === CLS.INF)) return invalid(f, env);
  if (a.cls === CLS.INF || b.cls === CLS.INF) return infBits(f, sign);
  if (a.cls === CLS.ZERO || b.cls === CLS.ZERO) return zeroBits(f, sign);
  return fpRound(sign, a.mant * b.mant, a.exp + b.exp, f, env);
}

export function fpDiv(x: bigint, y: bigint, f: Fmt, env: FpEnv): bigint {
  const a = unpack(x, f, env),
    b = unpack(y, f, env);
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
  let m = a.mant,
    e = a.exp;
  if (e & 1) {
    m <<= 1n;
    e -= 1;
  }
  const extra = 2 * (f.fbits + 4);
  m <<= BigInt(extra);
  e -= extra;
  let r = isqrt(m);
  const sticky = r * r !== m ? 1n : 0n;
  r = (r << 1n) | sticky;
  return fpRound(0, r, e / 2 - 1, f, env);
}

/** FMADD family: (negAdd ? -a : a) + (negProd ? -(n*m) : n*m), one rounding. */
export function fpMulAdd(ad: bigint, x: bigint, y: bigint, f: Fmt, env: FpEnv, negAdd: boolean, negProd: boolean): bigint {
  const A = unpack(ad, f, env),
    a = unpack(x, f, env),
    b = unpack(y, f, env);
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
  const P: Unp = pZero
    ? { cls: CLS.ZERO, sign: ps, mant: 0n, exp: 0 }
    : { cls: CLS.NORMAL, sign: ps, mant: a.mant * b.mant, exp: a.exp + b.exp };
  return addExact(A, P, f, env);
}

/** FMAX/FMIN (nm: the NM variants, where a single quiet NaN loses). */
export function fpMinMax(x: bigint, y: bigint, f: Fmt, env: FpEnv, max: boolean, nm: boolean): bigint {
  const a = unpack(x, f, env),
    b = unpack(y, f, env);
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
  const sa = sgn(a),
    sb = sgn(b);
  if (sa !== sb) return sa < sb ? -1 : 1;
  if (sa === 0) return 0;
  // same sign, non-zero: compare magnitudes
  let mag: number;
  if (a.cls === CLS.INF || b.cls === CLS.INF) mag = a.cls === b.cls ? 0 : a.cls === CLS.INF ? 1 : -1;
  else {
    const e = Math.min(a.exp, b.exp);
    const ma = a.mant << BigInt(a.exp - e),
      mb = b.mant << BigInt(b.exp - e);
    mag = ma === mb ? 0 : ma > mb ? 1 : -1;
  }
  return sa < 0 ? -mag : mag;
}

/** FCMP/FCMPE: NZCV nibble. */
export function fpCompare(x: bigint, y: bigint, f: Fmt, env: FpEnv, signalAll: boolean): number {
  const a = unpack(x, f, env),
    b = unpack(y, f, env);
  if (a.cls >= CLS.QNAN || b.cls >= CLS.QNAN) {
    if (signalAll || a.cls === CLS.SNAN || b.cls === CLS.SNAN) env.flags |= FPSR.IOC;
    return 0x3;
  }
  const c = cmpUnp(a, b);
  return c === 0 ? 0x6 : c < 0 ? 0x8 : 0x2;
}

/** Vector compare (FCMEQ/FCMGE/FCMGT): kind 0 eq, 1 ge, 2 gt; true when the relation holds. */
export function fpCmpRel(x: bigint, y: bigint, f: Fmt, env: FpEnv, kind: number): boolean {
  const a = unpack(x, f, env),
    b = unpack(y, f, env);
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
    return (
      (BigInt(a.sign) << BigInt(to.width - 1)) | (BigInt((1 << to.ebits) - 1) << BigInt(to.fbits)) | frac | (1n << BigInt(to.fbits - 1))
    );
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
  const rem = a.mant & ((1n << s) - 1n),
    half = 1n << (s - 1n);
  if (rem !== 0n) {
    let up = false;
    switch (mode) {
      case RM.RN:
        up = rem > half || (rem === half && (q & 1n) === 1n);
        break;
      case RM.RP:
        up = a.sign === 0;
        break;
      case RM.RM:
        up = a.sign === 1;
        break;
      case RM.RA:
        up = rem >= half;
        break;
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
  if (a.cls === CLS.SNAN || a.cls === CLS.QNAN) {
    env.flags |= FPSR.IOC;
    return 0n;
  }
  const min = unsigned ? 0n : -(1n << BigInt(width - 1));
  const max = unsigned ? (1n << BigInt(width)) - 1n : (1n << BigInt(width - 1)) - 1n;
  const wrap = (v: bigint): bigint => BigInt.asUintN(width, v);
  if (a.cls === CLS.ZERO) return 0n;
  if (a.cls === CLS.INF) {
    env.flags |= FPSR.IOC;
    return wrap(a.sign ? min : max);
  }
  const exp = a.exp + fbits;
  let q: bigint,
    rem = 0n,
    half = 0n;
  if (exp >= 0) q = a.mant << BigInt(exp);
  else {
    const s = BigInt(-exp);
    q = a.mant >> s;
    rem = a.mant & ((1n << s) - 1n);
    half = 1n << (s - 1n);
  }
  if (rem !== 0n) {
    let up = false;
    switch (mode) {
      case RM.RN:
        up = rem > half || (rem === half && (q & 1n) === 1n);
        break;
      case RM.RP:
        up = a.sign === 0;
        break;
      case RM.RM:
        up = a.sign === 1;
        break;
      case RM.RA:
        up = rem >= half;
        break;
    }
    if (up) q += 1n;
  }
  const v = a.sign ? -q : q;
  if (v < min || v > max) {
    env.flags |= FPSR.IOC;
    return wrap(v < min ? min : max);
  }
  if (rem !== 0n) env.flags |= FPSR.IXC;
  return wrap(v);
}

/** Integer → FP (SCVTF/UCVTF), fbits = fixed-point fraction bits. */
export function intToFp(v: bigint, f: Fmt, env: FpEnv, fbits = 0): bigint {
  if (v === 0n) return 0n;
  const sign = v < 0n ? 1 : 0;
  return fpRound(sign, sign ? -v : v, -fbits, f, env);
}

/** VFPExpandImm (Arm DDI 0487 shared pseudocode): the single-precision value of an 8-bit FMOV immediate. */
export function vfpExpand32(imm8: number): number {
  const a = imm8 >>> 7,
    b = (imm8 >>> 6) & 1,
    cdefgh = imm8 & 0x3f;
  return ((a << 31) | ((b ? 0 : 1) << 30) | ((b ? 0x1f : 0) << 25) | (cdefgh << 19)) >>> 0;
}
/** VFPExpandImm for double precision. */
export function vfpExpand64(imm8: number): bigint {
  const a = BigInt(imm8 >>> 7),
    b = (imm8 >>> 6) & 1,
    cdefgh = BigInt(imm8 & 0x3f);
  return (a << 63n) | (BigInt(b ? 0 : 1) << 62n) | (BigInt(b ? 0xff : 0) << 54n) | (cdefgh << 48n);
}

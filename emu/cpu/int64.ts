// 64-bit helpers on int32 hi/lo halves. Functions return the low word and leave the high word in
// `H.hi` (one shared result slot, read it immediately). BigInt stays out of the hot path.

export const H = { hi: 0 };

export function lsl64(hi: number, lo: number, s: number): number {
  s &= 63;
  if (s === 0) {
    H.hi = hi;
    return lo;
  }
  if (s < 32) {
    H.hi = (hi << s) | (lo >>> (32 - s));
    return lo << s;
  }
  H.hi = lo << (s - 32);
  return 0;
}

export function lsr64(hi: number, lo: number, s: number): number {
  s &= 63;
  if (s === 0) {
    H.hi = hi;
    return lo;
  }
  if (s < 32) {
    H.hi = (hi >>> s) | 0;
    return (lo >>> s) | (hi << (32 - s));
  }
  H.hi = 0;
  return (hi >>> (s - 32)) | 0;
}

export function asr64(hi: number, lo: number, s: number): number {
  s &= 63;
  if (s === 0) {
    H.hi = hi;
    return lo;
  }
  if (s < 32) {
    H.hi = hi >> s;
    return (lo >>> s) | (hi << (32 - s));
  }
  H.hi = hi >> 31;
  return hi >> (s - 32);
}

export function ror64(hi: number, lo: number, s: number): number {
  s &= 63;
  if (s >= 32) {
    const t = hi;
    hi = lo;
    lo = t;
    s -= 32;
  }
  if (s === 0) {
    H.hi = hi;
    return lo;
  }
  H.hi = (hi >>> s) | (lo << (32 - s));
  return (lo >>> s) | (hi << (32 - s));
}

/** Shift by type (0 LSL, 1 LSR, 2 ASR, 3 ROR). */
export function shift64(type: number, hi: number, lo: number, s: number): number {
  switch (type) {
    case 0:
      return lsl64(hi, lo, s);
    case 1:
      return lsr64(hi, lo, s);
    case 2:
      return asr64(hi, lo, s);
    default:
      return ror64(hi, lo, s);
  }
}

export function shift32(type: number, v: number, s: number): number {
  s &= 31;
  switch (type) {
    case 0:
      return v << s;
    case 1:
      return (v >>> s) | 0;
    case 2:
      return v >> s;
    default:
      return s === 0 ? v : (v >>> s) | (v << (32 - s));
  }
}

export function add64(ahi: number, alo: number, bhi: number, blo: number): number {
  const lo = (alo + blo) | 0;
  H.hi = (ahi + bhi + (lo >>> 0 < alo >>> 0 ? 1 : 0)) | 0;
  return lo;
}

/** Unsigned 32x32 → 64 multiply. */
export function umul32(a: number, b: number): number {
  // The double product is within 2^11 of the exact one and the low word is exact (imul), so
  // (product - low) / 2^32 rounds to the exact high word.
  const lo = Math.imul(a, b);
  H.hi = Math.round(((a >>> 0) * (b >>> 0) - (lo >>> 0)) / 4294967296) | 0;
  return lo;
}

/** Signed 32x32 → 64 multiply. */
export function smul32(a: number, b: number): number {
  const lo = umul32(a, b);
  let hi = H.hi;
  if (a < 0) hi = (hi - b) | 0;
  if (b < 0) hi = (hi - a) | 0;
  H.hi = hi;
  return lo;
}

/** Low 64 bits of a 64x64 product. */
export function mul64(ahi: number, alo: number, bhi: number, blo: number): number {
  const lo = umul32(alo, blo);
  H.hi = (H.hi + Math.imul(ahi, blo) + Math.imul(alo, bhi)) | 0;
  return lo;
}

export function toBig(hi: number, lo: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}

export function toBigSigned(hi: number, lo: number): bigint {
  return BigInt.asIntN(64, toBig(hi, lo));
}

/** Split a bigint into halves: returns lo, H.hi = hi. */
export function fromBig(v: bigint): number {
  const u = BigInt.asUintN(64, v);
  H.hi = Number(u >> 32n) | 0;
  return Number(u & 0xffffffffn) | 0;
}

export function clz64(hi: number, lo: number): number {
  return hi !== 0 ? Math.clz32(hi) : 32 + Math.clz32(lo);
}

export function rbit32(v: number): number {
  v = ((v >>> 1) & 0x55555555) | ((v & 0x55555555) << 1);
  v = ((v >>> 2) & 0x33333333) | ((v & 0x33333333) << 2);
  v = ((v >>> 4) & 0x0f0f0f0f) | ((v & 0x0f0f0f0f) << 4);
  v = ((v >>> 8) & 0x00ff00ff) | ((v & 0x00ff00ff) << 8);
  return (v >>> 16) | (v << 16);
}

export function bswap32(v: number): number {
  return ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
}

export function rev16(v: number): number {
  return ((v & 0x00ff00ff) << 8) | ((v >>> 8) & 0x00ff00ff);
}

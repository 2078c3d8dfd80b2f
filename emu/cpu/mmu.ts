// Stage-1 translation for the EL1&0 regime: 4K granule, up to 48-bit VA (T0SZ/T1SZ), 4 levels,
// TTBR0/TTBR1 split, block descriptors at L1/L2, access-flag and permission faults (no hardware
// AF/dirty update: ID_AA64MMFR1.HAFDBS = 0), hierarchical table attributes, WXN, TBI.

/** Permission bits of a translation (per EL and access kind). */
export const PERM = { R0: 1, W0: 2, X0: 4, R1: 8, W1: 16, X1: 32 } as const;
export const PERM_ALL = 63;

/** Fault status codes (DFSC/IFSC), level added in the low bits. */
export const FSC = {
  ADDR_SIZE: 0x00,
  TRANSLATION: 0x04,
  ACCESS_FLAG: 0x08,
  PERMISSION: 0x0c,
  EXT_ABORT: 0x10,
  WALK_EXT_ABORT: 0x14,
  ALIGNMENT: 0x21,
} as const;

/** Translation regime registers as the walker needs them (lo/hi int32 halves). */
export interface MmuRegs {
  sctlrLo: number;
  tcrLo: number;
  tcrHi: number;
  ttbr0Lo: number;
  ttbr0Hi: number;
  ttbr1Lo: number;
  ttbr1Hi: number;
}

/** Result of a walk; `fault` is 0 on success, else the fault status code including level. */
export interface WalkResult {
  fault: number;
  /** Output physical address >> 12. */
  paPage: number;
  perm: number;
  global: boolean;
  attrIndex: number;
  sh: number;
  level: number;
}

/** Reads a 64-bit descriptor at a physical address; returns false when it is not in memory. */
export type DescReader = (pa: number, out: Int32Array) => boolean;

const TWO32 = 4294967296;
const desc = new Int32Array(2);

/** True when bits [from..to] (inclusive, 0..31) of x all equal `one`. */
function bitsAll(x: number, from: number, to: number, one: number): boolean {
  if (from > to) return true;
  const width = to - from + 1;
  const mask = width === 32 ? -1 : ((1 << width) - 1) << from;
  return one ? (x & mask) === mask : (x & mask) === 0;
}

/**
 * Translate a VA (vhi:vlo) for the EL1&0 regime. `dataAccess` selects TBI (data accesses only).
 * Fills `out` and returns out.fault.
 */
export function walk(r: MmuRegs, read: DescReader, vhi: number, vlo: number, dataAccess: boolean, out: WalkResult): number {
  out.fault = 0;
  out.level = 0;
  if ((r.sctlrLo & 1) === 0) {
    // MMU off: flat mapping, addresses above the PA range fault at level 0
    if (vhi >>> 16 !== 0) return (out.fault = FSC.ADDR_SIZE);
    out.paPage = (vhi >>> 0) * 1048576 + (vlo >>> 12);
    out.perm = PERM_ALL;
    out.global = true;
    out.attrIndex = -1;
    out.sh = 2;
    return 0;
  }
  const upper = (vhi >>> 23) & 1; // VA bit 55 selects TTBR1
  const tcrLo = r.tcrLo,
    tcrHi = r.tcrHi;
  let tsz = upper ? (tcrLo >>> 16) & 0x3f : tcrLo & 0x3f;
  const epd = upper ? (tcrLo >>> 23) & 1 : (tcrLo >>> 7) & 1;
  const tbi = dataAccess ? (upper ? (tcrHi >>> 6) & 1 : (tcrHi >>> 5) & 1) : 0;
  if (tsz < 16) tsz = 16;
  if (tsz > 39) tsz = 39;
  const inputSize = 64 - tsz;
  const topHi = tbi ? 23 : 31;
  // all bits above the input range must equal `upper`
  let ok: boolean;
  if (inputSize > 32) ok = bitsAll(vhi, inputSize - 32, topHi, upper);
  else ok = bitsAll(vhi, 0, topHi, upper) && bitsAll(vlo, inputSize, 31, upper);
  if (!ok || epd) return (out.fault = FSC.TRANSLATION);
  const ttbLo = upper ? r.ttbr1Lo : r.ttbr0Lo;
  const ttbHi = upper ? r.ttbr1Hi : r.ttbr0Hi;
  let table = (ttbHi & 0xffff) * TWO32 + ((ttbLo & ~1) >>> 0);
  let level = inputSize > 39 ? 0 : inputSize > 30 ? 1 : inputSize > 21 ? 2 : 3;
  let apTable = 0,
    uxnTable = 0,
    pxnTable = 0;
  const first = level;
  for (;;) {
    const shift = 12 + 9 * (3 - level);
    let idx: number;
    if (shift >= 32) idx = vhi >>> (shift - 32);
    else if (shift + 9 <= 32) idx = vlo >>> shift;
    else idx = (vlo >>> shift) | (vhi << (32 - shift));
    const width = level === first ? inputSize - shift : 9;
    idx &= width >= 9 ? 0x1ff : (1 << width) - 1;
    out.level = level;
    if (!read(table + idx * 8, desc)) return (out.fault = FSC.WALK_EXT_ABORT + level);
    const lo = desc[0],
      hi = desc[1];
    if ((lo & 1) === 0) return (out.fault = FSC.TRANSLATION + level);
    const isTable = (lo & 2) !== 0;
    if (level < 3 && isTable) {
      apTable |= (hi >>> 29) & 3;
      uxnTable |= (hi >>> 28) & 1;
      pxnTable |= (hi >>> 27) & 1;
      table = (hi & 0xffff) * TWO32 + ((lo & 0xfffff000) >>> 0);
      level++;
      continue;
    }
    if (level === 0 || (level === 3 && !isTable)) return (out.fault = FSC.TRANSLATION + level);
    // block or page
    if ((lo & 0x400) === 0) return (out.fault = FSC.ACCESS_FLAG + level);
    const base = (hi & 0xffff) * 1048576;
    if (level === 1) out.paPage = base + ((lo >>> 30) << 18) + ((vlo >>> 12) & 0x3ffff);
    else if (level === 2) out.paPage = base + ((lo >>> 21) << 9) + ((vlo >>> 12) & 0x1ff);
    else out.paPage = base + (lo >>> 12);
    let ap1 = (lo >>> 6) & 1,
      ap2 = (lo >>> 7) & 1;
    if (apTable & 1) ap1 = 0;
    if (apTable & 2) ap2 = 1;
    const uxn = ((hi >>> 22) & 1) | uxnTable;
    const pxn = ((hi >>> 21) & 1) | pxnTable;
    let perm = PERM.R1;
    if (!ap2) perm |= PERM.W1;
    if (ap1) perm |= PERM.R0 | (ap2 ? 0 : PERM.W0);
    if (!uxn) perm |= PERM.X0;
    // memory writable at EL0 is never executable at EL1
    if (!pxn && !(perm & PERM.W0)) perm |= PERM.X1;
    if (r.sctlrLo & (1 << 19)) {
      // WXN: writable implies execute-never
      if (perm & PERM.W1) perm &= ~PERM.X1;
      if (perm & PERM.W0) perm &= ~PERM.X0;
    }
    out.perm = perm;
    out.global = (lo & 0x800) === 0;
    out.attrIndex = (lo >>> 2) & 7;
    out.sh = (lo >>> 8) & 3;
    return 0;
  }
}

/** Current ASID from TCR.A1/AS and the TTBRs. */
export function currentAsid(r: MmuRegs): number {
  const a1 = (r.tcrLo >>> 22) & 1;
  const asid = (a1 ? r.ttbr1Hi : r.ttbr0Hi) >>> 16;
  return (r.tcrHi >>> 4) & 1 ? asid : asid & 0xff;
}

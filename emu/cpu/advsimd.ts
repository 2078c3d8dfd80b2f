// AdvSIMD vector arithmetic: modified immediate, shift by immediate, three same, two-register misc,
// three different and by-element forms. Vector FP opcodes go to fp-data.ts; the lane-moving
// families (copy, permute, EXT, TBL) and the across-lanes reductions are in advsimd-lanes.ts.
// Elements are handled as BigInt (exact for every width).

import { envOf, FMTS, fpMul, fpMulAdd, vfpExpand32, vfpExpand64 } from './fp-arith.ts';
import { vecFp2, vecFp3 } from './fp-data.ts';
import { clearT, commit, getE, MASKS, setE, sx, T, TMP, TV, vviews, type FpCpu, type VViews } from './vregs.ts';

export function modImm(cpu: FpCpu, i: number): boolean {
  const q = (i >>> 30) & 1,
    op = (i >>> 29) & 1,
    cmode = (i >>> 12) & 15,
    o2 = (i >>> 11) & 1,
    d = i & 31;
  const abc = (i >>> 16) & 7,
    defgh = (i >>> 5) & 31;
  const imm8 = (abc << 5) | defgh;
  if (o2) return false;
  let imm64: bigint;
  const rep32 = (v: number): bigint => {
    const b = BigInt(v >>> 0);
    return (b << 32n) | b;
  };
  const rep16 = (v: number): bigint => rep32(((v & 0xffff) << 16) | (v & 0xffff));
  let kind = 0; // 0 MOVI/MVNI, 1 ORR, 2 BIC
  switch (cmode >>> 1) {
    case 0:
    case 1:
    case 2:
    case 3:
      imm64 = rep32(imm8 << (8 * (cmode >>> 1)));
      kind = cmode & 1 ? (op ? 2 : 1) : 0;
      break;
    case 4:
    case 5:
      imm64 = rep16(imm8 << (8 * ((cmode >>> 1) & 1)));
      kind = cmode & 1 ? (op ? 2 : 1) : 0;
      break;
    case 6:
      imm64 = rep32(cmode & 1 ? (imm8 << 16) | 0xffff : (imm8 << 8) | 0xff);
      break;
    default:
      if (cmode === 14) {
        imm64 = 0n;
        if (!op) {
          for (let k = 0n; k < 64n; k += 8n) imm64 |= BigInt(imm8) << k;
        } else for (let k = 0; k < 8; k++) if ((imm8 >>> k) & 1) imm64 |= 0xffn << BigInt(8 * k);
        break;
      }
      // cmode 15: FMOV vector immediate
      if (op && !q) return false;
      if (!op) {
        const f = vfpExpand32(imm8);
        imm64 = rep32(f);
      } else imm64 = vfpExpand64(imm8);
  }
  const mvn = op && kind === 0 && cmode !== 15 && cmode !== 14;
  if (mvn) imm64 = BigInt.asUintN(64, ~imm64);
  const w = vviews(cpu.vr);
  if (kind === 0) {
    w.b64[d * 2] = imm64;
    w.b64[d * 2 + 1] = q ? imm64 : 0n;
  } else {
    for (let k = 0; k < 2; k++) {
      const cur = w.b64[d * 2 + k];
      w.b64[d * 2 + k] = k === 1 && !q ? 0n : kind === 1 ? cur | imm64 : cur & ~imm64 & MASKS[3];
    }
  }
  return true;
}

export function shiftImm(cpu: FpCpu, i: number): boolean {
  const q = (i >>> 30) & 1,
    u = (i >>> 29) & 1,
    immh = (i >>> 19) & 15,
    immb = (i >>> 16) & 7;
  const opcode = (i >>> 11) & 31,
    d = i & 31,
    n = (i >>> 5) & 31;
  if (!immh) return false;
  const es = 31 - Math.clz32(immh);
  const esize = 8 << es;
  const immhb = (immh << 3) | immb;
  const w = vviews(cpu.vr);
  clearT();
  if (opcode === 0x14) {
    // SSHLL/USHLL (widening)
    if (es === 3) return false;
    const sh = immhb - esize;
    const lanes = 64 >> (3 + es);
    const part = q ? lanes : 0;
    for (let e = 0; e < lanes; e++) {
      let v = getE(w, n, part + e, es);
      if (!u) v = sx(v, es);
      setE(TV, TMP, e, es + 1, v << BigInt(sh));
    }
    commit(cpu.vr, d, 1);
    return true;
  }
  if (opcode === 0x10 || opcode === 0x11) {
    // SHRN/RSHRN (u=0)
    if (u || es === 3) return false;
    const sh = 2 * esize - immhb;
    const lanes = 64 >> (3 + es);
    for (let e = 0; e < lanes; e++) {
      let v = getE(w, n, e, es + 1);
      if (opcode === 0x11) v += 1n << BigInt(sh - 1);
      setE(TV, TMP, e, es, v >> BigInt(sh));
    }
    if (q) {
      cpu.vr[d * 4 + 2] = T[0];
      cpu.vr[d * 4 + 3] = T[1];
    } else commit(cpu.vr, d, 0);
    return true;
  }
  if (es === 3 && !q) return false;
  const lanes = (q ? 16 : 8) >> es;
  const right = 2 * esize - immhb,
    left = immhb - esize;
  for (let e = 0; e < lanes; e++) {
    const v = getE(w, n, e, es);
    let r: bigint;
    switch (opcode) {
      case 0x00:
      case 0x02:
      case 0x04:
      case 0x06: {
        // SSHR/USHR, SSRA/USRA, SRSHR/URSHR, SRSRA/URSRA
        let x = u ? v : sx(v, es);
        if (opcode & 4) x += 1n << BigInt(right - 1);
        x >>= BigInt(right);
        r = opcode & 2 ? getE(w, d, e, es) + x : x;
        break;
      }
      case 0x0a: // SHL (u=0) / SLI (u=1)
        r = v << BigInt(left);
        if (u) r |= getE(w, d, e, es) & ((1n << BigInt(left)) - 1n);
        break;
      case 0x08: // SRI
        if (!u) return false;
        r = (v >> BigInt(right)) | (getE(w, d, e, es) & ~(MASKS[es] >> BigInt(right)) & MASKS[es]);
        if (right === esize) r = getE(w, d, e, es);
        break;
      default:
        return false;
    }
    setE(TV, TMP, e, es, r);
  }
  commit(cpu.vr, d, q);
  return true;
}

/** Integer three-same ops on element values (signed when needed); null = unallocated. */
export function intOp(opcode: number, u: number, es: number, a: bigint, b: bigint, dv: bigint): bigint | null {
  const sa = sx(a, es),
    sb = sx(b, es);
  const ones = MASKS[es];
  switch (opcode) {
    case 0x06:
      return (u ? a > b : sa > sb) ? ones : 0n; // CMGT/CMHI
    case 0x07:
      return (u ? a >= b : sa >= sb) ? ones : 0n; // CMGE/CMHS
    case 0x10:
      return u ? a - b : a + b; // ADD/SUB
    case 0x11:
      return u ? (a === b ? ones : 0n) : (a & b) !== 0n ? ones : 0n; // CMEQ/CMTST
    case 0x0c:
      return u ? (a > b ? a : b) : sa > sb ? a : b; // SMAX/UMAX
    case 0x0d:
      return u ? (a < b ? a : b) : sa < sb ? a : b; // SMIN/UMIN
    case 0x13:
      if (u) return null;
      return a * b; // MUL
    case 0x12:
      return u ? dv - a * b : dv + a * b; // MLA/MLS
    case 0x0e: {
      const x = u ? a - b : sa - sb;
      return x < 0n ? -x : x;
    } // SABD/UABD
    case 0x0f: {
      const x = u ? a - b : sa - sb;
      return dv + (x < 0n ? -x : x);
    } // SABA/UABA
    case 0x00:
      return u ? (a + b) >> 1n : (sa + sb) >> 1n; // SHADD/UHADD
    case 0x02:
      return u ? (a + b + 1n) >> 1n : (sa + sb + 1n) >> 1n; // SRHADD/URHADD
    case 0x04:
      return u ? (a - b) >> 1n : (sa - sb) >> 1n; // SHSUB/UHSUB
    case 0x08: {
      // SSHL/USHL: shift by signed low byte of b
      const s = Number(BigInt.asIntN(8, b)),
        esz = 8 << es;
      const x = u ? a : sa;
      if (s >= 0) return s >= esz ? 0n : x << BigInt(s);
      return -s >= esz ? (u ? 0n : sa < 0n ? -1n : 0n) : x >> BigInt(-s);
    }
  }
  return null;
}

export function threeSame(cpu: FpCpu, i: number): boolean {
  const q = (i >>> 30) & 1,
    u = (i >>> 29) & 1,
    size = (i >>> 22) & 3,
    opcode = (i >>> 11) & 31;
  const d = i & 31,
    n = (i >>> 5) & 31,
    m = (i >>> 16) & 31;
  const vr = cpu.vr;
  if (opcode >= 0x18) return vecFp3(cpu, i);
  if (opcode === 0x03) {
    // logical
    const words = q ? 4 : 2;
    for (let k = 0; k < 4; k++) {
      const a = vr[n * 4 + k],
        b = vr[m * 4 + k],
        dd = vr[d * 4 + k];
      let r: number;
      switch ((u << 2) | size) {
        case 0:
          r = a & b;
          break;
        case 1:
          r = a & ~b;
          break;
        case 2:
          r = a | b;
          break;
        case 3:
          r = a | ~b;
          break;
        case 4:
          r = a ^ b;
          break;
        case 5:
          r = (dd & a) | (~dd & b);
          break; // BSL
        case 6:
          r = (a & b) | (dd & ~b);
          break; // BIT
        default:
          r = (a & ~b) | (dd & b);
          break; // BIF
      }
      T[k] = k < words ? r : 0;
    }
    commit(vr, d, q);
    return true;
  }
  if (size === 3 && !q) return false;
  const w = vviews(vr);
  const lanes = (q ? 16 : 8) >> size;
  clearT();
  if (size === 0 && bytesSame(w, opcode, u, n, m, lanes)) {
    commit(vr, d, q);
    return true;
  }
  if (opcode === 0x14 || opcode === 0x15 || (opcode === 0x17 && !u)) {
    // pairwise max/min/add
    if (size === 3 && opcode !== 0x17) return false;
    for (let e = 0; e < lanes; e++) {
      const src = e < lanes / 2 ? n : m,
        k = (e % (lanes / 2)) * 2;
      const a = getE(w, src, k, size),
        b = getE(w, src, k + 1, size);
      let r: bigint;
      if (opcode === 0x17) r = a + b;
      else {
        const gt = u ? a > b : sx(a, size) > sx(b, size);
        r = (opcode === 0x14) === gt ? a : b;
      }
      setE(TV, TMP, e, size, r);
    }
    commit(vr, d, q);
    return true;
  }
  if (opcode === 0x01 || opcode === 0x05) {
    // SQADD/UQADD, SQSUB/UQSUB
    const bits = BigInt(8 << size);
    const lo = u ? 0n : -(1n << (bits - 1n)),
      hi = u ? (1n << bits) - 1n : (1n << (bits - 1n)) - 1n;
    for (let e = 0; e < lanes; e++) {
      let a = getE(w, n, e, size),
        b = getE(w, m, e, size);
      if (!u) {
        a = sx(a, size);
        b = sx(b, size);
      }
      let r = opcode === 1 ? a + b : a - b;
      if (r < lo || r > hi) {
        r = r < lo ? lo : hi;
        cpu.fpsr |= 1 << 27;
      } // QC
      setE(TV, TMP, e, size, r);
    }
    commit(vr, d, q);
    return true;
  }
  if (
    (opcode === 0x13 || opcode === 0x12 || opcode === 0x0e || opcode === 0x0f || opcode <= 0x04 || opcode === 0x0c || opcode === 0x0d) &&
    size === 3
  )
    return false;
  for (let e = 0; e < lanes; e++) {
    const r = intOp(opcode, u, size, getE(w, n, e, size), getE(w, m, e, size), getE(w, d, e, size));
    if (r === null) return false;
    setE(TV, TMP, e, size, r);
  }
  commit(vr, d, q);
  return true;
}

/** Byte-lane fast path (string functions) for three-same ops into TV; false when not covered. */
function bytesSame(w: VViews, opcode: number, u: number, n: number, m: number, lanes: number): boolean {
  const a = w.u8,
    o = TV.u8,
    bn = n * 16,
    bm = m * 16;
  switch ((opcode << 1) | u) {
    case 0x0c:
      for (let e = 0; e < lanes; e++) o[e] = (a[bn + e] << 24) >> 24 > (a[bm + e] << 24) >> 24 ? 255 : 0;
      return true; // CMGT
    case 0x0d:
      for (let e = 0; e < lanes; e++) o[e] = a[bn + e] > a[bm + e] ? 255 : 0;
      return true; // CMHI
    case 0x0e:
      for (let e = 0; e < lanes; e++) o[e] = (a[bn + e] << 24) >> 24 >= (a[bm + e] << 24) >> 24 ? 255 : 0;
      return true; // CMGE
    case 0x0f:
      for (let e = 0; e < lanes; e++) o[e] = a[bn + e] >= a[bm + e] ? 255 : 0;
      return true; // CMHS
    case 0x20:
      for (let e = 0; e < lanes; e++) o[e] = a[bn + e] + a[bm + e];
      return true; // ADD
    case 0x21:
      for (let e = 0; e < lanes; e++) o[e] = a[bn + e] - a[bm + e];
      return true; // SUB
    case 0x22:
      for (let e = 0; e < lanes; e++) o[e] = (a[bn + e] & a[bm + e]) !== 0 ? 255 : 0;
      return true; // CMTST
    case 0x23:
      for (let e = 0; e < lanes; e++) o[e] = a[bn + e] === a[bm + e] ? 255 : 0;
      return true; // CMEQ
    case 0x29:
    case 0x2b:
    case 0x2e: {
      // UMAXP, UMINP, ADDP
      const h = lanes >> 1;
      for (let e = 0; e < lanes; e++) {
        const b = (e < h ? bn : bm) + 2 * (e % h),
          x = a[b],
          y = a[b + 1];
        o[e] = opcode === 0x17 ? x + y : (opcode === 0x14) === x > y ? x : y;
      }
      return true;
    }
  }
  return false;
}

export function twoMisc(cpu: FpCpu, i: number): boolean {
  const q = (i >>> 30) & 1,
    u = (i >>> 29) & 1,
    size = (i >>> 22) & 3,
    opcode = (i >>> 12) & 31;
  const d = i & 31,
    n = (i >>> 5) & 31;
  const w = vviews(cpu.vr);
  clearT();
  if (opcode === 0x13 && u) {
    // SHLL/SHLL2: widen, shift left by esize
    if (size === 3) return false;
    const lanes = 8 >> size,
      part = q ? lanes : 0;
    for (let e = 0; e < lanes; e++) setE(TV, TMP, e, size + 1, getE(w, n, part + e, size) << BigInt(8 << size));
    commit(cpu.vr, d, 1);
    return true;
  }
  if (opcode >= 0x0c && opcode !== 0x12 && opcode !== 0x14) return vecFp2(cpu, i);
  if (opcode === 0x12 || opcode === 0x14) {
    // XTN / SQXTN / UQXTN / SQXTUN
    if (size === 3) return false;
    const lanes = 8 >> size;
    const max = MASKS[size];
    for (let e = 0; e < lanes; e++) {
      const v = getE(w, n, e, size + 1);
      let r = v;
      if (opcode === 0x14 || u) {
        const sv = sx(v, size + 1);
        const srcSigned = !(opcode === 0x14 && u);
        const dstSigned = opcode === 0x14 && !u;
        const val = srcSigned ? sv : v;
        const lo = dstSigned ? -(1n << BigInt((8 << size) - 1)) : 0n;
        const hi = dstSigned ? (1n << BigInt((8 << size) - 1)) - 1n : max;
        r = val < lo ? lo : val > hi ? hi : val;
        if (r !== val) cpu.fpsr |= 1 << 27; // QC
      }
      setE(TV, TMP, e, size, r);
    }
    if (q) {
      cpu.vr[d * 4 + 2] = T[0];
      cpu.vr[d * 4 + 3] = T[1];
    } else commit(cpu.vr, d, 0);
    return true;
  }
  if (size === 3 && !q && opcode !== 0x05) return false;
  const lanes = (q ? 16 : 8) >> size;
  switch (opcode) {
    case 0x00:
    case 0x01: {
      // REV64/REV32 (u=1)/REV16
      if (opcode === 1 && u) return false;
      const cont = opcode === 1 ? 1 : u ? 2 : 3; // container log2 bytes... in 16/32/64 bits
      const cbits = 16 << (cont - 1);
      if (8 << size >= cbits) return false;
      const per = cbits >> (3 + size);
      for (let e = 0; e < lanes; e++) {
        const base = e - (e % per);
        setE(TV, TMP, base + (per - 1 - (e % per)), size, getE(w, n, e, size));
      }
      break;
    }
    case 0x05:
      if (size === 0 || size === 1) {
        const bytes = q ? 16 : 8;
        if (size === 1 && !u) return false;
        if (size === 1) {
          for (let e = 0; e < bytes; e++) {
            let v = w.u8[n * 16 + e],
              r = 0;
            for (let b = 0; b < 8; b++) {
              r = (r << 1) | (v & 1);
              v >>= 1;
            }
            TV.u8[e] = r;
          }
          break;
        } // RBIT
        for (let e = 0; e < bytes; e++) TV.u8[e] = u ? ~w.u8[n * 16 + e] : popcnt8(w.u8[n * 16 + e]); // NOT / CNT
        break;
      }
      if (size === 0) {
        if (!u)
          for (let e = 0; e < lanes; e++) {
            let v = w.u8[n * 16 + e],
              c = 0;
            while (v) {
              c += v & 1;
              v >>= 1;
            }
            TV.u8[e] = c;
          } // CNT
        else for (let e = 0; e < lanes; e++) TV.u8[e] = ~w.u8[n * 16 + e]; // NOT
      } else if (size === 1 && u) {
        for (let e = 0; e < lanes; e++) {
          let v = w.u8[n * 16 + e],
            r = 0;
          for (let b = 0; b < 8; b++) {
            r = (r << 1) | (v & 1);
            v >>= 1;
          }
          TV.u8[e] = r;
        } // RBIT
      } else return false;
      break;
    case 0x08:
    case 0x09:
    case 0x0a: {
      // CMGT/CMGE #0, CMEQ/CMLE #0, CMLT #0
      if (opcode === 0x0a && u) return false;
      if (size === 0 && opcode === 0x09 && !u) {
        for (let e = 0; e < lanes; e++) TV.u8[e] = w.u8[n * 16 + e] === 0 ? 255 : 0;
        break;
      }
      for (let e = 0; e < lanes; e++) {
        const v = sx(getE(w, n, e, size), size);
        const t = opcode === 0x08 ? (u ? v >= 0n : v > 0n) : opcode === 0x09 ? (u ? v <= 0n : v === 0n) : v < 0n;
        setE(TV, TMP, e, size, t ? MASKS[size] : 0n);
      }
      break;
    }
    case 0x04: {
      // CLS / CLZ
      if (size === 3) return false;
      const bits = 8 << size;
      for (let e = 0; e < lanes; e++) {
        let v = Number(getE(w, n, e, size));
        if (!u) {
          const sign = (v >>> (bits - 1)) & 1;
          v = (sign ? ~v : v) & (2 ** bits - 1);
          v = (v << 1) & (2 ** bits - 1);
        }
        let c = 0;
        while (c < bits && ((v >>> (bits - 1 - c)) & 1) === 0) c++;
        if (!u) c = Math.min(c, bits - 1);
        setE(TV, TMP, e, size, BigInt(c));
      }
      break;
    }
    case 0x0b: // ABS / NEG
      for (let e = 0; e < lanes; e++) {
        const v = sx(getE(w, n, e, size), size);
        setE(TV, TMP, e, size, u ? -v : v < 0n ? -v : v);
      }
      break;
    case 0x02:
    case 0x06: {
      // SADDLP/UADDLP, SADALP/UADALP
      if (size === 3) return false;
      const out = lanes / 2;
      for (let e = 0; e < out; e++) {
        let a = getE(w, n, 2 * e, size),
          b = getE(w, n, 2 * e + 1, size);
        if (!u) {
          a = sx(a, size);
          b = sx(b, size);
        }
        setE(TV, TMP, e, size + 1, a + b + (opcode === 6 ? getE(w, d, e, size + 1) : 0n));
      }
      break;
    }
    default:
      return false;
  }
  commit(cpu.vr, d, q);
  return true;
}

export function threeDiff(cpu: FpCpu, i: number): boolean {
  const q = (i >>> 30) & 1,
    u = (i >>> 29) & 1,
    size = (i >>> 22) & 3,
    opcode = (i >>> 12) & 15;
  const d = i & 31,
    n = (i >>> 5) & 31,
    m = (i >>> 16) & 31;
  if (size === 3) return false;
  const w = vviews(cpu.vr);
  const lanes = 8 >> size,
    part = q ? lanes : 0;
  clearT();
  const sgn = (v: bigint, es: number): bigint => (u ? v : sx(v, es));
  switch (opcode) {
    case 0x4:
    case 0x6: {
      // ADDHN/RADDHN, SUBHN/RSUBHN (narrowing, high half)
      const esz = BigInt(8 << size);
      for (let e = 0; e < lanes; e++) {
        const a = getE(w, n, e, size + 1),
          b = getE(w, m, e, size + 1);
        let r = opcode === 4 ? a + b : a - b;
        if (u) r += 1n << (esz - 1n);
        setE(TV, TMP, e, size, BigInt.asUintN(16 << size, r) >> esz);
      }
      if (q) {
        cpu.vr[d * 4 + 2] = T[0];
        cpu.vr[d * 4 + 3] = T[1];
      } else commit(cpu.vr, d, 0);
      return true;
    }
    case 0x1:
    case 0x3: {
      // SADDW/UADDW, SSUBW/USUBW
      for (let e = 0; e < lanes; e++) {
        const a = getE(w, n, e, size + 1),
          b = sgn(getE(w, m, part + e, size), size);
        setE(TV, TMP, e, size + 1, opcode === 1 ? a + b : a - b);
      }
      commit(cpu.vr, d, 1);
      return true;
    }
    case 0x0:
    case 0x2:
    case 0xc:
    case 0x8:
    case 0xa:
    case 0x7:
    case 0x5: {
      // xADDL, xSUBL, xMULL, xMLAL, xMLSL, xABDL, xABAL
      for (let e = 0; e < lanes; e++) {
        const a = sgn(getE(w, n, part + e, size), size),
          b = sgn(getE(w, m, part + e, size), size);
        const acc = getE(w, d, e, size + 1);
        let r: bigint;
        switch (opcode) {
          case 0x0:
            r = a + b;
            break;
          case 0x2:
            r = a - b;
            break;
          case 0xc:
            r = a * b;
            break;
          case 0x8:
            r = acc + a * b;
            break;
          case 0xa:
            r = acc - a * b;
            break;
          case 0x7:
            r = a > b ? a - b : b - a;
            break;
          default:
            r = acc + (a > b ? a - b : b - a);
            break;
        }
        setE(TV, TMP, e, size + 1, r);
      }
      commit(cpu.vr, d, 1);
      return true;
    }
  }
  return false;
}

function popcnt8(v: number): number {
  let c = 0;
  while (v) {
    c += v & 1;
    v >>= 1;
  }
  return c;
}

/** Vector/scalar ops by element: FMLA/FMLS/FMUL, MUL/MLA/MLS, SMULL/UMULL/SMLAL/UMLAL/SMLSL/UMLSL. */
export function byElement(cpu: FpCpu, i: number, scalar: boolean): boolean {
  const q = (i >>> 30) & 1,
    u = (i >>> 29) & 1,
    size = (i >>> 22) & 3,
    L = (i >>> 21) & 1,
    M = (i >>> 20) & 1;
  const H = (i >>> 11) & 1,
    opcode = (i >>> 12) & 15,
    d = i & 31,
    n = (i >>> 5) & 31;
  const w = vviews(cpu.vr);
  const fp = !u && (opcode === 1 || opcode === 5 || opcode === 9);
  if (fp) {
    if (size < 2) return false; // half precision absent
    const sz = size & 1;
    if (sz && (L || (!q && !scalar))) return false;
    const index = sz ? H : (H << 1) | L,
      m = (M << 4) | ((i >>> 16) & 15),
      es = sz ? 3 : 2;
    const f = FMTS[sz],
      sb = 1n << BigInt(f.width - 1);
    const y = getE(w, m, index, es);
    const lanes = scalar ? 1 : (q ? 4 : 2) >> sz;
    const out: bigint[] = [];
    const env = envOf(cpu.fpcr);
    for (let e = 0; e < lanes; e++) {
      const x = getE(w, n, e, es);
      out.push(opcode === 9 ? fpMul(x, y, f, env) : fpMulAdd(getE(w, d, e, es), opcode === 5 ? x ^ sb : x, y, f, env, false, false));
    }
    cpu.fpsr |= env.flags;
    if (scalar) {
      w.b64[d * 2] = 0n;
      w.b64[d * 2 + 1] = 0n;
    }
    out.forEach((r, e) => setE(w, d, e, es, r));
    if (!q || scalar) w.b64[d * 2 + 1] = 0n;
    return true;
  }
  if (scalar || (size !== 1 && size !== 2)) return false;
  const index = size === 1 ? (H << 2) | (L << 1) | M : (H << 1) | L;
  const m = size === 1 ? (i >>> 16) & 15 : (M << 4) | ((i >>> 16) & 15);
  const y = getE(w, m, index, size);
  clearT();
  switch (opcode) {
    case 0x8:
    case 0x0:
    case 0x4: {
      // MUL (u=0), MLA (u=1, 0x0), MLS (u=1, 0x4)
      if ((opcode === 8) === (u === 1)) return false;
      const lanes = (q ? 16 : 8) >> size;
      for (let e = 0; e < lanes; e++) {
        const p = getE(w, n, e, size) * y;
        setE(TV, TMP, e, size, opcode === 8 ? p : opcode === 0 ? getE(w, d, e, size) + p : getE(w, d, e, size) - p);
      }
      commit(cpu.vr, d, q);
      return true;
    }
    case 0xa:
    case 0x2:
    case 0x6: {
      // xMULL, xMLAL, xMLSL (by element)
      const lanes = 8 >> size,
        part = q ? lanes : 0;
      const ys = u ? y : sx(y, size);
      for (let e = 0; e < lanes; e++) {
        const x = u ? getE(w, n, part + e, size) : sx(getE(w, n, part + e, size), size);
        const p = x * ys,
          acc = getE(w, d, e, size + 1);
        setE(TV, TMP, e, size + 1, opcode === 0xa ? p : opcode === 2 ? acc + p : acc - p);
      }
      commit(cpu.vr, d, 1);
      return true;
    }
  }
  return false;
}

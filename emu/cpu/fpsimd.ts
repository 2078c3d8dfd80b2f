// FP/SIMD (AdvSIMD + scalar FP) execution. The decoder hands every SIMD&FP instruction word to
// execFpSimd (op FPSIMD), which decodes it here on the fly: these instructions are rare outside
// string functions, so the interpreter's hot switch stays small. The V register file is an
// Int32Array of 32 x 4 little-endian words (V[n] bytes 0-15 at words 4n..4n+3).

import { add64, H } from './int64.ts';
import { execFpData } from './fp-arith.ts';

/** What fpsimd.ts needs from the CPU (implemented by Cpu). */
export interface FpCpu {
  readonly x: Int32Array;
  readonly vr: Int32Array;
  fpcr: number;
  fpsr: number;
  pcLo: number;
  pcHi: number;
  n: number; z: number; c: number; v: number;
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
export interface VViews { u8: Uint8Array; u16: Uint16Array; u32: Uint32Array; b64: BigUint64Array }

const views = new WeakMap<Int32Array, VViews>();
export function vviews(vr: Int32Array): VViews {
  let v = views.get(vr);
  if (!v) {
    const b = vr.buffer;
    const n = vr.length;
    v = { u8: new Uint8Array(b, vr.byteOffset, n * 4), u16: new Uint16Array(b, vr.byteOffset, n * 2), u32: new Uint32Array(b, vr.byteOffset, n), b64: new BigUint64Array(b, vr.byteOffset, n / 2) };
    views.set(vr, v);
  }
  return v;
}

// scratch result register (16 bytes) so destinations may alias sources
const T = new Int32Array(8);
const TV = vviews(T);
const MASKS = [0xffn, 0xffffn, 0xffffffffn, 0xffffffffffffffffn];

/** Element i (size 8<<es bits) of V[r], unsigned. */
export function getE(w: VViews, r: number, i: number, es: number): bigint {
  switch (es) {
    case 0: return BigInt(w.u8[r * 16 + i]);
    case 1: return BigInt(w.u16[r * 8 + i]);
    case 2: return BigInt(w.u32[r * 4 + i]);
    default: return w.b64[r * 2 + i];
  }
}
export function setE(w: VViews, r: number, i: number, es: number, v: bigint): void {
  switch (es) {
    case 0: w.u8[r * 16 + i] = Number(v & 0xffn); break;
    case 1: w.u16[r * 8 + i] = Number(v & 0xffffn); break;
    case 2: w.u32[r * 4 + i] = Number(v & 0xffffffffn); break;
    default: w.b64[r * 2 + i] = BigInt.asUintN(64, v); break;
  }
}
const sx = (v: bigint, es: number): bigint => BigInt.asIntN(8 << es, v);

function clearT(): void { T.fill(0); }
/** Copy the scratch register to V[d]; q=0 zeroes bits 64-127. */
function commit(vr: Int32Array, d: number, q: number): void {
  vr[d * 4] = T[0]; vr[d * 4 + 1] = T[1];
  vr[d * 4 + 2] = q ? T[2] : 0; vr[d * 4 + 3] = q ? T[3] : 0;
}
// T's second half (words 4-7) is a second scratch register at index 1 in TV
const TMP = 0;

/** Execute one SIMD&FP instruction; false = UNDEFINED. */
export function execFpSimd(cpu: FpCpu, i: number): boolean {
  const op0 = (i >>> 25) & 0xf;
  if ((op0 & 5) === 4) return loadStore(cpu, i);
  if ((op0 & 7) === 7) {
    if ((i & 0x5f000000) === 0x1e000000 || (i & 0x5f000000) === 0x1f000000) return execFpData(cpu, i); // scalar FP (incl. FP<->int)
    return advsimd(cpu, i);
  }
  return false;
}

// ---------------------------------------------------------------- loads and stores

function xslot(cpu: FpCpu, r: number, sp: boolean): [number, number] {
  if (r === 31 && !sp) return [0, 0];
  return [cpu.x[r * 2 + 1], cpu.x[r * 2]];
}

/** Transfer `bytes` (1,2,4,8,16) between memory at hi:lo and V[t] byte offset off. */
function xfer(cpu: FpCpu, load: boolean, hi: number, lo: number, t: number, off: number, bytes: number): void {
  const w = vviews(cpu.vr);
  const base = t * 16 + off;
  switch (bytes) {
    case 1: if (load) w.u8[base] = cpu.rd8(hi, lo); else cpu.wr8(hi, lo, w.u8[base]); return;
    case 2: if (load) w.u16[base >> 1] = cpu.rd16(hi, lo); else cpu.wr16(hi, lo, w.u16[base >> 1]); return;
    case 4: if (load) cpu.vr[base >> 2] = cpu.rd32(hi, lo); else cpu.wr32(hi, lo, cpu.vr[base >> 2]); return;
    case 8: {
      const k = base >> 2;
      if (load) { const l = cpu.rd64(hi, lo); cpu.vr[k + 1] = H.hi; cpu.vr[k] = l; } else cpu.wr64(hi, lo, cpu.vr[k + 1], cpu.vr[k]);
      return;
    }
    default: {
      const k = base >> 2;
      const l2 = add64(hi, lo, 0, 8), h2 = H.hi;
      if (load) {
        const a = cpu.rd64(hi, lo), ah = H.hi, b = cpu.rd64(h2, l2), bh = H.hi;
        cpu.vr[k] = a; cpu.vr[k + 1] = ah; cpu.vr[k + 2] = b; cpu.vr[k + 3] = bh;
      } else {
        cpu.wr64(hi, lo, cpu.vr[k + 1], cpu.vr[k]);
        cpu.wr64(h2, l2, cpu.vr[k + 3], cpu.vr[k + 2]);
      }
    }
  }
}

/** Whole-register load/store of `bytes` at hi:lo into V[t] (loads zero the rest). */
function xferReg(cpu: FpCpu, load: boolean, hi: number, lo: number, t: number, bytes: number): void {
  if (load) {
    // read first (a fault must leave V[t] intact), then zero-extend
    const save0 = cpu.vr[t * 4], save1 = cpu.vr[t * 4 + 1], save2 = cpu.vr[t * 4 + 2], save3 = cpu.vr[t * 4 + 3];
    try {
      if (bytes < 16) { cpu.vr[t * 4] = 0; cpu.vr[t * 4 + 1] = 0; cpu.vr[t * 4 + 2] = 0; cpu.vr[t * 4 + 3] = 0; }
      xfer(cpu, true, hi, lo, t, 0, bytes);
    } catch (e) {
      cpu.vr[t * 4] = save0; cpu.vr[t * 4 + 1] = save1; cpu.vr[t * 4 + 2] = save2; cpu.vr[t * 4 + 3] = save3;
      throw e;
    }
  } else xfer(cpu, false, hi, lo, t, 0, bytes);
}

function writeBack(cpu: FpCpu, n: number, hi: number, lo: number): void {
  cpu.x[n * 2] = lo; cpu.x[n * 2 + 1] = hi;
}

const sext = (v: number, bits: number): number => (v << (32 - bits)) >> (32 - bits);

function loadStore(cpu: FpCpu, i: number): boolean {
  const t = i & 31, n = (i >>> 5) & 31;
  if ((i & 0xbe000000) === 0x0c000000) return structures(cpu, i);
  if ((i & 0x3f000000) === 0x1c000000) { // LDR literal
    const opc = i >>> 30;
    if (opc === 3) return false;
    const off = sext((i >>> 5) & 0x7ffff, 19) * 4;
    let pl = (cpu.pcLo - 4) | 0, ph = cpu.pcHi;
    if ((cpu.pcLo >>> 0) < 4) ph = (ph - 1) | 0;
    pl = add64(ph, pl, off >> 31, off); ph = H.hi;
    xferReg(cpu, true, ph, pl, t, 4 << opc);
    return true;
  }
  if ((i & 0x3a000000) === 0x28000000) { // LDP/STP
    const opc = i >>> 30, L = (i >>> 22) & 1, mode = (i >>> 23) & 3, t2 = (i >>> 10) & 31;
    if (opc === 3) return false;
    if (L && t === t2) return false;
    const bytes = 4 << opc;
    const off = sext((i >>> 15) & 0x7f, 7) * bytes;
    const [bh, bl] = xslot(cpu, n, true);
    let lo = bl, hi = bh;
    if (mode !== 1) { lo = add64(bh, bl, off >> 31, off); hi = H.hi; }
    const l2 = add64(hi, lo, 0, bytes), h2 = H.hi;
    if (L) {
      const s = cpu.vr.slice(t * 4, t * 4 + 4);
      xferReg(cpu, true, hi, lo, t, bytes);
      try { xferReg(cpu, true, h2, l2, t2, bytes); } catch (e) { cpu.vr.set(s, t * 4); throw e; }
    } else {
      xferReg(cpu, false, hi, lo, t, bytes);
      xferReg(cpu, false, h2, l2, t2, bytes);
    }
    if (mode === 1) { const wl = add64(bh, bl, off >> 31, off); writeBack(cpu, n, H.hi, wl); }
    else if (mode === 3) writeBack(cpu, n, hi, lo);
    return true;
  }
  if ((i & 0x3b000000) !== 0x39000000 && (i & 0x3b000000) !== 0x38000000) return false;
  const size = i >>> 30, opc = (i >>> 22) & 3;
  if (opc >= 2 && size !== 0) return false;
  const L = opc & 1, scale = opc >= 2 ? 4 : size;
  const bytes = 1 << scale;
  const [bh, bl] = xslot(cpu, n, true);
  if ((i & 0x3b000000) === 0x39000000) { // unsigned offset
    const off = ((i >>> 10) & 0xfff) << scale;
    const lo = add64(bh, bl, 0, off);
    xferReg(cpu, L === 1, H.hi, lo, t, bytes);
    return true;
  }
  if ((i >>> 21) & 1) { // register offset
    if (((i >>> 10) & 3) !== 2) return false;
    const opt = (i >>> 13) & 7, S = (i >>> 12) & 1, m = (i >>> 16) & 31;
    if ((opt & 2) === 0) return false;
    let [mh, ml] = xslot(cpu, m, false);
    if (opt === 2) mh = 0; else if (opt === 6) mh = ml >> 31;
    const sh = S ? scale : 0;
    if (sh) { mh = (mh << sh) | (ml >>> (32 - sh)); ml <<= sh; }
    const lo = add64(bh, bl, mh, ml);
    xferReg(cpu, L === 1, H.hi, lo, t, bytes);
    return true;
  }
  const mode = (i >>> 10) & 3;
  if (mode === 2) return false;
  const imm = sext((i >>> 12) & 0x1ff, 9);
  const al = add64(bh, bl, imm >> 31, imm), ah = H.hi;
  if (mode === 1) { xferReg(cpu, L === 1, bh, bl, t, bytes); writeBack(cpu, n, ah, al); }
  else { xferReg(cpu, L === 1, ah, al, t, bytes); if (mode === 3) writeBack(cpu, n, ah, al); }
  return true;
}

// opcode → [rpt, selem] for LD/ST multiple structures
const MULTI: Record<number, [number, number]> = { 0: [1, 4], 2: [4, 1], 4: [1, 3], 6: [3, 1], 7: [1, 1], 8: [1, 2], 10: [2, 1] };

function structures(cpu: FpCpu, i: number): boolean {
  const q = (i >>> 30) & 1, L = (i >>> 22) & 1, post = (i >>> 23) & 1, single = (i >>> 24) & 1;
  const m = (i >>> 16) & 31, t = i & 31, n = (i >>> 5) & 31, size = (i >>> 10) & 3;
  if (!post && m !== 0) return false;
  const [bh, bl] = xslot(cpu, n, true);
  let hi = bh, lo = bl;
  const w = vviews(cpu.vr);
  let total = 0;
  if (!single) {
    if ((i >>> 21) & 1) return false;
    const opcode = (i >>> 12) & 15;
    const ms = MULTI[opcode];
    if (!ms) return false;
    const [rpt, selem] = ms;
    if (size === 3 && q === 0 && selem !== 1) return false;
    const ebytes = 1 << size, elements = (q ? 16 : 8) >> size;
    if (L && q === 0) for (let r = 0; r < rpt * selem; r++) { const tt = (t + r) & 31; cpu.vr[tt * 4 + 2] = 0; cpu.vr[tt * 4 + 3] = 0; }
    for (let r = 0; r < rpt; r++) {
      for (let e = 0; e < elements; e++) {
        let tt = (t + r) & 31;
        for (let s = 0; s < selem; s++) {
          xfer(cpu, L === 1, hi, lo, tt, e * ebytes, ebytes);
          lo = add64(hi, lo, 0, ebytes); hi = H.hi;
          tt = (tt + 1) & 31;
        }
      }
    }
    total = rpt * selem * elements * ebytes;
  } else {
    const opc = (i >>> 13) & 7, S = (i >>> 12) & 1, R = (i >>> 21) & 1;
    const selem = (((opc & 1) << 1) | R) + 1;
    let scale = opc >>> 1, index = 0;
    let replicate = false;
    switch (scale) {
      case 3:
        if (!L || S) return false;
        scale = size; replicate = true; break;
      case 0: index = (q << 3) | (S << 2) | size; break;
      case 1: if (size & 1) return false; index = (q << 2) | (S << 1) | (size >>> 1); break;
      case 2:
        if (size & 2) return false;
        if (size & 1) { if (S) return false; index = q; scale = 3; } else index = (q << 1) | S;
        break;
    }
    const ebytes = 1 << scale;
    let tt = t;
    for (let s = 0; s < selem; s++) {
      if (replicate) {
        xfer(cpu, true, hi, lo, tt, 0, ebytes); // element 0, then replicate
        const v = getE(w, tt, 0, scale);
        const lanes = (q ? 16 : 8) >> scale;
        for (let e = 1; e < lanes; e++) setE(w, tt, e, scale, v);
        if (!q) { cpu.vr[tt * 4 + 2] = 0; cpu.vr[tt * 4 + 3] = 0; }
      } else xfer(cpu, L === 1, hi, lo, tt, index * ebytes, ebytes);
      lo = add64(hi, lo, 0, ebytes); hi = H.hi;
      tt = (tt + 1) & 31;
    }
    total = selem * ebytes;
  }
  if (post) {
    if (m === 31) { const l = add64(bh, bl, 0, total); writeBack(cpu, n, H.hi, l); }
    else { const l = add64(bh, bl, cpu.x[m * 2 + 1], cpu.x[m * 2]); writeBack(cpu, n, H.hi, l); }
  }
  return true;
}

// ---------------------------------------------------------------- AdvSIMD data processing

function advsimd(cpu: FpCpu, i: number): boolean {
  const scalar = (i >>> 28) & 1;
  if (scalar) return advsimdScalar(cpu, i);
  if ((i & 0x9f000000) !== 0x0e000000 && (i & 0x9f000000) !== 0x0f000000) return false;
  if ((i >>> 24) & 1) {
    if ((i & 0x9ff80400) === 0x0f000400) return modImm(cpu, i);
    if ((i & 0x9f800400) === 0x0f000400) return shiftImm(cpu, i);
    if (!((i >>> 10) & 1)) return byElement(cpu, i, false);
    return false;
  }
  const b21 = (i >>> 21) & 1, b10 = (i >>> 10) & 1;
  if (b21) {
    if (b10) return threeSame(cpu, i);
    if (((i >>> 10) & 3) === 2) {
      const sel = (i >>> 17) & 15;
      if (sel === 0) return twoMisc(cpu, i);
      if (sel === 8) return acrossLanes(cpu, i);
      return false;
    }
    if (((i >>> 10) & 3) === 0) return threeDiff(cpu, i);
    return false;
  }
  if ((i & 0x9fe08400) === 0x0e000400) return copy(cpu, i);
  if ((i & 0xbf208c00) === 0x0e000800) return permute(cpu, i);
  if ((i & 0xbfe08400) === 0x2e000000) return ext(cpu, i);
  if ((i & 0xbfe08c00) === 0x0e000000) return tbl(cpu, i);
  return false;
}

function copy(cpu: FpCpu, i: number): boolean {
  const q = (i >>> 30) & 1, op = (i >>> 29) & 1, imm5 = (i >>> 16) & 31, imm4 = (i >>> 11) & 15;
  const d = i & 31, n = (i >>> 5) & 31;
  const es = imm5 & 1 ? 0 : imm5 & 2 ? 1 : imm5 & 4 ? 2 : imm5 & 8 ? 3 : 4;
  if (es > 3) return false;
  const idx = imm5 >>> (es + 1);
  const w = vviews(cpu.vr);
  if (op) { // INS (element)
    if (!q) return false;
    setE(w, d, idx, es, getE(w, n, imm4 >>> es, es));
    return true;
  }
  const lanes = (q ? 16 : 8) >> es;
  switch (imm4) {
    case 0: { // DUP element
      if (es === 3 && !q) return false;
      const v = getE(w, n, idx, es);
      clearT();
      for (let e = 0; e < lanes; e++) setE(TV, TMP, e, es, v);
      commit(cpu.vr, d, q);
      return true;
    }
    case 1: { // DUP general
      if (es === 3 && !q) return false;
      const [hi, lo] = xslot(cpu, n, false);
      const v = (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
      clearT();
      for (let e = 0; e < lanes; e++) setE(TV, TMP, e, es, v);
      commit(cpu.vr, d, q);
      return true;
    }
    case 3: { // INS general
      if (!q) return false;
      const [hi, lo] = xslot(cpu, n, false);
      setE(w, d, idx, es, (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0));
      return true;
    }
    case 5: case 7: { // SMOV / UMOV
      const signed = imm4 === 5;
      if (signed ? (es >= 2 + q || (es === 2 && !q)) : (q ? es !== 3 : es === 3)) {
        if (signed && q && es === 2) { /* SMOV Xd, Vn.S[i] */ } else return false;
      }
      let v = getE(w, n, idx, es);
      if (signed) v = sx(v, es);
      const sf = q;
      if (d !== 31) {
        const u = BigInt.asUintN(sf ? 64 : 32, v);
        cpu.x[d * 2] = Number(u & 0xffffffffn) | 0;
        cpu.x[d * 2 + 1] = Number(u >> 32n) | 0;
      }
      return true;
    }
  }
  return false;
}

function modImm(cpu: FpCpu, i: number): boolean {
  const q = (i >>> 30) & 1, op = (i >>> 29) & 1, cmode = (i >>> 12) & 15, o2 = (i >>> 11) & 1, d = i & 31;
  const abc = (i >>> 16) & 7, defgh = (i >>> 5) & 31;
  const imm8 = (abc << 5) | defgh;
  if (o2) return false;
  let imm64: bigint;
  const rep32 = (v: number): bigint => { const b = BigInt(v >>> 0); return (b << 32n) | b; };
  const rep16 = (v: number): bigint => rep32(((v & 0xffff) << 16) | (v & 0xffff));
  let kind = 0; // 0 MOVI/MVNI, 1 ORR, 2 BIC
  switch (cmode >>> 1) {
    case 0: case 1: case 2: case 3: imm64 = rep32(imm8 << (8 * (cmode >>> 1))); kind = cmode & 1 ? (op ? 2 : 1) : 0; break;
    case 4: case 5: imm64 = rep16(imm8 << (8 * ((cmode >>> 1) & 1))); kind = cmode & 1 ? (op ? 2 : 1) : 0; break;
    case 6: imm64 = rep32(cmode & 1 ? (imm8 << 16) | 0xffff : (imm8 << 8) | 0xff); break;
    default:
      if (cmode === 14) {
        imm64 = 0n;
        if (!op) { for (let k = 0n; k < 64n; k += 8n) imm64 |= BigInt(imm8) << k; }
        else for (let k = 0; k < 8; k++) if ((imm8 >>> k) & 1) imm64 |= 0xffn << BigInt(8 * k);
        break;
      }
      // cmode 15: FMOV vector immediate
      if (op && !q) return false;
      if (!op) { const f = vfpExpand32(imm8); imm64 = rep32(f); } else imm64 = vfpExpand64(imm8);
  }
  const mvn = op && kind === 0 && cmode !== 15 && cmode !== 14;
  if (mvn) imm64 = BigInt.asUintN(64, ~imm64);
  const w = vviews(cpu.vr);
  if (kind === 0) {
    w.b64[d * 2] = imm64; w.b64[d * 2 + 1] = q ? imm64 : 0n;
  } else {
    for (let k = 0; k < 2; k++) {
      const cur = w.b64[d * 2 + k];
      w.b64[d * 2 + k] = k === 1 && !q ? 0n : kind === 1 ? cur | imm64 : cur & ~imm64 & MASKS[3];
    }
  }
  return true;
}

export function vfpExpand32(imm8: number): number {
  const a = imm8 >>> 7, b = (imm8 >>> 6) & 1, cdefgh = imm8 & 0x3f;
  return ((a << 31) | ((b ? 0 : 1) << 30) | ((b ? 0x1f : 0) << 25) | (cdefgh << 19)) >>> 0;
}
export function vfpExpand64(imm8: number): bigint {
  const a = BigInt(imm8 >>> 7), b = (imm8 >>> 6) & 1, cdefgh = BigInt(imm8 & 0x3f);
  return (a << 63n) | (BigInt(b ? 0 : 1) << 62n) | (BigInt(b ? 0xff : 0) << 54n) | (cdefgh << 48n);
}

function shiftImm(cpu: FpCpu, i: number): boolean {
  const q = (i >>> 30) & 1, u = (i >>> 29) & 1, immh = (i >>> 19) & 15, immb = (i >>> 16) & 7;
  const opcode = (i >>> 11) & 31, d = i & 31, n = (i >>> 5) & 31;
  if (!immh) return false;
  const es = 31 - Math.clz32(immh);
  const esize = 8 << es;
  const immhb = (immh << 3) | immb;
  const w = vviews(cpu.vr);
  clearT();
  if (opcode === 0x14) { // SSHLL/USHLL (widening)
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
  if (opcode === 0x10 || opcode === 0x11) { // SHRN/RSHRN (u=0)
    if (u || es === 3) return false;
    const sh = 2 * esize - immhb;
    const lanes = 64 >> (3 + es);
    for (let e = 0; e < lanes; e++) {
      let v = getE(w, n, e, es + 1);
      if (opcode === 0x11) v += 1n << BigInt(sh - 1);
      setE(TV, TMP, e, es, v >> BigInt(sh));
    }
    if (q) { cpu.vr[d * 4 + 2] = T[0]; cpu.vr[d * 4 + 3] = T[1]; } else commit(cpu.vr, d, 0);
    return true;
  }
  if (es === 3 && !q) return false;
  const lanes = (q ? 16 : 8) >> es;
  const right = 2 * esize - immhb, left = immhb - esize;
  for (let e = 0; e < lanes; e++) {
    const v = getE(w, n, e, es);
    let r: bigint;
    switch (opcode) {
      case 0x00: case 0x02: case 0x04: case 0x06: { // SSHR/USHR, SSRA/USRA, SRSHR/URSHR, SRSRA/URSRA
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
      default: return false;
    }
    setE(TV, TMP, e, es, r);
  }
  commit(cpu.vr, d, q);
  return true;
}

/** Integer three-same ops on element values (signed when needed); null = unallocated. */
function intOp(opcode: number, u: number, es: number, a: bigint, b: bigint, dv: bigint): bigint | null {
  const sa = sx(a, es), sb = sx(b, es);
  const ones = MASKS[es];
  switch (opcode) {
    case 0x06: return (u ? a > b : sa > sb) ? ones : 0n; // CMGT/CMHI
    case 0x07: return (u ? a >= b : sa >= sb) ? ones : 0n; // CMGE/CMHS
    case 0x10: return u ? a - b : a + b; // ADD/SUB
    case 0x11: return u ? (a === b ? ones : 0n) : ((a & b) !== 0n ? ones : 0n); // CMEQ/CMTST
    case 0x0c: return u ? (a > b ? a : b) : (sa > sb ? a : b); // SMAX/UMAX
    case 0x0d: return u ? (a < b ? a : b) : (sa < sb ? a : b); // SMIN/UMIN
    case 0x13: if (u) return null; return a * b; // MUL
    case 0x12: return u ? dv - a * b : dv + a * b; // MLA/MLS
    case 0x0e: { const x = u ? a - b : sa - sb; return x < 0n ? -x : x; } // SABD/UABD
    case 0x0f: { const x = u ? a - b : sa - sb; return dv + (x < 0n ? -x : x); } // SABA/UABA
    case 0x00: return u ? (a + b) >> 1n : (sa + sb) >> 1n; // SHADD/UHADD
    case 0x02: return u ? (a + b + 1n) >> 1n : (sa + sb + 1n) >> 1n; // SRHADD/URHADD
    case 0x04: return u ? (a - b) >> 1n : (sa - sb) >> 1n; // SHSUB/UHSUB
    case 0x08: { // SSHL/USHL: shift by signed low byte of b
      const s = Number(BigInt.asIntN(8, b)), esz = 8 << es;
      const x = u ? a : sa;
      if (s >= 0) return s >= esz ? 0n : x << BigInt(s);
      return -s >= esz ? (u ? 0n : (sa < 0n ? -1n : 0n)) : x >> BigInt(-s);
    }
  }
  return null;
}

function threeSame(cpu: FpCpu, i: number): boolean {
  const q = (i >>> 30) & 1, u = (i >>> 29) & 1, size = (i >>> 22) & 3, opcode = (i >>> 11) & 31;
  const d = i & 31, n = (i >>> 5) & 31, m = (i >>> 16) & 31;
  const vr = cpu.vr;
  if (opcode >= 0x18) return vecFp3(cpu, i);
  if (opcode === 0x03) { // logical
    const words = q ? 4 : 2;
    for (let k = 0; k < 4; k++) {
      const a = vr[n * 4 + k], b = vr[m * 4 + k], dd = vr[d * 4 + k];
      let r: number;
      switch ((u << 2) | size) {
        case 0: r = a & b; break;
        case 1: r = a & ~b; break;
        case 2: r = a | b; break;
        case 3: r = a | ~b; break;
        case 4: r = a ^ b; break;
        case 5: r = (dd & a) | (~dd & b); break; // BSL
        case 6: r = (a & b) | (dd & ~b); break; // BIT
        default: r = (a & ~b) | (dd & b); break; // BIF
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
  if (size === 0 && bytesSame(w, opcode, u, n, m, lanes)) { commit(vr, d, q); return true; }
  if (opcode === 0x14 || opcode === 0x15 || (opcode === 0x17 && !u)) { // pairwise max/min/add
    if (size === 3 && opcode !== 0x17) return false;
    for (let e = 0; e < lanes; e++) {
      const src = e < lanes / 2 ? n : m, k = (e % (lanes / 2)) * 2;
      const a = getE(w, src, k, size), b = getE(w, src, k + 1, size);
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
  if (opcode === 0x01 || opcode === 0x05) { // SQADD/UQADD, SQSUB/UQSUB
    const bits = BigInt(8 << size);
    const lo = u ? 0n : -(1n << (bits - 1n)), hi = u ? (1n << bits) - 1n : (1n << (bits - 1n)) - 1n;
    for (let e = 0; e < lanes; e++) {
      let a = getE(w, n, e, size), b = getE(w, m, e, size);
      if (!u) { a = sx(a, size); b = sx(b, size); }
      let r = opcode === 1 ? a + b : a - b;
      if (r < lo || r > hi) { r = r < lo ? lo : hi; cpu.fpsr |= 1 << 27; } // QC
      setE(TV, TMP, e, size, r);
    }
    commit(vr, d, q);
    return true;
  }
  if ((opcode === 0x13 || opcode === 0x12 || opcode === 0x0e || opcode === 0x0f || opcode <= 0x04 || opcode === 0x0c || opcode === 0x0d) && size === 3) return false;
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
  const a = w.u8, o = TV.u8, bn = n * 16, bm = m * 16;
  switch ((opcode << 1) | u) {
    case 0x0c: for (let e = 0; e < lanes; e++) o[e] = ((a[bn + e] << 24) >> 24) > ((a[bm + e] << 24) >> 24) ? 255 : 0; return true; // CMGT
    case 0x0d: for (let e = 0; e < lanes; e++) o[e] = a[bn + e] > a[bm + e] ? 255 : 0; return true; // CMHI
    case 0x0e: for (let e = 0; e < lanes; e++) o[e] = ((a[bn + e] << 24) >> 24) >= ((a[bm + e] << 24) >> 24) ? 255 : 0; return true; // CMGE
    case 0x0f: for (let e = 0; e < lanes; e++) o[e] = a[bn + e] >= a[bm + e] ? 255 : 0; return true; // CMHS
    case 0x20: for (let e = 0; e < lanes; e++) o[e] = a[bn + e] + a[bm + e]; return true; // ADD
    case 0x21: for (let e = 0; e < lanes; e++) o[e] = a[bn + e] - a[bm + e]; return true; // SUB
    case 0x22: for (let e = 0; e < lanes; e++) o[e] = (a[bn + e] & a[bm + e]) !== 0 ? 255 : 0; return true; // CMTST
    case 0x23: for (let e = 0; e < lanes; e++) o[e] = a[bn + e] === a[bm + e] ? 255 : 0; return true; // CMEQ
    case 0x29: case 0x2b: case 0x2e: { // UMAXP, UMINP, ADDP
      const h = lanes >> 1;
      for (let e = 0; e < lanes; e++) {
        const b = (e < h ? bn : bm) + 2 * (e % h), x = a[b], y = a[b + 1];
        o[e] = opcode === 0x17 ? x + y : (opcode === 0x14) === (x > y) ? x : y;
      }
      return true;
    }
  }
  return false;
}

function twoMisc(cpu: FpCpu, i: number): boolean {
  const q = (i >>> 30) & 1, u = (i >>> 29) & 1, size = (i >>> 22) & 3, opcode = (i >>> 12) & 31;
  const d = i & 31, n = (i >>> 5) & 31;
  const w = vviews(cpu.vr);
  clearT();
  if (opcode === 0x13 && u) { // SHLL/SHLL2: widen, shift left by esize
    if (size === 3) return false;
    const lanes = 8 >> size, part = q ? lanes : 0;
    for (let e = 0; e < lanes; e++) setE(TV, TMP, e, size + 1, getE(w, n, part + e, size) << BigInt(8 << size));
    commit(cpu.vr, d, 1);
    return true;
  }
  if (opcode >= 0x0c && opcode !== 0x12 && opcode !== 0x14) return vecFp2(cpu, i);
  if (opcode === 0x12 || opcode === 0x14) { // XTN / SQXTN / UQXTN / SQXTUN
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
    if (q) { cpu.vr[d * 4 + 2] = T[0]; cpu.vr[d * 4 + 3] = T[1]; } else commit(cpu.vr, d, 0);
    return true;
  }
  if (size === 3 && !q && opcode !== 0x05) return false;
  const lanes = (q ? 16 : 8) >> size;
  switch (opcode) {
    case 0x00: case 0x01: { // REV64/REV32 (u=1)/REV16
      if (opcode === 1 && u) return false;
      const cont = opcode === 1 ? 1 : u ? 2 : 3; // container log2 bytes... in 16/32/64 bits
      const cbits = 16 << (cont - 1);
      if ((8 << size) >= cbits) return false;
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
        if (size === 1) { for (let e = 0; e < bytes; e++) { let v = w.u8[n * 16 + e], r = 0; for (let b = 0; b < 8; b++) { r = (r << 1) | (v & 1); v >>= 1; } TV.u8[e] = r; } break; } // RBIT
        for (let e = 0; e < bytes; e++) TV.u8[e] = u ? ~w.u8[n * 16 + e] : popcnt8(w.u8[n * 16 + e]); // NOT / CNT
        break;
      }
      if (size === 0) {
        if (!u) for (let e = 0; e < lanes; e++) { let v = w.u8[n * 16 + e], c = 0; while (v) { c += v & 1; v >>= 1; } TV.u8[e] = c; } // CNT
        else for (let e = 0; e < lanes; e++) TV.u8[e] = ~w.u8[n * 16 + e]; // NOT
      } else if (size === 1 && u) {
        for (let e = 0; e < lanes; e++) { let v = w.u8[n * 16 + e], r = 0; for (let b = 0; b < 8; b++) { r = (r << 1) | (v & 1); v >>= 1; } TV.u8[e] = r; } // RBIT
      } else return false;
      break;
    case 0x08: case 0x09: case 0x0a: { // CMGT/CMGE #0, CMEQ/CMLE #0, CMLT #0
      if (opcode === 0x0a && u) return false;
      if (size === 0 && opcode === 0x09 && !u) { for (let e = 0; e < lanes; e++) TV.u8[e] = w.u8[n * 16 + e] === 0 ? 255 : 0; break; }
      for (let e = 0; e < lanes; e++) {
        const v = sx(getE(w, n, e, size), size);
        const t = opcode === 0x08 ? (u ? v >= 0n : v > 0n) : opcode === 0x09 ? (u ? v <= 0n : v === 0n) : v < 0n;
        setE(TV, TMP, e, size, t ? MASKS[size] : 0n);
      }
      break;
    }
    case 0x04: { // CLS / CLZ
      if (size === 3) return false;
      const bits = 8 << size;
      for (let e = 0; e < lanes; e++) {
        let v = Number(getE(w, n, e, size));
        if (!u) { const sign = (v >>> (bits - 1)) & 1; v = (sign ? ~v : v) & ((2 ** bits) - 1); v = (v << 1) & ((2 ** bits) - 1); }
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
    case 0x02: case 0x06: { // SADDLP/UADDLP, SADALP/UADALP
      if (size === 3) return false;
      const out = lanes / 2;
      for (let e = 0; e < out; e++) {
        let a = getE(w, n, 2 * e, size), b = getE(w, n, 2 * e + 1, size);
        if (!u) { a = sx(a, size); b = sx(b, size); }
        setE(TV, TMP, e, size + 1, a + b + (opcode === 6 ? getE(w, d, e, size + 1) : 0n));
      }
      break;
    }
    default: return false;
  }
  commit(cpu.vr, d, q);
  return true;
}

function acrossLanes(cpu: FpCpu, i: number): boolean {
  const q = (i >>> 30) & 1, u = (i >>> 29) & 1, size = (i >>> 22) & 3, opcode = (i >>> 12) & 31;
  const d = i & 31, n = (i >>> 5) & 31;
  if (opcode === 0x0c || opcode === 0x0f) return false; // FP across lanes (FMAXNMV...) not implemented
  if (size === 3 || (size === 2 && !q)) return false;
  const w = vviews(cpu.vr);
  const lanes = (q ? 16 : 8) >> size;
  if (size === 0 && u && (opcode === 0x0a || opcode === 0x1a)) { // UMAXV/UMINV B (string functions)
    let acc = w.u8[n * 16];
    for (let e = 1; e < lanes; e++) { const v = w.u8[n * 16 + e]; if (opcode === 0x0a ? v > acc : v < acc) acc = v; }
    cpu.vr[d * 4] = acc; cpu.vr[d * 4 + 1] = 0; cpu.vr[d * 4 + 2] = 0; cpu.vr[d * 4 + 3] = 0;
    return true;
  }
  let acc = u ? getE(w, n, 0, size) : sx(getE(w, n, 0, size), size);
  let outEs = size;
  for (let e = 1; e < lanes; e++) {
    const v = u ? getE(w, n, e, size) : sx(getE(w, n, e, size), size);
    switch (opcode) {
      case 0x1b: if (u) return false; acc += v; break; // ADDV
      case 0x03: acc += v; outEs = size + 1; break; // SADDLV/UADDLV
      case 0x0a: if (v > acc) acc = v; break; // MAXV
      case 0x1a: if (v < acc) acc = v; break; // MINV
      default: return false;
    }
  }
  if (opcode === 0x03) outEs = size + 1;
  clearT();
  setE(TV, TMP, 0, outEs, acc);
  commit(cpu.vr, d, 0);
  return true;
}

function threeDiff(cpu: FpCpu, i: number): boolean {
  const q = (i >>> 30) & 1, u = (i >>> 29) & 1, size = (i >>> 22) & 3, opcode = (i >>> 12) & 15;
  const d = i & 31, n = (i >>> 5) & 31, m = (i >>> 16) & 31;
  if (size === 3) return false;
  const w = vviews(cpu.vr);
  const lanes = 8 >> size, part = q ? lanes : 0;
  clearT();
  const sgn = (v: bigint, es: number): bigint => (u ? v : sx(v, es));
  switch (opcode) {
    case 0x4: case 0x6: { // ADDHN/RADDHN, SUBHN/RSUBHN (narrowing, high half)
      const esz = BigInt(8 << size);
      for (let e = 0; e < lanes; e++) {
        const a = getE(w, n, e, size + 1), b = getE(w, m, e, size + 1);
        let r = opcode === 4 ? a + b : a - b;
        if (u) r += 1n << (esz - 1n);
        setE(TV, TMP, e, size, BigInt.asUintN(16 << size, r) >> esz);
      }
      if (q) { cpu.vr[d * 4 + 2] = T[0]; cpu.vr[d * 4 + 3] = T[1]; } else commit(cpu.vr, d, 0);
      return true;
    }
    case 0x1: case 0x3: { // SADDW/UADDW, SSUBW/USUBW
      for (let e = 0; e < lanes; e++) {
        const a = getE(w, n, e, size + 1), b = sgn(getE(w, m, part + e, size), size);
        setE(TV, TMP, e, size + 1, opcode === 1 ? a + b : a - b);
      }
      commit(cpu.vr, d, 1);
      return true;
    }
    case 0x0: case 0x2: case 0xc: case 0x8: case 0xa: case 0x7: case 0x5: { // xADDL, xSUBL, xMULL, xMLAL, xMLSL, xABDL, xABAL
      for (let e = 0; e < lanes; e++) {
        const a = sgn(getE(w, n, part + e, size), size), b = sgn(getE(w, m, part + e, size), size);
        const acc = getE(w, d, e, size + 1);
        let r: bigint;
        switch (opcode) {
          case 0x0: r = a + b; break;
          case 0x2: r = a - b; break;
          case 0xc: r = a * b; break;
          case 0x8: r = acc + a * b; break;
          case 0xa: r = acc - a * b; break;
          case 0x7: r = a > b ? a - b : b - a; break;
          default: r = acc + (a > b ? a - b : b - a); break;
        }
        setE(TV, TMP, e, size + 1, r);
      }
      commit(cpu.vr, d, 1);
      return true;
    }
  }
  return false;
}

function permute(cpu: FpCpu, i: number): boolean {
  const q = (i >>> 30) & 1, size = (i >>> 22) & 3, opcode = (i >>> 12) & 7;
  const d = i & 31, n = (i >>> 5) & 31, m = (i >>> 16) & 31;
  if (opcode === 0 || opcode === 4 || (size === 3 && !q)) return false;
  const w = vviews(cpu.vr);
  const lanes = (q ? 16 : 8) >> size, half = lanes / 2, part = opcode >>> 2;
  clearT();
  for (let e = 0; e < lanes; e++) {
    let v: bigint;
    switch (opcode & 3) {
      case 1: { const k = 2 * e + part; v = k < lanes ? getE(w, n, k, size) : getE(w, m, k - lanes, size); break; } // UZP
      case 2: v = getE(w, e & 1 ? m : n, (e & ~1) + part, size); break; // TRN
      default: v = getE(w, e & 1 ? m : n, part * half + (e >> 1), size); break; // ZIP
    }
    setE(TV, TMP, e, size, v);
  }
  commit(cpu.vr, d, q);
  return true;
}

function ext(cpu: FpCpu, i: number): boolean {
  const q = (i >>> 30) & 1, imm4 = (i >>> 11) & 15;
  const d = i & 31, n = (i >>> 5) & 31, m = (i >>> 16) & 31;
  if (!q && imm4 >= 8) return false;
  const w = vviews(cpu.vr);
  const bytes = q ? 16 : 8;
  clearT();
  for (let e = 0; e < bytes; e++) {
    const k = e + imm4;
    TV.u8[e] = k < bytes ? w.u8[n * 16 + k] : w.u8[m * 16 + k - bytes];
  }
  commit(cpu.vr, d, q);
  return true;
}

function tbl(cpu: FpCpu, i: number): boolean {
  const q = (i >>> 30) & 1, len = ((i >>> 13) & 3) + 1, tbx = (i >>> 12) & 1;
  const d = i & 31, n = (i >>> 5) & 31, m = (i >>> 16) & 31;
  const w = vviews(cpu.vr);
  const bytes = q ? 16 : 8;
  clearT();
  for (let e = 0; e < bytes; e++) {
    const idx = w.u8[m * 16 + e];
    TV.u8[e] = idx < 16 * len ? w.u8[((n + (idx >> 4)) & 31) * 16 + (idx & 15)] : tbx ? w.u8[d * 16 + e] : 0;
  }
  commit(cpu.vr, d, q);
  return true;
}

// ---------------------------------------------------------------- AdvSIMD scalar

function advsimdScalar(cpu: FpCpu, i: number): boolean {
  const d = i & 31, n = (i >>> 5) & 31, m = (i >>> 16) & 31;
  const w = vviews(cpu.vr);
  if ((i & 0xdfe08400) === 0x5e000400 && ((i >>> 11) & 15) === 0) { // DUP (element), scalar
    const imm5 = (i >>> 16) & 31;
    const es = imm5 & 1 ? 0 : imm5 & 2 ? 1 : imm5 & 4 ? 2 : imm5 & 8 ? 3 : 4;
    if (es > 3 || (i >>> 29) & 1) return false;
    clearT();
    setE(TV, TMP, 0, es, getE(w, n, imm5 >>> (es + 1), es));
    commit(cpu.vr, d, 0);
    return true;
  }
  if ((i & 0xdf3e0c00) === 0x5e380800) { // scalar pairwise: ADDP (size 11, opcode 11011)
    const size = (i >>> 22) & 3, opcode = (i >>> 12) & 31;
    if ((i >>> 29) & 1 || size !== 3 || opcode !== 0x1b) return false;
    clearT();
    TV.b64[0] = BigInt.asUintN(64, w.b64[n * 2] + w.b64[n * 2 + 1]);
    commit(cpu.vr, d, 0);
    return true;
  }
  if ((i & 0xdf200400) === 0x5e200400) { // scalar three same (64-bit integer forms, FP compares, FABD)
    const u = (i >>> 29) & 1, size = (i >>> 22) & 3, opcode = (i >>> 11) & 31;
    if (opcode >= 0x18) return vecFp3(cpu, i, true);
    if (size !== 3 || ![0x06, 0x07, 0x10, 0x11, 0x08].includes(opcode)) return false;
    const r = intOp(opcode, u, 3, w.b64[n * 2], w.b64[m * 2], 0n);
    if (r === null) return false;
    clearT(); TV.b64[0] = BigInt.asUintN(64, r); commit(cpu.vr, d, 0);
    return true;
  }
  if ((i & 0xdf000400) === 0x5f000000) return byElement(cpu, i, true);
  if ((i & 0xdf800400) === 0x5f000400) { // scalar shift by immediate (64-bit USHR/SSHR/SHL)
    const immh = (i >>> 19) & 15, opcode = (i >>> 11) & 31, u = (i >>> 29) & 1;
    if (!(immh & 8)) return false;
    const immhb = (immh << 3) | ((i >>> 16) & 7);
    const v = w.b64[n * 2];
    let r: bigint;
    if (opcode === 0x00) r = u ? v >> BigInt(128 - immhb) : BigInt.asIntN(64, v) >> BigInt(128 - immhb);
    else if (opcode === 0x0a && !u) r = v << BigInt(immhb - 64);
    else return false;
    clearT(); TV.b64[0] = BigInt.asUintN(64, r); commit(cpu.vr, d, 0);
    return true;
  }
  if ((i & 0xdf3e0c00) === 0x5e200800) { // scalar two-reg misc: CMEQ/CMGT/CMGE/CMLE/CMLT #0, ABS/NEG (64-bit), FP conversions/compares
    const u = (i >>> 29) & 1, size = (i >>> 22) & 3, opcode = (i >>> 12) & 31;
    if (opcode >= 0x0c && opcode !== 0x12 && opcode !== 0x14) return vecFp2(cpu, i, true);
    if (size !== 3) return false;
    const v = BigInt.asIntN(64, w.b64[n * 2]);
    let r: bigint;
    switch (opcode) {
      case 0x08: r = (u ? v >= 0n : v > 0n) ? MASKS[3] : 0n; break;
      case 0x09: r = (u ? v <= 0n : v === 0n) ? MASKS[3] : 0n; break;
      case 0x0a: if (u) return false; r = v < 0n ? MASKS[3] : 0n; break;
      case 0x0b: r = u ? -v : v < 0n ? -v : v; break;
      default: return false;
    }
    clearT(); TV.b64[0] = BigInt.asUintN(64, r); commit(cpu.vr, d, 0);
    return true;
  }
  return false;
}

// vector FP ops delegate to fp-arith (imported lazily to keep this file about integers)
import { envOf, FMTS, fpMul, fpMulAdd, vecFp2, vecFp3 } from './fp-arith.ts';

function popcnt8(v: number): number { let c = 0; while (v) { c += v & 1; v >>= 1; } return c; }

/** Vector/scalar ops by element: FMLA/FMLS/FMUL, MUL/MLA/MLS, SMULL/UMULL/SMLAL/UMLAL/SMLSL/UMLSL. */
function byElement(cpu: FpCpu, i: number, scalar: boolean): boolean {
  const q = (i >>> 30) & 1, u = (i >>> 29) & 1, size = (i >>> 22) & 3, L = (i >>> 21) & 1, M = (i >>> 20) & 1;
  const H = (i >>> 11) & 1, opcode = (i >>> 12) & 15, d = i & 31, n = (i >>> 5) & 31;
  const w = vviews(cpu.vr);
  const fp = !u && (opcode === 1 || opcode === 5 || opcode === 9);
  if (fp) {
    if (size < 2) return false; // half precision absent
    const sz = size & 1;
    if (sz && (L || (!q && !scalar))) return false;
    const index = sz ? H : (H << 1) | L, m = (M << 4) | ((i >>> 16) & 15), es = sz ? 3 : 2;
    const f = FMTS[sz], sb = 1n << BigInt(f.width - 1);
    const y = getE(w, m, index, es);
    const lanes = scalar ? 1 : (q ? 4 : 2) >> sz;
    const out: bigint[] = [];
    const env = envOf(cpu.fpcr);
    for (let e = 0; e < lanes; e++) {
      const x = getE(w, n, e, es);
      out.push(opcode === 9 ? fpMul(x, y, f, env) : fpMulAdd(getE(w, d, e, es), opcode === 5 ? x ^ sb : x, y, f, env, false, false));
    }
    cpu.fpsr |= env.flags;
    if (scalar) { w.b64[d * 2] = 0n; w.b64[d * 2 + 1] = 0n; }
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
    case 0x8: case 0x0: case 0x4: { // MUL (u=0), MLA (u=1, 0x0), MLS (u=1, 0x4)
      if ((opcode === 8) === (u === 1)) return false;
      const lanes = (q ? 16 : 8) >> size;
      for (let e = 0; e < lanes; e++) {
        const p = getE(w, n, e, size) * y;
        setE(TV, TMP, e, size, opcode === 8 ? p : opcode === 0 ? getE(w, d, e, size) + p : getE(w, d, e, size) - p);
      }
      commit(cpu.vr, d, q);
      return true;
    }
    case 0xa: case 0x2: case 0x6: { // xMULL, xMLAL, xMLSL (by element)
      const lanes = 8 >> size, part = q ? lanes : 0;
      const ys = u ? y : sx(y, size);
      for (let e = 0; e < lanes; e++) {
        const x = u ? getE(w, n, part + e, size) : sx(getE(w, n, part + e, size), size);
        const p = x * ys, acc = getE(w, d, e, size + 1);
        setE(TV, TMP, e, size + 1, opcode === 0xa ? p : opcode === 2 ? acc + p : acc - p);
      }
      commit(cpu.vr, d, 1);
      return true;
    }
  }
  return false;
}

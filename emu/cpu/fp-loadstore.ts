// SIMD&FP loads and stores: LDR/STR (immediate, register, literal) of B/H/S/D/Q registers,
// LDP/STP, and the LD1-LD4/ST1-ST4 structure forms (multiple, single lane, replicate).

import { add64, H } from './int64.ts';
import { getE, setE, vviews, xslot, type FpCpu } from './vregs.ts';

/** Transfer `bytes` (1,2,4,8,16) between memory at hi:lo and V[t] byte offset off. */
function xfer(cpu: FpCpu, load: boolean, hi: number, lo: number, t: number, off: number, bytes: number): void {
  const w = vviews(cpu.vr);
  const base = t * 16 + off;
  switch (bytes) {
    case 1:
      if (load) w.u8[base] = cpu.rd8(hi, lo);
      else cpu.wr8(hi, lo, w.u8[base]);
      return;
    case 2:
      if (load) w.u16[base >> 1] = cpu.rd16(hi, lo);
      else cpu.wr16(hi, lo, w.u16[base >> 1]);
      return;
    case 4:
      if (load) cpu.vr[base >> 2] = cpu.rd32(hi, lo);
      else cpu.wr32(hi, lo, cpu.vr[base >> 2]);
      return;
    case 8: {
      const k = base >> 2;
      if (load) {
        const l = cpu.rd64(hi, lo);
        cpu.vr[k + 1] = H.hi;
        cpu.vr[k] = l;
      } else cpu.wr64(hi, lo, cpu.vr[k + 1], cpu.vr[k]);
      return;
    }
    default: {
      const k = base >> 2;
      const l2 = add64(hi, lo, 0, 8),
        h2 = H.hi;
      if (load) {
        const a = cpu.rd64(hi, lo),
          ah = H.hi,
          b = cpu.rd64(h2, l2),
          bh = H.hi;
        cpu.vr[k] = a;
        cpu.vr[k + 1] = ah;
        cpu.vr[k + 2] = b;
        cpu.vr[k + 3] = bh;
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
    const save0 = cpu.vr[t * 4],
      save1 = cpu.vr[t * 4 + 1],
      save2 = cpu.vr[t * 4 + 2],
      save3 = cpu.vr[t * 4 + 3];
    try {
      if (bytes < 16) {
        cpu.vr[t * 4] = 0;
        cpu.vr[t * 4 + 1] = 0;
        cpu.vr[t * 4 + 2] = 0;
        cpu.vr[t * 4 + 3] = 0;
      }
      xfer(cpu, true, hi, lo, t, 0, bytes);
    } catch (e) {
      cpu.vr[t * 4] = save0;
      cpu.vr[t * 4 + 1] = save1;
      cpu.vr[t * 4 + 2] = save2;
      cpu.vr[t * 4 + 3] = save3;
      throw e;
    }
  } else xfer(cpu, false, hi, lo, t, 0, bytes);
}

function writeBack(cpu: FpCpu, n: number, hi: number, lo: number): void {
  cpu.x[n * 2] = lo;
  cpu.x[n * 2 + 1] = hi;
}

const sext = (v: number, bits: number): number => (v << (32 - bits)) >> (32 - bits);

/** A SIMD&FP load or store (op0 x1x0); false = UNDEFINED. */
export function loadStore(cpu: FpCpu, i: number): boolean {
  const t = i & 31,
    n = (i >>> 5) & 31;
  if ((i & 0xbe000000) === 0x0c000000) return structures(cpu, i);
  if ((i & 0x3f000000) === 0x1c000000) {
    // LDR literal
    const opc = i >>> 30;
    if (opc === 3) return false;
    const off = sext((i >>> 5) & 0x7ffff, 19) * 4;
    let pl = (cpu.pcLo - 4) | 0,
      ph = cpu.pcHi;
    if (cpu.pcLo >>> 0 < 4) ph = (ph - 1) | 0;
    pl = add64(ph, pl, off >> 31, off);
    ph = H.hi;
    xferReg(cpu, true, ph, pl, t, 4 << opc);
    return true;
  }
  if ((i & 0x3a000000) === 0x28000000) {
    // LDP/STP
    const opc = i >>> 30,
      L = (i >>> 22) & 1,
      mode = (i >>> 23) & 3,
      t2 = (i >>> 10) & 31;
    if (opc === 3) return false;
    if (L && t === t2) return false;
    const bytes = 4 << opc;
    const off = sext((i >>> 15) & 0x7f, 7) * bytes;
    const [bh, bl] = xslot(cpu, n, true);
    let lo = bl,
      hi = bh;
    if (mode !== 1) {
      lo = add64(bh, bl, off >> 31, off);
      hi = H.hi;
    }
    const l2 = add64(hi, lo, 0, bytes),
      h2 = H.hi;
    if (L) {
      const s = cpu.vr.slice(t * 4, t * 4 + 4);
      xferReg(cpu, true, hi, lo, t, bytes);
      try {
        xferReg(cpu, true, h2, l2, t2, bytes);
      } catch (e) {
        cpu.vr.set(s, t * 4);
        throw e;
      }
    } else {
      xferReg(cpu, false, hi, lo, t, bytes);
      xferReg(cpu, false, h2, l2, t2, bytes);
    }
    if (mode === 1) {
      const wl = add64(bh, bl, off >> 31, off);
      writeBack(cpu, n, H.hi, wl);
    } else if (mode === 3) writeBack(cpu, n, hi, lo);
    return true;
  }
  if ((i & 0x3b000000) !== 0x39000000 && (i & 0x3b000000) !== 0x38000000) return false;
  const size = i >>> 30,
    opc = (i >>> 22) & 3;
  if (opc >= 2 && size !== 0) return false;
  const L = opc & 1,
    scale = opc >= 2 ? 4 : size;
  const bytes = 1 << scale;
  const [bh, bl] = xslot(cpu, n, true);
  if ((i & 0x3b000000) === 0x39000000) {
    // unsigned offset
    const off = ((i >>> 10) & 0xfff) << scale;
    const lo = add64(bh, bl, 0, off);
    xferReg(cpu, L === 1, H.hi, lo, t, bytes);
    return true;
  }
  if ((i >>> 21) & 1) {
    // register offset
    if (((i >>> 10) & 3) !== 2) return false;
    const opt = (i >>> 13) & 7,
      S = (i >>> 12) & 1,
      m = (i >>> 16) & 31;
    if ((opt & 2) === 0) return false;
    let [mh, ml] = xslot(cpu, m, false);
    if (opt === 2) mh = 0;
    else if (opt === 6) mh = ml >> 31;
    const sh = S ? scale : 0;
    if (sh) {
      mh = (mh << sh) | (ml >>> (32 - sh));
      ml <<= sh;
    }
    const lo = add64(bh, bl, mh, ml);
    xferReg(cpu, L === 1, H.hi, lo, t, bytes);
    return true;
  }
  const mode = (i >>> 10) & 3;
  if (mode === 2) return false;
  const imm = sext((i >>> 12) & 0x1ff, 9);
  const al = add64(bh, bl, imm >> 31, imm),
    ah = H.hi;
  if (mode === 1) {
    xferReg(cpu, L === 1, bh, bl, t, bytes);
    writeBack(cpu, n, ah, al);
  } else {
    xferReg(cpu, L === 1, ah, al, t, bytes);
    if (mode === 3) writeBack(cpu, n, ah, al);
  }
  return true;
}

// opcode → [rpt, selem] for LD/ST multiple structures
const MULTI: Record<number, [number, number]> = { 0: [1, 4], 2: [4, 1], 4: [1, 3], 6: [3, 1], 7: [1, 1], 8: [1, 2], 10: [2, 1] };

function structures(cpu: FpCpu, i: number): boolean {
  const q = (i >>> 30) & 1,
    L = (i >>> 22) & 1,
    post = (i >>> 23) & 1,
    single = (i >>> 24) & 1;
  const m = (i >>> 16) & 31,
    t = i & 31,
    n = (i >>> 5) & 31,
    size = (i >>> 10) & 3;
  if (!post && m !== 0) return false;
  const [bh, bl] = xslot(cpu, n, true);
  let hi = bh,
    lo = bl;
  const w = vviews(cpu.vr);
  let total = 0;
  if (!single) {
    if ((i >>> 21) & 1) return false;
    const opcode = (i >>> 12) & 15;
    const ms = MULTI[opcode];
    if (!ms) return false;
    const [rpt, selem] = ms;
    if (size === 3 && q === 0 && selem !== 1) return false;
    const ebytes = 1 << size,
      elements = (q ? 16 : 8) >> size;
    if (L && q === 0)
      for (let r = 0; r < rpt * selem; r++) {
        const tt = (t + r) & 31;
        cpu.vr[tt * 4 + 2] = 0;
        cpu.vr[tt * 4 + 3] = 0;
      }
    for (let r = 0; r < rpt; r++) {
      for (let e = 0; e < elements; e++) {
        let tt = (t + r) & 31;
        for (let s = 0; s < selem; s++) {
          xfer(cpu, L === 1, hi, lo, tt, e * ebytes, ebytes);
          lo = add64(hi, lo, 0, ebytes);
          hi = H.hi;
          tt = (tt + 1) & 31;
        }
      }
    }
    total = rpt * selem * elements * ebytes;
  } else {
    const opc = (i >>> 13) & 7,
      S = (i >>> 12) & 1,
      R = (i >>> 21) & 1;
    const selem = (((opc & 1) << 1) | R) + 1;
    let scale = opc >>> 1,
      index = 0;
    let replicate = false;
    switch (scale) {
      case 3:
        if (!L || S) return false;
        scale = size;
        replicate = true;
        break;
      case 0:
        index = (q << 3) | (S << 2) | size;
        break;
      case 1:
        if (size & 1) return false;
        index = (q << 2) | (S << 1) | (size >>> 1);
        break;
      case 2:
        if (size & 2) return false;
        if (size & 1) {
          if (S) return false;
          index = q;
          scale = 3;
        } else index = (q << 1) | S;
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
        if (!q) {
          cpu.vr[tt * 4 + 2] = 0;
          cpu.vr[tt * 4 + 3] = 0;
        }
      } else xfer(cpu, L === 1, hi, lo, tt, index * ebytes, ebytes);
      lo = add64(hi, lo, 0, ebytes);
      hi = H.hi;
      tt = (tt + 1) & 31;
    }
    total = selem * ebytes;
  }
  if (post) {
    if (m === 31) {
      const l = add64(bh, bl, 0, total);
      writeBack(cpu, n, H.hi, l);
    } else {
      const l = add64(bh, bl, cpu.x[m * 2 + 1], cpu.x[m * 2]);
      writeBack(cpu, n, H.hi, l);
    }
  }
  return true;
}

// AdvSIMD vector forms that move lanes or reduce across them rather than compute lane by lane
// (encoding groups of Arm DDI 0487 C4.1, the A64 encoding index): copy (DUP, INS, SMOV, UMOV),
// permute (UZP1/2, TRN1/2, ZIP1/2), EXT, table lookup (TBL, TBX) and across lanes (ADDV,
// SADDLV/UADDLV, SMAXV/UMAXV, SMINV/UMINV). The arithmetic families are in advsimd.ts.
// Elements are handled as BigInt (exact for every width).

import { clearT, commit, getE, setE, sx, TMP, TV, vviews, xslot, type FpCpu } from './vregs.ts';

export function copy(cpu: FpCpu, i: number): boolean {
  const q = (i >>> 30) & 1,
    op = (i >>> 29) & 1,
    imm5 = (i >>> 16) & 31,
    imm4 = (i >>> 11) & 15;
  const d = i & 31,
    n = (i >>> 5) & 31;
  const es = imm5 & 1 ? 0 : imm5 & 2 ? 1 : imm5 & 4 ? 2 : imm5 & 8 ? 3 : 4;
  if (es > 3) return false;
  const idx = imm5 >>> (es + 1);
  const w = vviews(cpu.vr);
  if (op) {
    // INS (element)
    if (!q) return false;
    setE(w, d, idx, es, getE(w, n, imm4 >>> es, es));
    return true;
  }
  const lanes = (q ? 16 : 8) >> es;
  switch (imm4) {
    case 0: {
      // DUP element
      if (es === 3 && !q) return false;
      const v = getE(w, n, idx, es);
      clearT();
      for (let e = 0; e < lanes; e++) setE(TV, TMP, e, es, v);
      commit(cpu.vr, d, q);
      return true;
    }
    case 1: {
      // DUP general
      if (es === 3 && !q) return false;
      const [hi, lo] = xslot(cpu, n, false);
      const v = (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
      clearT();
      for (let e = 0; e < lanes; e++) setE(TV, TMP, e, es, v);
      commit(cpu.vr, d, q);
      return true;
    }
    case 3: {
      // INS general
      if (!q) return false;
      const [hi, lo] = xslot(cpu, n, false);
      setE(w, d, idx, es, (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0));
      return true;
    }
    case 5:
    case 7: {
      // SMOV / UMOV
      const signed = imm4 === 5;
      if (signed ? es >= 2 + q || (es === 2 && !q) : q ? es !== 3 : es === 3) {
        if (signed && q && es === 2) {
          /* SMOV Xd, Vn.S[i] */
        } else return false;
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

export function acrossLanes(cpu: FpCpu, i: number): boolean {
  const q = (i >>> 30) & 1,
    u = (i >>> 29) & 1,
    size = (i >>> 22) & 3,
    opcode = (i >>> 12) & 31;
  const d = i & 31,
    n = (i >>> 5) & 31;
  if (opcode === 0x0c || opcode === 0x0f) return false; // FP across lanes (FMAXNMV...) not implemented
  if (size === 3 || (size === 2 && !q)) return false;
  const w = vviews(cpu.vr);
  const lanes = (q ? 16 : 8) >> size;
  if (size === 0 && u && (opcode === 0x0a || opcode === 0x1a)) {
    // UMAXV/UMINV B (string functions)
    let acc = w.u8[n * 16];
    for (let e = 1; e < lanes; e++) {
      const v = w.u8[n * 16 + e];
      if (opcode === 0x0a ? v > acc : v < acc) acc = v;
    }
    cpu.vr[d * 4] = acc;
    cpu.vr[d * 4 + 1] = 0;
    cpu.vr[d * 4 + 2] = 0;
    cpu.vr[d * 4 + 3] = 0;
    return true;
  }
  let acc = u ? getE(w, n, 0, size) : sx(getE(w, n, 0, size), size);
  let outEs = size;
  for (let e = 1; e < lanes; e++) {
    const v = u ? getE(w, n, e, size) : sx(getE(w, n, e, size), size);
    switch (opcode) {
      case 0x1b:
        if (u) return false;
        acc += v;
        break; // ADDV
      case 0x03:
        acc += v;
        outEs = size + 1;
        break; // SADDLV/UADDLV
      case 0x0a:
        if (v > acc) acc = v;
        break; // MAXV
      case 0x1a:
        if (v < acc) acc = v;
        break; // MINV
      default:
        return false;
    }
  }
  if (opcode === 0x03) outEs = size + 1;
  clearT();
  setE(TV, TMP, 0, outEs, acc);
  commit(cpu.vr, d, 0);
  return true;
}

export function permute(cpu: FpCpu, i: number): boolean {
  const q = (i >>> 30) & 1,
    size = (i >>> 22) & 3,
    opcode = (i >>> 12) & 7;
  const d = i & 31,
    n = (i >>> 5) & 31,
    m = (i >>> 16) & 31;
  if (opcode === 0 || opcode === 4 || (size === 3 && !q)) return false;
  const w = vviews(cpu.vr);
  const lanes = (q ? 16 : 8) >> size,
    half = lanes / 2,
    part = opcode >>> 2;
  clearT();
  for (let e = 0; e < lanes; e++) {
    let v: bigint;
    switch (opcode & 3) {
      case 1: {
        const k = 2 * e + part;
        v = k < lanes ? getE(w, n, k, size) : getE(w, m, k - lanes, size);
        break;
      } // UZP
      case 2:
        v = getE(w, e & 1 ? m : n, (e & ~1) + part, size);
        break; // TRN
      default:
        v = getE(w, e & 1 ? m : n, part * half + (e >> 1), size);
        break; // ZIP
    }
    setE(TV, TMP, e, size, v);
  }
  commit(cpu.vr, d, q);
  return true;
}

export function ext(cpu: FpCpu, i: number): boolean {
  const q = (i >>> 30) & 1,
    imm4 = (i >>> 11) & 15;
  const d = i & 31,
    n = (i >>> 5) & 31,
    m = (i >>> 16) & 31;
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

export function tbl(cpu: FpCpu, i: number): boolean {
  const q = (i >>> 30) & 1,
    len = ((i >>> 13) & 3) + 1,
    tbx = (i >>> 12) & 1;
  const d = i & 31,
    n = (i >>> 5) & 31,
    m = (i >>> 16) & 31;
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

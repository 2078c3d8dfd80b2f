// A64 decoder built from a table of encoding patterns (mask/value → a field function that picks
// the operation and packs its fields). Decoded instructions are 4 int32 words [op, p, a, b], cached
// per physical page (see cpu.ts); ops.ts names every operation and says what its fields hold.

import { sysregEncoding } from '../../arch/sysregs.ts';
import { LS, OP, pack } from './ops.ts';

const rz = (r: number): number => (r === 31 ? 32 : r) * 2; // register read, 31 = XZR
const wz = (r: number): number => (r === 31 ? 33 : r) * 2; // register write, 31 = XZR (discard)
const rs = (r: number): number => r * 2; // 31 = SP

const sext = (v: number, bits: number): number => (v << (32 - bits)) >> (32 - bits);

/** Decoded fields produced by a pattern's field function. */
export interface Fields {
  op: number;
  p: number;
  a: number;
  b: number;
}

type FieldFn = (i: number, f: Fields) => void;

interface Pattern {
  name: string;
  mask: number;
  value: number;
  decode: FieldFn;
}

const Rd = (i: number): number => i & 31;
const Rn = (i: number): number => (i >>> 5) & 31;
const Rm = (i: number): number => (i >>> 16) & 31;
const Ra = (i: number): number => (i >>> 10) & 31;
const SF = (i: number): number => i >>> 31;

function set(f: Fields, op: number, p: number, a = 0, b = 0): void {
  f.op = op;
  f.p = p;
  f.a = a;
  f.b = b;
}

function undef(f: Fields): void {
  set(f, OP.UNDEF, 0);
}

/** DecodeBitMasks for logical immediates; returns [lo, hi] or null when reserved. */
export function decodeBitMask(n: number, imms: number, immr: number, sf: number): [number, number] | null {
  const len = 31 - Math.clz32((n << 6) | (~imms & 0x3f));
  if (len < 1) return null;
  if (!sf && n) return null;
  const levels = (1 << len) - 1;
  if ((imms & levels) === levels) return null;
  const s = imms & levels;
  const r = immr & levels;
  const esize = 1 << len;
  let elem = (1n << BigInt(s + 1)) - 1n;
  const emask = (1n << BigInt(esize)) - 1n;
  if (r) elem = ((elem >> BigInt(r)) | (elem << BigInt(esize - r))) & emask;
  let v = 0n;
  for (let k = 0; k < 64; k += esize) v |= elem << BigInt(k);
  if (!sf) v &= 0xffffffffn;
  return [Number(v & 0xffffffffn) | 0, Number(v >> 32n) | 0];
}

// ---- data processing, immediate ----

const addSubImm: FieldFn = (i, f) => {
  const sf = SF(i),
    op = (i >>> 30) & 1,
    S = (i >>> 29) & 1;
  const imm = ((i >>> 10) & 0xfff) << (((i >>> 22) & 1) * 12);
  if (S) set(f, OP.ADDS_I, pack(wz(Rd(i)), rs(Rn(i)), 0, 0, sf | (op << 1)), imm);
  else set(f, sf ? (op ? OP.SUB_I64 : OP.ADD_I64) : op ? OP.SUB_I32 : OP.ADD_I32, pack(rs(Rd(i)), rs(Rn(i)), 0, 0, 0), imm);
};

const logImm: FieldFn = (i, f) => {
  const sf = SF(i),
    opc = (i >>> 29) & 3;
  const m = decodeBitMask((i >>> 22) & 1, (i >>> 10) & 0x3f, (i >>> 16) & 0x3f, sf);
  if (!m) return undef(f);
  const d = opc === 3 ? wz(Rd(i)) : rs(Rd(i));
  set(f, OP.LOG_I, pack(d, rz(Rn(i)), 0, 0, opc | (sf << 2)), m[0], m[1]);
};

const moveWide: FieldFn = (i, f) => {
  const sf = SF(i),
    opc = (i >>> 29) & 3,
    hw = (i >>> 21) & 3;
  const imm = (i >>> 5) & 0xffff;
  if (opc === 1 || (!sf && hw > 1)) return undef(f);
  if (opc === 3) return set(f, OP.MOVK, pack(wz(Rd(i)), 0, 0, 0, hw | (sf << 2)), imm);
  let lo = hw === 0 ? imm : hw === 1 ? imm << 16 : 0;
  let hi = hw === 2 ? imm : hw === 3 ? imm << 16 : 0;
  if (opc === 0) {
    lo = ~lo;
    hi = ~hi;
  } // MOVN
  if (!sf) hi = 0;
  set(f, OP.MOVC, pack(wz(Rd(i)), 0, 0, 0, 0), lo | 0, hi | 0);
};

const pcRel: FieldFn = (i, f) => {
  const imm = sext((((i >>> 5) & 0x7ffff) << 2) | ((i >>> 29) & 3), 21);
  const page = i >>> 31;
  // offset as a 64-bit pair: ADRP offsets are multiples of 4096 and may exceed 32 bits
  const off = page ? imm * 4096 : imm;
  const hi = Math.floor(off / 4294967296);
  set(f, OP.ADR, pack(wz(Rd(i)), 0, 0, 0, page), (off - hi * 4294967296) | 0, hi | 0);
};

const bitfield: FieldFn = (i, f) => {
  const sf = SF(i),
    opc = (i >>> 29) & 3,
    n = (i >>> 22) & 1;
  const immr = (i >>> 16) & 0x3f,
    imms = (i >>> 10) & 0x3f;
  const size = sf ? 64 : 32;
  if (opc === 3 || n !== sf || (!sf && (immr > 31 || imms > 31))) return undef(f);
  // UBFM (opc 2) / SBFM (opc 0) = shift left by L then right by R (logical or arithmetic)
  const L = size - 1 - imms;
  const R = imms >= immr ? L + immr : immr - imms - 1;
  if (opc === 1) return set(f, OP.BFM, pack(wz(Rd(i)), rz(Rn(i)), 0, 0, sf), L, R);
  set(f, sf ? OP.SHIFT_I64 : OP.SHIFT_I32, pack(wz(Rd(i)), rz(Rn(i)), 0, 0, opc === 2 ? 1 : 0), L, R);
};

const extract: FieldFn = (i, f) => {
  const sf = SF(i),
    n = (i >>> 22) & 1,
    o0 = (i >>> 21) & 1,
    op21 = (i >>> 29) & 3;
  const lsb = (i >>> 10) & 0x3f;
  if (op21 !== 0 || o0 !== 0 || n !== sf || (!sf && lsb > 31)) return undef(f);
  set(f, OP.EXTR, pack(wz(Rd(i)), rz(Rn(i)), rz(Rm(i)), 0, sf), lsb);
};

// ---- data processing, register ----

const logReg: FieldFn = (i, f) => {
  const sf = SF(i),
    opc = (i >>> 29) & 3,
    N = (i >>> 21) & 1,
    sh = (i >>> 22) & 3,
    amt = (i >>> 10) & 0x3f;
  if (!sf && amt > 31) return undef(f);
  if (opc === 1 && N === 0 && amt === 0 && Rn(i) === 31) {
    return set(f, OP.MOV_R, pack(wz(Rd(i)), 0, rz(Rm(i)), 0, sf));
  }
  set(f, OP.LOG_R, pack(wz(Rd(i)), rz(Rn(i)), rz(Rm(i)), 0, opc | (N << 2) | (sf << 3)), sh, amt);
};

const addSubShifted: FieldFn = (i, f) => {
  const sf = SF(i),
    op = (i >>> 30) & 1,
    S = (i >>> 29) & 1,
    sh = (i >>> 22) & 3,
    amt = (i >>> 10) & 0x3f;
  if (sh === 3 || (!sf && amt > 31)) return undef(f);
  if (sf && amt === 0) return set(f, S ? OP.ADDS_RR64 : OP.ADD_RR64, pack(wz(Rd(i)), rz(Rn(i)), rz(Rm(i)), 0, op));
  set(f, S ? OP.ADDS_R : OP.ADD_R, pack(wz(Rd(i)), rz(Rn(i)), rz(Rm(i)), 0, op | (sf << 1)), sh, amt);
};

const addSubExt: FieldFn = (i, f) => {
  const sf = SF(i),
    op = (i >>> 30) & 1,
    S = (i >>> 29) & 1,
    opt = (i >>> 13) & 7,
    amt = (i >>> 10) & 7;
  if (amt > 4 || ((i >>> 22) & 3) !== 0) return undef(f);
  const d = S ? wz(Rd(i)) : rs(Rd(i));
  set(f, OP.ADD_X, pack(d, rs(Rn(i)), rz(Rm(i)), 0, op | (S << 1) | (sf << 2)), opt, amt);
};

const adcSbc: FieldFn = (i, f) => {
  const sf = SF(i),
    op = (i >>> 30) & 1,
    S = (i >>> 29) & 1;
  if (((i >>> 10) & 0x3f) !== 0) return undef(f);
  set(f, OP.ADC, pack(wz(Rd(i)), rz(Rn(i)), rz(Rm(i)), 0, op | (S << 1) | (sf << 2)));
};

const condCmp: FieldFn = (i, f) => {
  const sf = SF(i),
    op = (i >>> 30) & 1,
    S = (i >>> 29) & 1,
    imm = (i >>> 11) & 1;
  if (!S || i & 0x10 || i & 0x400) return undef(f);
  const a = ((i >>> 12) & 0xf) | ((i & 0xf) << 4) | (imm << 8) | (Rm(i) << 9);
  set(f, OP.CCMP, pack(0, rz(Rn(i)), rz(Rm(i)), 0, op | (sf << 2)), a);
};

const condSel: FieldFn = (i, f) => {
  const sf = SF(i),
    op = (i >>> 30) & 1,
    S = (i >>> 29) & 1,
    op2 = (i >>> 10) & 3;
  if (S || op2 > 1) return undef(f);
  set(f, OP.CSEL, pack(wz(Rd(i)), rz(Rn(i)), rz(Rm(i)), 0, (op << 1) | op2 | (sf << 2)), (i >>> 12) & 0xf);
};

const dp2: FieldFn = (i, f) => {
  const opc = (i >>> 10) & 0x3f;
  const crc = opc >= 16 && opc <= 23 && ((opc & 3) === 3) === (SF(i) === 1); // CRC32{B,H,W,X}, CRC32C*
  if ((i >>> 29) & 1 || (opc !== 2 && opc !== 3 && (opc < 8 || opc > 11) && !crc)) return undef(f); // PAC absent
  set(f, OP.DP2, pack(wz(Rd(i)), rz(Rn(i)), rz(Rm(i)), 0, SF(i)), opc);
};

const dp1: FieldFn = (i, f) => {
  const sf = SF(i),
    opc = (i >>> 10) & 0x3f;
  if (((i >>> 16) & 0x1f) !== 0 || (i >>> 29) & 1 || opc > 5 || (!sf && opc === 3)) return undef(f);
  set(f, OP.DP1, pack(wz(Rd(i)), rz(Rn(i)), 0, 0, sf), opc);
};

const dp3: FieldFn = (i, f) => {
  const sf = SF(i),
    op54 = (i >>> 29) & 3,
    op31 = (i >>> 21) & 7,
    o0 = (i >>> 15) & 1;
  const code = (op31 << 1) | o0;
  const ok64 = [0, 1, 2, 3, 4, 10, 11, 12];
  if (op54 !== 0 || (sf ? !ok64.includes(code) : code > 1)) return undef(f);
  set(f, OP.DP3, pack(wz(Rd(i)), rz(Rn(i)), rz(Rm(i)), rz(Ra(i)), sf), code);
};

// ---- branches, exceptions, system ----

const branchImm: FieldFn = (i, f) => {
  const off = sext(i & 0x3ffffff, 26) * 4;
  set(f, i >>> 31 ? OP.BL : OP.B, 0, off | 0, off < 0 ? -1 : 0);
};

const cmpBranch: FieldFn = (i, f) => {
  const off = sext((i >>> 5) & 0x7ffff, 19) * 4;
  set(f, OP.CBZ, pack(rz(Rd(i)), 0, 0, 0, ((i >>> 24) & 1) | (SF(i) << 1)), off);
};

const testBranch: FieldFn = (i, f) => {
  const off = sext((i >>> 5) & 0x3fff, 14) * 4;
  const bit = ((i >>> 31) << 5) | ((i >>> 19) & 0x1f);
  set(f, OP.TBZ, pack(rz(Rd(i)), 0, 0, 0, (i >>> 24) & 1), off, bit);
};

const condBranch: FieldFn = (i, f) => {
  set(f, OP.BCOND, 0, sext((i >>> 5) & 0x7ffff, 19) * 4, i & 0xf);
};

const excGen: FieldFn = (i, f) => {
  const opc = (i >>> 21) & 7,
    ll = i & 3,
    imm = (i >>> 5) & 0xffff;
  if ((i >>> 2) & 7) return undef(f);
  // kind: 1 SVC, 2 HVC, 3 SMC, 4 BRK, 5 HLT
  let kind = 0;
  if (opc === 0 && ll >= 1) kind = ll;
  else if (opc === 1 && ll === 0) kind = 4;
  else if (opc === 2 && ll === 0) kind = 5;
  if (!kind) return undef(f);
  set(f, OP.EXC, pack(0, 0, 0, 0, kind), imm);
};

const system: FieldFn = (i, f) => {
  const L = (i >>> 21) & 1,
    op0 = (i >>> 19) & 3,
    op1 = (i >>> 16) & 7,
    crn = (i >>> 12) & 15;
  const crm = (i >>> 8) & 15,
    op2 = (i >>> 5) & 7,
    rt = i & 31;
  const enc = sysregEncoding(op0, op1, crn, crm, op2);
  if (op0 >= 2) return set(f, L ? OP.MRS : OP.MSR, pack(L ? wz(rt) : rz(rt), 0, 0, 0, 0), enc);
  if (op0 === 1) return set(f, OP.SYS, pack(rz(rt), 0, 0, 0, L), enc);
  // op0 == 0: hints, barriers, PSTATE
  if (L || rt !== 31) return undef(f);
  if (crn === 2) {
    const h = (crm << 3) | op2;
    return set(f, h >= 2 && h <= 5 ? OP.HINT : OP.NOP, 0, h); // PAC/BTI/YIELD/ESB... execute as NOPs
  }
  if (crn === 3 && op1 === 3) return set(f, OP.BARRIER, 0, op2, crm);
  if (crn === 4) return set(f, OP.MSR_IMM, 0, (op1 << 3) | op2, crm);
  undef(f);
};

const branchReg: FieldFn = (i, f) => {
  if ((i & 0xfffffc1f) === (0xd61f0000 | 0)) return set(f, OP.BR, pack(0, rz(Rn(i)), 0, 0, 0));
  if ((i & 0xfffffc1f) === (0xd63f0000 | 0)) return set(f, OP.BLR, pack(0, rz(Rn(i)), 0, 0, 0));
  if ((i & 0xfffffc1f) === (0xd65f0000 | 0)) return set(f, OP.RET, pack(0, rz(Rn(i)), 0, 0, 0));
  if (i === (0xd69f03e0 | 0)) return set(f, OP.ERET, 0);
  undef(f); // PAC branch forms, DRPS: absent
};

// ---- loads and stores ----

/** SIMD&FP instructions (V bit set, or the SIMD&FP data-processing space): run by fpsimd.ts. */
const fpsimd: FieldFn = (i, f) => set(f, OP.FPSIMD, 0, i);

/** LS type from size/opc of the single-register forms, or -1 when unallocated. */
function lsType(size: number, opc: number, allowPrfm: boolean): number {
  if (opc === 0) return size; // STRB..STRX
  if (opc === 1) return 4 + size; // LDRB..LDRX
  if (opc === 2) return size === 3 ? (allowPrfm ? LS.PRFM : -1) : size === 2 ? LS.LDRSW : 8 + size;
  return size <= 1 ? 11 + size : -1; // LDRSB_W, LDRSH_W
}

function rtFor(type: number, rt: number): number {
  return type <= LS.STRX ? rz(rt) : wz(rt);
}

const lsUnsigned: FieldFn = (i, f) => {
  if ((i >>> 26) & 1) return fpsimd(i, f);
  const size = i >>> 30,
    opc = (i >>> 22) & 3;
  const t = lsType(size, opc, true);
  if (t < 0) return undef(f);
  const off = ((i >>> 10) & 0xfff) << size;
  const p = pack(rtFor(t, Rd(i)), rs(Rn(i)), 0, 0, t);
  if (t === LS.LDRX) return set(f, OP.LS_OFF_X, p, off);
  if (t === LS.LDRW) return set(f, OP.LS_OFF_W, p, off);
  if (t === LS.STRX) return set(f, OP.ST_OFF_X, p, off);
  if (t === LS.STRW) return set(f, OP.ST_OFF_W, p, off);
  set(f, OP.LS_OFF, p, off);
};

const lsImm9: FieldFn = (i, f) => {
  if ((i >>> 26) & 1) return fpsimd(i, f);
  const size = i >>> 30,
    opc = (i >>> 22) & 3,
    mode = (i >>> 10) & 3;
  const t = lsType(size, opc, mode === 0);
  if (t < 0) return undef(f);
  const imm = sext((i >>> 12) & 0x1ff, 9);
  const p = pack(rtFor(t, Rd(i)), rs(Rn(i)), 0, 0, t);
  const op = [OP.LS_OFF, OP.LS_POST, OP.LS_UNPRIV, OP.LS_PRE][mode];
  set(f, op, p, imm);
};

const lsRegOff: FieldFn = (i, f) => {
  if ((i >>> 26) & 1) return fpsimd(i, f);
  const size = i >>> 30,
    opc = (i >>> 22) & 3,
    opt = (i >>> 13) & 7,
    S = (i >>> 12) & 1;
  const t = lsType(size, opc, true);
  if (t < 0 || (opt & 2) === 0) return undef(f);
  if ((t === LS.LDRX || t === LS.STRX) && (opt === 3 || opt === 7)) {
    return set(f, OP.LS_REG_X, pack(rtFor(t, Rd(i)), rs(Rn(i)), rz(Rm(i)), 0, t), opt, S ? size : 0);
  }
  set(f, OP.LS_REG, pack(rtFor(t, Rd(i)), rs(Rn(i)), rz(Rm(i)), 0, t), opt, S ? size : 0);
};

const lsLiteral: FieldFn = (i, f) => {
  if ((i >>> 26) & 1) return fpsimd(i, f);
  const opc = i >>> 30;
  const t = [LS.LDRW, LS.LDRX, LS.LDRSW, LS.PRFM][opc];
  set(f, OP.LS_LIT, pack(wz(Rd(i)), 0, 0, 0, t), sext((i >>> 5) & 0x7ffff, 19) * 4);
};

const lsPair: FieldFn = (i, f) => {
  if ((i >>> 26) & 1) return fpsimd(i, f);
  const opc = i >>> 30,
    L = (i >>> 22) & 1,
    mode = (i >>> 23) & 3;
  // type: 0 STP W, 1 LDP W, 2 STP X, 3 LDP X, 4 LDPSW
  let t: number;
  if (opc === 0) t = L;
  else if (opc === 2) t = 2 + L;
  else if (opc === 1 && L && mode !== 0) t = 4;
  else return undef(f);
  const scale = opc === 2 ? 3 : 2;
  const off = sext((i >>> 15) & 0x7f, 7) * (1 << scale);
  const rt = L ? wz(Rd(i)) : rz(Rd(i));
  const rt2 = L ? wz(Ra(i)) : rz(Ra(i));
  if (L && Rd(i) === Ra(i)) return undef(f); // LDP with t == t2: CONSTRAINED UNPREDICTABLE, UNDEF
  // mode: 0 no-allocate offset, 1 post, 2 offset, 3 pre → b: 0 offset, 1 post, 2 pre
  set(f, OP.LSP, pack(rt, rs(Rn(i)), 0, rt2, t), off, mode === 1 ? 1 : mode === 3 ? 2 : 0);
};

const lsExcl: FieldFn = (i, f) => {
  const size = i >>> 30,
    o2 = (i >>> 23) & 1,
    L = (i >>> 22) & 1,
    o1 = (i >>> 21) & 1,
    o0 = (i >>> 15) & 1;
  if (o1 && size < 2) return undef(f); // pair forms only for W/X
  if (o2 && o1) return undef(f); // CASP etc. (LSE) absent
  if (o2 && !o0) return undef(f); // LDLAR/STLLR (LOR) absent; o2=1 o0=1 = LDAR/STLR
  if (!o2 && ((i >>> 10) & 31) !== 31 && !o1) {
    // Rt2 must be 11111 for single-register exclusives
    return undef(f);
  }
  const a = (size << 4) | (o2 << 3) | (L << 2) | (o1 << 1) | o0;
  const rt = L ? wz(Rd(i)) : rz(Rd(i));
  const rt2 = L ? wz(Ra(i)) : rz(Ra(i));
  set(f, OP.EXCL, pack(rt, rs(Rn(i)), wz(Rm(i)), rt2, 0), a);
};

const PATTERNS: Pattern[] = [
  { name: 'adr/adrp', mask: 0x1f000000, value: 0x10000000, decode: pcRel },
  { name: 'add/sub imm', mask: 0x1f800000, value: 0x11000000, decode: addSubImm },
  { name: 'logical imm', mask: 0x1f800000, value: 0x12000000, decode: logImm },
  { name: 'move wide', mask: 0x1f800000, value: 0x12800000, decode: moveWide },
  { name: 'bitfield', mask: 0x1f800000, value: 0x13000000, decode: bitfield },
  { name: 'extract', mask: 0x1f800000, value: 0x13800000, decode: extract },
  { name: 'b/bl', mask: 0x7c000000, value: 0x14000000, decode: branchImm },
  { name: 'cbz/cbnz', mask: 0x7e000000, value: 0x34000000, decode: cmpBranch },
  { name: 'tbz/tbnz', mask: 0x7e000000, value: 0x36000000, decode: testBranch },
  { name: 'b.cond', mask: 0xff000010 | 0, value: 0x54000000, decode: condBranch },
  { name: 'exception', mask: 0xff000000 | 0, value: 0xd4000000 | 0, decode: excGen },
  { name: 'system', mask: 0xffc00000 | 0, value: 0xd5000000 | 0, decode: system },
  { name: 'branch reg', mask: 0xfe000000 | 0, value: 0xd6000000 | 0, decode: branchReg },
  { name: 'logical reg', mask: 0x1f000000, value: 0x0a000000, decode: logReg },
  { name: 'add/sub shifted', mask: 0x1f200000, value: 0x0b000000, decode: addSubShifted },
  { name: 'add/sub extended', mask: 0x1f200000, value: 0x0b200000, decode: addSubExt },
  { name: 'adc/sbc', mask: 0x1fe00000, value: 0x1a000000, decode: adcSbc },
  { name: 'ccmp/ccmn', mask: 0x1fe00000, value: 0x1a400000, decode: condCmp },
  { name: 'csel', mask: 0x1fe00000, value: 0x1a800000, decode: condSel },
  { name: 'dp 2-source', mask: 0x5fe00000, value: 0x1ac00000, decode: dp2 },
  { name: 'dp 1-source', mask: 0x5fe00000, value: 0x5ac00000, decode: dp1 },
  { name: 'dp 3-source', mask: 0x1f000000, value: 0x1b000000, decode: dp3 },
  { name: 'ld/st unsigned imm', mask: 0x3b000000, value: 0x39000000, decode: lsUnsigned },
  { name: 'ld/st reg offset', mask: 0x3b200c00, value: 0x38200800, decode: lsRegOff },
  { name: 'ld/st imm9', mask: 0x3b200000, value: 0x38000000, decode: lsImm9 },
  { name: 'ld literal', mask: 0x3b000000, value: 0x18000000, decode: lsLiteral },
  { name: 'ld/st pair', mask: 0x3a000000, value: 0x28000000, decode: lsPair },
  { name: 'ld/st exclusive', mask: 0x3f000000, value: 0x08000000, decode: lsExcl },
  { name: 'simd ld/st structures', mask: 0xbe000000 | 0, value: 0x0c000000, decode: fpsimd },
  { name: 'simd&fp data processing', mask: 0x0e000000, value: 0x0e000000, decode: fpsimd },
];

const scratch: Fields = { op: 0, p: 0, a: 0, b: 0 };

/** Decode one instruction word into `out` (op is UNDEF when nothing matches). */
export function decode(insn: number, out: Fields = scratch): Fields {
  for (const pat of PATTERNS) {
    if ((insn & pat.mask) === pat.value) {
      pat.decode(insn, out);
      return out;
    }
  }
  undef(out);
  return out;
}

/** Name of the pattern an instruction word matches (diagnostics). */
export function patternName(insn: number): string {
  for (const pat of PATTERNS) if ((insn & pat.mask) === pat.value) return pat.name;
  return 'unallocated';
}

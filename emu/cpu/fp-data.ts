// Floating-point instructions: scalar FP data processing (1-, 2- and 3-source, compare,
// conditional compare and select, FMOV immediate, conversions to and from integers and fixed
// point) and the AdvSIMD vector FP forms, on the arithmetic of fp-arith.ts.

import {
  envOf,
  FMTS,
  fpAdd,
  fpCmpRel,
  fpCompare,
  fpConvert,
  fpDiv,
  fpMinMax,
  fpMul,
  fpMulAdd,
  fpRoundInt,
  fpSqrt,
  fpToInt,
  intToFp,
  RM,
  vfpExpand32,
  vfpExpand64,
  type Fmt,
  type FpEnv,
} from './fp-arith.ts';
import { getE, setE, vviews, type FpCpu } from './vregs.ts';

const FM = (type: number): Fmt | undefined => (type === 0 ? FMTS[0] : type === 1 ? FMTS[1] : undefined);

function readS(cpu: FpCpu, r: number, f: Fmt): bigint {
  const w = vviews(cpu.vr);
  return f.width === 32 ? BigInt(w.u32[r * 4]) : w.b64[r * 2];
}
function writeS(cpu: FpCpu, r: number, f: Fmt, v: bigint): void {
  const w = vviews(cpu.vr);
  w.b64[r * 2 + 1] = 0n;
  if (f.width === 32) {
    w.u32[r * 4] = Number(v);
    w.u32[r * 4 + 1] = 0;
  } else w.b64[r * 2] = v;
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
  if ((i >>> 29) & 1 || ((i >>> 31) & 1 && ((i >>> 24) & 1 || ((i >>> 21) & 1) === 0 || ((i >>> 10) & 63) !== 0))) {
    if (!((i >>> 31) & 1 && !((i >>> 29) & 1) && !((i >>> 24) & 1))) return false;
  }
  const type = (i >>> 22) & 3,
    d = i & 31,
    n = (i >>> 5) & 31,
    m = (i >>> 16) & 31;
  if ((i >>> 24) & 1) {
    // 3-source
    if ((i >>> 31) & 1) return false;
    const f = FM(type);
    if (!f) return false;
    const o1 = (i >>> 21) & 1,
      o0 = (i >>> 15) & 1,
      a = (i >>> 10) & 31;
    // FMSUB/FNMADD/FNMSUB negate operands (NaNs included) before the fused operation, as ARM does
    const sb = 1n << BigInt(f.width - 1);
    const av = readS(cpu, a, f) ^ (o1 ? sb : 0n),
      nv = readS(cpu, n, f) ^ (o0 ^ o1 ? sb : 0n);
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
    if (((i >>> 10) & 15) === 8) {
      // compare
      const f = FM(type);
      if (!f || (i >>> 14) & 3) return false;
      const opc = i & 31;
      if (opc & 7) return false;
      const y = opc & 8 ? 0n : readS(cpu, m, f);
      const nzcv = withEnv(cpu, (env) => fpCompare(readS(cpu, n, f), y, f, env, (opc & 16) !== 0));
      setNzcv(cpu, nzcv);
      return true;
    }
    if (((i >>> 10) & 7) === 4) {
      // FMOV immediate
      const f = FM(type);
      if (!f || (i >>> 5) & 31) return false;
      const imm8 = (i >>> 13) & 0xff;
      writeS(cpu, d, f, f.width === 32 ? BigInt(vfpExpand32(imm8)) : vfpExpand64(imm8));
      return true;
    }
    return false;
  }
  if ((i >>> 31) & 1) return false;
  const f = FM(type);
  if (!f) return false;
  const cond = (i >>> 12) & 15;
  if (b1110 === 1) {
    // FCCMP/FCCMPE
    if (cpu.cond(cond)) {
      const nzcv = withEnv(cpu, (env) => fpCompare(readS(cpu, n, f), readS(cpu, m, f), f, env, ((i >>> 4) & 1) === 1));
      setNzcv(cpu, nzcv);
    } else setNzcv(cpu, i & 15);
    return true;
  }
  if (b1110 === 3) {
    // FCSEL
    writeS(cpu, d, f, readS(cpu, cpu.cond(cond) ? n : m, f));
    return true;
  }
  // 2-source
  const opc = (i >>> 12) & 15;
  if (opc > 8) return false;
  const x = readS(cpu, n, f),
    y = readS(cpu, m, f);
  const r = withEnv(cpu, (env) => op2(opc, x, y, f, env));
  writeS(cpu, d, f, r);
  return true;
}

function op2(opc: number, x: bigint, y: bigint, f: Fmt, env: FpEnv): bigint {
  switch (opc) {
    case 0:
      return fpMul(x, y, f, env);
    case 1:
      return fpDiv(x, y, f, env);
    case 2:
      return fpAdd(x, y, f, env);
    case 3:
      return fpAdd(x, y, f, env, true);
    case 4:
      return fpMinMax(x, y, f, env, true, false);
    case 5:
      return fpMinMax(x, y, f, env, false, false);
    case 6:
      return fpMinMax(x, y, f, env, true, true);
    case 7:
      return fpMinMax(x, y, f, env, false, true);
    default:
      return fpMul(x, y, f, env) ^ (1n << BigInt(f.width - 1)); // FNMUL: negate the rounded product
  }
}

function setNzcv(cpu: FpCpu, v: number): void {
  cpu.n = (v >>> 3) & 1;
  cpu.z = (v >>> 2) & 1;
  cpu.c = (v >>> 1) & 1;
  cpu.v = v & 1;
}

function dp1(cpu: FpCpu, i: number, type: number, d: number, n: number): boolean {
  const f = FM(type);
  if (!f) return false;
  const opc = (i >>> 15) & 63;
  const x = readS(cpu, n, f);
  const sbit = 1n << BigInt(f.width - 1);
  let r: bigint;
  switch (opc) {
    case 0:
      r = x;
      break; // FMOV
    case 1:
      r = x & ~sbit;
      break; // FABS
    case 2:
      r = x ^ sbit;
      break; // FNEG
    case 3:
      r = withEnv(cpu, (env) => fpSqrt(x, f, env));
      break;
    case 4:
    case 5: {
      // FCVT to S / D
      const to = FM(opc & 1)!;
      if (to === f) return false;
      r = withEnv(cpu, (env) => fpConvert(x, f, to, env));
      writeS(cpu, d, to, r);
      return true;
    }
    case 8:
    case 9:
    case 10:
    case 11:
    case 12:
    case 14:
    case 15: {
      const mode = opc === 12 ? RM.RA : opc === 14 || opc === 15 ? (cpu.fpcr >>> 22) & 3 : opc - 8;
      r = withEnv(cpu, (env) => fpRoundInt(x, f, env, mode, opc === 14));
      break;
    }
    default:
      return false;
  }
  writeS(cpu, d, f, r);
  return true;
}

/** Conversions between FP and integer registers (bits 15-10 = 0). */
function intConv(cpu: FpCpu, i: number): boolean {
  const sf = i >>> 31,
    type = (i >>> 22) & 3,
    rmode = (i >>> 19) & 3,
    opcode = (i >>> 16) & 7;
  const d = i & 31,
    n = (i >>> 5) & 31;
  if (opcode === 6 || opcode === 7) {
    // FMOV
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
  const f = FM(type);
  if (!f) return false;
  const width = sf ? 64 : 32;
  if (opcode === 2 || opcode === 3) {
    // SCVTF/UCVTF
    if (rmode !== 0) return false;
    let v = readX(cpu, n, sf);
    if (opcode === 2) v = BigInt.asIntN(width, v);
    writeS(
      cpu,
      d,
      f,
      withEnv(cpu, (env) => intToFp(v, f, env)),
    );
    return true;
  }
  let mode: number;
  if (opcode <= 1) mode = [RM.RN, RM.RP, RM.RM, RM.RZ][rmode];
  else if (opcode <= 5 && rmode === 0) mode = RM.RA;
  else return false;
  const x = readS(cpu, n, f);
  writeX(
    cpu,
    d,
    withEnv(cpu, (env) => fpToInt(x, f, env, mode, (opcode & 1) === 1, width)),
    sf,
  );
  return true;
}

/** Fixed-point conversions: SCVTF/UCVTF/FCVTZS/FCVTZU with #fbits. */
function fixedConv(cpu: FpCpu, i: number): boolean {
  const sf = i >>> 31,
    type = (i >>> 22) & 3,
    rmode = (i >>> 19) & 3,
    opcode = (i >>> 16) & 7,
    scale = (i >>> 10) & 63;
  const d = i & 31,
    n = (i >>> 5) & 31;
  const f = FM(type);
  if (!f) return false;
  if (!sf && scale < 32) return false;
  const fbits = 64 - scale,
    width = sf ? 64 : 32;
  if (rmode === 0 && (opcode === 2 || opcode === 3)) {
    let v = readX(cpu, n, sf);
    if (opcode === 2) v = BigInt.asIntN(width, v);
    writeS(
      cpu,
      d,
      f,
      withEnv(cpu, (env) => intToFp(v, f, env, fbits)),
    );
    return true;
  }
  if (rmode === 3 && (opcode === 0 || opcode === 1)) {
    const x = readS(cpu, n, f);
    writeX(
      cpu,
      d,
      withEnv(cpu, (env) => fpToInt(x, f, env, RM.RZ, opcode === 1, width, fbits)),
      sf,
    );
    return true;
  }
  return false;
}

// ---------------------------------------------------------------- vector FP

/** AdvSIMD three-same FP (opcode 11xxx): FADD/FSUB/FMUL/FDIV/FMAX/FMIN(NM)/FCMxx/FADDP/FMLA/FMLS. */
export function vecFp3(cpu: FpCpu, i: number, scalar = false): boolean {
  const q = (i >>> 30) & 1,
    u = (i >>> 29) & 1,
    sz = (i >>> 22) & 1,
    hi = (i >>> 23) & 1,
    opcode = (i >>> 11) & 31;
  const d = i & 31,
    n = (i >>> 5) & 31,
    m = (i >>> 16) & 31;
  if (sz && !q && !scalar) return false;
  const f = FMTS[sz],
    es = sz ? 3 : 2,
    lanes = scalar ? 1 : (q ? 4 : 2) >> sz;
  const key0 = (u << 6) | (hi << 5) | opcode;
  // the scalar encoding space has only compares and FABD (FMULX/FRECPS/FRSQRTS are not implemented)
  if (
    scalar &&
    ![0x1c, (1 << 6) | 0x1c, (1 << 6) | (1 << 5) | 0x1c, (1 << 6) | 0x1d, (1 << 6) | (1 << 5) | 0x1d, (1 << 6) | (1 << 5) | 0x1a].includes(
      key0,
    )
  )
    return false;
  const w = vviews(cpu.vr);
  const key = (u << 6) | (hi << 5) | opcode;
  const out: bigint[] = [];
  const ok = withEnv(cpu, (env) => {
    for (let e = 0; e < lanes; e++) {
      let x: bigint, y: bigint;
      if (scalar) {
        x = getE(w, n, e, es);
        y = getE(w, m, e, es);
      } else if (
        key === ((1 << 6) | 0x1a) ||
        key === ((1 << 6) | 0x1e) ||
        key === ((1 << 6) | 0x18) ||
        key === ((1 << 6) | (1 << 5) | 0x1e) ||
        key === ((1 << 6) | (1 << 5) | 0x18)
      ) {
        const src = e < lanes / 2 ? n : m,
          k = (e % (lanes / 2)) * 2; // pairwise
        x = getE(w, src, k, es);
        y = getE(w, src, k + 1, es);
      } else {
        x = getE(w, n, e, es);
        y = getE(w, m, e, es);
      }
      const ones = sz ? 0xffffffffffffffffn : 0xffffffffn;
      let r: bigint;
      switch (key) {
        case 0x1a:
        case (1 << 6) | 0x1a:
          r = fpAdd(x, y, f, env);
          break; // FADD, FADDP
        case (1 << 5) | 0x1a:
          r = fpAdd(x, y, f, env, true);
          break; // FSUB
        case (1 << 6) | (1 << 5) | 0x1a: {
          // FABD: |x - y| (the sign of a NaN result is cleared too)
          r = fpAdd(x, y, f, env, true) & ~(1n << BigInt(f.width - 1));
          break;
        }
        case (1 << 6) | 0x1b:
          r = fpMul(x, y, f, env);
          break; // FMUL
        case (1 << 6) | 0x1f:
          r = fpDiv(x, y, f, env);
          break; // FDIV
        case 0x1e:
        case (1 << 6) | 0x1e:
          r = fpMinMax(x, y, f, env, true, false);
          break; // FMAX(P)
        case (1 << 5) | 0x1e:
        case (1 << 6) | (1 << 5) | 0x1e:
          r = fpMinMax(x, y, f, env, false, false);
          break;
        case 0x18:
        case (1 << 6) | 0x18:
          r = fpMinMax(x, y, f, env, true, true);
          break; // FMAXNM(P)
        case (1 << 5) | 0x18:
        case (1 << 6) | (1 << 5) | 0x18:
          r = fpMinMax(x, y, f, env, false, true);
          break;
        case 0x1c:
          r = fpCmpRel(x, y, f, env, 0) ? ones : 0n;
          break; // FCMEQ
        case (1 << 6) | 0x1c:
          r = fpCmpRel(x, y, f, env, 1) ? ones : 0n;
          break; // FCMGE
        case (1 << 6) | (1 << 5) | 0x1c:
          r = fpCmpRel(x, y, f, env, 2) ? ones : 0n;
          break; // FCMGT
        case (1 << 6) | 0x1d:
        case (1 << 6) | (1 << 5) | 0x1d: {
          // FACGE / FACGT
          const sb = 1n << BigInt(f.width - 1);
          r = fpCmpRel(x & ~sb, y & ~sb, f, env, hi ? 2 : 1) ? ones : 0n;
          break;
        }
        case 0x19:
          r = fpMulAdd(getE(w, d, e, es), x, y, f, env, false, false);
          break; // FMLA
        case (1 << 5) | 0x19:
          r = fpMulAdd(getE(w, d, e, es), x ^ (1n << BigInt(f.width - 1)), y, f, env, false, false);
          break; // FMLS: negate element 1 first
        default:
          return false;
      }
      out.push(r);
    }
    return true;
  });
  if (!ok) return false;
  if (scalar) {
    w.b64[d * 2] = 0n;
    w.b64[d * 2 + 1] = 0n;
  }
  out.forEach((r, e) => setE(w, d, e, es, r));
  if (!q || scalar) w.b64[d * 2 + 1] = 0n;
  return true;
}

/** AdvSIMD two-reg misc FP: FABS/FNEG/FSQRT/FRINTx/FCVTZS/FCVTZU/SCVTF/UCVTF/FCMxx #0. */
export function vecFp2(cpu: FpCpu, i: number, scalar = false): boolean {
  const q = (i >>> 30) & 1,
    u = (i >>> 29) & 1,
    sz = (i >>> 22) & 1,
    hi = (i >>> 23) & 1,
    opcode = (i >>> 12) & 31;
  const d = i & 31,
    n = (i >>> 5) & 31;
  if (!u && !hi && (opcode === 0x16 || opcode === 0x17) && !scalar) {
    // FCVTN/FCVTN2 (D→S), FCVTL/FCVTL2 (S→D); half forms absent
    if (!sz) return false;
    const w = vviews(cpu.vr);
    const res = withEnv(cpu, (env) => {
      const out: bigint[] = [];
      for (let e = 0; e < 2; e++) {
        out.push(
          opcode === 0x16
            ? fpConvert(getE(w, n, e, 3), FMTS[1], FMTS[0], env)
            : fpConvert(getE(w, n, (q ? 2 : 0) + e, 2), FMTS[0], FMTS[1], env),
        );
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
  const f = FMTS[sz],
    es = sz ? 3 : 2,
    lanes = scalar ? 1 : (q ? 4 : 2) >> sz,
    width = f.width;
  const skey = (u << 6) | (hi << 5) | opcode;
  // scalar space: conversions and compares with zero only (FABS/FNEG/FSQRT/FRINT are vector-only here)
  if (
    scalar &&
    ![
      0x1a,
      (1 << 6) | 0x1a,
      (1 << 5) | 0x1b,
      (1 << 6) | (1 << 5) | 0x1b,
      0x1d,
      (1 << 6) | 0x1d,
      (1 << 5) | 0x0c,
      (1 << 6) | (1 << 5) | 0x0c,
      (1 << 5) | 0x0d,
      (1 << 6) | (1 << 5) | 0x0d,
      (1 << 5) | 0x0e,
    ].includes(skey)
  )
    return false;
  const w = vviews(cpu.vr);
  const sbit = 1n << BigInt(width - 1),
    ones = sbit * 2n - 1n;
  const key = (u << 6) | (hi << 5) | opcode;
  const out: bigint[] = [];
  const ok = withEnv(cpu, (env) => {
    for (let e = 0; e < lanes; e++) {
      const x = getE(w, n, e, es);
      let r: bigint;
      switch (key) {
        case (1 << 5) | 0x0f:
          r = x & ~sbit;
          break; // FABS
        case (1 << 6) | (1 << 5) | 0x0f:
          r = x ^ sbit;
          break; // FNEG
        case (1 << 6) | (1 << 5) | 0x1f:
          r = fpSqrt(x, f, env);
          break; // FSQRT
        case 0x18:
          r = fpRoundInt(x, f, env, RM.RN, false);
          break; // FRINTN
        case 0x19:
          r = fpRoundInt(x, f, env, RM.RM, false);
          break; // FRINTM
        case (1 << 5) | 0x18:
          r = fpRoundInt(x, f, env, RM.RP, false);
          break; // FRINTP
        case (1 << 5) | 0x19:
          r = fpRoundInt(x, f, env, RM.RZ, false);
          break; // FRINTZ
        case (1 << 6) | 0x18:
          r = fpRoundInt(x, f, env, RM.RA, false);
          break; // FRINTA
        case (1 << 6) | 0x19:
          r = fpRoundInt(x, f, env, env.rmode, true);
          break; // FRINTX
        case (1 << 6) | (1 << 5) | 0x19:
          r = fpRoundInt(x, f, env, env.rmode, false);
          break; // FRINTI
        case (1 << 5) | 0x1b:
          r = fpToInt(x, f, env, RM.RZ, false, width);
          break; // FCVTZS
        case (1 << 6) | (1 << 5) | 0x1b:
          r = fpToInt(x, f, env, RM.RZ, true, width);
          break; // FCVTZU
        case 0x1a:
          r = fpToInt(x, f, env, RM.RN, false, width);
          break; // FCVTNS
        case (1 << 6) | 0x1a:
          r = fpToInt(x, f, env, RM.RN, true, width);
          break; // FCVTNU
        case 0x1d:
          r = intToFp(BigInt.asIntN(width, x), f, env);
          break; // SCVTF
        case (1 << 6) | 0x1d:
          r = intToFp(x, f, env);
          break; // UCVTF
        case (1 << 5) | 0x0c:
          r = fpCmpRel(x, 0n, f, env, 2) ? ones : 0n;
          break; // FCMGT #0
        case (1 << 6) | (1 << 5) | 0x0c:
          r = fpCmpRel(x, 0n, f, env, 1) ? ones : 0n;
          break; // FCMGE #0
        case (1 << 5) | 0x0d:
          r = fpCmpRel(x, 0n, f, env, 0) ? ones : 0n;
          break; // FCMEQ #0
        case (1 << 6) | (1 << 5) | 0x0d:
          r = fpCmpRel(0n, x, f, env, 1) ? ones : 0n;
          break; // FCMLE #0
        case (1 << 5) | 0x0e:
          r = fpCmpRel(0n, x, f, env, 2) ? ones : 0n;
          break; // FCMLT #0
        default:
          return false;
      }
      out.push(r);
    }
    return true;
  });
  if (!ok) return false;
  if (scalar) {
    w.b64[d * 2] = 0n;
    w.b64[d * 2 + 1] = 0n;
  }
  out.forEach((r, e) => setE(w, d, e, es, r));
  if (!q || scalar) w.b64[d * 2 + 1] = 0n;
  return true;
}

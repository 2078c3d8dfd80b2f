// Code templates of the block compiler (emu/cpu/jit.ts), one per decoded operation (ops.ts; the
// operations without one are marked interpreted-only there). Each template returns JavaScript
// source for one instruction with its register slots folded into constants. The source runs with:
// c (the vCPU, as jit-cpu.ts declares it), X (its register file), H/add64/lsl64/lsr64/asr64 (int64
// helpers), pc0 (block entry PC low word), pcHi, i0 (instret at entry). Templates mirror the
// interpreter's cases in cpu.ts line for line, so behaviour is identical.

import { OP, slotA, slotD, slotM, slotN, variant } from './ops.ts';

/** What the compiler must do around an operation. */
export const KIND = {
  /** Pure register operation that cannot fault: no state sync needed. */
  PURE: 0,
  /** May fault (calls into the Cpu): PC and instret are synced before it. */
  CALL: 1,
  /** Memory access: synced before; afterwards the block exits if an event is pending or the code page was written. */
  MEM: 2,
  /** Branch: ends the block; synced before, sets the PC. */
  BRANCH: 3,
} as const;

/** Decoded fields of one instruction plus its address. */
export interface OpArgs {
  p: number;
  a: number;
  b: number;
  /** Source expression of this instruction's PC low word. */
  pc: string;
}

export interface OpTemplate {
  kind: number;
  /** JavaScript for the instruction, or undefined when this encoding is not compiled. */
  code(o: OpArgs): string | undefined;
  /** Some encodings of this operation are not compiled (code() says which); others always are. */
  partial?: boolean;
}

/** Address n + signed 32-bit immediate into lo/hi locals (the LS_OFF_* fast forms). */
const addrImm = (n: number, a: number): string =>
  `const nl = X[${n}], lo = (nl + ${a}) | 0; const hi = (X[${n + 1}] + ((lo >>> 0) < (nl >>> 0) ? 1 : 0)) | 0;`;

const pure = (code: (o: OpArgs) => string | undefined): OpTemplate => ({ kind: KIND.PURE, code });
const mem = (code: (o: OpArgs) => string | undefined): OpTemplate => ({ kind: KIND.MEM, code });
const branch = (code: (o: OpArgs) => string | undefined): OpTemplate => ({ kind: KIND.BRANCH, code });

/** Taken branch to pc + sign-extended a (BCOND, CBZ, TBZ). */
const jumpRel = (o: OpArgs): string => `{ c.pcLo = add64(pcHi, ${o.pc}, ${o.a >> 31}, ${o.a}); c.pcHi = H.hi; }`;

/** Condition code cc as an expression on the flags (Cpu.cond, folded). */
export function condExpr(cc: number): string {
  const base = [
    'c.z !== 0',
    'c.c !== 0',
    'c.n !== 0',
    'c.v !== 0',
    '(c.c !== 0 && c.z === 0)',
    'c.n === c.v',
    '(c.n === c.v && c.z === 0)',
    'true',
  ][cc >>> 1]!;
  return (cc & 1) !== 0 && cc >>> 1 !== 7 ? `!(${base})` : base;
}

/**
 * Declares locals <o>l/<o>h = h:l shifted by the constant s (type 0 LSL, 1 LSR, 2 ASR): lsl64/
 * lsr64/asr64 folded for that amount. h and l are read more than once (plain reads only).
 */
function shiftConst(type: number, h: string, l: string, s: number, o: string): string {
  s &= 63;
  const lo = `${o}l`,
    hi = `${o}h`;
  if (s === 0) return `let ${lo} = ${l}, ${hi} = ${h};`;
  if (type === 0) {
    if (s < 32) return `let ${lo} = ${l} << ${s}, ${hi} = (${h} << ${s}) | (${l} >>> ${32 - s});`;
    return `let ${lo} = 0, ${hi} = ${l} << ${s - 32};`;
  }
  if (type === 1) {
    if (s < 32) return `let ${lo} = (${l} >>> ${s}) | (${h} << ${32 - s}), ${hi} = (${h} >>> ${s}) | 0;`;
    return `let ${lo} = (${h} >>> ${s - 32}) | 0, ${hi} = 0;`;
  }
  if (s < 32) return `let ${lo} = (${l} >>> ${s}) | (${h} << ${32 - s}), ${hi} = ${h} >> ${s};`;
  return `let ${lo} = ${h} >> ${s - 32}, ${hi} = ${h} >> 31;`;
}

/** Locals bl/bh = Xm shifted (64-bit, types LSL/LSR/ASR), or undefined for ROR. */
function shifted64(m: number, type: number, amt: number): string | undefined {
  if (amt === 0) return `let bl = X[${m}], bh = X[${m + 1}];`;
  if (type > 2) return undefined;
  return shiftConst(type, `X[${m + 1}]`, `X[${m}]`, amt, 'b');
}

/** Expression of Wm shifted (32-bit), or undefined for ROR. */
function shifted32(m: number, type: number, amt: number): string | undefined {
  if (amt === 0) return `X[${m}]`;
  return [`(X[${m}] << ${amt})`, `((X[${m}] >>> ${amt}) | 0)`, `(X[${m}] >> ${amt})`][type];
}

/** One single-register access of LS type t for slot rt at address locals hi:lo (Cpu.ldst, folded). */
function ldstCode(t: number, rt: number, hi: string, lo: string): string {
  const at = `${hi}, ${lo}`;
  switch (t) {
    case 0 /* STRB */:
      return `c.wr8(${at}, X[${rt}]);`;
    case 1 /* STRH */:
      return `c.wr16(${at}, X[${rt}]);`;
    case 2 /* STRW */:
      return `c.wr32(${at}, X[${rt}]);`;
    case 3 /* STRX */:
      return `c.wr64(${at}, X[${rt + 1}], X[${rt}]);`;
    case 4 /* LDRB */:
      return `X[${rt}] = c.rd8(${at}); X[${rt + 1}] = 0;`;
    case 5 /* LDRH */:
      return `X[${rt}] = c.rd16(${at}); X[${rt + 1}] = 0;`;
    case 6 /* LDRW */:
      return `X[${rt}] = c.rd32(${at}); X[${rt + 1}] = 0;`;
    case 7 /* LDRX */:
      return `{ const v = c.rd64(${at}); X[${rt + 1}] = H.hi; X[${rt}] = v; }`;
    case 8 /* LDRSB_X */:
      return `{ const v = (c.rd8(${at}) << 24) >> 24; X[${rt}] = v; X[${rt + 1}] = v >> 31; }`;
    case 9 /* LDRSH_X */:
      return `{ const v = (c.rd16(${at}) << 16) >> 16; X[${rt}] = v; X[${rt + 1}] = v >> 31; }`;
    case 10 /* LDRSW */:
      return `{ const v = c.rd32(${at}); X[${rt}] = v; X[${rt + 1}] = v >> 31; }`;
    case 11 /* LDRSB_W */:
      return `X[${rt}] = (c.rd8(${at}) << 24) >> 24; X[${rt + 1}] = 0;`;
    case 12 /* LDRSH_W */:
      return `X[${rt}] = (c.rd16(${at}) << 16) >> 16; X[${rt + 1}] = 0;`;
    default:
      return ''; // PRFM
  }
}

/** Locals el/eh = Xm extended by option opt and shifted left by sh (Cpu.extendReg, folded). */
function extendCode(m: number, opt: number, sh: number): string {
  const base = [
    `let el = X[${m}] & 0xff, eh = 0;`,
    `let el = X[${m}] & 0xffff, eh = 0;`,
    `let el = X[${m}], eh = 0;`,
    `let el = X[${m}], eh = X[${m + 1}];`,
    `let el = (X[${m}] << 24) >> 24, eh = el >> 31;`,
    `let el = (X[${m}] << 16) >> 16, eh = el >> 31;`,
    `let el = X[${m}], eh = el >> 31;`,
    `let el = X[${m}], eh = X[${m + 1}];`,
  ][opt & 7]!;
  return sh === 0 ? base : `${base} { const t = lsl64(eh, el, ${sh}); eh = H.hi; el = t; }`;
}

/** 64-bit a + b + cin setting NZCV (Cpu.adds64, inlined); writes slot d unless d < 0. */
function adds64Code(d: number, ah: string, al: string, bh: string, bl: string, cin: string): string {
  // int32 arithmetic only (carries from the sign bits: carry = majority(a31, b31, carry into bit 31))
  return `{ const sah = ${ah}, sal = ${al}, sbh = ${bh}, sbl = ${bl};
    const lo = (sal + sbl + ${cin}) | 0; const hi = (sah + sbh + (((sal & sbl) | ((sal | sbl) & ~lo)) >>> 31)) | 0;
    c.n = hi >>> 31; c.z = (lo | hi) === 0 ? 1 : 0; c.c = ((sah & sbh) | ((sah | sbh) & ~hi)) >>> 31; c.v = (~(sah ^ sbh) & (sah ^ hi)) >>> 31;
    ${d >= 0 ? `X[${d}] = lo; X[${d + 1}] = hi;` : ''} }`;
}

/** 64-bit a + b + cin into slot d, flags untouched (int32 arithmetic, carry from the sign bits). */
function add64Code(d: number, ah: string, al: string, bh: string, bl: string, cin: string): string {
  return `{ const sal = ${al}, sbl = ${bl}; const lo = (sal + sbl + ${cin}) | 0;
    X[${d + 1}] = (${ah} + ${bh} + (((sal & sbl) | ((sal | sbl) & ~lo)) >>> 31)) | 0; X[${d}] = lo; }`;
}

/** 32-bit a + b + cin setting NZCV (Cpu.adds32, inlined); writes slot d (high word 0) unless d < 0. */
function adds32Code(d: number, a: string, b: string, cin: string): string {
  return `{ const sa = ${a}, sb = ${b}; const r = (sa + sb + ${cin}) | 0;
    c.n = r >>> 31; c.z = r === 0 ? 1 : 0; c.c = ((sa & sb) | ((sa | sb) & ~r)) >>> 31; c.v = (~(sa ^ sb) & (sa ^ r)) >>> 31;
    ${d >= 0 ? `X[${d}] = r; X[${d + 1}] = 0;` : ''} }`;
}

/** Templates by operation id (ops.ts); ids not listed end the block. */
export const TEMPLATES: Record<number, OpTemplate> = {
  [OP.ADD_I64]: pure(({ p, a }) => {
    const n = slotN(p),
      d = slotD(p);
    return `{ const nl = X[${n}], lo = (nl + ${a}) | 0; X[${d + 1}] = (X[${n + 1}] + ((lo >>> 0) < (nl >>> 0) ? 1 : 0)) | 0; X[${d}] = lo; }`;
  }),
  [OP.SUB_I64]: pure(({ p, a }) => {
    const n = slotN(p),
      d = slotD(p);
    return `{ const nl = X[${n}]; X[${d + 1}] = (X[${n + 1}] - ((nl >>> 0) < ${a} ? 1 : 0)) | 0; X[${d}] = (nl - ${a}) | 0; }`;
  }),
  [OP.ADD_I32]: pure(({ p, a }) => `X[${slotD(p)}] = (X[${slotN(p)}] + ${a}) | 0; X[${slotD(p) + 1}] = 0;`),
  [OP.SUB_I32]: pure(({ p, a }) => `X[${slotD(p)}] = (X[${slotN(p)}] - ${a}) | 0; X[${slotD(p) + 1}] = 0;`),
  [OP.ADDS_I]: pure(({ p, a }) => {
    const n = slotN(p),
      d = slotD(p),
      x = variant(p),
      sub = (x >>> 1) & 1;
    if (x & 1) {
      return sub ? adds64Code(d, `X[${n + 1}]`, `X[${n}]`, '-1', `${~a}`, '1') : adds64Code(d, `X[${n + 1}]`, `X[${n}]`, '0', `${a}`, '0');
    }
    return sub ? adds32Code(d, `X[${n}]`, `${~a}`, '1') : adds32Code(d, `X[${n}]`, `${a}`, '0');
  }),
  [OP.LOG_I]: pure(({ p, a, b }) => {
    const n = slotN(p),
      d = slotD(p),
      x = variant(p),
      opc = x & 3,
      sf = x >>> 2,
      op = ['&', '|', '^', '&'][opc]!;
    const hi = sf ? `X[${n + 1}] ${op} ${b}` : '0';
    const flags =
      opc !== 3
        ? ''
        : sf
          ? 'c.n = hi >>> 31; c.z = (lo | hi) === 0 ? 1 : 0; c.c = 0; c.v = 0;'
          : 'c.n = lo >>> 31; c.z = lo === 0 ? 1 : 0; c.c = 0; c.v = 0;';
    return `{ const lo = X[${n}] ${op} ${a}, hi = ${hi}; ${flags} X[${d}] = lo; X[${d + 1}] = hi; }`;
  }),
  [OP.MOVC]: pure(({ p, a, b }) => `X[${slotD(p)}] = ${a}; X[${slotD(p) + 1}] = ${b};`),
  [OP.MOVK]: pure(({ p, a }) => {
    const d = slotD(p),
      hw = variant(p) & 3;
    const set = [
      `X[${d}] = (X[${d}] & -65536) | ${a};`,
      `X[${d}] = (X[${d}] & 0xffff) | ${a << 16};`,
      `X[${d + 1}] = (X[${d + 1}] & -65536) | ${a};`,
      `X[${d + 1}] = (X[${d + 1}] & 0xffff) | ${a << 16};`,
    ][hw]!;
    return variant(p) >>> 2 ? set : `${set} X[${d + 1}] = 0;`;
  }),
  [OP.ADR]: pure(({ p, a, b, pc }) => {
    const base = variant(p) ? `(${pc}) & -4096` : pc;
    return `X[${slotD(p)}] = add64(pcHi, ${base}, ${b}, ${a}); X[${slotD(p) + 1}] = H.hi;`;
  }),
  [OP.SHIFT_I64]: pure(({ p, a, b }) => {
    const n = slotN(p),
      d = slotD(p);
    return `{ ${shiftConst(0, `X[${n + 1}]`, `X[${n}]`, a, 's')} ${shiftConst(variant(p) ? 1 : 2, 'sh', 'sl', b, 't')} X[${d}] = tl; X[${d + 1}] = th; }`;
  }),
  [OP.SHIFT_I32]: pure(({ p, a, b }) => {
    const d = slotD(p);
    return `{ const v = X[${slotN(p)}] << ${a}; X[${d}] = ${variant(p) ? `(v >>> ${b}) | 0` : `v >> ${b}`}; X[${d + 1}] = 0; }`;
  }),
  [OP.BFM]: pure(({ p, a, b }) => `c.opBfm(${p}, ${a}, ${b});`),
  [OP.EXTR]: pure(({ p, a }) => `c.opExtr(${p}, ${a});`),
  [OP.ADD_R]: pure(({ p, a, b }) => {
    const n = slotN(p),
      m = slotM(p),
      d = slotD(p),
      x = variant(p);
    if (x & 2) {
      const operand = shifted64(m, a, b);
      if (operand === undefined) return `c.opAddReg(${p}, ${a}, ${b});`;
      return `{ ${operand} ${x & 1 ? 'bl = ~bl; bh = ~bh;' : ''} ${add64Code(d, `X[${n + 1}]`, `X[${n}]`, 'bh', 'bl', `${x & 1}`)} }`;
    }
    const operand = shifted32(m, a, b);
    if (operand === undefined) return `c.opAddReg(${p}, ${a}, ${b});`;
    return `X[${d}] = (X[${n}] ${x & 1 ? '-' : '+'} ${operand}) | 0; X[${d + 1}] = 0;`;
  }),
  [OP.ADDS_R]: pure(({ p, a, b }) => {
    const n = slotN(p),
      m = slotM(p),
      d = slotD(p),
      x = variant(p),
      sub = x & 1;
    if (x & 2) {
      const operand = shifted64(m, a, b);
      if (operand === undefined) return `c.opAddsReg(${p}, ${a}, ${b});`;
      return `{ ${operand} ${adds64Code(d, `X[${n + 1}]`, `X[${n}]`, sub ? '~bh' : 'bh', sub ? '~bl' : 'bl', `${sub}`)} }`;
    }
    const operand = shifted32(m, a, b);
    if (operand === undefined) return `c.opAddsReg(${p}, ${a}, ${b});`;
    return adds32Code(d, `X[${n}]`, sub ? `~${operand}` : operand, `${sub}`);
  }),
  [OP.LOG_R]: pure(({ p, a, b }) => {
    const n = slotN(p),
      m = slotM(p),
      d = slotD(p),
      x = variant(p),
      opc = x & 3;
    const op = ['&', '|', '^', '&'][opc]!;
    if (x >>> 3) {
      const operand = shifted64(m, a, b);
      if (operand === undefined) return `c.opLogReg(${p}, ${a}, ${b});`;
      const flags = opc === 3 ? 'c.n = hi >>> 31; c.z = (lo | hi) === 0 ? 1 : 0; c.c = 0; c.v = 0;' : ''; // ANDS/BICS
      return `{ ${operand} ${x & 4 ? 'bl = ~bl; bh = ~bh;' : ''} const lo = X[${n}] ${op} bl, hi = X[${n + 1}] ${op} bh; ${flags} X[${d}] = lo; X[${d + 1}] = hi; }`;
    }
    const operand = shifted32(m, a, b);
    if (operand === undefined) return `c.opLogReg(${p}, ${a}, ${b});`;
    if (opc === 3)
      return `{ const lo = X[${n}] & ${x & 4 ? `~${operand}` : operand}; c.n = lo >>> 31; c.z = lo === 0 ? 1 : 0; c.c = 0; c.v = 0; X[${d}] = lo; X[${d + 1}] = 0; }`;
    return `X[${d}] = X[${n}] ${op} ${x & 4 ? `~${operand}` : operand}; X[${d + 1}] = 0;`;
  }),
  [OP.ADD_X]: pure(({ p, a, b }) => {
    const n = slotN(p),
      m = slotM(p),
      d = slotD(p),
      x = variant(p),
      sub = x & 1,
      S = (x >>> 1) & 1,
      sf = x >>> 2;
    const ext = `${extendCode(m, a, b)} ${sub ? 'el = ~el; eh = ~eh;' : ''}`;
    if (sf) {
      if (S) return `{ ${ext} ${adds64Code(d, `X[${n + 1}]`, `X[${n}]`, 'eh', 'el', `${sub}`)} }`;
      return `{ ${ext} ${add64Code(d, `X[${n + 1}]`, `X[${n}]`, 'eh', 'el', `${sub}`)} }`;
    }
    if (S) return `{ ${ext} ${adds32Code(d, `X[${n}]`, 'el', `${sub}`)} }`;
    return `{ ${ext} X[${d}] = (X[${n}] + el + ${sub}) | 0; X[${d + 1}] = 0; }`;
  }),
  [OP.ADC]: pure(({ p }) => {
    const n = slotN(p),
      m = slotM(p),
      d = slotD(p),
      x = variant(p),
      sub = x & 1,
      S = (x >>> 1) & 1,
      sf = x >>> 2;
    const bl = sub ? `~X[${m}]` : `X[${m}]`,
      bh = sub ? `~X[${m + 1}]` : `X[${m + 1}]`;
    if (sf) {
      if (S) return adds64Code(d, `X[${n + 1}]`, `X[${n}]`, bh, bl, 'c.c');
      return add64Code(d, `X[${n + 1}]`, `X[${n}]`, bh, bl, 'c.c');
    }
    if (S) return adds32Code(d, `X[${n}]`, bl, 'c.c');
    return `X[${d}] = (X[${n}] + ${bl} + c.c) | 0; X[${d + 1}] = 0;`;
  }),
  [OP.CCMP]: pure(({ p, a }) => {
    const n = slotN(p),
      m = slotM(p),
      x = variant(p),
      sub = x & 1,
      f = (a >>> 4) & 15;
    const imm = (a >>> 8) & 1;
    let bl = imm ? `${a >>> 9}` : `X[${m}]`,
      bh = imm ? '0' : `X[${m + 1}]`;
    if (sub) {
      bl = `~${bl}`;
      bh = `~${bh}`;
    }
    const cmp = x >>> 2 ? adds64Code(-1, `X[${n + 1}]`, `X[${n}]`, bh, bl, `${sub}`) : adds32Code(-1, `X[${n}]`, bl, `${sub}`);
    return `if (${condExpr(a & 15)}) ${cmp} else { c.n = ${f >>> 3}; c.z = ${(f >>> 2) & 1}; c.c = ${(f >>> 1) & 1}; c.v = ${f & 1}; }`;
  }),
  [OP.CSEL]: pure(({ p, a }) => {
    const n = slotN(p),
      m = slotM(p),
      d = slotD(p),
      x = variant(p);
    const alt = ['', 'lo = add64(hi, lo, 0, 1); hi = H.hi;', 'lo = ~lo; hi = ~hi;', 'lo = add64(~hi, ~lo, 0, 1); hi = H.hi;'][x & 3];
    return `{ let lo, hi; if (${condExpr(a)}) { lo = X[${n}]; hi = X[${n + 1}]; } else { lo = X[${m}]; hi = X[${m + 1}]; ${alt} }
      X[${d}] = lo; X[${d + 1}] = ${x >>> 2 ? 'hi' : '0'}; }`;
  }),
  // DP1/DP2/DP3 cannot fault
  [OP.DP2]: pure(({ p, a }) => `c.opDp2(${p}, ${a});`),
  [OP.DP1]: pure(({ p, a }) => `c.opDp1(${p}, ${a});`),
  [OP.DP3]: pure(({ p, a }) => {
    if (variant(p) === 0) {
      // MADD/MSUB (32-bit)
      const n = slotN(p),
        m = slotM(p),
        ra = slotA(p),
        d = slotD(p);
      return `{ const prod = Math.imul(X[${n}], X[${m}]); X[${d}] = (X[${ra}] ${a ? '-' : '+'} prod) | 0; X[${d + 1}] = 0; }`;
    }
    if (a !== 0) return `c.opDp3(${p}, ${a});`;
    const n = slotN(p),
      m = slotM(p),
      ra = slotA(p),
      d = slotD(p);
    return `{ const al = X[${n}], bl = X[${m}]; const plo = Math.imul(al, bl);
      const phi = Math.round(((al >>> 0) * (bl >>> 0) - (plo >>> 0)) / 4294967296) + Math.imul(X[${n + 1}], bl) + Math.imul(al, X[${m + 1}]);
      const rl = X[${ra}], lo = (rl + plo) | 0; X[${d + 1}] = (X[${ra + 1}] + phi + ((lo >>> 0) < (rl >>> 0) ? 1 : 0)) | 0; X[${d}] = lo; }`;
  }),
  [OP.B]: branch(({ a, b, pc }) => `c.pcLo = add64(pcHi, ${pc}, ${b}, ${a}); c.pcHi = H.hi;`),
  [OP.BL]: branch(({ a, b, pc }) => `X[60] = (${pc} + 4) | 0; X[61] = pcHi; c.pcLo = add64(pcHi, ${pc}, ${b}, ${a}); c.pcHi = H.hi;`),
  [OP.BCOND]: branch((o) => `if (${condExpr(o.b)}) ${jumpRel(o)}`),
  [OP.CBZ]: branch((o) => {
    const t = slotD(o.p);
    const zero = (variant(o.p) >>> 1) & 1 ? `(X[${t}] | X[${t + 1}]) === 0` : `X[${t}] === 0`;
    return `if ((${zero}) !== ${(variant(o.p) & 1) > 0}) ${jumpRel(o)}`;
  }),
  [OP.TBZ]: branch((o) => {
    const t = slotD(o.p),
      bit = o.b;
    const set = bit < 32 ? `(X[${t}] >>> ${bit}) & 1` : `(X[${t + 1}] >>> ${bit - 32}) & 1`;
    return `if ((${set}) === ${variant(o.p)}) ${jumpRel(o)}`;
  }),
  [OP.BR]: branch(({ p }) => `c.branchTo(X[${slotN(p) + 1}], X[${slotN(p)}]);`),
  [OP.BLR]: branch(({ p, pc }) => {
    const n = slotN(p);
    return `{ const tl = X[${n}], th = X[${n + 1}]; X[60] = (${pc} + 4) | 0; X[61] = pcHi; c.branchTo(th, tl); }`;
  }),
  [OP.RET]: branch(({ p }) => `c.branchTo(X[${slotN(p) + 1}], X[${slotN(p)}]);`),
  [OP.LS_OFF]: mem(({ p, a }) => {
    const n = slotN(p);
    return `{ const lo = add64(X[${n + 1}], X[${n}], ${a >> 31}, ${a}), hi = H.hi; ${ldstCode(variant(p), slotD(p), 'hi', 'lo')} }`;
  }),
  [OP.LS_PRE]: mem(({ p, a }) => {
    const n = slotN(p);
    return `{ const wl = add64(X[${n + 1}], X[${n}], ${a >> 31}, ${a}), wh = H.hi; ${ldstCode(variant(p), slotD(p), 'wh', 'wl')} X[${n}] = wl; X[${n + 1}] = wh; }`;
  }),
  [OP.LS_POST]: mem(({ p, a }) => {
    const n = slotN(p);
    return `{ const nl = X[${n}], nh = X[${n + 1}]; const wl = add64(nh, nl, ${a >> 31}, ${a}), wh = H.hi; ${ldstCode(variant(p), slotD(p), 'nh', 'nl')} X[${n}] = wl; X[${n + 1}] = wh; }`;
  }),
  [OP.LS_REG]: mem(({ p, a, b }) => {
    const n = slotN(p);
    return `{ ${extendCode(slotM(p), a, b)} const lo = add64(X[${n + 1}], X[${n}], eh, el), hi = H.hi; ${ldstCode(variant(p), slotD(p), 'hi', 'lo')} }`;
  }),
  [OP.LS_UNPRIV]: mem(({ p, a }) => `c.opLsUnpriv(${p}, ${a});`),
  [OP.LS_LIT]: mem(
    ({ p, a, pc }) => `{ const lo = add64(pcHi, ${pc}, ${a >> 31}, ${a}), hi = H.hi; ${ldstCode(variant(p), slotD(p), 'hi', 'lo')} }`,
  ),
  [OP.LSP]: mem(({ p, a, b }) => {
    const n = slotN(p),
      t = variant(p),
      r1 = slotD(p),
      r2 = slotA(p),
      mode = b;
    let access: string;
    switch (t) {
      case 0:
        access = `c.wr32(ah, al, X[${r1}]); c.wr32(bh, bl, X[${r2}]);`;
        break;
      case 1:
      case 4: {
        const his = t === 4 ? `X[${r1 + 1}] = v1 >> 31; X[${r2 + 1}] = v2 >> 31;` : `X[${r1 + 1}] = 0; X[${r2 + 1}] = 0;`;
        access = `const v1 = c.rd32(ah, al), v2 = c.rd32(bh, bl); X[${r1}] = v1; X[${r2}] = v2; ${his}`;
        break;
      }
      case 2:
        access = `c.wr64(ah, al, X[${r1 + 1}], X[${r1}]); c.wr64(bh, bl, X[${r2 + 1}], X[${r2}]);`;
        break;
      case 3:
        access = `const v1 = c.rd64(ah, al), v1h = H.hi; const v2 = c.rd64(bh, bl), v2h = H.hi; X[${r1}] = v1; X[${r1 + 1}] = v1h; X[${r2}] = v2; X[${r2 + 1}] = v2h;`;
        break;
      default:
        return `c.opPair(${p}, ${a}, ${b});`;
    }
    const step = t === 2 || t === 3 ? 8 : 4;
    return `{ const wl = add64(X[${n + 1}], X[${n}], ${a >> 31}, ${a}), wh = H.hi;
      const al = ${mode === 1 ? `X[${n}]` : 'wl'}, ah = ${mode === 1 ? `X[${n + 1}]` : 'wh'};
      const bl = (al + ${step}) | 0, bh = (bl >>> 0) < (al >>> 0) ? (ah + 1) | 0 : ah;
      ${access} ${mode !== 0 ? `X[${n}] = wl; X[${n + 1}] = wh;` : ''} }`;
  }),
  [OP.NOP]: pure(() => ''),
  [OP.EXCL]: mem(({ p, a }) => `c.opExclusive(${p}, ${a});`),
  // WFE/WFI/SEV/SEVL touch the run state: only the plain hints (PAC, BTI, YIELD...) are compiled
  [OP.HINT]: { ...pure(({ a }) => (a >= 2 && a <= 5 ? undefined : '')), partial: true },
  [OP.MOV_R]: pure(({ p }) => {
    const m = slotM(p),
      d = slotD(p);
    return `X[${d}] = X[${m}]; X[${d + 1}] = ${variant(p) ? `X[${m + 1}]` : '0'};`;
  }),
  [OP.LS_OFF_X]: mem(({ p, a }) => `{ ${addrImm(slotN(p), a)} const v = c.rd64(hi, lo); X[${slotD(p) + 1}] = H.hi; X[${slotD(p)}] = v; }`),
  [OP.LS_OFF_W]: mem(({ p, a }) => `{ ${addrImm(slotN(p), a)} X[${slotD(p)}] = c.rd32(hi, lo); X[${slotD(p) + 1}] = 0; }`),
  [OP.ST_OFF_X]: mem(({ p, a }) => `{ ${addrImm(slotN(p), a)} c.wr64(hi, lo, X[${slotD(p) + 1}], X[${slotD(p)}]); }`),
  [OP.ST_OFF_W]: mem(({ p, a }) => `{ ${addrImm(slotN(p), a)} c.wr32(hi, lo, X[${slotD(p)}]); }`),
  [OP.ADD_RR64]: pure(({ p }) => {
    const n = slotN(p),
      m = slotM(p),
      d = slotD(p);
    if (variant(p)) {
      return `{ const nl = X[${n}], ml = X[${m}]; X[${d + 1}] = (X[${n + 1}] - X[${m + 1}] - ((nl >>> 0) < (ml >>> 0) ? 1 : 0)) | 0; X[${d}] = (nl - ml) | 0; }`;
    }
    return `{ const nl = X[${n}], ml = X[${m}], lo = (nl + ml) | 0; X[${d + 1}] = (X[${n + 1}] + X[${m + 1}] + ((lo >>> 0) < (nl >>> 0) ? 1 : 0)) | 0; X[${d}] = lo; }`;
  }),
  [OP.ADDS_RR64]: pure(({ p }) => {
    const n = slotN(p),
      m = slotM(p),
      d = slotD(p);
    return variant(p)
      ? adds64Code(d, `X[${n + 1}]`, `X[${n}]`, `~X[${m + 1}]`, `~X[${m}]`, '1')
      : adds64Code(d, `X[${n + 1}]`, `X[${n}]`, `X[${m + 1}]`, `X[${m}]`, '0');
  }),
  [OP.MRS]: mem(({ p, a }) => `c.sysAccess(${a}, ${slotD(p)}, true);`),
  [OP.MSR]: mem(({ p, a }) => `c.sysAccess(${a}, ${slotD(p)}, false);`),
  [OP.MSR_IMM]: mem(({ a, b }) => `c.opMsrImm(${a}, ${b});`),
  // CLREX, DSB, DMB, ISB (other encodings are UNDEFINED: left to the interpreter)
  [OP.BARRIER]: { ...pure(({ a }) => (a === 2 ? 'c.clearExclusive();' : a >= 4 && a <= 6 ? '' : undefined)), partial: true },
  [OP.SYS]: mem(({ p, a }) => `c.opSys(${a}, ${p});`),
  // every SIMD&FP instruction goes through the interpreter's handler (traps, loads/stores: treated as memory)
  [OP.FPSIMD]: mem(({ a }) => `c.opFpSimd(${a});`),
  [OP.LS_REG_X]: mem(({ p, b }) => {
    const n = slotN(p),
      m = slotM(p),
      t = slotD(p),
      s = b;
    const oh = s ? `(mh << ${s}) | (ml >>> ${32 - s})` : 'mh';
    const access =
      variant(p) === 7 ? `const v = c.rd64(hi, lo); X[${t + 1}] = H.hi; X[${t}] = v;` : `c.wr64(hi, lo, X[${t + 1}], X[${t}]);`;
    return `{ const ml = X[${m}], mh = X[${m + 1}]; const ol = ml << ${s}, oh = ${oh}; const nl = X[${n}], lo = (nl + ol) | 0;
      const hi = (X[${n + 1}] + oh + ((lo >>> 0) < (nl >>> 0) ? 1 : 0)) | 0; ${access} }`;
  }),
};

// WebAssembly code of the operations the block compiler runs natively (native i64 arithmetic,
// NZCV packed in one i32, inline TLB for loads and stores), keyed by the operation ids of ops.ts.
// Each reads the decoded record exactly as the interpreter's case in cpu.ts (or its handler in
// alu.ts / loadstore.ts) does. An operation without an entry here, or an encoding whose entry
// returns false, is run by the interpreter from inside the compiled block (wasm-jit.ts); so is
// every load or store whose TLB lookup misses (MMIO, faults, page crossings, code pages).

import { W } from './wasm-enc.ts';
import { Gen, L, MEM_RAM } from './wasm-gen.ts';
import { LS, LS_SIZE_LOG2, OP, slotA, slotD, slotM, slotN, variant } from './ops.ts';

/** One instruction: its decoded words, its index in the block, and how to run it in the interpreter. */
export interface WasmOpArgs {
  p: number;
  a: number;
  b: number;
  j: number;
  /** Emits: run this instruction in the interpreter (slow path of a memory access). */
  slow(): void;
  /** Who serves system register encoding enc now (JitCpu.sysregOwner; 1 = the CPU's own storage). */
  owner(enc: number): number;
}

/** Emits the instruction and returns true, or returns false having emitted nothing (interpreter). */
export type WasmOp = (g: Gen, o: WasmOpArgs) => boolean;

const big = (v: number): bigint => BigInt(v | 0);
/** The 64-bit value hi:lo of two decoded words. */
const pair = (lo: number, hi: number): bigint => (BigInt(hi | 0) << 32n) | BigInt(lo >>> 0);

/** Push Xm shifted by type (0 LSL, 1 LSR, 2 ASR, 3 ROR) and amount, 64-bit (shift64). */
function shifted64(g: Gen, m: number, type: number, amt: number): void {
  g.rd(m);
  if ((amt & 63) === 0) return;
  g.b.i64c(BigInt(amt & 63)).op([W.i64_shl, W.i64_shr_u, W.i64_shr_s, W.i64_rotr][type]!);
}

/** Push Wm shifted (shift32), zero-extended to i64. */
function shifted32(g: Gen, m: number, type: number, amt: number): void {
  g.rd(m).b.op(W.i32_wrap_i64);
  if ((amt & 31) !== 0) g.b.i32c(amt & 31).op([W.i32_shl, W.i32_shr_u, W.i32_shr_s, W.i32_rotr][type]!);
  g.b.op(W.i64_extend_i32_u);
}

/** Push Xm extended by option opt and shifted left by sh (Cpu.extendReg). */
function extended(g: Gen, m: number, opt: number, sh: number): void {
  g.rd(m);
  switch (opt & 7) {
    case 0:
      g.b.i64c(0xffn).op(W.i64_and);
      break;
    case 1:
      g.b.i64c(0xffffn).op(W.i64_and);
      break;
    case 2:
      g.zext32();
      break;
    case 4:
      g.b.op(W.i64_extend8_s);
      break;
    case 5:
      g.b.op(W.i64_extend16_s);
      break;
    case 6:
      g.b.op(W.i64_extend32_s);
      break;
    default:
      break;
  }
  if ((sh & 63) !== 0) g.b.i64c(BigInt(sh & 63)).op(W.i64_shl);
}

/** a = Xn (zero-extended low word when !sf), b = what pushB pushes (~ when sub), then r/flags by adds. */
function addsInto(g: Gen, sf: boolean, n: number, pushB: () => void, sub: boolean, cin: 0 | 1 | 'C', d: number): void {
  g.rd(n);
  if (!sf) g.zext32();
  g.b.set(L.a);
  pushB();
  if (!sf) g.zext32();
  if (sub) g.b.i64c(sf ? -1n : 0xffffffffn).op(W.i64_xor);
  g.b.set(L.b);
  g.adds(sf, cin);
  if (d >= 0) g.wr(d, () => g.b.get(L.r));
}

/** Xd = value (64-bit) or its low word zero-extended. */
function write(g: Gen, d: number, sf: boolean, value: () => void): void {
  g.wr(d, () => {
    value();
    if (!sf) g.zext32();
  });
}

/** Value of LS type t loaded from RAM at local off (as the interpreter's ldst leaves it in Xt). */
function loadAt(g: Gen, t: number): void {
  g.b.get(L.off);
  switch (t) {
    case LS.LDRB:
      g.b.mem(W.i64_load8_u, MEM_RAM, 0);
      break;
    case LS.LDRH:
      g.b.mem(W.i64_load16_u, MEM_RAM, 0);
      break;
    case LS.LDRW:
      g.b.mem(W.i64_load32_u, MEM_RAM, 0);
      break;
    case LS.LDRX:
      g.b.mem(W.i64_load, MEM_RAM, 0);
      break;
    case LS.LDRSB_X:
      g.b.mem(W.i64_load8_s, MEM_RAM, 0);
      break;
    case LS.LDRSH_X:
      g.b.mem(W.i64_load16_s, MEM_RAM, 0);
      break;
    case LS.LDRSW:
      g.b.mem(W.i64_load32_s, MEM_RAM, 0);
      break;
    case LS.LDRSB_W:
      g.b.mem(W.i64_load8_s, MEM_RAM, 0);
      g.zext32();
      break;
    default: // LDRSH_W
      g.b.mem(W.i64_load16_s, MEM_RAM, 0);
      g.zext32();
      break;
  }
}

/** Store the low bytes of slot rt for LS type t (0-3) at local off plus delta. */
function storeAt(g: Gen, t: number, rt: number, delta: number): void {
  g.b.get(L.off);
  g.rd(rt);
  g.b.mem([0x3c /* i64.store8 */, 0x3d /* i64.store16 */, 0x3e /* i64.store32 */, W.i64_store][t]!, MEM_RAM, delta);
}

/**
 * A single-register access of LS type t for slot rt, the address pushed by addr(); after it, the
 * base writeback (slot n = value of wb()) when given. Slow path: the interpreter runs the instruction.
 */
function access(
  g: Gen,
  o: WasmOpArgs,
  t: number,
  rt: number,
  addr: () => void,
  wb?: { n: number; value: () => void },
  aligned = false,
): boolean {
  if (t === LS.PRFM) {
    if (wb) g.wr(wb.n, wb.value);
    return true;
  }
  const size = 1 << LS_SIZE_LOG2[t]!;
  const isStore = t <= LS.STRX;
  g.open(W.block, 'done').open(W.block, 'slow');
  addr();
  g.b.set(L.addr);
  if (aligned) {
    // a misaligned address takes the slow path (the interpreter raises the alignment fault)
    g.b
      .get(L.addr)
      .op(W.i32_wrap_i64)
      .i32c(size - 1)
      .op(W.i32_and);
    g.brIf('slow');
  }
  if (wb) {
    wb.value();
    g.b.set(L.t4);
  }
  g.tlb(size, isStore, 'slow');
  if (isStore) storeAt(g, t, rt, 0);
  else g.wr(rt, () => loadAt(g, t));
  if (wb) g.wr(wb.n, () => g.b.get(L.t4));
  g.br('done').close();
  o.slow();
  g.close();
  return true;
}

/** Push Xn + signed 32-bit immediate. */
const plusImm =
  (g: Gen, n: number, imm: number): (() => void) =>
  () => {
    g.rd(n);
    if (imm !== 0) g.b.i64c(big(imm)).op(W.i64_add);
  };

/** Taken-branch target PC of instruction j plus a signed offset, into npc. */
function jumpRel(g: Gen, j: number, off: bigint): void {
  g.pc(j).b.i64c(off).op(W.i64_add).set(L.npc);
}

/** npc = cond ? target : next (cond() pushes i32). */
function branchIf(g: Gen, j: number, off: bigint, cond: () => void): void {
  g.pc(j).b.i64c(off).op(W.i64_add);
  g.pc(j + 1);
  cond();
  g.b.op(W.select).set(L.npc);
}

/** BR/RET/BLR: npc = Xn; a misaligned target takes the slow path (the interpreter raises the PC alignment fault). */
function indirect(g: Gen, o: WasmOpArgs, link: boolean): boolean {
  g.open(W.block, 'done').open(W.block, 'slow');
  g.rd(slotN(o.p)).b.tee(L.npc).op(W.i32_wrap_i64).i32c(3).op(W.i32_and);
  g.brIf('slow');
  if (link) g.wr(60, () => g.pc(o.j + 1));
  g.br('done').close();
  o.slow();
  g.close();
  return true;
}

/** x = ((x >> s) & mask) | ((x & mask) << s), on the i64 on the stack (via local a). */
function swapStep(g: Gen, s: bigint, mask: bigint): void {
  g.b.tee(L.a).i64c(s).op(W.i64_shr_u).i64c(mask).op(W.i64_and);
  g.b.get(L.a).i64c(mask).op(W.i64_and).i64c(s).op(W.i64_shl).op(W.i64_or);
}

/** Unsigned (or signed) high 64 bits of the 128-bit product of locals a and b, into r. */
function mulHigh(g: Gen, signed: boolean): void {
  const b = g.b;
  const lo = (x: number): void => void b.get(x).i64c(0xffffffffn).op(W.i64_and);
  const hi = (x: number): void => void b.get(x).i64c(32n).op(W.i64_shr_u);
  // t2 = al*bh, t3 = ah*bl, t4 = mid
  lo(L.a);
  hi(L.b);
  b.op(W.i64_mul).set(L.t2);
  hi(L.a);
  lo(L.b);
  b.op(W.i64_mul).set(L.t3);
  lo(L.a);
  lo(L.b);
  b.op(W.i64_mul).i64c(32n).op(W.i64_shr_u);
  b.get(L.t2).i64c(0xffffffffn).op(W.i64_and).op(W.i64_add);
  b.get(L.t3).i64c(0xffffffffn).op(W.i64_and).op(W.i64_add).set(L.t4);
  hi(L.a);
  hi(L.b);
  b.op(W.i64_mul);
  b.get(L.t2).i64c(32n).op(W.i64_shr_u).op(W.i64_add);
  b.get(L.t3).i64c(32n).op(W.i64_shr_u).op(W.i64_add);
  b.get(L.t4).i64c(32n).op(W.i64_shr_u).op(W.i64_add);
  if (signed) {
    // minus b when a < 0, minus a when b < 0
    b.get(L.b).i64c(0n).get(L.a).i64c(0n).op(W.i64_lt_s).op(W.select).op(W.i64_sub);
    b.get(L.a).i64c(0n).get(L.b).i64c(0n).op(W.i64_lt_s).op(W.select).op(W.i64_sub);
  }
  b.set(L.r);
}

export const WASM_OPS: Record<number, WasmOp> = {
  [OP.ADD_I64]: (g, { p, a }) => (g.wr(slotD(p), plusImm(g, slotN(p), a)), true),
  [OP.SUB_I64]: (g, { p, a }) => (g.wr(slotD(p), plusImm(g, slotN(p), -a)), true),
  [OP.ADD_I32]: (g, { p, a }) => (write(g, slotD(p), false, plusImm(g, slotN(p), a)), true),
  [OP.SUB_I32]: (g, { p, a }) => (write(g, slotD(p), false, plusImm(g, slotN(p), -a)), true),
  [OP.ADDS_I]: (g, { p, a }) => {
    const x = variant(p);
    addsInto(g, (x & 1) !== 0, slotN(p), () => g.b.i64c(BigInt(a >>> 0)), ((x >>> 1) & 1) !== 0, (x >>> 1) & 1 ? 1 : 0, slotD(p));
    return true;
  },
  [OP.LOG_I]: (g, { p, a, b }) => {
    const x = variant(p),
      opc = x & 3,
      sf = x >>> 2 !== 0;
    g.rd(slotN(p))
      .b.i64c(pair(a, sf ? b : 0))
      .op([W.i64_and, W.i64_or, W.i64_xor, W.i64_and][opc]!);
    if (!sf) g.zext32();
    g.b.set(L.r);
    if (opc === 3) g.flagsNZ(sf);
    g.wr(slotD(p), () => g.b.get(L.r));
    return true;
  },
  [OP.MOVC]: (g, { p, a, b }) => (g.wr(slotD(p), () => g.b.i64c(pair(a, b))), true),
  [OP.MOVK]: (g, { p, a }) => {
    const d = slotD(p),
      hw = variant(p) & 3,
      sf = variant(p) >>> 2 !== 0;
    const sh = BigInt(16 * hw);
    write(g, d, sf, () =>
      g
        .rd(d)
        .b.i64c(BigInt.asIntN(64, ~(0xffffn << sh)))
        .op(W.i64_and)
        .i64c(BigInt(a & 0xffff) << sh)
        .op(W.i64_or),
    );
    return true;
  },
  [OP.ADR]: (g, { p, a, b, j }) => {
    g.wr(slotD(p), () => {
      g.pc(j);
      if (variant(p)) g.b.i64c(-4096n).op(W.i64_and);
      g.b.i64c(pair(a, b)).op(W.i64_add);
    });
    return true;
  },
  [OP.SHIFT_I64]: (g, { p, a, b }) => {
    g.wr(slotD(p), () => {
      g.rd(slotN(p))
        .b.i64c(BigInt(a & 63))
        .op(W.i64_shl);
      g.b.i64c(BigInt(b & 63)).op(variant(p) ? W.i64_shr_u : W.i64_shr_s);
    });
    return true;
  },
  [OP.SHIFT_I32]: (g, { p, a, b }) => {
    g.wr(slotD(p), () => {
      g.rd(slotN(p))
        .b.op(W.i32_wrap_i64)
        .i32c(a)
        .op(W.i32_shl)
        .i32c(b)
        .op(variant(p) ? W.i32_shr_u : W.i32_shr_s);
      g.b.op(W.i64_extend_i32_u);
    });
    return true;
  },
  [OP.BFM]: (g, { p, a, b }) => {
    const d = slotD(p),
      n = slotN(p);
    if (variant(p)) {
      const mask = BigInt.asUintN(64, ((1n << 64n) - 1n) << BigInt(a & 63)) >> BigInt(b & 63);
      g.wr(d, () => {
        g.rd(d).b.i64c(BigInt.asIntN(64, ~mask)).op(W.i64_and);
        g.rd(n)
          .b.i64c(BigInt(a & 63))
          .op(W.i64_shl)
          .i64c(BigInt(b & 63))
          .op(W.i64_shr_u)
          .op(W.i64_or);
      });
    } else {
      const mask = ((-1 << a) >>> b) | 0;
      g.wr(d, () => {
        g.rd(d).b.op(W.i32_wrap_i64).i32c(~mask).op(W.i32_and);
        g.rd(n).b.op(W.i32_wrap_i64).i32c(a).op(W.i32_shl).i32c(b).op(W.i32_shr_u).op(W.i32_or).op(W.i64_extend_i32_u);
      });
    }
    return true;
  },
  [OP.EXTR]: (g, { p, a }) => {
    const d = slotD(p),
      n = slotN(p),
      m = slotM(p);
    if (variant(p)) {
      g.wr(d, () => {
        g.rd(m);
        if (a !== 0) {
          g.b.i64c(BigInt(a)).op(W.i64_shr_u);
          g.rd(n)
            .b.i64c(BigInt(64 - a))
            .op(W.i64_shl)
            .op(W.i64_or);
        }
      });
    } else {
      g.wr(d, () => {
        g.rd(m).b.op(W.i32_wrap_i64);
        if (a !== 0) {
          g.b.i32c(a).op(W.i32_shr_u);
          g.rd(n)
            .b.op(W.i32_wrap_i64)
            .i32c(32 - a)
            .op(W.i32_shl)
            .op(W.i32_or);
        }
        g.b.op(W.i64_extend_i32_u);
      });
    }
    return true;
  },
  [OP.ADD_R]: (g, { p, a, b }) => {
    const x = variant(p),
      sf = (x & 2) !== 0;
    if (a > 2) return false;
    write(g, slotD(p), sf, () => {
      g.rd(slotN(p));
      if (sf) shifted64(g, slotM(p), a, b);
      else shifted32(g, slotM(p), a, b);
      g.b.op(x & 1 ? W.i64_sub : W.i64_add);
    });
    return true;
  },
  [OP.ADDS_R]: (g, { p, a, b }) => {
    const x = variant(p),
      sf = (x & 2) !== 0,
      sub = (x & 1) !== 0;
    if (a > 2) return false;
    addsInto(g, sf, slotN(p), () => (sf ? shifted64(g, slotM(p), a, b) : shifted32(g, slotM(p), a, b)), sub, sub ? 1 : 0, slotD(p));
    return true;
  },
  [OP.ADD_RR64]: (g, { p }) => {
    g.wr(slotD(p), () =>
      g
        .rd(slotN(p))
        .rd(slotM(p))
        .b.op(variant(p) ? W.i64_sub : W.i64_add),
    );
    return true;
  },
  [OP.ADDS_RR64]: (g, { p }) => {
    const sub = variant(p) !== 0;
    addsInto(g, true, slotN(p), () => g.rd(slotM(p)), sub, sub ? 1 : 0, slotD(p));
    return true;
  },
  [OP.LOG_R]: (g, { p, a, b }) => {
    const x = variant(p),
      opc = x & 3,
      sf = x >>> 3 !== 0;
    g.rd(slotN(p));
    if (sf) shifted64(g, slotM(p), a, b);
    else shifted32(g, slotM(p), a, b);
    if (x & 4) g.b.i64c(-1n).op(W.i64_xor);
    g.b.op([W.i64_and, W.i64_or, W.i64_xor, W.i64_and][opc]!);
    if (!sf) g.zext32();
    g.b.set(L.r);
    if (opc === 3) g.flagsNZ(sf);
    g.wr(slotD(p), () => g.b.get(L.r));
    return true;
  },
  [OP.MOV_R]: (g, { p }) => (write(g, slotD(p), variant(p) !== 0, () => g.rd(slotM(p))), true),
  [OP.ADD_X]: (g, { p, a, b }) => {
    const x = variant(p),
      sub = (x & 1) !== 0,
      S = (x & 2) !== 0,
      sf = x >>> 2 !== 0;
    if (S) {
      addsInto(g, sf, slotN(p), () => extended(g, slotM(p), a, b), sub, sub ? 1 : 0, slotD(p));
      return true;
    }
    write(g, slotD(p), sf, () => {
      g.rd(slotN(p));
      extended(g, slotM(p), a, b);
      g.b.op(sub ? W.i64_sub : W.i64_add);
    });
    return true;
  },
  [OP.ADC]: (g, { p }) => {
    const x = variant(p),
      sub = (x & 1) !== 0,
      sf = x >>> 2 !== 0;
    if (x & 2) {
      addsInto(g, sf, slotN(p), () => g.rd(slotM(p)), sub, 'C', slotD(p));
      return true;
    }
    write(g, slotD(p), sf, () => {
      g.rd(slotN(p)).rd(slotM(p));
      if (sub) g.b.i64c(-1n).op(W.i64_xor);
      g.b.op(W.i64_add);
      g.flag(29).b.op(W.i64_extend_i32_u).op(W.i64_add);
    });
    return true;
  },
  [OP.CCMP]: (g, { p, a }) => {
    const x = variant(p),
      sub = (x & 1) !== 0,
      sf = x >>> 2 !== 0,
      imm = (a >>> 8) & 1;
    g.cond(a & 15);
    g.b.op(W.if, 0x40);
    addsInto(g, sf, slotN(p), () => (imm ? g.b.i64c(BigInt(a >>> 9)) : g.rd(slotM(p))), sub, sub ? 1 : 0, -1);
    g.b.op(W.else);
    g.setFlags((a >>> 4) & 15);
    g.b.op(W.end);
    return true;
  },
  [OP.CSEL]: (g, { p, a }) => {
    const x = variant(p),
      sf = x >>> 2 !== 0;
    write(g, slotD(p), sf, () => {
      g.rd(slotN(p));
      g.rd(slotM(p));
      if ((x & 3) === 1) g.b.i64c(1n).op(W.i64_add);
      else if ((x & 3) === 2) g.b.i64c(-1n).op(W.i64_xor);
      else if ((x & 3) === 3) g.b.set(L.t2).i64c(0n).get(L.t2).op(W.i64_sub);
      g.cond(a);
      g.b.op(W.select);
    });
    return true;
  },
  [OP.DP3]: (g, { p, a }) => {
    const n = slotN(p),
      m = slotM(p),
      ra = slotA(p),
      sf = variant(p) !== 0;
    if (!sf) {
      write(g, slotD(p), false, () => {
        g.rd(ra)
          .rd(n)
          .rd(m)
          .b.op(W.i64_mul)
          .op(a ? W.i64_sub : W.i64_add);
      });
      return true;
    }
    if (a === 4 || a === 12) {
      g.rd(n).b.set(L.a);
      g.rd(m).b.set(L.b);
      mulHigh(g, a === 4);
      g.wr(slotD(p), () => g.b.get(L.r));
      return true;
    }
    const ext = a === 2 || a === 3 ? W.i64_extend32_s : a === 10 || a === 11 ? -1 : 0;
    if (a > 3 && a !== 10 && a !== 11) return false;
    g.wr(slotD(p), () => {
      g.rd(ra);
      for (const s of [n, m]) {
        g.rd(s);
        if (ext === -1) g.zext32();
        else if (ext !== 0) g.b.op(ext);
      }
      g.b.op(W.i64_mul).op(a & 1 ? W.i64_sub : W.i64_add);
    });
    return true;
  },
  [OP.DP2]: (g, { p, a }) => {
    const n = slotN(p),
      m = slotM(p),
      sf = variant(p) !== 0;
    if (a >= 8 && a <= 11) {
      // LSLV/LSRV/ASRV/RORV (shift64/shift32 with the amount mod the width)
      const t = a - 8;
      g.wr(slotD(p), () => {
        if (sf) {
          g.rd(n).rd(m).b.op([W.i64_shl, W.i64_shr_u, W.i64_shr_s, W.i64_rotr][t]!);
        } else {
          g.rd(n).b.op(W.i32_wrap_i64);
          g.rd(m).b.op(W.i32_wrap_i64).op([W.i32_shl, W.i32_shr_u, W.i32_shr_s, W.i32_rotr][t]!).op(W.i64_extend_i32_u);
        }
      });
      return true;
    }
    if (a !== 2 && a !== 3) return false;
    const signed = a === 3;
    // UDIV/SDIV: x / 0 = 0; INT64_MIN / -1 wraps (the interpreter's BigInt quotient, low 64 bits)
    const operand = (s: number): void => {
      g.rd(s);
      if (!sf) {
        if (signed) g.b.op(W.i64_extend32_s);
        else g.zext32();
      }
    };
    write(g, slotD(p), sf, () => {
      operand(m);
      g.b.set(L.b);
      g.b.get(L.b).op(W.i64_eqz).op(W.if, 0x7e).i64c(0n).op(W.else);
      if (signed && sf) {
        g.b.get(L.b).i64c(-1n).op(W.i64_eq).op(W.if, 0x7e).i64c(0n);
        operand(n);
        g.b.op(W.i64_sub).op(W.else);
        operand(n);
        g.b.get(L.b).op(W.i64_div_s).op(W.end);
      } else {
        operand(n);
        g.b.get(L.b).op(signed ? W.i64_div_s : W.i64_div_u);
      }
      g.b.op(W.end);
    });
    return true;
  },
  [OP.DP1]: (g, { p, a }) => {
    const n = slotN(p),
      sf = variant(p) !== 0;
    if (a === 0 || a > 5) return false; // RBIT: interpreter
    write(g, slotD(p), sf || a === 3, () => {
      g.rd(n);
      if (a === 4) {
        if (sf) g.b.op(W.i64_clz);
        else g.b.op(W.i32_wrap_i64).op(W.i32_clz).op(W.i64_extend_i32_u);
        return;
      }
      if (a === 5) {
        // CLS: leading sign bits = clz(x ^ (x >> 1)) - 1
        if (sf) g.b.tee(L.a).get(L.a).i64c(1n).op(W.i64_shr_s).op(W.i64_xor).op(W.i64_clz).i64c(1n).op(W.i64_sub);
        else
          g.b
            .op(W.i32_wrap_i64)
            .tee(L.tmp)
            .get(L.tmp)
            .i32c(1)
            .op(W.i32_shr_s)
            .op(W.i32_xor)
            .op(W.i32_clz)
            .i32c(1)
            .op(W.i32_sub)
            .op(W.i64_extend_i32_u);
        return;
      }
      // byte swaps: within halfwords (REV16), then within words (REV / REV32), then the words (REV 64)
      swapStep(g, 8n, 0x00ff00ff00ff00ffn);
      if (a >= 2) swapStep(g, 16n, 0x0000ffff0000ffffn);
      if (a === 3) g.b.i64c(32n).op(W.i64_rotr);
    });
    return true;
  },
  [OP.BARRIER]: (g, { a }) => a >= 4 && a <= 6, // DSB, DMB, ISB: nothing to do here; CLREX: interpreter
  [OP.NOP]: () => true,
  [OP.HINT]: () => true,
  [OP.B]: (g, { a, b, j }) => (jumpRel(g, j, pair(a, b)), true),
  [OP.BL]: (g, { a, b, j }) => {
    g.wr(60, () => g.pc(j + 1));
    jumpRel(g, j, pair(a, b));
    return true;
  },
  [OP.BCOND]: (g, { a, b, j }) => (branchIf(g, j, big(a), () => g.cond(b)), true),
  [OP.CBZ]: (g, { p, a, j }) => {
    const x = variant(p);
    branchIf(g, j, big(a), () => {
      g.rd(slotD(p));
      if (!((x >>> 1) & 1)) g.zext32();
      g.b.op(W.i64_eqz);
      if (x & 1) g.b.op(W.i32_eqz);
    });
    return true;
  },
  [OP.TBZ]: (g, { p, a, b, j }) => {
    branchIf(g, j, big(a), () => {
      g.rd(slotD(p)).b.i64c(BigInt(b)).op(W.i64_shr_u).i64c(1n).op(W.i64_and).op(W.i32_wrap_i64);
      if (!variant(p)) g.b.op(W.i32_eqz);
    });
    return true;
  },
  [OP.BR]: (g, o) => indirect(g, o, false),
  [OP.RET]: (g, o) => indirect(g, o, false),
  [OP.BLR]: (g, o) => indirect(g, o, true),
  // ---- loads and stores
  [OP.LS_OFF_X]: (g, o) => access(g, o, LS.LDRX, slotD(o.p), plusImm(g, slotN(o.p), o.a)),
  [OP.LS_OFF_W]: (g, o) => access(g, o, LS.LDRW, slotD(o.p), plusImm(g, slotN(o.p), o.a)),
  [OP.ST_OFF_X]: (g, o) => access(g, o, LS.STRX, slotD(o.p), plusImm(g, slotN(o.p), o.a)),
  [OP.ST_OFF_W]: (g, o) => access(g, o, LS.STRW, slotD(o.p), plusImm(g, slotN(o.p), o.a)),
  [OP.LS_OFF]: (g, o) => access(g, o, variant(o.p), slotD(o.p), plusImm(g, slotN(o.p), o.a)),
  [OP.LS_LIT]: (g, o) =>
    access(g, o, variant(o.p), slotD(o.p), () => {
      g.pc(o.j).b.i64c(big(o.a)).op(W.i64_add);
    }),
  [OP.LS_PRE]: (g, o) => {
    const n = slotN(o.p);
    return access(g, o, variant(o.p), slotD(o.p), plusImm(g, n, o.a), { n, value: plusImm(g, n, o.a) });
  },
  [OP.LS_POST]: (g, o) => {
    const n = slotN(o.p);
    return access(g, o, variant(o.p), slotD(o.p), () => g.rd(n), { n, value: plusImm(g, n, o.a) });
  },
  [OP.LS_REG_X]: (g, o) =>
    access(g, o, variant(o.p), slotD(o.p), () => {
      g.rd(slotN(o.p)).rd(slotM(o.p));
      if (o.b) g.b.i64c(BigInt(o.b & 63)).op(W.i64_shl);
      g.b.op(W.i64_add);
    }),
  [OP.LS_REG]: (g, o) =>
    access(g, o, variant(o.p), slotD(o.p), () => {
      g.rd(slotN(o.p));
      extended(g, slotM(o.p), o.a, o.b);
      g.b.op(W.i64_add);
    }),
  // LDAR/STLR (o2 = 1): single-copy atomic accesses, aligned (Cpu.opExclusive); exclusives: interpreter
  [OP.EXCL]: (g, o) => {
    const a = o.a,
      size = a >>> 4;
    if (((a >>> 3) & 1) === 0 || ((a >>> 1) & 1) !== 0) return false;
    const t = (a >>> 2) & 1 ? LS.LDRB + size : LS.STRB + size;
    return access(g, o, t, slotD(o.p), () => g.rd(slotN(o.p)), undefined, true);
  },
  [OP.LSP]: (g, o) => {
    const { p, a, b: mode } = o;
    const n = slotN(p),
      t = variant(p),
      r1 = slotD(p),
      r2 = slotA(p);
    if (t > 4) return false;
    const size = t === 2 || t === 3 ? 8 : 4,
      load = (t & 1) !== 0 || t === 4;
    g.open(W.block, 'done').open(W.block, 'slow');
    plusImm(g, n, a)();
    g.b.set(L.t4);
    if (mode === 1) g.rd(n).b.set(L.addr);
    else g.b.get(L.t4).set(L.addr);
    g.tlb(2 * size, !load, 'slow');
    if (!load) {
      storeAt(g, size === 8 ? LS.STRX : LS.STRW, r1, 0);
      storeAt(g, size === 8 ? LS.STRX : LS.STRW, r2, size);
    } else {
      const lt = size === 8 ? LS.LDRX : t === 4 ? LS.LDRSW : LS.LDRW;
      loadAt(g, lt);
      g.b.set(L.t2);
      g.b.get(L.off).i32c(size).op(W.i32_add).set(L.off);
      loadAt(g, lt);
      g.b.set(L.t3);
      g.wr(r1, () => g.b.get(L.t2));
      g.wr(r2, () => g.b.get(L.t3));
    }
    if (mode !== 0) g.wr(n, () => g.b.get(L.t4));
    g.br('done').close();
    o.slow();
    g.close();
    return true;
  },
};

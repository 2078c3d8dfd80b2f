// The WebAssembly function builder the block compiler's operations (wasm-ops.ts) write into: the
// function's locals, structured labels, guest register and flag access, condition codes, NZCV
// from additions, and the inline software-TLB check of loads and stores (the same direct-mapped
// tables the interpreter fills, memory.ts, read from the vCPU's state memory).

import { Bytes, I32, I64, W } from './wasm-enc.ts';
import { STATE } from './wasm-memory.ts';

/** Locals of a compiled block function: parameters, then i64 and i32 scratch. */
export const L = {
  // parameters
  pcLo: 0,
  pcHi: 1,
  budget: 2,
  /** Byte offsets of the current EL's read and write TLB sets in the TLB arrays. */
  rB: 3,
  wB: 4,
  /** Non-zero when an exclusive monitor is armed somewhere (stores then take the interpreter's path). */
  armed: 5,
  // i64
  pc0: 6,
  npc: 7,
  a: 8,
  b: 9,
  r: 10,
  addr: 11,
  t2: 12,
  t3: 13,
  t4: 14,
  // i32
  cnt: 15,
  f: 16,
  tt: 17,
  ix: 18,
  off: 19,
  po: 20,
  tmp: 21,
} as const;
export const PARAMS = [I32, I32, I32, I32, I32, I32];
export const LOCALS = [I64, I64, I64, I64, I64, I64, I64, I64, I64, I32, I32, I32, I32, I32, I32, I32];

/** Memory indexes: 0 the vCPU's state, 1 guest RAM. */
export const MEM_STATE = 0,
  MEM_RAM = 1;

/** Slot index (into the int32 register file) of the zero register, never written. */
const ZERO_SLOT = 64;

export class Gen {
  readonly b = new Bytes();
  private readonly labels: string[] = [];

  open(code: number, label: string): this {
    this.b.op(code, 0x40);
    this.labels.push(label);
    return this;
  }

  close(): this {
    this.b.op(W.end);
    this.labels.pop();
    return this;
  }

  private depth(label: string): number {
    const i = this.labels.lastIndexOf(label);
    if (i < 0) throw new Error(`wasm-gen: no label ${label}`);
    return this.labels.length - 1 - i;
  }

  br(label: string): this {
    this.b.op(W.br).u32(this.depth(label));
    return this;
  }

  brIf(label: string): this {
    this.b.op(W.br_if).u32(this.depth(label));
    return this;
  }

  /** An if without a result; the body is emitted by fn. */
  when(fn: () => void): this {
    this.b.op(W.if, 0x40);
    this.labels.push('if');
    fn();
    return this.close();
  }

  /** Push guest register slot s (int32 index into the register file) as i64. */
  rd(s: number): this {
    if (s === ZERO_SLOT) this.b.i64c(0n);
    else this.b.i32c(0).mem(W.i64_load, MEM_STATE, STATE.X + 4 * s);
    return this;
  }

  /** Store the i64 that value() pushes into slot s. */
  wr(s: number, value: () => void): this {
    this.b.i32c(0);
    value();
    this.b.mem(W.i64_store, MEM_STATE, STATE.X + 4 * s);
    return this;
  }

  /** Zero-extend the low 32 bits of the i64 on the stack. */
  zext32(): this {
    this.b.i64c(0xffffffffn).op(W.i64_and);
    return this;
  }

  /** Push the PC of instruction j of the block (i64). */
  pc(j: number): this {
    this.b.get(L.pc0);
    if (j !== 0) this.b.i64c(BigInt(4 * j)).op(W.i64_add);
    return this;
  }

  /** Push flag bit (31 N, 30 Z, 29 C, 28 V) of the packed flags as i32 0/1. */
  flag(bit: number): this {
    this.b.get(L.f).i32c(bit).op(W.i32_shr_u);
    if (bit !== 31) this.b.i32c(1).op(W.i32_and);
    return this;
  }

  /** Push condition code cc (Arm DDI 0487 C1.2.4) as i32 0/1 (Cpu.cond). */
  cond(cc: number): this {
    const base = cc >>> 1;
    if (base === 7) {
      this.b.i32c(1);
      return this;
    }
    switch (base) {
      case 0:
        this.flag(30);
        break;
      case 1:
        this.flag(29);
        break;
      case 2:
        this.flag(31);
        break;
      case 3:
        this.flag(28);
        break;
      case 4: // C && !Z
        this.b.get(L.f).i32c(29).op(W.i32_shr_u).i32c(3).op(W.i32_and).i32c(1).op(W.i32_eq);
        break;
      case 5: // N == V
        this.b.get(L.f).i32c(31).op(W.i32_shr_u).get(L.f).i32c(28).op(W.i32_shr_u).op(W.i32_xor).i32c(1).op(W.i32_and).op(W.i32_eqz);
        break;
      default: // N == V && !Z
        this.b.get(L.f).i32c(31).op(W.i32_shr_u).get(L.f).i32c(28).op(W.i32_shr_u).op(W.i32_xor);
        this.b.get(L.f).i32c(30).op(W.i32_shr_u).op(W.i32_or).i32c(1).op(W.i32_and).op(W.i32_eqz);
        break;
    }
    if (cc & 1) this.b.op(W.i32_eqz);
    return this;
  }

  /** Set the packed flags to the constant nzcv (4 bits). */
  setFlags(nzcv: number): this {
    this.b.i32c(nzcv << 28).set(L.f);
    return this;
  }

  /** N and Z from the i64 result r (64-bit, or 32-bit zero-extended when !sf); C = V = 0 (logical ops). */
  flagsNZ(sf: boolean): this {
    const b = this.b;
    b.get(L.r)
      .i64c(sf ? 63n : 31n)
      .op(W.i64_shr_u)
      .op(W.i32_wrap_i64);
    if (!sf) b.i32c(1).op(W.i32_and);
    b.i32c(31).op(W.i32_shl);
    b.get(L.r).op(W.i64_eqz).i32c(30).op(W.i32_shl).op(W.i32_or).set(L.f);
    return this;
  }

  /**
   * r = a + b + cin with NZCV (Cpu.adds64 / adds32), a and b in locals a and b (32-bit: zero-extended).
   * cin: 0, 1 or 'C' (the carry flag, ADC/SBC).
   */
  adds(sf: boolean, cin: 0 | 1 | 'C'): this {
    const b = this.b;
    const pushCin = (): void => {
      if (cin === 'C') this.flag(29).b.op(W.i64_extend_i32_u);
      else b.i64c(BigInt(cin));
    };
    b.get(L.a).get(L.b).op(W.i64_add);
    pushCin();
    b.op(W.i64_add).set(L.r);
    if (sf) {
      // C: unsigned carry out of a + b + cin
      b.get(L.r).get(L.a).op(W.i64_lt_u);
      if (cin !== 0) {
        b.get(L.r).get(L.a).op(W.i64_eq);
        if (cin === 'C') this.flag(29).b.op(W.i32_and);
        b.op(W.i32_or);
      }
      b.i32c(29).op(W.i32_shl);
      b.get(L.r).i64c(63n).op(W.i64_shr_u).op(W.i32_wrap_i64).i32c(31).op(W.i32_shl).op(W.i32_or);
      b.get(L.r).op(W.i64_eqz).i32c(30).op(W.i32_shl).op(W.i32_or);
      // V: (~(a ^ b) & (a ^ r)) bit 63
      b.get(L.a).get(L.b).op(W.i64_xor).i64c(-1n).op(W.i64_xor).get(L.a).get(L.r).op(W.i64_xor).op(W.i64_and);
      b.i64c(63n).op(W.i64_shr_u).op(W.i32_wrap_i64).i32c(28).op(W.i32_shl).op(W.i32_or).set(L.f);
    } else {
      // r holds the 33-bit sum: C = bit 32, N = bit 31, Z from the low 32 bits, V from bit 31
      b.get(L.r).i64c(32n).op(W.i64_shr_u).op(W.i32_wrap_i64).i32c(29).op(W.i32_shl);
      b.get(L.r).op(W.i32_wrap_i64).tee(L.tmp).i32c(31).op(W.i32_shr_u).i32c(31).op(W.i32_shl).op(W.i32_or);
      b.get(L.tmp).op(W.i32_eqz).i32c(30).op(W.i32_shl).op(W.i32_or);
      b.get(L.a).get(L.b).op(W.i64_xor).i64c(-1n).op(W.i64_xor).get(L.a).get(L.r).op(W.i64_xor).op(W.i64_and);
      b.i64c(31n).op(W.i64_shr_u).op(W.i32_wrap_i64).i32c(1).op(W.i32_and).i32c(28).op(W.i32_shl).op(W.i32_or).set(L.f);
      b.get(L.r).i64c(0xffffffffn).op(W.i64_and).set(L.r);
    }
    return this;
  }

  /**
   * Inline TLB lookup of the access of `size` bytes at local addr (the fast paths of memory.ts rd8..wr64):
   * branches to `slow` on a miss, a page crossing, or (stores) an armed exclusive monitor; else
   * leaves the byte's offset in guest RAM in local off.
   */
  tlb(size: number, write: boolean, slow: string): this {
    const b = this.b;
    if (write) {
      b.get(L.armed);
      this.brIf(slow);
    }
    b.get(L.addr).i64c(12n).op(W.i64_shr_u).op(W.i32_wrap_i64).set(L.tt);
    b.get(L.tt)
      .i32c(1023)
      .op(W.i32_and)
      .i32c(2)
      .op(W.i32_shl)
      .get(write ? L.wB : L.rB)
      .op(W.i32_add)
      .set(L.ix);
    b.get(L.ix).mem(W.i32_load, MEM_STATE, STATE.TAG).get(L.tt).op(W.i32_ne);
    this.brIf(slow);
    b.get(L.ix).mem(W.i32_load, MEM_STATE, STATE.TAGH).get(L.addr).i64c(44n).op(W.i64_shr_u).op(W.i32_wrap_i64).op(W.i32_ne);
    this.brIf(slow);
    b.get(L.addr)
      .op(W.i32_wrap_i64)
      .i32c(0xfff)
      .op(W.i32_and)
      .tee(L.po)
      .i32c(0x1000 - size)
      .op(W.i32_gt_u);
    this.brIf(slow);
    b.get(L.ix).mem(W.i32_load, MEM_STATE, STATE.OFF).get(L.po).op(W.i32_add).set(L.off);
    return this;
  }
}

// Load and store instructions: single register (immediate pre/post-indexed, register offset,
// unprivileged), pairs, and the exclusive and acquire/release forms. The hot forms (LDR/STR with
// an unsigned offset, X register offset) are inlined in the interpreter (cpu.ts).

import { CpuAlu } from './alu.ts';
import * as Int64 from './int64.ts';
import * as Mmu from './mmu.ts';
import * as Ops from './ops.ts';
import * as State from './state.ts';

// Imported bindings copied into module constants once (see cpu.ts).
const { LS, LS_SIZE_LOG2, OP } = Ops;
const { H, add64 } = Int64;
const { FSC } = Mmu;
const { ACC_R, ACC_W } = State;

export class CpuLoadStore extends CpuAlu {
  /** One single-register access of type t (LS.*) for register slot rt at hi:lo. */
  protected ldst(t: number, rt: number, hi: number, lo: number): void {
    const X = this.x;
    switch (t) {
      case 0 /* STRB */:
        this.wr8(hi, lo, X[rt]);
        break;
      case 1 /* STRH */:
        this.wr16(hi, lo, X[rt]);
        break;
      case 2 /* STRW */:
        this.wr32(hi, lo, X[rt]);
        break;
      case 3 /* STRX */:
        this.wr64(hi, lo, X[rt + 1], X[rt]);
        break;
      case 4 /* LDRB */:
        X[rt] = this.rd8(hi, lo);
        X[rt + 1] = 0;
        break;
      case 5 /* LDRH */:
        X[rt] = this.rd16(hi, lo);
        X[rt + 1] = 0;
        break;
      case 6 /* LDRW */:
        X[rt] = this.rd32(hi, lo);
        X[rt + 1] = 0;
        break;
      case 7 /* LDRX */: {
        const v = this.rd64(hi, lo);
        X[rt + 1] = H.hi;
        X[rt] = v;
        break;
      }
      case 8 /* LDRSB_X */: {
        const v = (this.rd8(hi, lo) << 24) >> 24;
        X[rt] = v;
        X[rt + 1] = v >> 31;
        break;
      }
      case 9 /* LDRSH_X */: {
        const v = (this.rd16(hi, lo) << 16) >> 16;
        X[rt] = v;
        X[rt + 1] = v >> 31;
        break;
      }
      case 10 /* LDRSW */: {
        const v = this.rd32(hi, lo);
        X[rt] = v;
        X[rt + 1] = v >> 31;
        break;
      }
      case 11 /* LDRSB_W */:
        X[rt] = (this.rd8(hi, lo) << 24) >> 24;
        X[rt + 1] = 0;
        break;
      case 12 /* LDRSH_W */:
        X[rt] = (this.rd16(hi, lo) << 16) >> 16;
        X[rt + 1] = 0;
        break;
      default:
        break; // PRFM
    }
  }

  protected opLsIndexed(op: number, p: number, imm: number): void {
    const X = this.x,
      n = (p >>> 7) & 127;
    const wl = add64(X[n + 1], X[n], imm >> 31, imm),
      wh = H.hi;
    if (op === OP.LS_PRE) this.ldst(p >>> 28, p & 127, wh, wl);
    else this.ldst(p >>> 28, p & 127, X[n + 1], X[n]);
    X[n] = wl;
    X[n + 1] = wh;
  }

  protected opLsReg(p: number, opt: number, sh: number): void {
    const X = this.x,
      n = (p >>> 7) & 127,
      m = (p >>> 14) & 127;
    const ol = this.extendReg(m, opt, sh),
      oh = H.hi;
    const lo = add64(X[n + 1], X[n], oh, ol);
    this.ldst(p >>> 28, p & 127, H.hi, lo);
  }

  opLsUnpriv(p: number, imm: number): void {
    const X = this.x,
      n = (p >>> 7) & 127;
    const lo = add64(X[n + 1], X[n], imm >> 31, imm),
      hi = H.hi;
    const t = p >>> 28,
      rt = p & 127;
    if (this.el === 0) {
      this.ldst(t, rt, hi, lo);
      return;
    }
    if (t === LS.PRFM) return;
    const size = 1 << LS_SIZE_LOG2[t];
    if (t <= LS.STRX) {
      this.writeMem(hi, lo, size, X[rt + 1], X[rt], 0);
      return;
    }
    let v = this.readMem(hi, lo, size, 0),
      vh = size === 8 ? H.hi : 0;
    if (t === LS.LDRSB_X || t === LS.LDRSB_W) v = (v << 24) >> 24;
    else if (t === LS.LDRSH_X || t === LS.LDRSH_W) v = (v << 16) >> 16;
    if (t === LS.LDRSB_X || t === LS.LDRSH_X || t === LS.LDRSW) vh = v >> 31;
    X[rt] = v;
    X[rt + 1] = vh;
  }

  opPair(p: number, off: number, mode: number): void {
    const X = this.x,
      n = (p >>> 7) & 127,
      t = p >>> 28,
      r1 = p & 127,
      r2 = (p >>> 21) & 127;
    const wl = add64(X[n + 1], X[n], off >> 31, off),
      wh = H.hi;
    let al = wl,
      ah = wh;
    if (mode === 1) {
      al = X[n];
      ah = X[n + 1];
    }
    if (t === 2 || t === 3) {
      const bl = (al + 8) | 0,
        bh = bl >>> 0 < al >>> 0 ? (ah + 1) | 0 : ah;
      if (t === 2) {
        this.wr64(ah, al, X[r1 + 1], X[r1]);
        this.wr64(bh, bl, X[r2 + 1], X[r2]);
      } else {
        const v1 = this.rd64(ah, al),
          v1h = H.hi;
        const v2 = this.rd64(bh, bl),
          v2h = H.hi;
        X[r1] = v1;
        X[r1 + 1] = v1h;
        X[r2] = v2;
        X[r2 + 1] = v2h;
      }
    } else {
      const bl = (al + 4) | 0,
        bh = bl >>> 0 < al >>> 0 ? (ah + 1) | 0 : ah;
      if (t === 0) {
        this.wr32(ah, al, X[r1]);
        this.wr32(bh, bl, X[r2]);
      } else {
        const v1 = this.rd32(ah, al),
          v2 = this.rd32(bh, bl);
        X[r1] = v1;
        X[r2] = v2;
        if (t === 4) {
          X[r1 + 1] = v1 >> 31;
          X[r2 + 1] = v2 >> 31;
        } else {
          X[r1 + 1] = 0;
          X[r2 + 1] = 0;
        }
      }
    }
    if (mode !== 0) {
      X[n] = wl;
      X[n + 1] = wh;
    }
  }

  opExclusive(p: number, a: number): void {
    const X = this.x,
      n = (p >>> 7) & 127,
      rt = p & 127,
      rs = (p >>> 14) & 127,
      rt2 = (p >>> 21) & 127;
    const size = 1 << (a >>> 4),
      o2 = (a >>> 3) & 1,
      L = (a >>> 2) & 1,
      pair = (a >>> 1) & 1;
    const lo = X[n],
      hi = X[n + 1];
    const total = pair ? size * 2 : size;
    if ((lo & (total - 1)) !== 0) this.dataAbort(hi, lo, FSC.ALIGNMENT, !L);
    if (o2) {
      // LDAR / STLR: ordinary single-copy atomic accesses here
      const t = L ? [LS.LDRB, LS.LDRH, LS.LDRW, LS.LDRX][a >>> 4] : a >>> 4;
      this.ldst(t, rt, hi, lo);
      return;
    }
    if (L) {
      const off = this.physOff(hi, lo, ACC_R);
      if (pair) {
        const bl = (lo + size) | 0,
          bh = bl >>> 0 < lo >>> 0 ? (hi + 1) | 0 : hi;
        if (size === 8) {
          const v1 = this.rd64(hi, lo),
            v1h = H.hi,
            v2 = this.rd64(bh, bl),
            v2h = H.hi;
          X[rt] = v1;
          X[rt + 1] = v1h;
          X[rt2] = v2;
          X[rt2 + 1] = v2h;
        } else {
          const v1 = this.rd32(hi, lo),
            v2 = this.rd32(bh, bl);
          X[rt] = v1;
          X[rt + 1] = 0;
          X[rt2] = v2;
          X[rt2 + 1] = 0;
        }
      } else {
        this.ldst(4 + (a >>> 4), rt, hi, lo);
      }
      this.arm(off);
      return;
    }
    // store exclusive: permission/translation checked even when the monitor fails
    const off = this.physOff(hi, lo, ACC_W);
    const ok = off >= 0 && this.exGranule === off >>> 6;
    this.clearExclusive();
    if (ok) {
      if (pair) {
        const bl = (lo + size) | 0,
          bh = bl >>> 0 < lo >>> 0 ? (hi + 1) | 0 : hi;
        if (size === 8) {
          this.wr64(hi, lo, X[rt + 1], X[rt]);
          this.wr64(bh, bl, X[rt2 + 1], X[rt2]);
        } else {
          this.wr32(hi, lo, X[rt]);
          this.wr32(bh, bl, X[rt2]);
        }
      } else this.ldst(a >>> 4, rt, hi, lo);
    }
    X[rs] = ok ? 0 : 1;
    X[rs + 1] = 0;
  }
}

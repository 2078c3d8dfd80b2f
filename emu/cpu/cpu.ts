// One AArch64 vCPU (EL1/EL0): register file as int32 hi/lo halves, a per-physical-page decode
// cache, a software TLB of direct-mapped caches per (EL, access kind), exact exception entry and
// return. Time is the instruction count (`instret`); nothing from the host reaches the guest.
//
// The vCPU is built in layers (state.ts explains them); this file is the top one: construction,
// reset, the run loop and the interpreter. The API the machine uses is exported here.

import * as Decode from './decode.ts';
import * as Int64 from './int64.ts';
import type { JitCpu } from './jit-cpu.ts';
import { CpuLoadStore } from './loadstore.ts';
import * as Mmu from './mmu.ts';
import * as State from './state.ts';
import type { CpuHooksOf, CpuStateOptions, HypervisorOf } from './state.ts';
import * as Sysregs from './sysregs.ts';
import type { FpCpu } from './vregs.ts';

export { CpuShared, EC, HV, STOP, STOP_NAMES } from './state.ts';
export type { ExceptionInfo, ExceptionKind } from './state.ts';

// Imported bindings copied into module constants once: test runners that rewrite imports (vitest)
// turn every use of an imported name into a getter call, which made the interpreter 3-4x slower there.
const { decode } = Decode;
const { H, add64, asr64, fromBig, lsl64, lsr64 } = Int64;
const { FSC } = Mmu;
const { ACC_X, DAIF_F, DAIF_I, EC, EVT_DEBUG, EVT_ILLEGAL, EVT_IRQ, EVT_STOP, FAULT, I_PFR0, STOP, TLB_MASK } = State;
const { ID_AA64PFR0, SYSREGS } = Sysregs;

/** The personality playing EL2/EL3 for HVC and SMC. */
export interface Hypervisor extends HypervisorOf<Cpu> {}

export interface CpuHooks extends CpuHooksOf<Cpu> {}

export interface CpuOptions extends CpuStateOptions {
  hypervisor?: Hypervisor;
  hooks?: CpuHooks;
  /** Report the GICv3 system register interface in ID_AA64PFR0.GIC. */
  gicv3?: boolean;
}

export class Cpu extends CpuLoadStore implements JitCpu, FpCpu {
  constructor(o: CpuOptions) {
    super(o);
    this.shared.cpus.push(this);
    this.hypervisor = o.hypervisor;
    this.hooks = o.hooks ?? {};
    this.reset();
    if (o.gicv3) this.srLo[I_PFR0] |= 1 << 24;
  }

  /** Architectural reset: EL1h, DAIF masked, MMU off, registers zero. */
  reset(): void {
    this.x.fill(0);
    this.pcLo = this.pcHi = 0;
    this.el = 1;
    this.spsel = 1;
    this.daif = 0x3c0;
    this.n = this.z = this.c = this.v = this.il = 0;
    this.sp0Lo = this.sp0Hi = this.sp1Lo = this.sp1Hi = 0;
    const gic = this.srLo[I_PFR0] & (1 << 24);
    SYSREGS.forEach((d, i) => {
      this.srLo[i] = fromBig(d.reset);
      this.srHi[i] = H.hi;
    });
    if (gic) this.srLo[I_PFR0] |= gic;
    else this.srLo[I_PFR0] = Number(ID_AA64PFR0);
    if (this.fpsimd) this.srLo[I_PFR0] &= ~0xff0000; // FP = AdvSIMD = 0: implemented
    this.vr.fill(0);
    this.fpcr = 0;
    this.fpsr = 0;
    this.oslk = 1;
    this.eventReg = 0;
    this.clearExclusive();
    this.syncMmu();
    this.setEl(1);
    this.evt |= EVT_IRQ;
  }

  /** Execute up to `budget` instructions; returns how many ran. See stopReason. */
  run(budget: number): number {
    const start = this.instret;
    const end = start + budget;
    const sh = this.shared;
    if (this.seenTlbGen !== sh.tlbGen) {
      this.seenTlbGen = sh.tlbGen;
      this.flushTlb();
    }
    if (this.seenWGen !== sh.wGen) {
      this.seenWGen = sh.wGen;
      this.flushWrite();
    }
    if (this.seenCodeGen !== sh.codeGen) {
      this.seenCodeGen = sh.codeGen;
      this.fLo = 1;
    }
    this.stopReason = STOP.BUDGET;
    this.evt |= EVT_IRQ;
    this.evt &= ~EVT_STOP;
    while (this.instret < end) {
      try {
        if (this.jit && this.dbgEvt === 0 ? this.jit.exec(this, end) : this.exec(end)) break;
      } catch (e) {
        if (e !== FAULT) throw e;
      }
    }
    return this.instret - start;
  }

  /** Handle pending events; returns true when the run must end. */
  onEvent(): boolean {
    const e = this.evt;
    this.evt = this.dbgEvt;
    if (e & EVT_STOP) {
      if (this.stopReason === STOP.BUDGET) this.stopReason = STOP.REQUEST;
      return true;
    }
    if (e & EVT_ILLEGAL) {
      this.takeSync(EC.ILLEGAL_STATE, 0, false, 0, 0, 'illegal execution state');
      return false;
    }
    if (e & EVT_IRQ) {
      if ((this.daif & DAIF_F) === 0 && this.fiqPending()) this.takeAsync(2);
      else if ((this.daif & DAIF_I) === 0 && this.irqPending()) this.takeAsync(1);
    }
    // A debugger's breakpoint: stop before the instruction at PC (after any interrupt was taken).
    if (e & EVT_DEBUG && this.instret !== this.dbgSkip && this.dbg!.hasBreakpoint(this.pcLo, this.pcHi)) {
      this.dbgHit = { kind: 'breakpoint', addr: this.pc };
      this.stopReason = STOP.DEBUG;
      return true;
    }
    return false;
  }

  /** The interpreter loop; returns true when run() must return (stop), false to continue. */
  exec(end: number): boolean {
    const X = this.x;
    while (this.instret < end) {
      if (this.evt !== 0 && this.onEvent()) return true;
      const pcLo = this.pcLo;
      const pcHi = this.pcHi;
      if ((pcLo & -4096) !== this.fLo || pcHi !== this.fHi) {
        this.refill();
        continue;
      }
      const d = this.fDec;
      const k = pcLo & 0xffc;
      let op = d[k];
      if (op === 0) op = this.decodeAt(d, k);
      const p = d[k + 1],
        a = d[k + 2];
      this.instret++;
      const npc = (pcLo + 4) | 0;
      this.pcLo = npc;
      if (npc === 0) this.pcHi = (pcHi + 1) | 0;
      // literal case labels and inline field reads of p, checked against ops.ts by test/emu/cpu/ops.test.ts
      // (V8 builds a jump table only for literal labels; inlined accessors would eat the loop's inlining budget)
      switch (op) {
        case 1 /* ADD_I64 */: {
          const n = (p >>> 7) & 127,
            dd = p & 127,
            nl = X[n];
          const lo = (nl + a) | 0;
          X[dd + 1] = (X[n + 1] + (lo >>> 0 < nl >>> 0 ? 1 : 0)) | 0;
          X[dd] = lo;
          break;
        }
        case 2 /* SUB_I64 */: {
          const n = (p >>> 7) & 127,
            dd = p & 127,
            nl = X[n];
          X[dd + 1] = (X[n + 1] - (nl >>> 0 < a ? 1 : 0)) | 0;
          X[dd] = (nl - a) | 0;
          break;
        }
        case 3 /* ADD_I32 */:
          X[p & 127] = (X[(p >>> 7) & 127] + a) | 0;
          X[(p & 127) + 1] = 0;
          break;
        case 4 /* SUB_I32 */:
          X[p & 127] = (X[(p >>> 7) & 127] - a) | 0;
          X[(p & 127) + 1] = 0;
          break;
        case 5 /* ADDS_I */:
          this.opAddsImm(p, a);
          break;
        case 58 /* ADD_RR64 */: {
          const n = (p >>> 7) & 127,
            m = (p >>> 14) & 127,
            dd = p & 127,
            nl = X[n],
            ml = X[m];
          if (p >>> 28) {
            X[dd + 1] = (X[n + 1] - X[m + 1] - (nl >>> 0 < ml >>> 0 ? 1 : 0)) | 0;
            X[dd] = (nl - ml) | 0;
          } else {
            const lo = (nl + ml) | 0;
            X[dd + 1] = (X[n + 1] + X[m + 1] + (lo >>> 0 < nl >>> 0 ? 1 : 0)) | 0;
            X[dd] = lo;
          }
          break;
        }
        case 59 /* ADDS_RR64 */: {
          const n = (p >>> 7) & 127,
            m = (p >>> 14) & 127,
            dd = p & 127;
          const lo = p >>> 28 ? this.adds64(X[n + 1], X[n], ~X[m + 1], ~X[m], 1) : this.adds64(X[n + 1], X[n], X[m + 1], X[m], 0);
          X[dd + 1] = H.hi;
          X[dd] = lo;
          break;
        }
        case 60 /* LS_REG_X */: {
          const n = (p >>> 7) & 127,
            m = (p >>> 14) & 127,
            t = p & 127,
            s = d[k + 3];
          const ml = X[m],
            mh = X[m + 1]; // UXTX/LSL and SXTX both use all 64 bits
          const ol = ml << s,
            oh = s ? (mh << s) | (ml >>> (32 - s)) : mh;
          const nl = X[n],
            lo = (nl + ol) | 0;
          const hi = (X[n + 1] + oh + (lo >>> 0 < nl >>> 0 ? 1 : 0)) | 0;
          if (p >>> 28 === 7) {
            const v = this.rd64(hi, lo);
            X[t + 1] = H.hi;
            X[t] = v;
          } else this.wr64(hi, lo, X[t + 1], X[t]);
          break;
        }
        case 53 /* MOV_R */: {
          const m = (p >>> 14) & 127,
            dd = p & 127;
          X[dd] = X[m];
          X[dd + 1] = p >>> 28 ? X[m + 1] : 0;
          break;
        }
        case 7 /* MOVC */:
          X[p & 127] = a;
          X[(p & 127) + 1] = d[k + 3];
          break;
        case 8 /* MOVK */:
          this.opMovk(p, a);
          break;
        case 6 /* LOG_I */:
          this.opLogImm(p, a, d[k + 3]);
          break;
        case 17 /* LOG_R */:
          this.opLogReg(p, a, d[k + 3]);
          break;
        case 15 /* ADD_R */:
          this.opAddReg(p, a, d[k + 3]);
          break;
        case 16 /* ADDS_R */:
          this.opAddsReg(p, a, d[k + 3]);
          break;
        case 18 /* ADD_X */:
          this.opAddExt(p, a, d[k + 3]);
          break;
        case 11 /* SHIFT_I64 */: {
          const n = (p >>> 7) & 127,
            dd = p & 127;
          const l1 = lsl64(X[n + 1], X[n], a);
          const lo = p >>> 28 ? lsr64(H.hi, l1, d[k + 3]) : asr64(H.hi, l1, d[k + 3]);
          X[dd] = lo;
          X[dd + 1] = H.hi;
          break;
        }
        case 12 /* SHIFT_I32 */: {
          const v = X[(p >>> 7) & 127] << a,
            s = d[k + 3],
            dd = p & 127;
          X[dd] = p >>> 28 ? (v >>> s) | 0 : v >> s;
          X[dd + 1] = 0;
          break;
        }
        case 21 /* CSEL */: {
          if (p >>> 28 !== 4) {
            this.opCsel(p, a);
            break;
          }
          const src = this.cond(a) ? (p >>> 7) & 127 : (p >>> 14) & 127,
            dd = p & 127; // CSEL Xd
          X[dd] = X[src];
          X[dd + 1] = X[src + 1];
          break;
        }
        case 20 /* CCMP */:
          this.opCcmp(p, a);
          break;
        case 25 /* B */:
          this.pcLo = add64(pcHi, pcLo, d[k + 3], a);
          this.pcHi = H.hi;
          break;
        case 26 /* BL */:
          X[60] = npc;
          X[61] = npc === 0 ? (pcHi + 1) | 0 : pcHi;
          this.pcLo = add64(pcHi, pcLo, d[k + 3], a);
          this.pcHi = H.hi;
          break;
        case 27 /* BCOND */:
          if (this.cond(d[k + 3])) {
            this.pcLo = add64(pcHi, pcLo, a >> 31, a);
            this.pcHi = H.hi;
          }
          break;
        case 28 /* CBZ */: {
          const t = p & 127;
          const zero = (p >>> 29) & 1 ? (X[t] | X[t + 1]) === 0 : X[t] === 0;
          if (zero !== ((p >>> 28) & 1) > 0) {
            this.pcLo = add64(pcHi, pcLo, a >> 31, a);
            this.pcHi = H.hi;
          }
          break;
        }
        case 29 /* TBZ */: {
          const t = p & 127,
            bit = d[k + 3];
          const set = bit < 32 ? (X[t] >>> bit) & 1 : (X[t + 1] >>> (bit - 32)) & 1;
          if (set === p >>> 28) {
            this.pcLo = add64(pcHi, pcLo, a >> 31, a);
            this.pcHi = H.hi;
          }
          break;
        }
        case 30 /* BR */:
        case 32 /* RET */:
          this.branchTo(X[((p >>> 7) & 127) + 1], X[(p >>> 7) & 127]);
          break;
        case 31 /* BLR */: {
          const n = (p >>> 7) & 127,
            tl = X[n],
            th = X[n + 1];
          X[60] = npc;
          X[61] = npc === 0 ? (pcHi + 1) | 0 : pcHi;
          this.branchTo(th, tl);
          break;
        }
        case 54 /* LS_OFF_X */: {
          const n = (p >>> 7) & 127,
            nl = X[n],
            lo = (nl + a) | 0;
          const hi = (X[n + 1] + (lo >>> 0 < nl >>> 0 ? 1 : 0)) | 0;
          const v = this.rd64(hi, lo);
          X[(p & 127) + 1] = H.hi;
          X[p & 127] = v;
          break;
        }
        case 55 /* LS_OFF_W */: {
          const n = (p >>> 7) & 127,
            nl = X[n],
            lo = (nl + a) | 0;
          const hi = (X[n + 1] + (lo >>> 0 < nl >>> 0 ? 1 : 0)) | 0;
          X[p & 127] = this.rd32(hi, lo);
          X[(p & 127) + 1] = 0;
          break;
        }
        case 56 /* ST_OFF_X */: {
          const n = (p >>> 7) & 127,
            nl = X[n],
            lo = (nl + a) | 0;
          const hi = (X[n + 1] + (lo >>> 0 < nl >>> 0 ? 1 : 0)) | 0;
          this.wr64(hi, lo, X[(p & 127) + 1], X[p & 127]);
          break;
        }
        case 57 /* ST_OFF_W */: {
          const n = (p >>> 7) & 127,
            nl = X[n],
            lo = (nl + a) | 0;
          const hi = (X[n + 1] + (lo >>> 0 < nl >>> 0 ? 1 : 0)) | 0;
          this.wr32(hi, lo, X[p & 127]);
          break;
        }
        case 33 /* LS_OFF */: {
          const n = (p >>> 7) & 127;
          const lo = add64(X[n + 1], X[n], a >> 31, a);
          this.ldst(p >>> 28, p & 127, H.hi, lo);
          break;
        }
        case 34 /* LS_PRE */:
        case 35 /* LS_POST */:
          this.opLsIndexed(op, p, a);
          break;
        case 36 /* LS_REG */:
          this.opLsReg(p, a, d[k + 3]);
          break;
        case 40 /* LSP */:
          this.opPair(p, a, d[k + 3]);
          break;
        case 9 /* ADR */: {
          const base = p >>> 28 ? pcLo & -4096 : pcLo;
          X[p & 127] = add64(pcHi, base, d[k + 3], a);
          X[(p & 127) + 1] = H.hi;
          break;
        }
        case 13 /* BFM */:
          this.opBfm(p, a, d[k + 3]);
          break;
        case 14 /* EXTR */:
          this.opExtr(p, a);
          break;
        case 19 /* ADC */:
          this.opAdc(p);
          break;
        case 23 /* DP1 */:
          this.opDp1(p, a);
          break;
        case 22 /* DP2 */:
          this.opDp2(p, a);
          break;
        case 24 /* DP3 */: {
          if (a !== 0 || p >>> 28 === 0) {
            this.opDp3(p, a);
            break;
          }
          // MADD (64-bit), the common MUL: low 64 bits of the product plus Xa
          const n = (p >>> 7) & 127,
            m = (p >>> 14) & 127,
            ra = (p >>> 21) & 127,
            dd = p & 127;
          const al = X[n],
            bl = X[m];
          const plo = Math.imul(al, bl);
          const phi = Math.round(((al >>> 0) * (bl >>> 0) - (plo >>> 0)) / 4294967296) + Math.imul(X[n + 1], bl) + Math.imul(al, X[m + 1]);
          const rl = X[ra],
            lo = (rl + plo) | 0;
          X[dd + 1] = (X[ra + 1] + phi + (lo >>> 0 < rl >>> 0 ? 1 : 0)) | 0;
          X[dd] = lo;
          break;
        }
        case 39 /* LS_LIT */: {
          const lo = add64(pcHi, pcLo, a >> 31, a);
          this.ldst(p >>> 28, p & 127, H.hi, lo);
          break;
        }
        case 38 /* LS_UNPRIV */:
          this.opLsUnpriv(p, a);
          break;
        case 42 /* EXCL */:
          this.opExclusive(p, a);
          break;
        case 41 /* NOP */:
          break;
        case 46 /* HINT */:
          this.opHint(a);
          break;
        case 47 /* BARRIER */:
          this.opBarrier(a);
          break;
        case 43 /* MRS */:
          this.sysAccess(a, p & 127, true);
          break;
        case 44 /* MSR */:
          this.sysAccess(a, p & 127, false);
          break;
        case 45 /* MSR_IMM */:
          this.opMsrImm(a, d[k + 3]);
          break;
        case 48 /* SYS */:
          this.opSys(a, p);
          break;
        case 49 /* EXC */:
          this.opExc(p >>> 28, a);
          break;
        case 50 /* ERET */:
          this.opEret();
          break;
        case 61 /* FPSIMD */:
          this.opFpSimd(a);
          break;
        default:
          this.undefined();
          break;
      }
    }
    return false;
  }

  decodeAt(d: Int32Array, k: number): number {
    const insn = this.dv.getInt32(this.fOff + k, true);
    const f = decode(insn, this.fields);
    d[k] = f.op;
    d[k + 1] = f.p;
    d[k + 2] = f.a;
    d[k + 3] = f.b;
    return f.op;
  }

  /** Raw instruction word at the current instruction (for diagnostics). */
  currentInsn(): number {
    return this.dv.getInt32(this.fOff + ((this.pcLo - 4) & 0xffc), true);
  }

  /** Look up the page holding PC: translate for execution, find or create its decode array. */
  refill(): void {
    const lo = this.pcLo,
      hi = this.pcHi;
    const t = (lo >>> 12) | (hi << 20);
    const i = this.xB + (t & TLB_MASK);
    const off = this.tTag[i] === t && this.tTagH[i] === hi >>> 12 ? this.tOff[i] : this.xlate(hi, lo, ACC_X, this.el, false);
    if (off < 0) {
      // executing from MMIO / unassigned space: synchronous external abort on fetch
      this.instrAbort(FSC.EXT_ABORT, hi, lo);
    }
    const page = off >>> 12;
    const sh = this.shared;
    let dec = sh.code[page];
    if (!dec) {
      dec = new Int32Array(4096);
      sh.code[page] = dec;
      // stores to this page must now take the slow path (decode-cache invalidation)
      sh.wGen++;
      this.seenWGen = sh.wGen;
      this.flushWrite();
    }
    this.fDec = dec;
    this.fOff = page << 12;
    this.fLo = lo & -4096;
    this.fHi = hi;
  }

  branchTo(hi: number, lo: number): void {
    this.pcLo = lo;
    this.pcHi = hi;
    if (lo & 3) this.pcAlignFault();
  }
}

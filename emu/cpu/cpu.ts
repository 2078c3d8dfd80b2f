// One AArch64 vCPU (EL1/EL0): register file as int32 hi/lo halves, a per-physical-page decode
// cache, a software TLB of direct-mapped caches per (EL, access kind), exact exception entry and
// return. Time is the instruction count (`instret`); nothing from the host reaches the guest.

import type { SysregProvider } from '../types.ts';
import type { PhysBus } from './bus.ts';
import * as Decode from './decode.ts';
import { execFpSimd } from './fpsimd.ts';
import type { Fields } from './decode.ts';
import * as Int64 from './int64.ts';
import { Jit } from './jit.ts';
import type { JitOptions } from './jit.ts';
import * as Mmu from './mmu.ts';
import type { MmuRegs, WalkResult } from './mmu.ts';
import * as Sysregs from './sysregs.ts';

// Imported bindings copied into module constants once: test runners that rewrite imports (vitest)
// turn every use of an imported name into a getter call, which made the interpreter 3-4x slower there.
const { decode, LS, OP } = Decode;
const {
  H, add64, asr64, bswap32, clz64, fromBig, lsl64, lsr64, mul64, rbit32, rev16, shift32, shift64,
  smul32, toBig, toBigSigned, umul32,
} = Int64;
const { FSC, PERM, walk } = Mmu;
const {
  CCSIDR_VALUES, ID_AA64PFR0, SPECIAL, SR_EL0, SR_KIND, SYSREGS, SYSREG_INDEX, isIdSpaceRaz, sysregByName,
  sysregName,
} = Sysregs;

/** Hypervisor call results. */
export const HV = { CONTINUE: 0, STOP: 1, UNDEFINED: 2 } as const;

/** The personality playing EL2/EL3 for HVC and SMC. */
export interface Hypervisor {
  /** Reads/writes x0–x17 through the Cpu accessors; returns an HV value. */
  call(cpu: Cpu, conduit: 'hvc' | 'smc', imm: number): number;
}

/** Why run() returned. */
export const STOP = { BUDGET: 0, WFI: 1, WFE: 2, HYPERVISOR: 3, REQUEST: 4 } as const;
export const STOP_NAMES = ['budget', 'wfi', 'wfe', 'hypervisor', 'request'] as const;

/** Exception classes (ESR_ELx.EC). */
export const EC = {
  UNKNOWN: 0x00, WFX: 0x01, ILLEGAL_STATE: 0x0e, SVC64: 0x15, HVC64: 0x16, SMC64: 0x17, SYSREG: 0x18,
  IABT_LOWER: 0x20, IABT_SAME: 0x21, PC_ALIGN: 0x22, DABT_LOWER: 0x24, DABT_SAME: 0x25, SP_ALIGN: 0x26,
  BRK64: 0x3c, FP_ACCESS: 0x07,
} as const;

/** ESR ISS of an FP/SIMD access trap from AArch64: CV = 1, COND = 0b1110 (as QEMU reports). */
const FP_TRAP_ISS = (1 << 24) | (0xe << 20);

export type ExceptionKind = 'sync' | 'irq' | 'fiq' | 'serror';

export interface ExceptionInfo {
  kind: ExceptionKind;
  ec: number;
  esr: number;
  far: bigint;
  fromEl: number;
  toEl: number;
  /** Preferred return address (ELR_EL1). */
  elr: bigint;
  /** Vector address the CPU continues at. */
  vector: bigint;
  detail: string;
}

export interface CpuHooks {
  onException?(cpu: Cpu, info: ExceptionInfo): void;
  /** An MRS/MSR to an unknown register (the guest gets UNDEFINED). */
  onSysregUndefined?(cpu: Cpu, encoding: number, name: string, write: boolean): void;
  /** Notable accesses: ID registers and registers served by providers. */
  onSysreg?(cpu: Cpu, encoding: number, name: string, write: boolean, value: bigint): void;
}

/** State shared by the vCPUs of one machine: decoded code pages, invalidation generations. */
export class CpuShared {
  /** Decoded instructions per 4K page of bus.mem (4 int32 per instruction), or undefined. */
  readonly code: (Int32Array | undefined)[];
  /** Bumped when other vCPUs must drop their write caches (a page became code). */
  wGen = 0;
  /** Bumped when decoded code was dropped (fetch pages must be re-looked up). */
  codeGen = 0;
  /** Bumped by broadcast TLB invalidation. */
  tlbGen = 0;
  /** Number of vCPUs with an armed exclusive monitor. */
  armed = 0;
  readonly cpus: Cpu[] = [];

  constructor(memBytes: number) {
    this.code = new Array(Math.ceil(memBytes / 4096));
  }

  /** Drop decoded code for a physical range of bus.mem (DMA, loaders). */
  invalidateMem(off: number, len: number): void {
    for (let p = off >>> 12; p <= (off + len - 1) >>> 12; p++) {
      if (this.code[p]) { this.code[p] = undefined; this.codeGen++; }
    }
  }
}

export interface CpuOptions {
  bus: PhysBus;
  /** vCPU index (also Aff0/Aff1 of MPIDR unless mpidr is given). */
  id?: number;
  mpidr?: bigint;
  shared?: CpuShared;
  hypervisor?: Hypervisor;
  providers?: SysregProvider[];
  irqPending?: () => boolean;
  fiqPending?: () => boolean;
  hooks?: CpuHooks;
  /** Report the GICv3 system register interface in ID_AA64PFR0.GIC. */
  gicv3?: boolean;
  /** Compile hot blocks to JavaScript (jit.ts); same architectural behaviour. Off by default for a
   *  bare Cpu (the CPU tests check the interpreter); the Machine turns it on unless told not to. */
  jit?: boolean | JitOptions;
  /** Implement FP/AdvSIMD (ID_AA64PFR0.FP/AdvSIMD = 0; the default); false: absent, UNDEFINED. */
  fpsimd?: boolean;
}

/** Byte tables of the reflected CRC-32 (0x04C11DB7) and CRC-32C (0x1EDC6F41) polynomials. */
function crcTable(polyReflected: number): Int32Array {
  const t = new Int32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ polyReflected : c >>> 1;
    t[i] = c;
  }
  return t;
}
const CRC32_TABLE = crcTable(0xedb88320);
const CRC32C_TABLE = crcTable(0x82f63b78);

/** Thrown (as this object) after an exception was entered mid-instruction. */
const FAULT = { fault: true };

const TLB_BITS = 10;
const TLB_N = 1 << TLB_BITS;
const TLB_MASK = TLB_N - 1;
const ACC_R = 0, ACC_W = 1, ACC_X = 2;
const DAIF_I = 0x80, DAIF_F = 0x40;
const EVT_IRQ = 1, EVT_STOP = 2, EVT_ILLEGAL = 4;

const SR = {
  SPSR: sysregByName('SPSR_EL1'), ELR: sysregByName('ELR_EL1'), ESR: sysregByName('ESR_EL1'),
  FAR: sysregByName('FAR_EL1'), VBAR: sysregByName('VBAR_EL1'), PAR: sysregByName('PAR_EL1'),
  MAIR: sysregByName('MAIR_EL1'), CSSELR: sysregByName('CSSELR_EL1'), SCTLR: sysregByName('SCTLR_EL1'),
  TCR: sysregByName('TCR_EL1'), TTBR0: sysregByName('TTBR0_EL1'), TTBR1: sysregByName('TTBR1_EL1'),
  PFR0: sysregByName('ID_AA64PFR0_EL1'), CPACR: sysregByName('CPACR_EL1'), FPCR: sysregByName('FPCR'),
};
const IDX = (enc: number): number => SYSREG_INDEX[enc];
const I_SPSR = IDX(SR.SPSR), I_ELR = IDX(SR.ELR), I_ESR = IDX(SR.ESR), I_FAR = IDX(SR.FAR);
const I_VBAR = IDX(SR.VBAR), I_PAR = IDX(SR.PAR), I_MAIR = IDX(SR.MAIR), I_CSSELR = IDX(SR.CSSELR);
const I_SCTLR = IDX(SR.SCTLR), I_TCR = IDX(SR.TCR), I_TTBR0 = IDX(SR.TTBR0), I_TTBR1 = IDX(SR.TTBR1);
const I_PFR0 = IDX(SR.PFR0), I_CPACR = IDX(SR.CPACR);

export class Cpu {
  /** General registers: slot s at [2s] (lo) and [2s+1] (hi); 31 = current SP, 32 = zero, 33 = discard. */
  readonly x = new Int32Array(68);
  /** SIMD&FP registers V0-V31, 4 little-endian words each (see fpsimd.ts). */
  readonly vr = new Int32Array(128);
  fpcr = 0;
  fpsr = 0;
  /** FP/AdvSIMD implemented (else every SIMD&FP instruction and FPCR/FPSR access is UNDEFINED). */
  readonly fpsimd: boolean;
  pcLo = 0;
  pcHi = 0;
  // PSTATE
  el = 1;
  spsel = 1;
  daif = 0x3c0;
  n = 0;
  z = 0;
  c = 0;
  v = 0;
  il = 0;
  // banked stack pointers (the current one lives in slot 31)
  private sp0Lo = 0; private sp0Hi = 0; private sp1Lo = 0; private sp1Hi = 0;
  /** System register storage by SYSREGS index. */
  readonly srLo = new Int32Array(SYSREGS.length);
  readonly srHi = new Int32Array(SYSREGS.length);
  private oslk = 1;
  /** Instructions executed (the machine's time base). */
  instret = 0;
  stopReason: number = STOP.BUDGET;
  /** WFE event register. */
  eventReg = 0;

  readonly id: number;
  readonly mpidr: bigint;
  readonly bus: PhysBus;
  readonly shared: CpuShared;
  hypervisor: Hypervisor | undefined;
  providers: SysregProvider[];
  irqPending: () => boolean;
  fiqPending: () => boolean;
  hooks: CpuHooks;
  /** Block compiler, when enabled. */
  readonly jit: Jit | undefined;

  private readonly dv: DataView;
  private evt = EVT_IRQ;
  // TLB: 6 direct-mapped caches (EL0 R/W/X, EL1 R/W/X); tags are VA>>12 split in two words
  private readonly tTag = new Int32Array(6 * TLB_N);
  private readonly tTagH = new Int32Array(6 * TLB_N).fill(-1);
  private readonly tOff = new Int32Array(6 * TLB_N);
  private rB = 3 * TLB_N; private wB = 4 * TLB_N; private xB = 5 * TLB_N;
  private seenWGen = 0; private seenCodeGen = 0; private seenTlbGen = 0;
  // current fetch page
  private fLo = 1; private fHi = 0; private fOff = 0;
  private fDec: Int32Array = new Int32Array(4096);
  // exclusive monitor: granule offset in mem (64-byte), or -1
  exGranule = -1;
  private readonly mmu: MmuRegs = { sctlrLo: 0, tcrLo: 0, tcrHi: 0, ttbr0Lo: 0, ttbr0Hi: 0, ttbr1Lo: 0, ttbr1Hi: 0 };
  private readonly wr: WalkResult = { fault: 0, paPage: 0, perm: 0, global: true, attrIndex: 0, sh: 0, level: 0 };
  private mmioPa = 0;
  /** Owner of each sysreg encoding: 0 unknown yet, 1 CPU table, 2+k provider k, -1 undefined. */
  private readonly srOwner = new Int8Array(65536);
  private readonly fields: Fields = { op: 0, p: 0, a: 0, b: 0 };
  private readonly readDesc = (pa: number, out: Int32Array): boolean => {
    const m = this.bus.mapPage(pa - (pa % 4096));
    if (!m) return false;
    const off = m.off + (pa % 4096);
    out[0] = this.dv.getInt32(off, true);
    out[1] = this.dv.getInt32(off + 4, true);
    return true;
  };

  constructor(o: CpuOptions) {
    this.bus = o.bus;
    this.id = o.id ?? 0;
    this.mpidr = o.mpidr ?? (0x80000000n | (BigInt(this.id >> 4) << 8n) | BigInt(this.id & 15));
    this.shared = o.shared ?? new CpuShared(o.bus.mem.length);
    this.shared.cpus.push(this);
    this.hypervisor = o.hypervisor;
    this.providers = o.providers ?? [];
    this.irqPending = o.irqPending ?? (() => false);
    this.fiqPending = o.fiqPending ?? (() => false);
    this.hooks = o.hooks ?? {};
    this.fpsimd = o.fpsimd ?? true;
    this.jit = o.jit ? new Jit(o.jit === true ? {} : o.jit) : undefined;
    this.dv = new DataView(o.bus.mem.buffer, o.bus.mem.byteOffset, o.bus.mem.byteLength);
    this.reset();
    if (o.gicv3) this.srLo[I_PFR0] |= 1 << 24;
  }

  /** Architectural reset: EL1h, DAIF masked, MMU off, registers zero. */
  reset(): void {
    this.x.fill(0);
    this.pcLo = this.pcHi = 0;
    this.el = 1; this.spsel = 1; this.daif = 0x3c0;
    this.n = this.z = this.c = this.v = this.il = 0;
    this.sp0Lo = this.sp0Hi = this.sp1Lo = this.sp1Hi = 0;
    const gic = this.srLo[I_PFR0] & (1 << 24);
    SYSREGS.forEach((d, i) => { this.srLo[i] = fromBig(d.reset); this.srHi[i] = H.hi; });
    if (gic) this.srLo[I_PFR0] |= gic;
    else this.srLo[I_PFR0] = Number(ID_AA64PFR0);
    if (this.fpsimd) this.srLo[I_PFR0] &= ~0xff0000; // FP = AdvSIMD = 0: implemented
    this.vr.fill(0);
    this.fpcr = 0; this.fpsr = 0;
    this.oslk = 1;
    this.eventReg = 0;
    this.clearExclusive();
    this.syncMmu();
    this.setEl(1);
    this.evt |= EVT_IRQ;
  }

  // ---------------------------------------------------------------- public accessors

  get pc(): bigint { return toBig(this.pcHi, this.pcLo); }
  set pc(v: bigint) { this.pcLo = fromBig(v); this.pcHi = H.hi; }

  /** X register n (0–30; 31 reads as zero). */
  getX(n: number): bigint { return n >= 31 ? 0n : toBig(this.x[2 * n + 1], this.x[2 * n]); }
  setX(n: number, v: bigint): void { if (n < 31) { this.x[2 * n] = fromBig(v); this.x[2 * n + 1] = H.hi; } }
  /** Low 32 bits of Xn, unsigned. */
  getW(n: number): number { return n >= 31 ? 0 : this.x[2 * n] >>> 0; }
  getXHi(n: number): number { return n >= 31 ? 0 : this.x[2 * n + 1] >>> 0; }
  /** Set Xn from a non-negative number below 2^53 (fast path for hypercall results). */
  setXNum(n: number, v: number): void {
    if (n >= 31) return;
    this.x[2 * n] = v | 0;
    this.x[2 * n + 1] = Math.floor(v / 4294967296) | 0;
  }
  /** Set Xn to a sign-extended 32-bit value (e.g. -1 for NOT_SUPPORTED). */
  setXSigned32(n: number, v: number): void {
    if (n >= 31) return;
    this.x[2 * n] = v | 0;
    this.x[2 * n + 1] = (v | 0) >> 31;
  }
  get sp(): bigint { return toBig(this.x[63], this.x[62]); }
  set sp(v: bigint) { this.x[62] = fromBig(v); this.x[63] = H.hi; }

  /** PSTATE as SPSR bits (NZCV, DAIF, IL, M[3:0]). */
  get pstate(): number {
    return ((this.n << 31) | (this.z << 30) | (this.c << 29) | (this.v << 28) | (this.il << 20) | this.daif
      | (this.el << 2) | (this.el ? this.spsel : 0)) >>> 0;
  }

  /** Read a system register by encoding as the CPU sees it (no side effects on providers). */
  readSysregValue(enc: number): bigint | undefined {
    const i = SYSREG_INDEX[enc];
    if (i < 0) return isIdSpaceRaz(enc) ? 0n : undefined;
    if (SYSREGS[i].kind === SR_KIND.SPECIAL) {
      if (!this.readSpecial(SYSREGS[i].special, i, 66)) return undefined;
      return toBig(this.x[67], this.x[66]);
    }
    return toBig(this.srHi[i], this.srLo[i]);
  }

  /** Stop the current run() after the current instruction. */
  requestStop(): void { this.evt |= EVT_STOP; }
  /** Re-evaluate pending interrupts before the next instruction. */
  notifyIrq(): void { this.evt |= EVT_IRQ; }
  /** SEV from another vCPU. */
  sendEvent(): void { this.eventReg = 1; }

  // ---------------------------------------------------------------- run loop

  /** Execute up to `budget` instructions; returns how many ran. See stopReason. */
  run(budget: number): number {
    const start = this.instret;
    const end = start + budget;
    const sh = this.shared;
    if (this.seenTlbGen !== sh.tlbGen) { this.seenTlbGen = sh.tlbGen; this.flushTlb(); }
    if (this.seenWGen !== sh.wGen) { this.seenWGen = sh.wGen; this.flushWrite(); }
    if (this.seenCodeGen !== sh.codeGen) { this.seenCodeGen = sh.codeGen; this.fLo = 1; }
    this.stopReason = STOP.BUDGET;
    this.evt |= EVT_IRQ;
    this.evt &= ~EVT_STOP;
    while (this.instret < end) {
      try {
        if (this.jit ? this.jit.exec(this, end) : this.exec(end)) break;
      } catch (e) {
        if (e !== FAULT) throw e;
      }
    }
    return this.instret - start;
  }

  /** Handle pending events; returns true when the run must end. */
  private onEvent(): boolean {
    const e = this.evt;
    this.evt = 0;
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
    return false;
  }

  /** The interpreter loop; returns true when run() must return (stop), false to continue. */
  private exec(end: number): boolean {
    const X = this.x;
    while (this.instret < end) {
      if (this.evt !== 0 && this.onEvent()) return true;
      const pcLo = this.pcLo;
      const pcHi = this.pcHi;
      if ((pcLo & -4096) !== this.fLo || pcHi !== this.fHi) { this.refill(); continue; }
      const d = this.fDec;
      const k = pcLo & 0xffc;
      let op = d[k];
      if (op === 0) op = this.decodeAt(d, k);
      const p = d[k + 1], a = d[k + 2];
      this.instret++;
      const npc = (pcLo + 4) | 0;
      this.pcLo = npc;
      if (npc === 0) this.pcHi = (pcHi + 1) | 0;
      // literal case labels so V8 emits a jump table (OP.* property loads would compare one by one)
      switch (op) {
        case 1 /* ADD_I64 */: {
          const n = (p >>> 7) & 127, dd = p & 127, nl = X[n];
          const lo = (nl + a) | 0;
          X[dd + 1] = (X[n + 1] + ((lo >>> 0) < (nl >>> 0) ? 1 : 0)) | 0;
          X[dd] = lo;
          break;
        }
        case 2 /* SUB_I64 */: {
          const n = (p >>> 7) & 127, dd = p & 127, nl = X[n];
          X[dd + 1] = (X[n + 1] - ((nl >>> 0) < a ? 1 : 0)) | 0;
          X[dd] = (nl - a) | 0;
          break;
        }
        case 3 /* ADD_I32 */: X[p & 127] = (X[(p >>> 7) & 127] + a) | 0; X[(p & 127) + 1] = 0; break;
        case 4 /* SUB_I32 */: X[p & 127] = (X[(p >>> 7) & 127] - a) | 0; X[(p & 127) + 1] = 0; break;
        case 5 /* ADDS_I */: this.opAddsImm(p, a); break;
        case 58 /* ADD_RR64 */: {
          const n = (p >>> 7) & 127, m = (p >>> 14) & 127, dd = p & 127, nl = X[n], ml = X[m];
          if (p >>> 28) {
            X[dd + 1] = (X[n + 1] - X[m + 1] - ((nl >>> 0) < (ml >>> 0) ? 1 : 0)) | 0;
            X[dd] = (nl - ml) | 0;
          } else {
            const lo = (nl + ml) | 0;
            X[dd + 1] = (X[n + 1] + X[m + 1] + ((lo >>> 0) < (nl >>> 0) ? 1 : 0)) | 0;
            X[dd] = lo;
          }
          break;
        }
        case 59 /* ADDS_RR64 */: {
          const n = (p >>> 7) & 127, m = (p >>> 14) & 127, dd = p & 127;
          const lo = p >>> 28 ? this.adds64(X[n + 1], X[n], ~X[m + 1], ~X[m], 1) : this.adds64(X[n + 1], X[n], X[m + 1], X[m], 0);
          X[dd + 1] = H.hi; X[dd] = lo;
          break;
        }
        case 60 /* LS_REG_X */: {
          const n = (p >>> 7) & 127, m = (p >>> 14) & 127, t = p & 127, s = d[k + 3];
          const ml = X[m], mh = X[m + 1]; // UXTX/LSL and SXTX both use all 64 bits
          const ol = ml << s, oh = s ? (mh << s) | (ml >>> (32 - s)) : mh;
          const nl = X[n], lo = (nl + ol) | 0;
          const hi = (X[n + 1] + oh + ((lo >>> 0) < (nl >>> 0) ? 1 : 0)) | 0;
          if (p >>> 28 === 7) { const v = this.rd64(hi, lo); X[t + 1] = H.hi; X[t] = v; } else this.wr64(hi, lo, X[t + 1], X[t]);
          break;
        }
        case 53 /* MOV_R */: {
          const m = (p >>> 14) & 127, dd = p & 127;
          X[dd] = X[m];
          X[dd + 1] = p >>> 28 ? X[m + 1] : 0;
          break;
        }
        case 7 /* MOVC */: X[p & 127] = a; X[(p & 127) + 1] = d[k + 3]; break;
        case 8 /* MOVK */: this.opMovk(p, a); break;
        case 6 /* LOG_I */: this.opLogImm(p, a, d[k + 3]); break;
        case 17 /* LOG_R */: this.opLogReg(p, a, d[k + 3]); break;
        case 15 /* ADD_R */: this.opAddReg(p, a, d[k + 3]); break;
        case 16 /* ADDS_R */: this.opAddsReg(p, a, d[k + 3]); break;
        case 18 /* ADD_X */: this.opAddExt(p, a, d[k + 3]); break;
        case 11 /* SHIFT_I64 */: {
          const n = (p >>> 7) & 127, dd = p & 127;
          const l1 = lsl64(X[n + 1], X[n], a);
          const lo = p >>> 28 ? lsr64(H.hi, l1, d[k + 3]) : asr64(H.hi, l1, d[k + 3]);
          X[dd] = lo; X[dd + 1] = H.hi;
          break;
        }
        case 12 /* SHIFT_I32 */: {
          const v = X[(p >>> 7) & 127] << a, s = d[k + 3], dd = p & 127;
          X[dd] = p >>> 28 ? (v >>> s) | 0 : v >> s;
          X[dd + 1] = 0;
          break;
        }
        case 21 /* CSEL */: {
          if (p >>> 28 !== 4) { this.opCsel(p, a); break; }
          const src = this.cond(a) ? (p >>> 7) & 127 : (p >>> 14) & 127, dd = p & 127; // CSEL Xd
          X[dd] = X[src]; X[dd + 1] = X[src + 1];
          break;
        }
        case 20 /* CCMP */: this.opCcmp(p, a); break;
        case 25 /* B */: this.pcLo = add64(pcHi, pcLo, d[k + 3], a); this.pcHi = H.hi; break;
        case 26 /* BL */:
          X[60] = npc; X[61] = npc === 0 ? (pcHi + 1) | 0 : pcHi;
          this.pcLo = add64(pcHi, pcLo, d[k + 3], a); this.pcHi = H.hi;
          break;
        case 27 /* BCOND */:
          if (this.cond(d[k + 3])) { this.pcLo = add64(pcHi, pcLo, a >> 31, a); this.pcHi = H.hi; }
          break;
        case 28 /* CBZ */: {
          const t = p & 127;
          const zero = (p >>> 29) & 1 ? (X[t] | X[t + 1]) === 0 : X[t] === 0;
          if (zero !== ((p >>> 28) & 1) > 0) { this.pcLo = add64(pcHi, pcLo, a >> 31, a); this.pcHi = H.hi; }
          break;
        }
        case 29 /* TBZ */: {
          const t = p & 127, bit = d[k + 3];
          const set = bit < 32 ? (X[t] >>> bit) & 1 : (X[t + 1] >>> (bit - 32)) & 1;
          if (set === p >>> 28) { this.pcLo = add64(pcHi, pcLo, a >> 31, a); this.pcHi = H.hi; }
          break;
        }
        case 30 /* BR */: case 32 /* RET */: this.branchTo(X[((p >>> 7) & 127) + 1], X[(p >>> 7) & 127]); break;
        case 31 /* BLR */: {
          const n = (p >>> 7) & 127, tl = X[n], th = X[n + 1];
          X[60] = npc; X[61] = npc === 0 ? (pcHi + 1) | 0 : pcHi;
          this.branchTo(th, tl);
          break;
        }
        case 54 /* LS_OFF_X */: {
          const n = (p >>> 7) & 127, nl = X[n], lo = (nl + a) | 0;
          const hi = (X[n + 1] + ((lo >>> 0) < (nl >>> 0) ? 1 : 0)) | 0;
          const v = this.rd64(hi, lo);
          X[(p & 127) + 1] = H.hi; X[p & 127] = v;
          break;
        }
        case 55 /* LS_OFF_W */: {
          const n = (p >>> 7) & 127, nl = X[n], lo = (nl + a) | 0;
          const hi = (X[n + 1] + ((lo >>> 0) < (nl >>> 0) ? 1 : 0)) | 0;
          X[p & 127] = this.rd32(hi, lo); X[(p & 127) + 1] = 0;
          break;
        }
        case 56 /* ST_OFF_X */: {
          const n = (p >>> 7) & 127, nl = X[n], lo = (nl + a) | 0;
          const hi = (X[n + 1] + ((lo >>> 0) < (nl >>> 0) ? 1 : 0)) | 0;
          this.wr64(hi, lo, X[(p & 127) + 1], X[p & 127]);
          break;
        }
        case 57 /* ST_OFF_W */: {
          const n = (p >>> 7) & 127, nl = X[n], lo = (nl + a) | 0;
          const hi = (X[n + 1] + ((lo >>> 0) < (nl >>> 0) ? 1 : 0)) | 0;
          this.wr32(hi, lo, X[p & 127]);
          break;
        }
        case 33 /* LS_OFF */: {
          const n = (p >>> 7) & 127;
          const lo = add64(X[n + 1], X[n], a >> 31, a);
          this.ldst(p >>> 28, p & 127, H.hi, lo);
          break;
        }
        case 34 /* LS_PRE */: case 35 /* LS_POST */: this.opLsIndexed(op, p, a); break;
        case 36 /* LS_REG */: this.opLsReg(p, a, d[k + 3]); break;
        case 40 /* LSP */: this.opPair(p, a, d[k + 3]); break;
        case 9 /* ADR */: {
          const base = p >>> 28 ? pcLo & -4096 : pcLo;
          X[p & 127] = add64(pcHi, base, d[k + 3], a); X[(p & 127) + 1] = H.hi;
          break;
        }
        case 13 /* BFM */: this.opBfm(p, a, d[k + 3]); break;
        case 14 /* EXTR */: this.opExtr(p, a); break;
        case 19 /* ADC */: this.opAdc(p); break;
        case 23 /* DP1 */: this.opDp1(p, a); break;
        case 22 /* DP2 */: this.opDp2(p, a); break;
        case 24 /* DP3 */: {
          if (a !== 0 || p >>> 28 === 0) { this.opDp3(p, a); break; }
          // MADD (64-bit), the common MUL: low 64 bits of the product plus Xa
          const n = (p >>> 7) & 127, m = (p >>> 14) & 127, ra = (p >>> 21) & 127, dd = p & 127;
          const al = X[n], bl = X[m];
          const plo = Math.imul(al, bl);
          const phi = Math.round(((al >>> 0) * (bl >>> 0) - (plo >>> 0)) / 4294967296) + Math.imul(X[n + 1], bl) + Math.imul(al, X[m + 1]);
          const rl = X[ra], lo = (rl + plo) | 0;
          X[dd + 1] = (X[ra + 1] + phi + ((lo >>> 0) < (rl >>> 0) ? 1 : 0)) | 0;
          X[dd] = lo;
          break;
        }
        case 39 /* LS_LIT */: {
          const lo = add64(pcHi, pcLo, a >> 31, a);
          this.ldst(p >>> 28, p & 127, H.hi, lo);
          break;
        }
        case 38 /* LS_UNPRIV */: this.opLsUnpriv(p, a); break;
        case 42 /* EXCL */: this.opExclusive(p, a); break;
        case 41 /* NOP */: break;
        case 46 /* HINT */: this.opHint(a); break;
        case 47 /* BARRIER */: this.opBarrier(a); break;
        case 43 /* MRS */: this.sysAccess(a, p & 127, true); break;
        case 44 /* MSR */: this.sysAccess(a, p & 127, false); break;
        case 45 /* MSR_IMM */: this.opMsrImm(a, d[k + 3]); break;
        case 48 /* SYS */: this.opSys(a, p); break;
        case 49 /* EXC */: this.opExc(p >>> 28, a); break;
        case 50 /* ERET */: this.opEret(); break;
        case 61 /* FPSIMD */: this.opFpSimd(a); break;
        default: this.undefined(); break;
      }
    }
    return false;
  }

  private decodeAt(d: Int32Array, k: number): number {
    const insn = this.dv.getInt32(this.fOff + k, true);
    const f = decode(insn, this.fields);
    d[k] = f.op; d[k + 1] = f.p; d[k + 2] = f.a; d[k + 3] = f.b;
    return f.op;
  }

  /** Raw instruction word at the current instruction (for diagnostics). */
  currentInsn(): number {
    return this.dv.getInt32(this.fOff + ((this.pcLo - 4) & 0xffc), true);
  }

  /** Look up the page holding PC: translate for execution, find or create its decode array. */
  private refill(): void {
    const lo = this.pcLo, hi = this.pcHi;
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

  private branchTo(hi: number, lo: number): void {
    this.pcLo = lo; this.pcHi = hi;
    if (lo & 3) this.pcAlignFault();
  }

  // ---------------------------------------------------------------- flags and conditions

  cond(c: number): boolean {
    let r: boolean;
    switch (c >>> 1) {
      case 0: r = this.z !== 0; break;
      case 1: r = this.c !== 0; break;
      case 2: r = this.n !== 0; break;
      case 3: r = this.v !== 0; break;
      case 4: r = this.c !== 0 && this.z === 0; break;
      case 5: r = this.n === this.v; break;
      case 6: r = this.n === this.v && this.z === 0; break;
      default: return true;
    }
    return (c & 1) !== 0 ? !r : r;
  }

  /** a + b + cin with flags (64-bit); returns lo, H.hi = hi. */
  private adds64(ah: number, al: number, bh: number, bl: number, cin: number): number {
    const ul = (al >>> 0) + (bl >>> 0) + cin;
    const uh = (ah >>> 0) + (bh >>> 0) + (ul > 0xffffffff ? 1 : 0);
    const lo = ul | 0, hi = uh | 0;
    this.n = hi >>> 31;
    this.z = (lo | hi) === 0 ? 1 : 0;
    this.c = uh > 0xffffffff ? 1 : 0;
    this.v = (~(ah ^ bh) & (ah ^ hi)) >>> 31;
    H.hi = hi;
    return lo;
  }

  private adds32(a: number, b: number, cin: number): number {
    const u = (a >>> 0) + (b >>> 0) + cin;
    const r = u | 0;
    this.n = r >>> 31;
    this.z = r === 0 ? 1 : 0;
    this.c = u > 0xffffffff ? 1 : 0;
    this.v = (~(a ^ b) & (a ^ r)) >>> 31;
    return r;
  }

  private setNZ64(hi: number, lo: number): void {
    this.n = hi >>> 31; this.z = (lo | hi) === 0 ? 1 : 0; this.c = 0; this.v = 0;
  }

  // ---------------------------------------------------------------- data processing

  private opAddsImm(p: number, imm: number): void {
    const X = this.x, n = (p >>> 7) & 127, dd = p & 127, x = p >>> 28;
    const sub = (x >>> 1) & 1;
    if (x & 1) {
      const lo = sub ? this.adds64(X[n + 1], X[n], -1, ~imm, 1) : this.adds64(X[n + 1], X[n], 0, imm, 0);
      X[dd + 1] = H.hi; X[dd] = lo;
    } else {
      X[dd] = sub ? this.adds32(X[n], ~imm, 1) : this.adds32(X[n], imm, 0);
      X[dd + 1] = 0;
    }
  }

  private opMovk(p: number, imm: number): void {
    const X = this.x, dd = p & 127, hw = (p >>> 28) & 3;
    switch (hw) {
      case 0: X[dd] = (X[dd] & -65536) | imm; break;
      case 1: X[dd] = (X[dd] & 0xffff) | (imm << 16); break;
      case 2: X[dd + 1] = (X[dd + 1] & -65536) | imm; break;
      default: X[dd + 1] = (X[dd + 1] & 0xffff) | (imm << 16); break;
    }
    if (!(p >>> 30)) X[dd + 1] = 0;
  }

  private logic(opc: number, ah: number, al: number, bh: number, bl: number, sf: number, dd: number): void {
    let lo: number, hi: number;
    switch (opc) {
      case 0: case 3: lo = al & bl; hi = ah & bh; break;
      case 1: lo = al | bl; hi = ah | bh; break;
      default: lo = al ^ bl; hi = ah ^ bh; break;
    }
    if (!sf) hi = 0;
    if (opc === 3) {
      if (sf) this.setNZ64(hi, lo);
      else { this.n = lo >>> 31; this.z = lo === 0 ? 1 : 0; this.c = 0; this.v = 0; }
    }
    this.x[dd] = lo; this.x[dd + 1] = hi;
  }

  private opLogImm(p: number, ml: number, mh: number): void {
    const X = this.x, n = (p >>> 7) & 127, x = p >>> 28;
    this.logic(x & 3, X[n + 1], X[n], mh, ml, x >>> 2, p & 127);
  }

  private opLogReg(p: number, type: number, amt: number): void {
    const X = this.x, n = (p >>> 7) & 127, m = (p >>> 14) & 127, x = p >>> 28;
    const sf = x >>> 3;
    let bl: number, bh: number;
    if (sf) { bl = shift64(type, X[m + 1], X[m], amt); bh = H.hi; } else { bl = shift32(type, X[m], amt); bh = 0; }
    if (x & 4) { bl = ~bl; bh = ~bh; }
    this.logic(x & 3, X[n + 1], X[n], bh, bl, sf, p & 127);
  }

  private opAddReg(p: number, type: number, amt: number): void {
    const X = this.x, n = (p >>> 7) & 127, m = (p >>> 14) & 127, dd = p & 127, x = p >>> 28;
    if (x & 2) {
      let bl = shift64(type, X[m + 1], X[m], amt), bh = H.hi;
      if (x & 1) { bl = ~bl; bh = ~bh; }
      const ul = (X[n] >>> 0) + (bl >>> 0) + (x & 1);
      X[dd + 1] = (X[n + 1] + bh + (ul > 0xffffffff ? 1 : 0)) | 0;
      X[dd] = ul | 0;
    } else {
      const b = shift32(type, X[m], amt);
      X[dd] = x & 1 ? (X[n] - b) | 0 : (X[n] + b) | 0;
      X[dd + 1] = 0;
    }
  }

  private opAddsReg(p: number, type: number, amt: number): void {
    const X = this.x, n = (p >>> 7) & 127, m = (p >>> 14) & 127, dd = p & 127, x = p >>> 28;
    const sub = x & 1;
    if (x & 2) {
      let bl = shift64(type, X[m + 1], X[m], amt), bh = H.hi;
      if (sub) { bl = ~bl; bh = ~bh; }
      const lo = this.adds64(X[n + 1], X[n], bh, bl, sub);
      X[dd + 1] = H.hi; X[dd] = lo;
    } else {
      const b = shift32(type, X[m], amt);
      X[dd] = this.adds32(X[n], sub ? ~b : b, sub);
      X[dd + 1] = 0;
    }
  }

  /** Extended register operand: returns lo, H.hi = hi. */
  private extendReg(m: number, opt: number, sh: number): number {
    const X = this.x;
    let lo = X[m], hi: number;
    switch (opt) {
      case 0: lo &= 0xff; hi = 0; break;
      case 1: lo &= 0xffff; hi = 0; break;
      case 2: hi = 0; break;
      case 3: case 7: hi = X[m + 1]; break;
      case 4: lo = (lo << 24) >> 24; hi = lo >> 31; break;
      case 5: lo = (lo << 16) >> 16; hi = lo >> 31; break;
      default: hi = lo >> 31; break;
    }
    return lsl64(hi, lo, sh);
  }

  private opAddExt(p: number, opt: number, sh: number): void {
    const X = this.x, n = (p >>> 7) & 127, m = (p >>> 14) & 127, dd = p & 127, x = p >>> 28;
    const sub = x & 1, S = (x >>> 1) & 1, sf = x >>> 2;
    let bl = this.extendReg(m, opt, sh), bh = H.hi;
    if (sub) { bl = ~bl; bh = ~bh; }
    if (sf) {
      let lo: number, hi: number;
      if (S) { lo = this.adds64(X[n + 1], X[n], bh, bl, sub); hi = H.hi; } else {
        const ul = (X[n] >>> 0) + (bl >>> 0) + sub;
        hi = (X[n + 1] + bh + (ul > 0xffffffff ? 1 : 0)) | 0;
        lo = ul | 0;
      }
      X[dd] = lo; X[dd + 1] = hi;
    } else {
      X[dd] = S ? this.adds32(X[n], bl, sub) : (X[n] + bl + sub) | 0;
      X[dd + 1] = 0;
    }
  }

  private opAdc(p: number): void {
    const X = this.x, n = (p >>> 7) & 127, m = (p >>> 14) & 127, dd = p & 127, x = p >>> 28;
    const sub = x & 1, S = (x >>> 1) & 1, sf = x >>> 2;
    let bl = X[m], bh = X[m + 1];
    if (sub) { bl = ~bl; bh = ~bh; }
    if (sf) {
      let lo: number, hi: number;
      if (S) { lo = this.adds64(X[n + 1], X[n], bh, bl, this.c); hi = H.hi; } else {
        const ul = (X[n] >>> 0) + (bl >>> 0) + this.c;
        hi = (X[n + 1] + bh + (ul > 0xffffffff ? 1 : 0)) | 0;
        lo = ul | 0;
      }
      X[dd] = lo; X[dd + 1] = hi;
    } else {
      X[dd] = S ? this.adds32(X[n], bl, this.c) : (X[n] + bl + this.c) | 0;
      X[dd + 1] = 0;
    }
  }

  private opCcmp(p: number, a: number): void {
    const X = this.x, n = (p >>> 7) & 127, m = (p >>> 14) & 127, x = p >>> 28;
    if (!this.cond(a & 15)) {
      const f = (a >>> 4) & 15;
      this.n = f >>> 3; this.z = (f >>> 2) & 1; this.c = (f >>> 1) & 1; this.v = f & 1;
      return;
    }
    const imm = (a >>> 8) & 1;
    let bl = imm ? a >>> 9 : X[m], bh = imm ? 0 : X[m + 1];
    const sub = x & 1;
    if (sub) { bl = ~bl; bh = ~bh; }
    if (x >>> 2) this.adds64(X[n + 1], X[n], bh, bl, sub);
    else this.adds32(X[n], bl, sub);
  }

  private opCsel(p: number, c: number): void {
    const X = this.x, n = (p >>> 7) & 127, m = (p >>> 14) & 127, dd = p & 127, x = p >>> 28;
    const sf = x >>> 2;
    let lo: number, hi: number;
    if (this.cond(c)) { lo = X[n]; hi = X[n + 1]; } else {
      lo = X[m]; hi = X[m + 1];
      switch (x & 3) {
        case 1: lo = add64(hi, lo, 0, 1); hi = H.hi; break;
        case 2: lo = ~lo; hi = ~hi; break;
        case 3: lo = add64(~hi, ~lo, 0, 1); hi = H.hi; break;
      }
    }
    X[dd] = lo; X[dd + 1] = sf ? hi : 0;
  }

  private opBfm(p: number, L: number, R: number): void {
    const X = this.x, n = (p >>> 7) & 127, dd = p & 127;
    if (p >>> 28) {
      let vl = lsl64(X[n + 1], X[n], L); let vh = H.hi;
      vl = lsr64(vh, vl, R); vh = H.hi;
      let ml = lsl64(-1, -1, L); let mh = H.hi;
      ml = lsr64(mh, ml, R); mh = H.hi;
      X[dd] = (X[dd] & ~ml) | vl; X[dd + 1] = (X[dd + 1] & ~mh) | vh;
    } else {
      const v = ((X[n] << L) >>> R) | 0, m = ((-1 << L) >>> R) | 0;
      X[dd] = (X[dd] & ~m) | v; X[dd + 1] = 0;
    }
  }

  private opExtr(p: number, lsb: number): void {
    const X = this.x, n = (p >>> 7) & 127, m = (p >>> 14) & 127, dd = p & 127;
    if (p >>> 28) {
      if (lsb === 0) { X[dd] = X[m]; X[dd + 1] = X[m + 1]; return; }
      const al = lsr64(X[m + 1], X[m], lsb), ah = H.hi;
      const bl = lsl64(X[n + 1], X[n], 64 - lsb), bh = H.hi;
      X[dd] = al | bl; X[dd + 1] = ah | bh;
    } else {
      X[dd] = lsb === 0 ? X[m] : (X[m] >>> lsb) | (X[n] << (32 - lsb));
      X[dd + 1] = 0;
    }
  }

  private opDp1(p: number, opc: number): void {
    const X = this.x, n = (p >>> 7) & 127, dd = p & 127, sf = p >>> 28;
    const l = X[n], h = X[n + 1];
    let lo: number, hi = 0;
    switch (opc) {
      case 0: if (sf) { lo = rbit32(h); hi = rbit32(l); } else lo = rbit32(l); break;
      case 1: lo = rev16(l); if (sf) hi = rev16(h); break;
      case 2: lo = bswap32(l); if (sf) hi = bswap32(h); break;
      case 3: lo = bswap32(h); hi = bswap32(l); break;
      case 4: lo = sf ? clz64(h, l) : Math.clz32(l); break;
      default: {
        if (sf) {
          const yl = asr64(h, l, 1), yh = H.hi;
          lo = clz64(h ^ yh, l ^ yl) - 1;
        } else lo = Math.clz32(l ^ (l >> 1)) - 1;
        break;
      }
    }
    X[dd] = lo; X[dd + 1] = hi;
  }

  private opDp2(p: number, opc: number): void {
    const X = this.x, n = (p >>> 7) & 127, m = (p >>> 14) & 127, dd = p & 127, sf = p >>> 28;
    const nl = X[n], nh = X[n + 1], ml = X[m], mh = X[m + 1];
    let lo: number, hi = 0;
    if (opc >= 16) {
      // CRC32 (opc 16-19) / CRC32C (20-23) of the low 1 << (opc & 3) bytes of Rm into Wn
      const table = opc >= 20 ? CRC32C_TABLE : CRC32_TABLE;
      let crc = nl;
      const bytes = 1 << (opc & 3);
      for (let b = 0; b < bytes; b++) {
        const byte = b < 4 ? (ml >>> (8 * b)) & 0xff : (mh >>> (8 * (b - 4))) & 0xff;
        crc = table[(crc ^ byte) & 0xff] ^ (crc >>> 8);
      }
      X[dd] = crc; X[dd + 1] = 0;
      return;
    }
    if (opc >= 8) {
      const type = opc - 8;
      if (sf) { lo = shift64(type, nh, nl, ml & 63); hi = H.hi; } else lo = shift32(type, nl, ml & 31);
    } else if (!sf) {
      if ((ml | 0) === 0) lo = 0;
      else lo = opc === 2 ? Math.floor((nl >>> 0) / (ml >>> 0)) | 0 : Math.trunc(nl / ml) | 0;
    } else if ((ml | mh) === 0) {
      lo = 0;
    } else if (opc === 2 && nh === 0 && mh === 0) {
      lo = Math.floor((nl >>> 0) / (ml >>> 0)) | 0;
    } else {
      const q = opc === 2 ? toBig(nh, nl) / toBig(mh, ml) : toBigSigned(nh, nl) / toBigSigned(mh, ml);
      lo = fromBig(q); hi = H.hi;
    }
    X[dd] = lo; X[dd + 1] = hi;
  }

  private opDp3(p: number, code: number): void {
    const X = this.x, n = (p >>> 7) & 127, m = (p >>> 14) & 127, ra = (p >>> 21) & 127, dd = p & 127;
    const sf = p >>> 28;
    if (!sf) {
      const prod = Math.imul(X[n], X[m]);
      X[dd] = code ? (X[ra] - prod) | 0 : (X[ra] + prod) | 0;
      X[dd + 1] = 0;
      return;
    }
    let pl: number, ph: number;
    switch (code) {
      case 0: case 1: pl = mul64(X[n + 1], X[n], X[m + 1], X[m]); ph = H.hi; break;
      case 2: case 3: pl = smul32(X[n], X[m]); ph = H.hi; break;
      case 10: case 11: pl = umul32(X[n], X[m]); ph = H.hi; break;
      default: {
        const big = code === 4
          ? (toBigSigned(X[n + 1], X[n]) * toBigSigned(X[m + 1], X[m])) >> 64n
          : (toBig(X[n + 1], X[n]) * toBig(X[m + 1], X[m])) >> 64n;
        X[dd] = fromBig(big); X[dd + 1] = H.hi;
        return;
      }
    }
    if (code & 1) { pl = ~pl; ph = ~ph; }
    const ul = (X[ra] >>> 0) + (pl >>> 0) + (code & 1);
    X[dd + 1] = (X[ra + 1] + ph + (ul > 0xffffffff ? 1 : 0)) | 0;
    X[dd] = ul | 0;
  }

  // ---------------------------------------------------------------- loads and stores

  /** One single-register access of type t (LS.*) for register slot rt at hi:lo. */
  private ldst(t: number, rt: number, hi: number, lo: number): void {
    const X = this.x;
    switch (t) {
      case 0 /* STRB */: this.wr8(hi, lo, X[rt]); break;
      case 1 /* STRH */: this.wr16(hi, lo, X[rt]); break;
      case 2 /* STRW */: this.wr32(hi, lo, X[rt]); break;
      case 3 /* STRX */: this.wr64(hi, lo, X[rt + 1], X[rt]); break;
      case 4 /* LDRB */: X[rt] = this.rd8(hi, lo); X[rt + 1] = 0; break;
      case 5 /* LDRH */: X[rt] = this.rd16(hi, lo); X[rt + 1] = 0; break;
      case 6 /* LDRW */: X[rt] = this.rd32(hi, lo); X[rt + 1] = 0; break;
      case 7 /* LDRX */: { const v = this.rd64(hi, lo); X[rt + 1] = H.hi; X[rt] = v; break; }
      case 8 /* LDRSB_X */: { const v = (this.rd8(hi, lo) << 24) >> 24; X[rt] = v; X[rt + 1] = v >> 31; break; }
      case 9 /* LDRSH_X */: { const v = (this.rd16(hi, lo) << 16) >> 16; X[rt] = v; X[rt + 1] = v >> 31; break; }
      case 10 /* LDRSW */: { const v = this.rd32(hi, lo); X[rt] = v; X[rt + 1] = v >> 31; break; }
      case 11 /* LDRSB_W */: X[rt] = (this.rd8(hi, lo) << 24) >> 24; X[rt + 1] = 0; break;
      case 12 /* LDRSH_W */: X[rt] = (this.rd16(hi, lo) << 16) >> 16; X[rt + 1] = 0; break;
      default: break; // PRFM
    }
  }

  private opLsIndexed(op: number, p: number, imm: number): void {
    const X = this.x, n = (p >>> 7) & 127;
    const wl = add64(X[n + 1], X[n], imm >> 31, imm), wh = H.hi;
    if (op === OP.LS_PRE) this.ldst(p >>> 28, p & 127, wh, wl);
    else this.ldst(p >>> 28, p & 127, X[n + 1], X[n]);
    X[n] = wl; X[n + 1] = wh;
  }

  private opLsReg(p: number, opt: number, sh: number): void {
    const X = this.x, n = (p >>> 7) & 127, m = (p >>> 14) & 127;
    const ol = this.extendReg(m, opt, sh), oh = H.hi;
    const lo = add64(X[n + 1], X[n], oh, ol);
    this.ldst(p >>> 28, p & 127, H.hi, lo);
  }

  private opLsUnpriv(p: number, imm: number): void {
    const X = this.x, n = (p >>> 7) & 127;
    const lo = add64(X[n + 1], X[n], imm >> 31, imm), hi = H.hi;
    const t = p >>> 28, rt = p & 127;
    if (this.el === 0) { this.ldst(t, rt, hi, lo); return; }
    if (t === LS.PRFM) return;
    const size = 1 << [0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 0, 1][t];
    if (t <= LS.STRX) { this.writeMem(hi, lo, size, X[rt + 1], X[rt], 0); return; }
    let v = this.readMem(hi, lo, size, 0), vh = size === 8 ? H.hi : 0;
    if (t === LS.LDRSB_X || t === LS.LDRSB_W) v = (v << 24) >> 24;
    else if (t === LS.LDRSH_X || t === LS.LDRSH_W) v = (v << 16) >> 16;
    if (t === LS.LDRSB_X || t === LS.LDRSH_X || t === LS.LDRSW) vh = v >> 31;
    X[rt] = v; X[rt + 1] = vh;
  }

  private opPair(p: number, off: number, mode: number): void {
    const X = this.x, n = (p >>> 7) & 127, t = p >>> 28, r1 = p & 127, r2 = (p >>> 21) & 127;
    const wl = add64(X[n + 1], X[n], off >> 31, off), wh = H.hi;
    let al = wl, ah = wh;
    if (mode === 1) { al = X[n]; ah = X[n + 1]; }
    if (t === 2 || t === 3) {
      const bl = (al + 8) | 0, bh = (bl >>> 0) < (al >>> 0) ? (ah + 1) | 0 : ah;
      if (t === 2) {
        this.wr64(ah, al, X[r1 + 1], X[r1]);
        this.wr64(bh, bl, X[r2 + 1], X[r2]);
      } else {
        const v1 = this.rd64(ah, al), v1h = H.hi;
        const v2 = this.rd64(bh, bl), v2h = H.hi;
        X[r1] = v1; X[r1 + 1] = v1h; X[r2] = v2; X[r2 + 1] = v2h;
      }
    } else {
      const bl = (al + 4) | 0, bh = (bl >>> 0) < (al >>> 0) ? (ah + 1) | 0 : ah;
      if (t === 0) {
        this.wr32(ah, al, X[r1]);
        this.wr32(bh, bl, X[r2]);
      } else {
        const v1 = this.rd32(ah, al), v2 = this.rd32(bh, bl);
        X[r1] = v1; X[r2] = v2;
        if (t === 4) { X[r1 + 1] = v1 >> 31; X[r2 + 1] = v2 >> 31; } else { X[r1 + 1] = 0; X[r2 + 1] = 0; }
      }
    }
    if (mode !== 0) { X[n] = wl; X[n + 1] = wh; }
  }

  private opExclusive(p: number, a: number): void {
    const X = this.x, n = (p >>> 7) & 127, rt = p & 127, rs = (p >>> 14) & 127, rt2 = (p >>> 21) & 127;
    const size = 1 << (a >>> 4), o2 = (a >>> 3) & 1, L = (a >>> 2) & 1, pair = (a >>> 1) & 1;
    const lo = X[n], hi = X[n + 1];
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
        const bl = (lo + size) | 0, bh = (bl >>> 0) < (lo >>> 0) ? (hi + 1) | 0 : hi;
        if (size === 8) {
          const v1 = this.rd64(hi, lo), v1h = H.hi, v2 = this.rd64(bh, bl), v2h = H.hi;
          X[rt] = v1; X[rt + 1] = v1h; X[rt2] = v2; X[rt2 + 1] = v2h;
        } else {
          const v1 = this.rd32(hi, lo), v2 = this.rd32(bh, bl);
          X[rt] = v1; X[rt + 1] = 0; X[rt2] = v2; X[rt2 + 1] = 0;
        }
      } else {
        this.ldst(4 + (a >>> 4), rt, hi, lo);
      }
      this.arm(off);
      return;
    }
    // store exclusive: permission/translation checked even when the monitor fails
    const off = this.physOff(hi, lo, ACC_W);
    const ok = off >= 0 && this.exGranule === (off >>> 6);
    this.clearExclusive();
    if (ok) {
      if (pair) {
        const bl = (lo + size) | 0, bh = (bl >>> 0) < (lo >>> 0) ? (hi + 1) | 0 : hi;
        if (size === 8) { this.wr64(hi, lo, X[rt + 1], X[rt]); this.wr64(bh, bl, X[rt2 + 1], X[rt2]); } else {
          this.wr32(hi, lo, X[rt]); this.wr32(bh, bl, X[rt2]);
        }
      } else this.ldst(a >>> 4, rt, hi, lo);
    }
    X[rs] = ok ? 0 : 1; X[rs + 1] = 0;
  }

  private arm(off: number): void {
    if (this.exGranule < 0) this.shared.armed++;
    this.exGranule = off < 0 ? -2 : off >>> 6;
  }

  clearExclusive(): void {
    if (this.exGranule !== -1) { this.exGranule = -1; this.shared.armed--; }
  }

  /** A store to mem offset `off` clears other vCPUs' monitors on that granule (and wakes WFE). */
  private snoop(off: number): void {
    const g = off >>> 6;
    for (const o of this.shared.cpus) {
      if (o !== this && o.exGranule === g) { o.clearExclusive(); o.eventReg = 1; }
    }
  }

  /** mem offset of a VA for access kind acc (current EL), or -1 for MMIO. */
  private physOff(hi: number, lo: number, acc: number): number {
    const t = (lo >>> 12) | (hi << 20);
    const i = (acc === ACC_R ? this.rB : this.wB) + (t & TLB_MASK);
    if (this.tTag[i] === t && this.tTagH[i] === hi >>> 12) return this.tOff[i] + (lo & 0xfff);
    return this.xlate(hi, lo, acc, this.el, true);
  }

  /** mem offset of hi:lo from TLB set `set` (EL*3 + access kind), or undefined on a miss. */
  private cached(hi: number, lo: number, set: number): number | undefined {
    const t = (lo >>> 12) | (hi << 20);
    const i = set * TLB_N + (t & TLB_MASK);
    return this.tTag[i] === t && this.tTagH[i] === hi >>> 12 ? this.tOff[i] + (lo & 0xfff) : undefined;
  }

  rd8(hi: number, lo: number): number {
    const t = (lo >>> 12) | (hi << 20);
    const i = this.rB + (t & TLB_MASK);
    if (this.tTag[i] === t && this.tTagH[i] === hi >>> 12) return this.dv.getUint8(this.tOff[i] + (lo & 0xfff));
    return this.readMem(hi, lo, 1, this.el);
  }

  rd16(hi: number, lo: number): number {
    const t = (lo >>> 12) | (hi << 20);
    const i = this.rB + (t & TLB_MASK);
    if (this.tTag[i] === t && this.tTagH[i] === hi >>> 12 && (lo & 0xfff) <= 0xffe) {
      return this.dv.getUint16(this.tOff[i] + (lo & 0xfff), true);
    }
    return this.readMem(hi, lo, 2, this.el);
  }

  rd32(hi: number, lo: number): number {
    const t = (lo >>> 12) | (hi << 20);
    const i = this.rB + (t & TLB_MASK);
    if (this.tTag[i] === t && this.tTagH[i] === hi >>> 12 && (lo & 0xfff) <= 0xffc) {
      return this.dv.getInt32(this.tOff[i] + (lo & 0xfff), true);
    }
    return this.readMem(hi, lo, 4, this.el);
  }

  /** 64-bit read: returns lo, H.hi = hi. */
  rd64(hi: number, lo: number): number {
    const t = (lo >>> 12) | (hi << 20);
    const i = this.rB + (t & TLB_MASK);
    if (this.tTag[i] === t && this.tTagH[i] === hi >>> 12 && (lo & 0xfff) <= 0xff8) {
      const off = this.tOff[i] + (lo & 0xfff);
      H.hi = this.dv.getInt32(off + 4, true);
      return this.dv.getInt32(off, true);
    }
    return this.readMem(hi, lo, 8, this.el);
  }

  wr8(hi: number, lo: number, v: number): void {
    const t = (lo >>> 12) | (hi << 20);
    const i = this.wB + (t & TLB_MASK);
    if (this.tTag[i] === t && this.tTagH[i] === hi >>> 12) {
      const off = this.tOff[i] + (lo & 0xfff);
      this.dv.setUint8(off, v);
      if (this.shared.armed !== 0) this.snoop(off);
      return;
    }
    this.writeMem(hi, lo, 1, 0, v, this.el);
  }

  wr16(hi: number, lo: number, v: number): void {
    const t = (lo >>> 12) | (hi << 20);
    const i = this.wB + (t & TLB_MASK);
    if (this.tTag[i] === t && this.tTagH[i] === hi >>> 12 && (lo & 0xfff) <= 0xffe) {
      const off = this.tOff[i] + (lo & 0xfff);
      this.dv.setUint16(off, v, true);
      if (this.shared.armed !== 0) this.snoop(off);
      return;
    }
    this.writeMem(hi, lo, 2, 0, v, this.el);
  }

  wr32(hi: number, lo: number, v: number): void {
    const t = (lo >>> 12) | (hi << 20);
    const i = this.wB + (t & TLB_MASK);
    if (this.tTag[i] === t && this.tTagH[i] === hi >>> 12 && (lo & 0xfff) <= 0xffc) {
      const off = this.tOff[i] + (lo & 0xfff);
      this.dv.setInt32(off, v, true);
      if (this.shared.armed !== 0) this.snoop(off);
      return;
    }
    this.writeMem(hi, lo, 4, 0, v, this.el);
  }

  wr64(hi: number, lo: number, vh: number, vl: number): void {
    const t = (lo >>> 12) | (hi << 20);
    const i = this.wB + (t & TLB_MASK);
    if (this.tTag[i] === t && this.tTagH[i] === hi >>> 12 && (lo & 0xfff) <= 0xff8) {
      const off = this.tOff[i] + (lo & 0xfff);
      this.dv.setInt32(off, vl, true);
      this.dv.setInt32(off + 4, vh, true);
      if (this.shared.armed !== 0) this.snoop(off);
      return;
    }
    this.writeMem(hi, lo, 8, vh, vl, this.el);
  }

  private pcBig(): bigint {
    let lo = (this.pcLo - 4) | 0, hi = this.pcHi;
    if ((this.pcLo >>> 0) < 4) hi = (hi - 1) | 0;
    return toBig(hi, lo);
  }

  /** Slow read path (TLB miss, page crossing, MMIO, unprivileged): returns lo, H.hi for size 8. */
  readMem(hi: number, lo: number, size: number, el: number): number {
    if ((lo & 0xfff) + size > 0x1000) {
      // page-crossing: byte by byte, little-endian
      let rl = 0, rh = 0;
      for (let b = 0; b < size; b++) {
        const al = (lo + b) | 0, ah = (al >>> 0) < (lo >>> 0) ? (hi + 1) | 0 : hi;
        const v = this.readMem(ah, al, 1, el);
        if (b < 4) rl |= v << (8 * b); else rh |= v << (8 * (b - 4));
      }
      H.hi = rh;
      return rl;
    }
    const off = this.cached(hi, lo, el * 3 + ACC_R) ?? this.xlate(hi, lo, ACC_R, el, true);
    const dv = this.dv;
    if (off >= 0) {
      switch (size) {
        case 1: return dv.getUint8(off);
        case 2: return dv.getUint16(off, true);
        case 4: return dv.getInt32(off, true);
        default: H.hi = dv.getInt32(off + 4, true); return dv.getInt32(off, true);
      }
    }
    const v = this.bus.mmioRead(this.mmioPa, size, this.id, this.pcBig());
    this.evt |= EVT_IRQ;
    if (v === null) this.dataAbort(hi, lo, FSC.EXT_ABORT, false);
    if (typeof v === 'bigint') return fromBig(v);
    const n = v as number;
    if (size === 8) { H.hi = Math.floor(n / 4294967296) | 0; return n | 0; }
    H.hi = 0;
    return n | 0;
  }

  /** Slow write path. */
  writeMem(hi: number, lo: number, size: number, vh: number, vl: number, el: number): void {
    if ((lo & 0xfff) + size > 0x1000) {
      for (let b = 0; b < size; b++) {
        const al = (lo + b) | 0, ah = (al >>> 0) < (lo >>> 0) ? (hi + 1) | 0 : hi;
        const byte = b < 4 ? (vl >>> (8 * b)) & 0xff : (vh >>> (8 * (b - 4))) & 0xff;
        this.writeMem(ah, al, 1, 0, byte, el);
      }
      return;
    }
    const off = this.cached(hi, lo, el * 3 + ACC_W) ?? this.xlate(hi, lo, ACC_W, el, true);
    if (off >= 0) {
      this.storeAt(off, size, vh, vl);
      return;
    }
    const value: number | bigint = size === 8 ? toBig(vh, vl)
      : size === 4 ? vl >>> 0 : size === 2 ? vl & 0xffff : vl & 0xff;
    const ok = this.bus.mmioWrite(this.mmioPa, size, value, this.id, this.pcBig());
    this.evt |= EVT_IRQ;
    if (!ok) this.dataAbort(hi, lo, FSC.EXT_ABORT, true);
  }

  /** Store to a mem offset found by translation (handles code pages and monitors). */
  private storeAt(off: number, size: number, vh: number, vl: number): void {
    const dv = this.dv;
    const page = off >>> 12;
    const sh = this.shared;
    if (sh.code[page]) {
      sh.code[page] = undefined;
      sh.codeGen++;
      this.seenCodeGen = sh.codeGen;
      if (this.fOff === page << 12) this.fLo = 1;
    }
    switch (size) {
      case 1: dv.setUint8(off, vl); break;
      case 2: dv.setUint16(off, vl, true); break;
      case 4: dv.setInt32(off, vl, true); break;
      default: dv.setInt32(off, vl, true); dv.setInt32(off + 4, vh, true); break;
    }
    if (sh.armed !== 0) this.snoop(off);
  }

  // ---------------------------------------------------------------- MMU / TLB

  private syncMmu(): void {
    const m = this.mmu;
    m.sctlrLo = this.srLo[I_SCTLR];
    m.tcrLo = this.srLo[I_TCR]; m.tcrHi = this.srHi[I_TCR];
    m.ttbr0Lo = this.srLo[I_TTBR0]; m.ttbr0Hi = this.srHi[I_TTBR0];
    m.ttbr1Lo = this.srLo[I_TTBR1]; m.ttbr1Hi = this.srHi[I_TTBR1];
    this.flushTlb();
  }

  flushTlb(): void {
    this.tTagH.fill(-1);
    this.fLo = 1;
  }

  private flushWrite(): void {
    this.tTagH.fill(-1, TLB_N, 2 * TLB_N);
    this.tTagH.fill(-1, 4 * TLB_N, 5 * TLB_N);
  }

  /** Drop cached translations for one VA page index (TLBI by VA). */
  private flushVaPage(pageLo: number): void {
    const idx = pageLo & TLB_MASK;
    for (let s = 0; s < 6; s++) this.tTagH[s * TLB_N + idx] = -1;
    this.fLo = 1;
  }

  private setEl(el: number): void {
    this.el = el;
    this.rB = (el * 3 + ACC_R) * TLB_N;
    this.wB = (el * 3 + ACC_W) * TLB_N;
    this.xB = (el * 3 + ACC_X) * TLB_N;
    this.fLo = 1;
  }

  /**
   * Translate VA hi:lo for an access; on success fills the TLB and returns the mem offset of the
   * byte, or -1 for MMIO (this.mmioPa holds the PA). Faults enter the exception and throw.
   */
  private xlate(hi: number, lo: number, acc: number, el: number, data: boolean): number {
    const w = this.wr;
    const f = walk(this.mmu, this.readDesc, hi, lo, data, w);
    if (f) {
      if (acc === ACC_X) this.instrAbort(f, hi, lo);
      this.dataAbort(hi, lo, f, acc === ACC_W);
    }
    const need = acc === ACC_R ? (el ? PERM.R1 : PERM.R0) : acc === ACC_W ? (el ? PERM.W1 : PERM.W0) : (el ? PERM.X1 : PERM.X0);
    if ((w.perm & need) === 0) {
      if (acc === ACC_X) this.instrAbort(FSC.PERMISSION + w.level, hi, lo);
      this.dataAbort(hi, lo, FSC.PERMISSION + w.level, acc === ACC_W);
    }
    const pa = w.paPage * 4096;
    const map = this.bus.mapPage(pa);
    if (!map) {
      this.mmioPa = pa + (lo & 0xfff);
      return -1;
    }
    const t = (lo >>> 12) | (hi << 20), th = hi >>> 12, idx = t & TLB_MASK;
    const base = el * 3 * TLB_N;
    const perm = w.perm;
    if (perm & (el ? PERM.R1 : PERM.R0)) {
      const i = base + ACC_R * TLB_N + idx;
      this.tTag[i] = t; this.tTagH[i] = th; this.tOff[i] = map.off;
    }
    if ((perm & (el ? PERM.W1 : PERM.W0)) && map.writable && !this.shared.code[map.off >>> 12]) {
      const i = base + ACC_W * TLB_N + idx;
      this.tTag[i] = t; this.tTagH[i] = th; this.tOff[i] = map.off;
    }
    if (perm & (el ? PERM.X1 : PERM.X0)) {
      const i = base + ACC_X * TLB_N + idx;
      this.tTag[i] = t; this.tTagH[i] = th; this.tOff[i] = map.off;
    }
    if (acc === ACC_W && !map.writable) {
      this.mmioPa = pa + (lo & 0xfff);
      return -1;
    }
    return map.off + (lo & 0xfff);
  }

  // ---------------------------------------------------------------- exceptions

  /** Enter EL1: kind 0 sync, 1 IRQ, 2 FIQ, 3 SError; return address eh:el. */
  private enter(kind: number, esr: number, hasFar: boolean, farHi: number, farLo: number, eh: number, elo: number, detail: string): void {
    const fromEl = this.el;
    const fromSpsel = this.spsel;
    const spsr = this.pstate;
    this.srLo[I_SPSR] = spsr | 0; this.srHi[I_SPSR] = 0;
    this.srLo[I_ELR] = elo; this.srHi[I_ELR] = eh;
    if (kind === 0) { this.srLo[I_ESR] = esr; this.srHi[I_ESR] = 0; }
    if (hasFar) { this.srLo[I_FAR] = farLo; this.srHi[I_FAR] = farHi; }
    this.daif = 0x3c0;
    this.il = 0;
    this.selectSp(1, 1);
    const off = (fromEl === 0 ? 0x400 : fromSpsel ? 0x200 : 0) + kind * 0x80;
    this.pcLo = add64(this.srHi[I_VBAR], this.srLo[I_VBAR] & ~0x7ff, 0, off);
    this.pcHi = H.hi;
    this.fLo = 1;
    if (this.hooks.onException) {
      this.hooks.onException(this, {
        kind: (['sync', 'irq', 'fiq', 'serror'] as const)[kind], ec: kind === 0 ? esr >>> 26 : 0, esr: kind === 0 ? esr >>> 0 : 0,
        far: hasFar ? toBig(farHi, farLo) : 0n, fromEl, toEl: 1, elr: toBig(eh, elo), vector: this.pc, detail,
      });
    }
  }

  /** Synchronous exception for the current instruction (return address = this instruction, or next). */
  private takeSync(ec: number, iss: number, next: boolean, farHi: number, farLo: number, detail: string, hasFar = false): never {
    let lo = this.pcLo, hi = this.pcHi;
    if (!next) { if ((lo >>> 0) < 4) hi = (hi - 1) | 0; lo = (lo - 4) | 0; }
    const esr = (ec << 26) | (1 << 25) | (iss & 0x1ffffff);
    this.enter(0, esr, hasFar, farHi, farLo, hi, lo, detail);
    throw FAULT;
  }

  /** Like takeSync but returns (for SVC and others that complete normally). */
  private takeSyncNext(ec: number, iss: number, detail: string): void {
    const esr = (ec << 26) | (1 << 25) | (iss & 0x1ffffff);
    this.enter(0, esr, false, 0, 0, this.pcHi, this.pcLo, detail);
  }

  private takeAsync(kind: number): void {
    this.enter(kind, 0, false, 0, 0, this.pcHi, this.pcLo, kind === 1 ? 'irq' : 'fiq');
  }

  /** Trap SIMD&FP use as CPACR_EL1.FPEN says (EC 0x07); UNDEFINED when FP/SIMD is absent. */
  private fpAccessCheck(): void {
    if (!this.fpsimd) this.undefined('FP/SIMD not implemented');
    const fpen = (this.srLo[I_CPACR] >>> 20) & 3;
    if (fpen === 3 || (fpen === 1 && this.el === 1)) return;
    this.takeSync(EC.FP_ACCESS, FP_TRAP_ISS, false, 0, 0, 'FP/SIMD access trapped by CPACR_EL1.FPEN');
  }

  private opFpSimd(insn: number): void {
    this.fpAccessCheck();
    if (!execFpSimd(this, insn)) this.undefined('undefined SIMD&FP instruction');
  }

  private undefined(detail = 'undefined instruction'): never {
    return this.takeSync(EC.UNKNOWN, 0, false, 0, 0, detail);
  }

  private dataAbort(hi: number, lo: number, fsc: number, write: boolean, cm = false): never {
    const ec = this.el === 0 ? EC.DABT_LOWER : EC.DABT_SAME;
    const iss = fsc | (write ? 1 << 6 : 0) | (cm ? 1 << 8 : 0);
    return this.takeSync(ec, iss, false, hi, lo, fsc === FSC.EXT_ABORT ? 'data abort, external (unassigned or device)' : `data abort, fsc 0x${fsc.toString(16)}`, true);
  }

  /** Instruction abort on fetch from hi:lo (PC not yet advanced). */
  private instrAbort(fsc: number, hi: number, lo: number): never {
    const ec = this.el === 0 ? EC.IABT_LOWER : EC.IABT_SAME;
    const esr = (ec << 26) | (1 << 25) | fsc;
    this.instret++; // a fetch fault consumes a step, so fault loops still end with the budget
    this.enter(0, esr, true, hi, lo, hi, lo, `instruction abort, fsc 0x${fsc.toString(16)}`);
    throw FAULT;
  }

  private pcAlignFault(): never {
    const ec = EC.PC_ALIGN;
    const esr = (ec << 26) | (1 << 25);
    const hi = this.pcHi, lo = this.pcLo;
    this.enter(0, esr, true, hi, lo, hi, lo, 'PC alignment fault');
    throw FAULT;
  }

  private selectSp(el: number, spsel: number): void {
    const X = this.x;
    // save current SP into its bank
    if (this.el === 0 || this.spsel === 0) { this.sp0Lo = X[62]; this.sp0Hi = X[63]; } else { this.sp1Lo = X[62]; this.sp1Hi = X[63]; }
    if (el !== this.el) this.setEl(el);
    this.spsel = spsel;
    if (el === 0 || spsel === 0) { X[62] = this.sp0Lo; X[63] = this.sp0Hi; } else { X[62] = this.sp1Lo; X[63] = this.sp1Hi; }
  }

  private opEret(): void {
    if (this.el === 0) this.undefined();
    const spsr = this.srLo[I_SPSR];
    const m = spsr & 0x1f;
    this.n = (spsr >>> 31) & 1; this.z = (spsr >>> 30) & 1; this.c = (spsr >>> 29) & 1; this.v = (spsr >>> 28) & 1;
    this.daif = spsr & 0x3c0;
    this.clearExclusive();
    if (m === 0 || m === 4 || m === 5) {
      this.selectSp(m >>> 2, m & 1);
      this.il = 0;
    } else {
      // illegal exception return: EL and SP unchanged, PSTATE.IL set
      this.il = 1;
      this.evt |= EVT_ILLEGAL;
    }
    this.pcLo = this.srLo[I_ELR]; this.pcHi = this.srHi[I_ELR];
    this.fLo = 1;
    this.evt |= EVT_IRQ;
    if (this.pcLo & 3) this.pcAlignFault();
  }

  private opExc(kind: number, imm: number): void {
    switch (kind) {
      case 1: this.takeSyncNext(EC.SVC64, imm, 'svc'); return;
      case 2: case 3: {
        if (this.el === 0 || !this.hypervisor) this.undefined(kind === 2 ? 'hvc without hypervisor' : 'smc without firmware');
        const r = this.hypervisor!.call(this, kind === 2 ? 'hvc' : 'smc', imm);
        if (r === HV.UNDEFINED) this.undefined(kind === 2 ? 'hvc rejected' : 'smc rejected');
        this.evt |= EVT_IRQ;
        if (r === HV.STOP) { this.stopReason = STOP.HYPERVISOR; this.evt |= EVT_STOP; }
        return;
      }
      case 4: this.takeSync(EC.BRK64, imm, false, 0, 0, 'brk'); return;
      default: this.undefined('hlt'); return;
    }
  }

  private opHint(h: number): void {
    switch (h) {
      case 2: // WFE
        if (this.eventReg) { this.eventReg = 0; return; }
        if (this.irqPending() || this.fiqPending()) return;
        this.stopReason = STOP.WFE; this.evt |= EVT_STOP;
        return;
      case 3: // WFI
        if (this.irqPending() || this.fiqPending()) return;
        this.stopReason = STOP.WFI; this.evt |= EVT_STOP;
        return;
      case 4: for (const o of this.shared.cpus) o.eventReg = 1; return; // SEV
      case 5: this.eventReg = 1; return; // SEVL
      default: return; // NOP, YIELD, PAC/BTI hints, ESB, CSDB...
    }
  }

  private opBarrier(op2: number): void {
    switch (op2) {
      case 2: this.clearExclusive(); return;
      case 4: case 5: case 6: return; // DSB, DMB, ISB
      default: this.undefined();
    }
  }

  /** Trap of a system instruction/register access from EL0 (EC 0x18). */
  private sysTrap(enc: number, rt: number, read: boolean): never {
    const op0 = enc >>> 14, op1 = (enc >>> 11) & 7, crn = (enc >>> 7) & 15, crm = (enc >>> 3) & 15, op2 = enc & 7;
    const r = rt >= 64 ? 31 : rt >>> 1;
    const iss = (op0 << 20) | (op2 << 17) | (op1 << 14) | (crn << 10) | (r << 5) | (crm << 1) | (read ? 1 : 0);
    return this.takeSync(EC.SYSREG, iss, false, 0, 0, 'trapped system register access');
  }

  private opMsrImm(f: number, crm: number): void {
    switch (f) {
      case 5: // SPSel
        if (this.el === 0) this.undefined();
        this.selectSp(this.el, crm & 1);
        return;
      case 0x1e: case 0x1f: // DAIFSet / DAIFClr
        if (this.el === 0 && !(this.srLo[I_SCTLR] & (1 << 9))) this.sysTrap((3 << 11) | (4 << 7) | (crm << 3) | (f & 7), 64, false);
        if (f === 0x1e) { this.daif |= crm << 6; return; } // masking more never makes an interrupt takeable
        if (this.daif & (crm << 6) & 0xc0) this.evt |= EVT_IRQ;
        this.daif &= ~(crm << 6);
        return;
      default: this.undefined();
    }
  }

  private opSys(enc: number, p: number): void {
    const rt = p & 127;
    if (p >>> 28) this.undefined(); // SYSL
    const op1 = (enc >>> 11) & 7, crn = (enc >>> 7) & 15, crm = (enc >>> 3) & 15, op2 = enc & 7;
    const X = this.x;
    const sctlr = this.srLo[I_SCTLR];
    if (crn === 7) {
      if (op1 === 0 && (crm === 1 || crm === 5) && op2 === 0) { if (this.el === 0) this.undefined(); return; } // IC IALLU(IS)
      if (op1 === 3 && crm === 5 && op2 === 1) { if (this.el === 0 && !(sctlr & (1 << 26))) this.sysTrap(enc, rt, false); return; } // IC IVAU
      if (op1 === 3 && crm === 4 && op2 === 1) { // DC ZVA
        if (this.el === 0 && !(sctlr & (1 << 14))) this.sysTrap(enc, rt, false);
        this.dcZva(X[rt + 1], X[rt] & ~63);
        return;
      }
      if (op1 === 3 && (crm === 10 || crm === 11 || crm === 14) && op2 === 1) { // DC CVAC/CVAU/CIVAC
        if (this.el === 0 && !(sctlr & (1 << 26))) this.sysTrap(enc, rt, false);
        return;
      }
      if (op1 === 0 && ((crm === 6 && (op2 === 1 || op2 === 2)) || ((crm === 10 || crm === 14) && op2 === 2))) {
        if (this.el === 0) this.undefined(); // DC IVAC/ISW/CSW/CISW
        return;
      }
      if (op1 === 0 && crm === 8 && op2 <= 3) { if (this.el === 0) this.undefined(); this.at(op2, X[rt + 1], X[rt]); return; }
      this.undefined();
    }
    if (crn === 8 && op1 === 0 && (crm === 3 || crm === 7)) {
      if (this.el === 0) this.undefined();
      if (crm === 3) { this.shared.tlbGen++; this.seenTlbGen = this.shared.tlbGen; }
      switch (op2) {
        case 0: case 2: this.flushTlb(); return; // VMALLE1, ASIDE1
        case 1: case 3: case 5: case 7: this.flushVaPage(X[rt]); return; // VAE1, VAAE1, VALE1, VAALE1 (Xt[43:0] = VA[55:12])
        default: this.undefined();
      }
    }
    this.undefined();
  }

  private dcZva(hi: number, lo: number): void {
    const off = this.physOff(hi, lo, ACC_W);
    if (off >= 0) {
      this.storeAt(off, 8, 0, 0); // code-page invalidation and monitors
      this.bus.mem.fill(0, off + 8, off + 64);
      return;
    }
    for (let b = 0; b < 64; b += 8) this.writeMem(hi, (lo + b) | 0, 8, 0, 0, this.el);
  }

  /** AT S1E1R/W, S1E0R/W → PAR_EL1. */
  private at(op2: number, hi: number, lo: number): void {
    const w = this.wr;
    const f = walk(this.mmu, this.readDesc, hi, lo, true, w);
    const el = op2 < 2 ? 1 : 0;
    const write = (op2 & 1) === 1;
    let fault = f;
    if (!fault) {
      const need = write ? (el ? PERM.W1 : PERM.W0) : (el ? PERM.R1 : PERM.R0);
      if ((w.perm & need) === 0) fault = FSC.PERMISSION + w.level;
    }
    if (fault) {
      this.srLo[I_PAR] = 1 | (fault << 1); this.srHi[I_PAR] = 0;
      return;
    }
    const mair = toBig(this.srHi[I_MAIR], this.srLo[I_MAIR]);
    const attr = w.attrIndex < 0 ? 0 : Number((mair >> BigInt(8 * w.attrIndex)) & 0xffn);
    const pa = w.paPage * 4096;
    this.srLo[I_PAR] = ((pa % 4294967296) | (w.sh << 7) | (1 << 9)) | 0;
    this.srHi[I_PAR] = (Math.floor(pa / 4294967296) | (attr << 24)) | 0;
  }

  // ---------------------------------------------------------------- system registers

  /** MRS (read=true, rt = destination slot) or MSR (rt = source slot). */
  private sysAccess(enc: number, rt: number, read: boolean): void {
    const X = this.x;
    let owner = this.srOwner[enc];
    if (owner === 0) {
      owner = this.claimSysreg(enc, rt, read);
      if (owner === -2) return; // a provider served this first access
    }
    if (owner >= 2) {
      if (this.el === 0 && (enc & 0xff80) !== 0xdf00) this.sysUndef(enc, !read); // EL0: only CNT* op1=3 CRn=14
      const prov = this.providers[owner - 2];
      if (read) {
        const v = prov.readSysreg(this.id, enc);
        if (v === undefined) this.sysUndef(enc, false);
        X[rt] = fromBig(v); X[rt + 1] = H.hi;
        this.hooks.onSysreg?.(this, enc, sysregName(enc), false, v);
      } else {
        const v = toBig(X[rt + 1], X[rt]);
        if (!prov.writeSysreg(this.id, enc, v)) this.sysUndef(enc, true);
        this.hooks.onSysreg?.(this, enc, sysregName(enc), true, v);
      }
      this.evt |= EVT_IRQ;
      return;
    }
    if (owner < 0) this.sysUndef(enc, !read);
    const i = SYSREG_INDEX[enc];
    if (i < 0) {
      // ID space RAZ
      if (!read || this.el === 0) this.sysUndef(enc, !read);
      X[rt] = 0; X[rt + 1] = 0;
      this.hooks.onSysreg?.(this, enc, sysregName(enc), false, 0n);
      return;
    }
    const d = SYSREGS[i];
    if (this.el === 0 && (d.el0 === SR_EL0.NONE || (!read && d.el0 === SR_EL0.R))) {
      if (d.special === SPECIAL.DAIF && (this.srLo[I_SCTLR] & (1 << 9))) { /* SCTLR.UMA */ } else this.sysUndef(enc, !read);
    }
    if (read) {
      switch (d.kind) {
        case SR_KIND.WO: this.sysUndef(enc, false); break;
        case SR_KIND.SPECIAL: if (!this.readSpecial(d.special, i, rt)) this.sysUndef(enc, false); break;
        default: X[rt] = this.srLo[i]; X[rt + 1] = this.srHi[i]; break;
      }
      if (d.notable) this.hooks.onSysreg?.(this, enc, d.name, false, toBig(X[rt + 1], X[rt]));
      return;
    }
    switch (d.kind) {
      case SR_KIND.RO: this.sysUndef(enc, true); break;
      case SR_KIND.SPECIAL: if (!this.writeSpecial(d.special, i, X[rt + 1], X[rt])) this.sysUndef(enc, true); break;
      default: this.srLo[i] = X[rt]; this.srHi[i] = X[rt + 1]; break;
    }
  }

  /** First access to an encoding: ask providers, else the CPU table, else undefined; -2 = served. */
  private claimSysreg(enc: number, rt: number, read: boolean): number {
    for (let k = 0; k < this.providers.length; k++) {
      const prov = this.providers[k];
      if (read) {
        const v = prov.readSysreg(this.id, enc);
        if (v !== undefined) {
          this.srOwner[enc] = k + 2;
          // this probe was the guest's real read: deliver it and skip the instruction's second read
          this.x[rt] = fromBig(v); this.x[rt + 1] = H.hi;
          this.hooks.onSysreg?.(this, enc, sysregName(enc), false, v);
          this.evt |= EVT_IRQ;
          return -2;
        }
      } else {
        const v = toBig(this.x[rt + 1], this.x[rt]);
        if (prov.writeSysreg(this.id, enc, v)) {
          this.srOwner[enc] = k + 2;
          this.hooks.onSysreg?.(this, enc, sysregName(enc), true, v);
          this.evt |= EVT_IRQ;
          return -2;
        }
      }
    }
    const known = SYSREG_INDEX[enc] >= 0 || isIdSpaceRaz(enc);
    this.srOwner[enc] = known ? 1 : -1;
    return this.srOwner[enc];
  }

  private sysUndef(enc: number, write: boolean): never {
    this.hooks.onSysregUndefined?.(this, enc, sysregName(enc), write);
    return this.undefined(`undefined system register ${sysregName(enc)}`);
  }

  /** Read a special register into slot rt; false = UNDEFINED. */
  private readSpecial(s: number, i: number, rt: number): boolean {
    const X = this.x;
    let lo = 0, hi = 0;
    switch (s) {
      case SPECIAL.NZCV: lo = (this.n << 31) | (this.z << 30) | (this.c << 29) | (this.v << 28); break;
      case SPECIAL.DAIF: lo = this.daif; break;
      case SPECIAL.CURRENT_EL: lo = this.el << 2; break;
      case SPECIAL.SPSEL: lo = this.spsel; break;
      case SPECIAL.SP_EL0:
        if (this.spsel === 0) return false;
        lo = this.sp0Lo; hi = this.sp0Hi;
        break;
      case SPECIAL.MPIDR: lo = fromBig(this.mpidr); hi = H.hi; break;
      case SPECIAL.CCSIDR: lo = Number(CCSIDR_VALUES[this.srLo[I_CSSELR]] ?? 0n) | 0; break;
      case SPECIAL.ISR: lo = (this.irqPending() ? 0x80 : 0) | (this.fiqPending() ? 0x40 : 0); break;
      case SPECIAL.OSLSR: lo = 0x8 | (this.oslk << 1); break;
      case SPECIAL.FP:
        this.fpAccessCheck();
        lo = SYSREGS[i].enc === SR.FPCR ? this.fpcr : this.fpsr;
        break;
      default: lo = this.srLo[i]; hi = this.srHi[i]; break;
    }
    X[rt] = lo; X[rt + 1] = hi;
    return true;
  }

  private writeSpecial(s: number, i: number, hi: number, lo: number): boolean {
    switch (s) {
      case SPECIAL.NZCV: this.n = (lo >>> 31) & 1; this.z = (lo >>> 30) & 1; this.c = (lo >>> 29) & 1; this.v = (lo >>> 28) & 1; return true;
      case SPECIAL.DAIF:
        if (this.daif & ~lo & 0xc0) this.evt |= EVT_IRQ; // only unmasking I or F can make one takeable
        this.daif = lo & 0x3c0;
        return true;
      case SPECIAL.SPSEL: this.selectSp(this.el, lo & 1); return true;
      case SPECIAL.SP_EL0:
        if (this.spsel === 0) return false;
        this.sp0Lo = lo; this.sp0Hi = hi;
        return true;
      case SPECIAL.SCTLR: case SPECIAL.TCR: case SPECIAL.TTBR0: case SPECIAL.TTBR1:
        this.srLo[i] = lo; this.srHi[i] = hi;
        this.syncMmu();
        this.shared.wGen++; // conservatively make other vCPUs re-check cached write pages
        return true;
      case SPECIAL.CONTEXTIDR: this.srLo[i] = lo; this.srHi[i] = 0; return true;
      case SPECIAL.OSLAR: this.oslk = lo & 1; return true;
      case SPECIAL.FP:
        this.fpAccessCheck();
        // FPCR: AHP, DN, FZ, RMode (trap enables unimplemented: RAZ/WI); FPSR: cumulative flags, QC, NZCV
        if (SYSREGS[i].enc === SR.FPCR) this.fpcr = lo & 0x07c00000; else this.fpsr = lo & 0xf800009f;
        return true;
      default: return false; // read-only specials (CurrentEL, MPIDR, CCSIDR, ISR, OSLSR)
    }
  }
}


// The state of one AArch64 vCPU and the facts the rest of emu/cpu shares about it: registers,
// PSTATE, system register storage, TLB arrays, the current fetch page, and the public accessors.
// The vCPU is one object built up in layers, each adding the methods of one part of the
// architecture (each file uses only the layers below it):
//
//   state.ts → exceptions.ts → memory.ts → system.ts → alu.ts → loadstore.ts → cpu.ts
//
// cpu.ts holds the run loop and the interpreter; jit-cpu.ts and vregs.ts name the parts of it the
// block compiler and the FP/SIMD files use.

import type { SysregProvider } from '../types.ts';
import type { PhysBus } from './bus.ts';
import type { Fields } from './decode.ts';
import * as Int64 from './int64.ts';
import { Jit } from './jit.ts';
import type { JitOptions } from './jit.ts';
import type { MmuRegs, WalkResult } from './mmu.ts';
import * as Sysregs from './sysregs.ts';
import { STATE, SYSREG_SLOTS, TLB_ENTRIES, newStateMemory } from './wasm-memory.ts';

// Imported bindings copied into module constants once (see cpu.ts).
const { H, fromBig, toBig } = Int64;
const { SYSREGS, SYSREG_INDEX, sysregByName } = Sysregs;

/** Hypervisor call results. */
export const HV = { CONTINUE: 0, STOP: 1, UNDEFINED: 2 } as const;

/** Why run() returned. */
export const STOP = { BUDGET: 0, WFI: 1, WFE: 2, HYPERVISOR: 3, REQUEST: 4, DEBUG: 5 } as const;
export const STOP_NAMES = ['budget', 'wfi', 'wfe', 'hypervisor', 'request', 'debug'] as const;

/** Exception classes (ESR_ELx.EC). */
export const EC = {
  UNKNOWN: 0x00,
  WFX: 0x01,
  ILLEGAL_STATE: 0x0e,
  SVC64: 0x15,
  HVC64: 0x16,
  SMC64: 0x17,
  SYSREG: 0x18,
  IABT_LOWER: 0x20,
  IABT_SAME: 0x21,
  PC_ALIGN: 0x22,
  DABT_LOWER: 0x24,
  DABT_SAME: 0x25,
  SP_ALIGN: 0x26,
  BRK64: 0x3c,
  FP_ACCESS: 0x07,
} as const;

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

/** Hooks the machine sets on a vCPU of type C (cpu.ts: CpuHooks, with C = Cpu). */
export interface CpuHooksOf<C> {
  onException?(cpu: C, info: ExceptionInfo): void;
  /** An MRS/MSR to an unknown register (the guest gets UNDEFINED). */
  onSysregUndefined?(cpu: C, encoding: number, name: string, write: boolean): void;
  /** Notable accesses: ID registers and registers served by providers. */
  onSysreg?(cpu: C, encoding: number, name: string, write: boolean, value: bigint): void;
}

/** The personality playing EL2/EL3 for HVC and SMC, for a vCPU of type C (cpu.ts: Hypervisor). */
export interface HypervisorOf<C> {
  /** Reads/writes x0–x17 through the Cpu accessors; returns an HV value. */
  call(cpu: C, conduit: 'hvc' | 'smc', imm: number): number;
}

/** What a vCPU shows the other vCPUs of its machine (exclusive monitors, SEV). */
export interface SharedCpu {
  exGranule: number;
  eventReg: number;
  clearExclusive(): void;
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
  readonly cpus: SharedCpu[] = [];
  /**
   * Write tracking for machine snapshots (emu/snapshot): 1 for each 4K page of bus.mem not written
   * since the last snapshot, or null when no snapshots are taken. A vCPU's write TLB holds only
   * pages already written (memory.ts xlate), so the first store to a clean page takes the slow
   * path, which lists it in `dirty`.
   */
  clean: Uint8Array | null = null;
  /** Pages written since the last snapshot (while clean is set). */
  readonly dirty: number[] = [];

  constructor(memBytes: number) {
    this.code = new Array(Math.ceil(memBytes / 4096));
  }

  /** Note a write to bus.mem bytes [off, off+len) for snapshots (no-op when none are taken). */
  markDirty(off: number, len: number): void {
    const cl = this.clean;
    if (cl === null || len <= 0) return;
    for (let p = off >>> 12; p <= (off + len - 1) >>> 12; p++) {
      if (cl[p]) {
        cl[p] = 0;
        this.dirty.push(p);
      }
    }
  }

  /** Drop decoded code for a physical range of bus.mem (DMA, loaders). */
  invalidateMem(off: number, len: number): void {
    this.markDirty(off, len);
    for (let p = off >>> 12; p <= (off + len - 1) >>> 12; p++) {
      if (this.code[p]) {
        this.code[p] = undefined;
        this.codeGen++;
      }
    }
  }
}

/** The options the state layer takes (cpu.ts: CpuOptions adds the hypervisor, hooks and GIC). */
export interface CpuStateOptions {
  bus: PhysBus;
  /** vCPU index (also Aff0/Aff1 of MPIDR unless mpidr is given). */
  id?: number;
  mpidr?: bigint;
  shared?: CpuShared;
  providers?: SysregProvider[];
  irqPending?: () => boolean;
  fiqPending?: () => boolean;
  /** Compile hot blocks to JavaScript (jit.ts); same architectural behaviour. Off by default for a
   *  bare Cpu (the CPU tests check the interpreter); the Machine turns it on unless told not to. */
  jit?: boolean | JitOptions;
  /** Implement FP/AdvSIMD (ID_AA64PFR0.FP/AdvSIMD = 0; the default); false: absent, UNDEFINED. */
  fpsimd?: boolean;
}

/** Thrown (as this object) after an exception was entered mid-instruction. */
export const FAULT = { fault: true };

export const TLB_BITS = 10;
export const TLB_N = TLB_ENTRIES; // 1 << TLB_BITS, in wasm-memory.ts with the state memory's layout
export const TLB_MASK = TLB_N - 1;
export const ACC_R = 0,
  ACC_W = 1,
  ACC_X = 2;
export const DAIF_I = 0x80,
  DAIF_F = 0x40;
export const EVT_IRQ = 1,
  EVT_STOP = 2,
  EVT_ILLEGAL = 4,
  EVT_DEBUG = 8;

/** A debugger's watchpoint: guest virtual addresses [start, end), the accesses that stop. */
export interface Watchpoint {
  start: bigint;
  end: bigint;
  kind: 'write' | 'read' | 'access';
}

/** What stopped a vCPU with STOP.DEBUG. */
export interface DebugHit {
  kind: 'breakpoint' | 'watchpoint' | 'break';
  /** The breakpoint's PC or the accessed address. */
  addr: bigint;
  write?: boolean;
  /** The kind of the watchpoint that stopped it. */
  watch?: Watchpoint['kind'];
}

/**
 * Breakpoints and watchpoints a debugger (emu/gdb) set, shared by the vCPUs of one machine.
 * While any is set, every vCPU runs in the interpreter with EVT_DEBUG kept in evt, so the PC is
 * checked before each instruction, and data accesses take the slow path (no TLB fill for loads
 * and stores), where watchpoints are checked before the access happens. With none set, nothing of
 * this costs anything: evt stays 0 and the fast paths are the usual ones.
 */
export class DebugPoints {
  /** Breakpoint PCs: low word → high words. */
  readonly bp = new Map<number, number[]>();
  readonly watch: Watchpoint[] = [];

  hasBreakpoint(lo: number, hi: number): boolean {
    const his = this.bp.get(lo);
    return his !== undefined && his.includes(hi);
  }

  /** The watchpoint an access of `size` bytes at `va` triggers, or undefined. */
  watched(va: bigint, size: number, write: boolean): Watchpoint | undefined {
    for (const w of this.watch) {
      if (w.kind === 'write' && !write) continue;
      if (w.kind === 'read' && write) continue;
      if (va < w.end && va + BigInt(size) > w.start) return w;
    }
    return undefined;
  }

  get active(): boolean {
    return this.bp.size > 0 || this.watch.length > 0;
  }
}

export const SR = {
  SPSR: sysregByName('SPSR_EL1'),
  ELR: sysregByName('ELR_EL1'),
  ESR: sysregByName('ESR_EL1'),
  FAR: sysregByName('FAR_EL1'),
  VBAR: sysregByName('VBAR_EL1'),
  PAR: sysregByName('PAR_EL1'),
  MAIR: sysregByName('MAIR_EL1'),
  CSSELR: sysregByName('CSSELR_EL1'),
  SCTLR: sysregByName('SCTLR_EL1'),
  TCR: sysregByName('TCR_EL1'),
  TTBR0: sysregByName('TTBR0_EL1'),
  TTBR1: sysregByName('TTBR1_EL1'),
  PFR0: sysregByName('ID_AA64PFR0_EL1'),
  CPACR: sysregByName('CPACR_EL1'),
  FPCR: sysregByName('FPCR'),
};
const IDX = (enc: number): number => SYSREG_INDEX[enc];
export const I_SPSR = IDX(SR.SPSR),
  I_ELR = IDX(SR.ELR),
  I_ESR = IDX(SR.ESR),
  I_FAR = IDX(SR.FAR);
export const I_VBAR = IDX(SR.VBAR),
  I_PAR = IDX(SR.PAR),
  I_MAIR = IDX(SR.MAIR),
  I_CSSELR = IDX(SR.CSSELR);
export const I_SCTLR = IDX(SR.SCTLR),
  I_TCR = IDX(SR.TCR),
  I_TTBR0 = IDX(SR.TTBR0),
  I_TTBR1 = IDX(SR.TTBR1);
export const I_PFR0 = IDX(SR.PFR0),
  I_CPACR = IDX(SR.CPACR);

if (SYSREGS.length > SYSREG_SLOTS)
  throw new Error(`state.ts: ${SYSREGS.length} system registers, room for ${SYSREG_SLOTS} in the state memory`);

export class CpuState {
  /** Registers, flags hand-over and TLB in WebAssembly memory (wasm-memory.ts STATE), shared with compiled code. */
  readonly stateMem: WebAssembly.Memory = newStateMemory();
  /** General registers: slot s at [2s] (lo) and [2s+1] (hi); 31 = current SP, 32 = zero, 33 = discard. */
  readonly x = new Int32Array(this.stateMem.buffer, STATE.X, 68);
  /** SIMD&FP registers V0-V31, 4 little-endian words each (see vregs.ts). */
  readonly vr = new Int32Array(128);
  fpcr = 0;
  fpsr = 0;
  /** FP/AdvSIMD implemented (else every SIMD&FP instruction and FPCR/FPSR access is UNDEFINED). */
  readonly fpsimd: boolean;
  pcLo = 0;
  pcHi = 0;
  // PSTATE
  el = 1;
  /** PSTATE.SPSel and the banked SP_EL0 (lo, hi), in the state memory for compiled code. */
  private readonly spWords = new Int32Array(this.stateMem.buffer, STATE.SP0, 3).fill(1, 2);
  get spsel(): number {
    return this.spWords[2]!;
  }
  set spsel(v: number) {
    this.spWords[2] = v;
  }
  daif = 0x3c0;
  n = 0;
  z = 0;
  c = 0;
  v = 0;
  il = 0;
  // banked stack pointers (the current one lives in slot 31)
  protected get sp0Lo(): number {
    return this.spWords[0]!;
  }
  protected set sp0Lo(v: number) {
    this.spWords[0] = v;
  }
  protected get sp0Hi(): number {
    return this.spWords[1]!;
  }
  protected set sp0Hi(v: number) {
    this.spWords[1] = v;
  }
  protected sp1Lo = 0;
  protected sp1Hi = 0;
  /** System register storage by SYSREGS index (in the state memory: compiled code reads and writes plain registers). */
  readonly srLo = new Int32Array(this.stateMem.buffer, STATE.SRLO, SYSREGS.length);
  readonly srHi = new Int32Array(this.stateMem.buffer, STATE.SRHI, SYSREGS.length);
  protected oslk = 1;
  /** Instructions executed (the machine's time base). */
  instret = 0;
  stopReason: number = STOP.BUDGET;
  /** WFE event register. */
  eventReg = 0;
  /** Debugger breakpoints/watchpoints (DebugPoints), or undefined when no debugger is attached. */
  dbg: DebugPoints | undefined = undefined;
  /** EVT_DEBUG while a breakpoint or watchpoint is set (onEvent keeps it in evt), else 0. */
  dbgEvt = 0;
  /** instret at which this vCPU was resumed by the debugger: the breakpoint at that point (and a
   *  watchpoint of the instruction that follows) is not reported again. */
  dbgSkip = -1;
  /** What stopped the vCPU with STOP.DEBUG. */
  dbgHit: DebugHit | undefined = undefined;

  readonly id: number;
  readonly mpidr: bigint;
  readonly bus: PhysBus;
  readonly shared: CpuShared;
  hypervisor: HypervisorOf<this> | undefined = undefined;
  providers: SysregProvider[];
  irqPending: () => boolean;
  fiqPending: () => boolean;
  hooks: CpuHooksOf<this> = {};
  /** Block compiler, when enabled. */
  readonly jit: Jit | undefined;

  protected readonly dv: DataView;
  evt = EVT_IRQ;
  // TLB: 6 direct-mapped caches (EL0 R/W/X, EL1 R/W/X); tags are VA>>12 split in two words
  protected readonly tTag = new Int32Array(this.stateMem.buffer, STATE.TAG, 6 * TLB_N);
  protected readonly tTagH = new Int32Array(this.stateMem.buffer, STATE.TAGH, 6 * TLB_N).fill(-1);
  protected readonly tOff = new Int32Array(this.stateMem.buffer, STATE.OFF, 6 * TLB_N);
  protected rB = 3 * TLB_N;
  protected wB = 4 * TLB_N;
  protected xB = 5 * TLB_N;
  protected seenWGen = 0;
  protected seenCodeGen = 0;
  protected seenTlbGen = 0;
  // current fetch page
  fLo = 1;
  fHi = 0;
  fOff = 0;
  fDec: Int32Array = new Int32Array(4096);
  // exclusive monitor: granule offset in mem (64-byte), or -1
  exGranule = -1;
  protected readonly mmu: MmuRegs = { sctlrLo: 0, tcrLo: 0, tcrHi: 0, ttbr0Lo: 0, ttbr0Hi: 0, ttbr1Lo: 0, ttbr1Hi: 0 };
  protected readonly wr: WalkResult = { fault: 0, paPage: 0, perm: 0, global: true, attrIndex: 0, sh: 0, level: 0 };
  protected mmioPa = 0;
  /** Owner of each sysreg encoding: 0 unknown yet, 1 CPU table, 2+k provider k, -1 undefined. */
  protected readonly srOwner = new Int8Array(65536);
  protected readonly fields: Fields = { op: 0, p: 0, a: 0, b: 0 };
  protected readonly readDesc = (pa: number, out: Int32Array): boolean => {
    const m = this.bus.mapPage(pa - (pa % 4096));
    if (!m) return false;
    const off = m.off + (pa % 4096);
    out[0] = this.dv.getInt32(off, true);
    out[1] = this.dv.getInt32(off + 4, true);
    return true;
  };

  constructor(o: CpuStateOptions) {
    this.bus = o.bus;
    this.id = o.id ?? 0;
    this.mpidr = o.mpidr ?? 0x80000000n | (BigInt(this.id >> 4) << 8n) | BigInt(this.id & 15);
    this.shared = o.shared ?? new CpuShared(o.bus.mem.length);
    this.providers = o.providers ?? [];
    this.irqPending = o.irqPending ?? (() => false);
    this.fiqPending = o.fiqPending ?? (() => false);
    this.fpsimd = o.fpsimd ?? true;
    this.jit = o.jit ? new Jit(o.jit === true ? {} : o.jit) : undefined;
    this.dv = new DataView(o.bus.mem.buffer, o.bus.mem.byteOffset, o.bus.mem.byteLength);
  }

  get pc(): bigint {
    return toBig(this.pcHi, this.pcLo);
  }

  set pc(v: bigint) {
    this.pcLo = fromBig(v);
    this.pcHi = H.hi;
  }

  /** X register n (0–30; 31 reads as zero). */
  getX(n: number): bigint {
    return n >= 31 ? 0n : toBig(this.x[2 * n + 1], this.x[2 * n]);
  }

  setX(n: number, v: bigint): void {
    if (n < 31) {
      this.x[2 * n] = fromBig(v);
      this.x[2 * n + 1] = H.hi;
    }
  }

  /** Low 32 bits of Xn, unsigned. */
  getW(n: number): number {
    return n >= 31 ? 0 : this.x[2 * n] >>> 0;
  }

  getXHi(n: number): number {
    return n >= 31 ? 0 : this.x[2 * n + 1] >>> 0;
  }

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

  get sp(): bigint {
    return toBig(this.x[63], this.x[62]);
  }

  set sp(v: bigint) {
    this.x[62] = fromBig(v);
    this.x[63] = H.hi;
  }

  /** PSTATE as SPSR bits (NZCV, DAIF, IL, M[3:0]). */
  get pstate(): number {
    return (
      ((this.n << 31) |
        (this.z << 30) |
        (this.c << 29) |
        (this.v << 28) |
        (this.il << 20) |
        this.daif |
        (this.el << 2) |
        (this.el ? this.spsel : 0)) >>>
      0
    );
  }

  /** Stop the current run() after the current instruction. */
  requestStop(): void {
    this.evt |= EVT_STOP;
  }

  /** Re-evaluate pending interrupts before the next instruction. */
  notifyIrq(): void {
    this.evt |= EVT_IRQ;
  }

  /** SEV from another vCPU. */
  sendEvent(): void {
    this.eventReg = 1;
  }

  protected setEl(el: number): void {
    this.el = el;
    this.rB = (el * 3 + ACC_R) * TLB_N;
    this.wB = (el * 3 + ACC_W) * TLB_N;
    this.xB = (el * 3 + ACC_X) * TLB_N;
    this.fLo = 1;
  }

  cond(c: number): boolean {
    let r: boolean;
    switch (c >>> 1) {
      case 0:
        r = this.z !== 0;
        break;
      case 1:
        r = this.c !== 0;
        break;
      case 2:
        r = this.n !== 0;
        break;
      case 3:
        r = this.v !== 0;
        break;
      case 4:
        r = this.c !== 0 && this.z === 0;
        break;
      case 5:
        r = this.n === this.v;
        break;
      case 6:
        r = this.n === this.v && this.z === 0;
        break;
      default:
        return true;
    }
    return (c & 1) !== 0 ? !r : r;
  }
}

// What the block compiler (jit.ts, jit-ops.ts) uses of a vCPU: its dispatch loop reads these
// members directly, and the code it generates calls them as `c.<name>`. Cpu implements this
// interface (tsc checks it); the compiler never sees the rest of the Cpu. JIT_CPU_MEMBERS lists the
// same names at run time, so a test can check every `c.<name>` in generated code against it.

export interface JitCpu {
  /** General registers: slot s at [2s] (lo) and [2s+1] (hi); a view of stateMem. */
  readonly x: Int32Array;
  /** Registers, flags hand-over and TLB (wasm-memory.ts STATE): what WebAssembly-compiled blocks import. */
  readonly stateMem: WebAssembly.Memory;
  /** Guest RAM (bus.mem, in WebAssembly memory when the bus made it with wasmBytes). */
  readonly bus: { readonly mem: Uint8Array };
  /** Current exception level (selects the TLB sets). */
  el: number;
  /** Shared by the machine's vCPUs: armed counts armed exclusive monitors (stores then snoop them). */
  readonly shared: { readonly armed: number };
  instret: number;
  pcLo: number;
  pcHi: number;
  /** Pending events (interrupt re-check, stop request, illegal state): non-zero ends a block. */
  evt: number;
  /** The current fetch page: VA (fLo = 1 when it must be looked up again), decode array, mem offset. */
  fLo: number;
  fHi: number;
  fDec: Int32Array;
  fOff: number;
  // NZCV flags (0 or 1 each)
  n: number;
  z: number;
  c: number;
  v: number;

  /** Handle pending events; true when the run must end. */
  onEvent(): boolean;
  /** Look up the page holding the PC (fills fDec/fOff, or faults). */
  refill(): void;
  /** Interpret until instret reaches end; true when the run must end. */
  exec(end: number): boolean;
  /** Decode the instruction at slot k of decode array d into it; returns the op id. */
  decodeAt(d: Int32Array, k: number): number;

  // memory (fast paths; 64-bit reads return lo and leave the high word in H.hi)
  rd8(hi: number, lo: number): number;
  rd16(hi: number, lo: number): number;
  rd32(hi: number, lo: number): number;
  rd64(hi: number, lo: number): number;
  wr8(hi: number, lo: number, v: number): void;
  wr16(hi: number, lo: number, v: number): void;
  wr32(hi: number, lo: number, v: number): void;
  wr64(hi: number, lo: number, vh: number, vl: number): void;

  /** Indirect branch to hi:lo (PC alignment fault when misaligned). */
  branchTo(hi: number, lo: number): void;
  /** CLREX. */
  clearExclusive(): void;

  // Interpreter handlers for operations compiled as calls (they read and write X themselves).
  opBfm(p: number, L: number, R: number): void;
  opExtr(p: number, lsb: number): void;
  opAddReg(p: number, type: number, amt: number): void;
  opAddsReg(p: number, type: number, amt: number): void;
  opLogReg(p: number, type: number, amt: number): void;
  opDp1(p: number, opc: number): void;
  opDp2(p: number, opc: number): void;
  opDp3(p: number, code: number): void;
  opLsUnpriv(p: number, imm: number): void;
  opPair(p: number, off: number, mode: number): void;
  opExclusive(p: number, a: number): void;
  sysAccess(enc: number, rt: number, read: boolean): void;
  /** Who serves system register encoding enc (system.ts): 1 = the CPU's own storage. */
  sysregOwner(enc: number): number;
  opMsrImm(f: number, crm: number): void;
  opSys(enc: number, p: number): void;
  opFpSimd(insn: number): void;
}

/** The members of JitCpu, by name (tsc checks the list is exactly the interface's keys). */
export const JIT_CPU_MEMBERS = [
  'x',
  'stateMem',
  'bus',
  'el',
  'shared',
  'instret',
  'pcLo',
  'pcHi',
  'evt',
  'fLo',
  'fHi',
  'fDec',
  'fOff',
  'n',
  'z',
  'c',
  'v',
  'onEvent',
  'refill',
  'exec',
  'decodeAt',
  'rd8',
  'rd16',
  'rd32',
  'rd64',
  'wr8',
  'wr16',
  'wr32',
  'wr64',
  'branchTo',
  'clearExclusive',
  'opBfm',
  'opExtr',
  'opAddReg',
  'opAddsReg',
  'opLogReg',
  'opDp1',
  'opDp2',
  'opDp3',
  'opLsUnpriv',
  'opPair',
  'opExclusive',
  'sysAccess',
  'sysregOwner',
  'opMsrImm',
  'opSys',
  'opFpSimd',
] as const satisfies readonly (keyof JitCpu)[];

/** The handlers above: they read and write X themselves, so a block calling one keeps its
 *  registers in X rather than in locals (jit.ts). */
export const X_METHODS = [
  'opBfm',
  'opExtr',
  'opAddReg',
  'opAddsReg',
  'opLogReg',
  'opDp1',
  'opDp2',
  'opDp3',
  'opLsUnpriv',
  'opPair',
  'opExclusive',
  'sysAccess',
  'opMsrImm',
  'opSys',
  'opFpSimd',
] as const satisfies readonly (keyof JitCpu)[];

// Compile-time check that JIT_CPU_MEMBERS names every member of the interface.
type Missing = Exclude<keyof JitCpu, (typeof JIT_CPU_MEMBERS)[number]>;
const complete: [Missing] extends [never] ? true : Missing = true;
void complete;

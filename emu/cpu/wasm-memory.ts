// Machine state in WebAssembly memory, so the interpreter (through typed-array views) and code
// compiled to WebAssembly (wasm-jit.ts) read and write the same bytes: one machine state, two
// executors. Guest RAM is one memory per machine (the bus allocates it here); each vCPU has one
// more for its register file, flags hand-over and software TLB (STATE below).

/** Entries per direct-mapped TLB set (state.ts TLB_N; 6 sets: EL0/EL1 x read/write/execute). */
export const TLB_ENTRIES = 1024;

/** Room for system registers in the state memory (SYSREGS.length must not exceed it). */
export const SYSREG_SLOTS = 128;

/** Byte offsets in a vCPU's state memory. */
export const STATE = {
  /** General registers: 68 int32 (slot s at 8s: low word, then high word). */
  X: 0,
  /** NZCV packed as PSTATE bits 31-28, handed between JavaScript and compiled code. */
  FLAGS: 512,
  /** PC after compiled code ran (lo, hi). */
  PC: 520,
  /** SP_EL0 while banked (lo, hi), and PSTATE.SPSel (state.ts accessors), for MRS/MSR SP_EL0 in compiled code. */
  SP0: 528,
  SPSEL: 536,
  /** The TLB arrays (memory.ts): tags (VA bits 12-43), high tags (VA bits 44-63), mem offsets; 6 x 1024 int32 each. */
  TAG: 1024,
  TAGH: 1024 + 6 * TLB_ENTRIES * 4,
  OFF: 1024 + 12 * TLB_ENTRIES * 4,
  /** System register storage (state.ts srLo / srHi by SYSREGS index, at most SYSREG_SLOTS each). */
  SRLO: 1024 + 18 * TLB_ENTRIES * 4,
  SRHI: 1024 + 18 * TLB_ENTRIES * 4 + 512,
  /** Size in 64 KiB pages. */
  PAGES: 2,
} as const;

const PAGE = 65536;
const memories = new WeakMap<ArrayBufferLike, WebAssembly.Memory>();

/**
 * n zeroed bytes at offset 0 of a WebAssembly.Memory of fixed size (never grown, so views stay
 * valid). The OS backs untouched pages lazily, as for a plain Uint8Array.
 */
export function wasmBytes(n: number): Uint8Array {
  const pages = Math.max(1, Math.ceil(n / PAGE));
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
  memories.set(memory.buffer, memory);
  return new Uint8Array(memory.buffer, 0, n);
}

/** The WebAssembly.Memory behind bytes made by wasmBytes (at offset 0), or undefined. */
export function wasmMemoryOf(bytes: Uint8Array): WebAssembly.Memory | undefined {
  return bytes.byteOffset === 0 ? memories.get(bytes.buffer) : undefined;
}

/** A vCPU's state memory. */
export function newStateMemory(): WebAssembly.Memory {
  return wasmMemoryOf(wasmBytes(STATE.PAGES * PAGE))!;
}

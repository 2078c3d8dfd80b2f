// Block compiler back end that emits WebAssembly (jit.ts chooses it with `backend: 'wasm'`). Hot
// blocks (the same blocks the JavaScript back end compiles: straight-line code up to and including
// the first branch) of one page become one function of its own module, which imports the vCPU's state memory
// (registers, flags hand-over, TLB: wasm-memory.ts) and guest RAM, so it computes on the same bytes
// the interpreter uses, with native i64 arithmetic.
//
// Operations come from wasm-ops.ts; everything else in a block (system registers, FP/SIMD,
// exclusives, rare encodings) and every load/store whose inline TLB lookup misses (MMIO, faults,
// page crossings, code pages, armed monitors) is run by the interpreter itself, called from the
// compiled code for that one instruction ("exits" to JavaScript; counted per operation). After it
// the block goes on unless an event is pending or the code page was dropped, exactly as a
// JavaScript-compiled block exits after a memory access; a fault thrown there unwinds through the
// WebAssembly frames with the interpreter's state exact (PC, instret, flags, registers in memory).

import type { JitCpu } from './jit-cpu.ts';
import { KIND, TEMPLATES } from './jit-ops.ts';
import { OPS } from './ops.ts';
import { sysregName } from './sysregs.ts';
import { encodeModule, I32, W } from './wasm-enc.ts';
import { Gen, L, LOCALS, PARAMS } from './wasm-gen.ts';
import { STATE, TLB_ENTRIES as TLB_N, wasmMemoryOf } from './wasm-memory.ts';
import { WASM_OPS } from './wasm-ops.ts';
import { WASM_SYS_OPS } from './wasm-sys.ts';

/** A compiled block as jit.ts calls it. */
export type WasmBlock = (c: JitCpu, pcHi: number, end: number, depth: number) => void;

export interface WasmStats {
  /** Blocks compiled to WebAssembly, their instructions, and of those the ones compiled natively. */
  blocks: number;
  insns: number;
  nativeInsns: number;
  /** Bytes of WebAssembly generated, and CPU milliseconds spent encoding and instantiating. */
  bytes: number;
  compileMs: number;
  /** Instructions the compiled code handed to the interpreter, by operation name (slow paths included). */
  exits: Record<string, number>;
}

type Exported = (pcLo: number, pcHi: number, budget: number, rB: number, wB: number, armed: number) => number;

const OP_NAMES: string[] = [];
for (const [name, info] of Object.entries(OPS)) OP_NAMES[info.id] = name;

const FLAGS_I = STATE.FLAGS >>> 2,
  PC_I = STATE.PC >>> 2;

/** The per-vCPU compiler: its imports see the block being run through `run`. */
export class WasmCompiler {
  readonly stats: WasmStats = { blocks: 0, insns: 0, nativeInsns: 0, bytes: 0, compileMs: 0, exits: {} };
  private readonly exitCounts = new Float64Array(256);
  /** Exits of MRS, MSR and SYS by operation | encoding << 8. */
  private readonly sysExits = new Map<number, number>();
  private readonly imports: WebAssembly.Imports;
  private readonly S: Int32Array;
  /** The block running now: its vCPU, instret at entry, PC high word. */
  private c: JitCpu;
  private i0 = 0;
  private pcHi = 0;
  private readonly owner = (enc: number): number => this.c.sysregOwner(enc);

  private constructor(c: JitCpu, ram: WebAssembly.Memory) {
    this.c = c;
    this.S = new Int32Array(c.stateMem.buffer);
    this.imports = {
      m: { mem0: c.stateMem, mem1: ram },
      j: { interp: (pcLo: number, cnt: number, f: number) => this.interp(pcLo, cnt, f) },
    };
  }

  /** A compiler for vCPU c, or undefined when its RAM is not in WebAssembly memory. */
  static for(c: JitCpu): WasmCompiler | undefined {
    const ram = wasmMemoryOf(c.bus.mem);
    return ram ? new WasmCompiler(c, ram) : undefined;
  }

  /** Exits by operation name (a copy). */
  exits(): Record<string, number> {
    const out: Record<string, number> = {};
    this.exitCounts.forEach((n, op) => {
      if (n > 0) out[OP_NAMES[op] ?? `op${op}`] = n;
    });
    return out;
  }

  /** Exits of MRS/MSR by system register and of SYS by encoding, e.g. "MRS DAIF", "SYS 0x441f" (a copy). */
  systemExits(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [key, n] of this.sysExits) {
      const op = key & 0xff,
        enc = key >>> 8;
      out[`${OP_NAMES[op]} ${op === OPS.SYS.id ? `0x${enc.toString(16)}` : sysregName(enc)}`] = n;
    }
    return out;
  }

  /** Run the instruction at pcLo in the interpreter, from inside a compiled block (cnt instructions of it done). */
  private interp(pcLo: number, cnt: number, f: number): number {
    const c = this.c;
    c.pcLo = pcLo;
    c.pcHi = this.pcHi;
    c.instret = this.i0 + cnt;
    c.n = f >>> 31;
    c.z = (f >>> 30) & 1;
    c.c = (f >>> 29) & 1;
    c.v = (f >>> 28) & 1;
    const op = c.fDec[pcLo & 0xffc]!;
    this.exitCounts[op]!++;
    if (op === OPS.MRS.id || op === OPS.MSR.id || op === OPS.SYS.id) {
      const key = op | (c.fDec[(pcLo & 0xffc) + 2]! << 8);
      this.sysExits.set(key, (this.sysExits.get(key) ?? 0) + 1);
    }
    c.exec(c.instret + 1);
    const S = this.S;
    S[PC_I] = c.pcLo;
    S[PC_I + 1] = c.pcHi;
    return (c.n << 31) | (c.z << 30) | (c.c << 29) | (c.v << 28) | (c.evt !== 0 || c.fLo === 1 ? 1 : 0);
  }

  /**
   * Compile blocks [slot, length] of decode array d (one physical page) into one function: it runs
   * the block at the entry PC, then, while the next PC stays on the page at another block of the
   * group and the budget allows that whole block, goes on there without returning to JavaScript
   * (a br_table on the PC's slot); anything else returns with the PC in state memory.
   */
  compile(d: Int32Array, blocks: readonly (readonly [number, number, boolean])[]): WasmBlock {
    const t0 = performance.now();
    const g = new Gen();
    const b = g.b;
    let native = 0,
      insns = 0;
    b.i32c(0).mem(W.i32_load, 0, STATE.FLAGS).set(L.f);
    g.open(W.block, 'exitpc').open(W.block, 'exit').open(W.loop, 'dispatch');
    // pc0 = pcHi:pcLo, the PC of the block about to run
    b.get(L.pcHi).op(W.i64_extend_i32_u).i64c(32n).op(W.i64_shl).get(L.pcLo).op(W.i64_extend_i32_u).op(W.i64_or).set(L.pc0);
    g.open(W.block, 'default');
    for (let c = blocks.length - 1; c >= 0; c--) g.open(W.block, `case${c}`);
    const table = new Array<number>(1024).fill(blocks.length);
    blocks.forEach(([k], c) => (table[k] = c));
    b.get(L.pcLo).i32c(2).op(W.i32_shr_u).i32c(1023).op(W.i32_and);
    b.op(0x0e /* br_table */).u32(1024);
    for (const t of table) b.u32(t);
    b.u32(blocks.length);
    blocks.forEach(([k, n, loops]) => {
      g.close();
      native += this.emitBlock(g, d, k, n, loops);
      insns += n;
    });
    g.close();
    // a slot of the page outside the group: return there, nothing run
    b.get(L.pc0).set(L.npc);
    g.br('exit');
    g.close().close();
    b.i32c(0).get(L.npc).mem(W.i64_store, 0, STATE.PC);
    g.close();
    b.i32c(0).get(L.f).mem(W.i32_store, 0, STATE.FLAGS);
    b.get(L.cnt);
    const bytes = encodeModule(
      [STATE.PAGES, Math.max(1, (this.c.bus.mem.byteLength + 65535) >>> 16)],
      [{ module: 'j', name: 'interp', params: [I32, I32, I32], results: [I32] }],
      [{ params: PARAMS, results: [I32], locals: LOCALS, body: b, export: 'b' }],
    );
    const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), this.imports);
    const fn = inst.exports.b as Exported;
    this.stats.blocks += blocks.length;
    this.stats.insns += insns;
    this.stats.nativeInsns += native;
    this.stats.bytes += bytes.length;
    this.stats.compileMs += performance.now() - t0;
    return (c, pcHi, end) => this.run(fn, c, pcHi, end);
  }

  /** One case of the group: the block of n instructions from slot k (loops: its branch may go back to
   *  its start, then it runs again at once); returns how many were compiled natively. */
  private emitBlock(g: Gen, d: Int32Array, k: number, n: number, loops: boolean): number {
    const b = g.b;
    let native = 0;
    // the whole block must fit in the budget (the dispatch loop checked it for the first one)
    b.get(L.cnt).i32c(n).op(W.i32_add).get(L.budget).op(W.i32_gt_u);
    g.when(() => {
      b.get(L.pc0).set(L.npc);
      g.br('exit');
    });
    if (loops) g.open(W.loop, 'self');
    let ended = false;
    for (let j = 0; j < n; j++) {
      const i = (k + j) << 2;
      const op = d[i]!,
        t = TEMPLATES[op]!;
      const branch = t.kind === KIND.BRANCH;
      const slow = (): void => this.emitInterp(g, j, branch);
      const emit = WASM_OPS[op] ?? WASM_SYS_OPS[op];
      if (emit && emit(g, { p: d[i + 1]!, a: d[i + 2]!, b: d[i + 3]!, j, slow, owner: this.owner })) native++;
      else slow();
      if (branch) ended = true;
    }
    if (!ended) g.pc(n).b.set(L.npc);
    b.get(L.cnt).i32c(n).op(W.i32_add).set(L.cnt);
    if (loops) {
      // back at the start with budget for another round: again, without dispatching
      b.get(L.npc).get(L.pc0).op(W.i64_eq).get(L.cnt).i32c(n).op(W.i32_add).get(L.budget).op(W.i32_le_u).op(W.i32_and);
      g.brIf('self').close();
    }
    // still on the page: dispatch again (same translation, same decode array: a write to the page
    // or an event would have left through the interpreter)
    b.get(L.npc).i64c(12n).op(W.i64_shr_u).get(L.pc0).i64c(12n).op(W.i64_shr_u).op(W.i64_eq);
    g.when(() => {
      b.get(L.npc).op(W.i32_wrap_i64).set(L.pcLo);
      g.br('dispatch');
    });
    g.br('exit');
    return native;
  }

  private run(fn: Exported, c: JitCpu, pcHi: number, end: number): void {
    const S = this.S;
    S[FLAGS_I] = (c.n << 31) | (c.z << 30) | (c.c << 29) | (c.v << 28);
    const i0 = c.instret;
    this.c = c;
    this.i0 = i0;
    this.pcHi = pcHi;
    const set = c.el * 3 * TLB_N * 4;
    const done = fn(c.pcLo, pcHi, Math.min(end - i0, 0x7fffffff), set, set + TLB_N * 4, c.shared.armed);
    c.instret = i0 + done;
    c.pcLo = S[PC_I]!;
    c.pcHi = S[PC_I + 1]!;
    const f = S[FLAGS_I]!;
    c.n = f >>> 31;
    c.z = (f >>> 30) & 1;
    c.c = (f >>> 29) & 1;
    c.v = (f >>> 28) & 1;
  }

  /** Run instruction j in the interpreter; a branch (or an event, or a dropped code page) ends the block there. */
  private emitInterp(g: Gen, j: number, ends: boolean): void {
    const b = g.b;
    b.get(L.pcLo);
    if (j) b.i32c(4 * j).op(W.i32_add);
    b.get(L.cnt);
    if (j) b.i32c(j).op(W.i32_add);
    b.get(L.f).op(W.call).u32(0).tee(L.tmp).i32c(0xf0000000).op(W.i32_and).set(L.f);
    const leave = (): void => {
      b.get(L.cnt)
        .i32c(j + 1)
        .op(W.i32_add)
        .set(L.cnt);
      g.br('exitpc');
    };
    if (ends) leave();
    else {
      b.get(L.tmp).i32c(1).op(W.i32_and);
      g.when(leave);
    }
  }
}

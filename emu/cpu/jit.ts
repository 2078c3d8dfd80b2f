// Block compiler: hot straight-line blocks of decoded instructions become JavaScript functions
// (`new Function`) over the same Int32Array register file, with register slots folded into
// constants. A block runs from its start up to and including the first branch, and stops before
// any operation without a template (WFI/WFE/SEV, SVC/HVC/SMC/BRK, ERET, undefined encodings).
// A block that reached the threshold is compiled with its page's other warm blocks into one group
// function that runs them one after another while the PC stays on the page at one of them, and
// calls the group of another compiled block of the page directly; a block looping on itself is
// compiled alone. Where no register-file helper is called, registers live in
// locals inside the block (written back in a finally, so faults still see exact registers).
//
// Architectural behaviour is the interpreter's, instruction for instruction:
// - PC and instret are stored before every operation that may fault or read them, so an exception
//   mid-block is precise (the fault throws out of the block, as it does out of the interpreter);
// - after a memory access or system instruction the block returns when an event is pending (MMIO
//   can raise an interrupt) or the current code page was dropped (written, TLB or MMU change), so
//   interrupts are still taken only between instructions at the same instret, and self-modifying
//   code refetches; between blocks of a group the same checks as the dispatch loop's are made;
// - a block only starts when its whole length fits in the remaining budget;
// - compiled blocks hang off the decode array of their physical page, so dropping decoded code
//   (a write to a code page, loaders, DMA) drops them too.

import v8 from 'node:v8';
import * as Int64 from './int64.ts';
import { X_METHODS, type JitCpu } from './jit-cpu.ts';
import { KIND, TEMPLATES } from './jit-ops.ts';
import { OP } from './ops.ts';
import { WasmCompiler } from './wasm-jit.ts';

const { H, add64, asr64, lsl64, lsr64 } = Int64;

/** A compiled group of blocks of one page: runs the block at c.pcLo, then the next one while the
 *  PC stays on the page at another block of the group (and no event, code write or budget end);
 *  a compiled block of another group of the page is called directly, up to CHAIN_DEPTH deep. */
type Block = (c: JitCpu, pcHi: number, end: number, depth: number) => void;

/** Per decode array (physical page) state: entry counts, scanned lengths, compiled blocks. */
interface PageBlocks {
  /** The decode array these blocks were compiled from (replaced when the page's code is dropped). */
  readonly dec: Int32Array;
  /** Executions seen at each instruction slot, until compiled. */
  readonly count: Int32Array;
  /** Compilable instructions from each slot, plus one (0 = not scanned yet); | COMPILED once compiled. */
  readonly len: Int16Array;
  /** The group function holding the block at each slot, once compiled. */
  readonly fns: (Block | undefined)[];
}

export interface JitOptions {
  /** Executions of a block start before it is compiled (default 20000: V8 spends ~1 ms (Maglev)
   *  to ~7 ms (TurboFan) of CPU per compiled block, so only the hottest blocks repay it). */
  threshold?: number;
  /** Longest block in instructions (default 200). */
  maxLen?: number;
  /** Most instructions compiled into one group function (default 32: V8's optimizing compile time
   *  grows quickly with function size, and cases that never ran before it optimizes deoptimize it). */
  maxGroup?: number;
  /** What hot blocks become: JavaScript functions (the default) or WebAssembly (wasm-jit.ts, one
   *  module per block; falls back to JavaScript when guest RAM is not in WebAssembly memory). */
  backend?: 'js' | 'wasm';
}

export interface JitStats {
  /** Blocks compiled, and their instructions; group functions made (each holds one or more blocks of a page). */
  blocks: number;
  compiledInsns: number;
  groups: number;
  /** Compiled block calls, and the instructions they retired (not counted when a call ends in a fault). */
  calls: number;
  callInsns: number;
  /** Pages whose compiled blocks were dropped because their decoded code was (self-modifying code, loaders, DMA). */
  invalidations: number;
  /** CPU milliseconds spent generating compiled code (V8's own compile work on background threads not included). */
  compileMs: number;
  /** Instructions the dispatch loop left to the interpreter: blocks not (yet) compiled (below the
   *  threshold), compiled blocks that did not fit the budget or were entered with an event pending,
   *  and instructions no block can hold (by operation id: SVC, ERET, WFI, undefined encodings...). */
  coldInsns: number;
  budgetInsns: number;
  uncompilable: Record<number, number>;
}

const SLOTS = 1024;
/** Nested calls from one group function to another of the same page before returning to the dispatch loop. */
const CHAIN_DEPTH = 16;
/** Flag in PageBlocks.len: the slot's block is compiled (fns holds its group). */
const COMPILED = 0x4000,
  LEN_MASK = 0x3fff;
/** Names of the compiled functions: a block looping on itself, and any other group. */
const LOOP_FN = 'jitloop',
  GROUP_FN = 'jitblock';

let tierSet = false;
/**
 * Groups stay at V8's mid tier (Maglev): its optimizing compiler (TurboFan) costs ~10-20 ms of CPU
 * per group, more than most groups ever save; self-looping blocks (where the hot loops are) still
 * get it. A V8 name filter, set once for the process; it only matches the group functions.
 */
function keepGroupsOffTurbofan(): void {
  if (tierSet) return;
  tierSet = true;
  v8.setFlagsFromString(`--turbo-filter=-${GROUP_FN}`);
}

export class Jit {
  readonly threshold: number;
  readonly maxLen: number;
  readonly maxGroup: number;
  readonly stats: JitStats = {
    blocks: 0,
    compiledInsns: 0,
    groups: 0,
    calls: 0,
    callInsns: 0,
    invalidations: 0,
    compileMs: 0,
    coldInsns: 0,
    budgetInsns: 0,
    uncompilable: {},
  };
  readonly backend: 'js' | 'wasm';
  /** The WebAssembly back end, once made (null: not available for this vCPU). */
  wasm: WasmCompiler | null | undefined = undefined;
  /** By physical page of bus.mem; an entry whose decode array was replaced is stale. */
  private pages: (PageBlocks | undefined)[] = [];
  private lastPage: PageBlocks = newPage(new Int32Array(0));

  constructor(o: JitOptions = {}) {
    this.threshold = o.threshold ?? 20_000;
    this.maxLen = Math.min(o.maxLen ?? 200, SLOTS);
    this.maxGroup = o.maxGroup ?? 32;
    this.backend = o.backend ?? 'js';
    keepGroupsOffTurbofan();
  }

  /** Run loop used instead of Cpu.exec: returns true when run() must return. */
  exec(c: JitCpu, end: number): boolean {
    const threshold = this.threshold;
    while (c.instret < end) {
      if (c.evt !== 0 && c.onEvent()) return true;
      const pcLo = c.pcLo,
        pcHi = c.pcHi;
      if ((pcLo & -4096) !== c.fLo || pcHi !== c.fHi) {
        c.refill();
        continue;
      }
      const d = c.fDec;
      let pg = this.lastPage;
      if (pg.dec !== d) {
        pg = this.pageOf(d, c.fOff >>> 12);
        this.lastPage = pg;
      }
      const k = (pcLo & 0xffc) >>> 2;
      let len = pg.len[k];
      if (len === 0) {
        len = this.scan(c, d, k) + 1;
        pg.len[k] = len;
      }
      const fn = len >= COMPILED ? pg.fns[k] : undefined;
      len &= LEN_MASK;
      // the last page below a 2^32 boundary is left to the interpreter (its PC carries into pcHi)
      if (fn !== undefined && c.instret + len - 1 <= end && (pcLo & -4096) !== -4096 && c.evt === 0) {
        const before = c.instret;
        fn(c, pcHi, end, 0);
        this.stats.calls++;
        this.stats.callInsns += c.instret - before;
        continue;
      }
      if (fn === undefined && len > 1 && ++pg.count[k] >= threshold) {
        if (this.backend === 'wasm' && this.compileWasm(c, pg, k)) continue;
        this.compileGroup(pg, k);
        continue;
      }
      const before = c.instret;
      const stop = c.exec(Math.min(end, c.instret + (len > 1 ? len - 1 : 1)));
      this.countInterpreted(len > 1 ? (fn === undefined ? -1 : -2) : d[k << 2]!, c.instret - before);
      if (stop) return true;
    }
    return false;
  }

  /** Where the dispatch loop's interpreted instructions went (why = -1 cold block, -2 budget/event, else the op id). */
  private countInterpreted(why: number, n: number): void {
    const st = this.stats;
    if (why === -1) st.coldInsns += n;
    else if (why === -2) st.budgetInsns += n;
    else st.uncompilable[why] = (st.uncompilable[why] ?? 0) + n;
  }

  private pageOf(d: Int32Array, page: number): PageBlocks {
    if (page >= this.pages.length) {
      const more = new Array<PageBlocks | undefined>(Math.max(page + 1, 2 * this.pages.length, 4096)).fill(undefined);
      for (let i = 0; i < this.pages.length; i++) more[i] = this.pages[i];
      this.pages = more;
    }
    let pg = this.pages[page];
    if (pg === undefined || pg.dec !== d) {
      if (pg !== undefined && pg.fns.some((f) => f !== undefined)) this.stats.invalidations++;
      pg = newPage(d);
      this.pages[page] = pg;
    }
    return pg;
  }

  /** Number of compilable instructions from slot k (decoding as needed, like the interpreter would). */
  private scan(c: JitCpu, d: Int32Array, k: number): number {
    let n = 0;
    for (let s = k; s < SLOTS && n < this.maxLen; s++) {
      const i = s << 2;
      let op = d[i];
      if (op === 0) op = c.decodeAt(d, i);
      const t = TEMPLATES[op];
      if (!t || (t.partial && t.code({ p: d[i + 1], a: d[i + 2], b: d[i + 3], pc: '0' }) === undefined)) break;
      n++;
      if (t.kind === KIND.BRANCH) break;
    }
    return n;
  }

  /** Lines of the block of n instructions from slot k, as one case of a group function (entered with
   *  c.pcLo = pc0 = the block's address, i0 = c.instret); it ends by breaking out of the switch. */
  private caseBody(d: Int32Array, k: number, n: number): string[] {
    const out: string[] = [];
    let ended = false;
    for (let j = 0; j < n; j++) {
      const i = (k + j) << 2;
      const t = TEMPLATES[d[i]];
      const pc = j === 0 ? 'pc0' : `((pc0 + ${4 * j}) | 0)`;
      // the zero register's slot (64/65) is never written: its reads are the constant 0
      const code = t.code({ p: d[i + 1], a: d[i + 2], b: d[i + 3], pc })?.replace(ZERO_READ, '0');
      const sync = `c.instret = i0 + ${j + 1}; c.pcLo = (pc0 + ${4 * (j + 1)}) | 0;`;
      switch (t.kind) {
        case KIND.PURE:
          out.push(code!);
          break;
        case KIND.CALL:
          out.push(sync, code!);
          break;
        case KIND.MEM:
          out.push(sync, code!, 'if (c.evt !== 0 || c.fLo === 1) return;');
          break;
        default:
          out.push(sync, code!);
          ended = true;
          break;
      }
    }
    if (!ended) out.push(`c.instret = i0 + ${n}; c.pcLo = (pc0 + ${4 * n}) | 0;`);
    const head = `case ${k}: {`,
      fits = `if (i0 + ${n} > end) return;`;
    const loop = this.loopsToStart(d, k, n);
    // a loop whose branch targets the block start runs again at once, with the checks made between
    // blocks (same PC and page, no event, budget left)
    const again = `if (c.pcLo !== pc0 || c.pcHi !== pcHi || c.evt !== 0 || c.fLo === 1 || i0 + ${2 * n} > end) break;`;
    const local = localRegisters(out.join('\n'));
    if (local === undefined) {
      if (!loop) return [head, fits, ...out, 'break; }'];
      return [head, fits, 'for (;;) {', ...out, again, `i0 += ${n};`, '}', 'break; }'];
    }
    // registers in locals: written back on every way out (end, early exit, fault)
    const inner = loop ? ['for (;;) {', local.body, again, `i0 += ${n};`, '}'] : [local.body];
    return [
      head,
      fits,
      local.decl,
      'let ex = false;',
      'try {',
      'blk: {',
      ...inner,
      '}',
      '} finally {',
      local.writeBack,
      '}',
      'if (ex) return;',
      'break; }',
    ];
  }

  /**
   * Source of a group function body holding blocks [slot, length] of one decode array. A block that
   * loops on itself is compiled alone and returns after its loop: V8 compiles a hot loop while it
   * runs (on-stack replacement) and throws that code away when an inner loop exits.
   */
  groupSource(d: Int32Array, blocks: [number, number][]): string {
    const cases: string[] = [];
    for (const [k, n] of blocks) cases.push(...this.caseBody(d, k, n));
    // the next block: same page (so the same translation and decode array), nothing pending
    const same = 'if (c.evt !== 0 || c.fLo !== vb || c.pcHi !== pcHi || (c.pcLo & -4096) !== vb) return;';
    // a block of another group of this page: call it (its case checks the budget)
    const other = `if (depth < ${CHAIN_DEPTH}) { const f = F[(c.pcLo >>> 2) & 1023]; if (f !== undefined) f(c, pcHi, end, depth + 1); } return;`;
    if (blocks.length === 1 && this.loopsToStart(d, blocks[0]![0], blocks[0]![1])) {
      return [
        'const X = c.x, vb = c.pcLo & -4096;',
        'const pc0 = c.pcLo; let i0 = c.instret;',
        'switch ((pc0 >>> 2) & 1023) {',
        ...cases,
        'default: return;',
        '}',
        same,
        other,
      ].join('\n');
    }
    return [
      'const X = c.x, vb = c.pcLo & -4096;',
      'for (;;) {',
      'const pc0 = c.pcLo; let i0 = c.instret;',
      'switch ((pc0 >>> 2) & 1023) {',
      ...cases,
      `default: ${other}`,
      '}',
      same,
      '}',
    ].join('\n');
  }

  /** Source of the block of n instructions from slot k, alone in a group (tests and debugging). */
  source(d: Int32Array, k: number, n: number): string {
    return this.groupSource(d, [[k, n]]);
  }

  /** Whether the block ends with a PC-relative branch back to its first instruction. */
  private loopsToStart(d: Int32Array, k: number, n: number): boolean {
    const i = (k + n - 1) << 2,
      op = d[i],
      a = d[i + 2],
      back = -4 * (n - 1);
    if (op === OP.B) return a === back && d[i + 3] === a >> 31;
    return (op === OP.BCOND || op === OP.CBZ || op === OP.TBZ) && a === back;
  }

  /** Compile the block at slot k and the page's warm ones to WebAssembly; false when the back end is not available. */
  private compileWasm(c: JitCpu, pg: PageBlocks, k: number): boolean {
    if (this.wasm === undefined) this.wasm = WasmCompiler.for(c) ?? null;
    if (this.wasm === null) return false;
    const t0 = performance.now();
    const blocks = this.warmBlocks(pg, k, true);
    const fn = this.wasm.compile(
      pg.dec,
      blocks.map(([s, n]) => [s, n, this.loopsToStart(pg.dec, s, n)] as const),
    );
    this.installGroup(pg, blocks, fn);
    this.stats.compileMs += performance.now() - t0;
    return true;
  }

  /** The block at slot k, then the page's other warm blocks not compiled yet (run at least threshold/2
   *  times), hottest first, up to maxGroup instructions; the JavaScript back end keeps a block that loops
   *  on itself alone (withLoops false), see groupSource. */
  private warmBlocks(pg: PageBlocks, k: number, withLoops: boolean): [number, number][] {
    const warm: number[] = [];
    const min = Math.max(1, this.threshold >>> 1);
    const d = pg.dec;
    const blocks: [number, number][] = [[k, pg.len[k] - 1]];
    let total = pg.len[k] - 1;
    if (withLoops || !this.loopsToStart(d, k, total)) {
      for (let s = 0; s < SLOTS; s++) {
        if (
          s !== k &&
          pg.len[s] > 1 &&
          pg.len[s] < COMPILED &&
          pg.count[s] >= min &&
          (withLoops || !this.loopsToStart(d, s, pg.len[s] - 1))
        )
          warm.push(s);
      }
    }
    warm.sort((a, b) => pg.count[b] - pg.count[a] || a - b);
    const max = withLoops ? this.maxGroup * 4 : this.maxGroup;
    for (const s of warm) {
      const n = pg.len[s] - 1;
      if (total + n > max) continue;
      blocks.push([s, n]);
      total += n;
    }
    return blocks;
  }

  private installGroup(pg: PageBlocks, blocks: readonly [number, number][], fn: Block): void {
    for (const [s, n] of blocks) {
      pg.fns[s] = fn;
      pg.len[s] |= COMPILED;
      this.stats.compiledInsns += n;
    }
    this.stats.blocks += blocks.length;
    this.stats.groups++;
  }

  /**
   * Compile the block at slot k (it reached the threshold) together with the page's other warm
   * blocks not compiled yet (run at least threshold/2 times), hottest first, up to maxGroup
   * instructions: blocks of one group follow each other without returning to the dispatch loop,
   * and fewer, larger functions cost V8 less to compile than one per block.
   */
  private compileGroup(pg: PageBlocks, k: number): void {
    const t0 = performance.now();
    const blocks = this.warmBlocks(pg, k, false);
    const total = blocks.reduce((n, [, len]) => n + len, 0);
    const body = this.groupSource(pg.dec, blocks);
    const name = blocks.length === 1 && this.loopsToStart(pg.dec, k, total) ? LOOP_FN : GROUP_FN;
    const make = new Function('H', 'add64', 'lsl64', 'lsr64', 'asr64', 'F', `return function ${name}(c, pcHi, end, depth) {\n${body}\n};`);
    this.installGroup(pg, blocks, make(H, add64, lsl64, lsr64, asr64, pg.fns) as Block);
    this.stats.compileMs += performance.now() - t0;
  }
}

/** Calls of helpers that read or write the register file themselves (blocks using them keep registers in X). */
const USES_X = new RegExp(`c\\.(${X_METHODS.join('|')})\\(`);
const X_SLOT = /X\[(\d+)\]/g;
const X_WRITE = /X\[(\d+)\] *[|&^+-]?=(?!=)/g;
const ZERO_READ = /X\[6[45]\](?! *[|&^+-]?=(?!=))/g;
const MEM_EXIT = 'if (c.evt !== 0 || c.fLo === 1) return;';

/**
 * The block's code with registers held in locals x<slot> (loaded at entry, the written ones stored
 * back in a finally), when nothing in it reads the register file behind its back. SP (slots 62/63)
 * stays in X: exception entry banks it while the fault unwinds. Early exits become `ex = true`.
 */
function localRegisters(code: string): { decl: string; body: string; writeBack: string } | undefined {
  if (USES_X.test(code)) return undefined;
  const slots = new Set<number>(),
    written = new Set<number>();
  for (const m of code.matchAll(X_SLOT)) if (+m[1]! < 62 || +m[1]! > 63) slots.add(+m[1]!);
  for (const m of code.matchAll(X_WRITE)) if (+m[1]! < 62 || +m[1]! > 63) written.add(+m[1]!);
  if (slots.size === 0) return undefined;
  const sorted = [...slots].sort((a, b) => a - b);
  return {
    decl: `let ${sorted.map((r) => `x${r} = X[${r}]`).join(', ')};`,
    body: code
      .replace(X_SLOT, (all, r: string) => (+r === 62 || +r === 63 ? all : `x${r}`))
      .split(MEM_EXIT)
      .join('if (c.evt !== 0 || c.fLo === 1) { ex = true; break blk; }'),
    writeBack: [...written]
      .sort((a, b) => a - b)
      .map((r) => `X[${r}] = x${r};`)
      .join(' '),
  };
}

function newPage(dec: Int32Array): PageBlocks {
  return { dec, count: new Int32Array(SLOTS), len: new Int16Array(SLOTS), fns: new Array<Block | undefined>(SLOTS).fill(undefined) };
}

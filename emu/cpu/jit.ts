// Block compiler: hot straight-line blocks of decoded instructions become JavaScript functions
// (`new Function`) over the same Int32Array register file, with register slots folded into
// constants. A block runs from its start up to and including the first branch, and stops before
// any operation without a template (system instructions, WFI, FP/SIMD, undefined encodings).
//
// Architectural behaviour is the interpreter's, instruction for instruction:
// - PC and instret are stored before every operation that may fault or read them, so an exception
//   mid-block is precise (the fault throws out of the block, as it does out of the interpreter);
// - after a memory access the block returns when an event is pending (MMIO can raise an
//   interrupt) or the current code page was written, so interrupts are still taken only between
//   instructions at the same instret, and self-modifying code refetches;
// - a block only starts when its whole length fits in the remaining budget;
// - compiled blocks hang off the decode array of their physical page, so dropping decoded code
//   (a write to a code page, loaders, DMA) drops them too.

import * as Int64 from './int64.ts';
import type { Cpu } from './cpu.ts';
import { KIND, TEMPLATES } from './jit-ops.ts';

const { H, add64, asr64, lsl64, lsr64 } = Int64;

/** The parts of Cpu the compiled code and the dispatch loop use (private in the class). */
interface CpuCore {
  instret: number;
  pcLo: number;
  pcHi: number;
  evt: number;
  fLo: number;
  fHi: number;
  fDec: Int32Array;
  fOff: number;
  onEvent(): boolean;
  refill(): void;
  exec(end: number): boolean;
  decodeAt(d: Int32Array, k: number): number;
}

type Block = (c: CpuCore, pc0: number, pcHi: number, end: number) => void;

/** Per decode array (physical page) state: entry counts, scanned lengths, compiled blocks. */
interface PageBlocks {
  /** The decode array these blocks were compiled from (replaced when the page's code is dropped). */
  readonly dec: Int32Array;
  /** Executions seen at each instruction slot, until compiled. */
  readonly count: Int32Array;
  /** Compilable instructions from each slot, plus one (0 = not scanned yet). */
  readonly len: Int16Array;
  readonly fns: (Block | undefined)[];
}

export interface JitOptions {
  /** Executions of a block start before it is compiled (default 20000: V8 spends ~1 ms (Maglev)
   *  to ~7 ms (TurboFan) of CPU per compiled block, so only the hottest blocks repay it). */
  threshold?: number;
  /** Longest block in instructions (default 200). */
  maxLen?: number;
}

export interface JitStats {
  /** Blocks compiled, and their instructions. */
  blocks: number;
  compiledInsns: number;
  /** Compiled block calls, and the instructions they retired (not counted when a call ends in a fault). */
  calls: number;
  callInsns: number;
}

const SLOTS = 1024;

export class Jit {
  readonly threshold: number;
  readonly maxLen: number;
  readonly stats: JitStats = { blocks: 0, compiledInsns: 0, calls: 0, callInsns: 0 };
  /** By physical page of bus.mem; an entry whose decode array was replaced is stale. */
  private pages: (PageBlocks | undefined)[] = [];
  private lastPage: PageBlocks = newPage(new Int32Array(0));

  constructor(o: JitOptions = {}) {
    this.threshold = o.threshold ?? 20_000;
    this.maxLen = Math.min(o.maxLen ?? 200, SLOTS);
  }

  /** Run loop used instead of Cpu.exec: returns true when run() must return. */
  exec(cpu: Cpu, end: number): boolean {
    const c = cpu as unknown as CpuCore;
    const threshold = this.threshold;
    while (c.instret < end) {
      if (c.evt !== 0 && c.onEvent()) return true;
      const pcLo = c.pcLo, pcHi = c.pcHi;
      if ((pcLo & -4096) !== c.fLo || pcHi !== c.fHi) { c.refill(); continue; }
      const d = c.fDec;
      let pg = this.lastPage;
      if (pg.dec !== d) { pg = this.pageOf(d, c.fOff >>> 12); this.lastPage = pg; }
      const k = (pcLo & 0xffc) >>> 2;
      let len = pg.len[k];
      if (len === 0) { len = this.scan(c, d, k) + 1; pg.len[k] = len; }
      const fn = pg.fns[k];
      // the last page below a 2^32 boundary is left to the interpreter (its PC carries into pcHi)
      if (fn !== undefined && c.instret + len - 1 <= end && (pcLo & -4096) !== -4096 && c.evt === 0) {
        const before = c.instret;
        fn(c, pcLo, pcHi, end);
        this.stats.calls++;
        this.stats.callInsns += c.instret - before;
        continue;
      }
      if (fn === undefined && len > 1 && ++pg.count[k] >= threshold) {
        pg.fns[k] = this.compile(d, k, len - 1);
        continue;
      }
      if (c.exec(Math.min(end, c.instret + (len > 1 ? len - 1 : 1)))) return true;
    }
    return false;
  }

  private pageOf(d: Int32Array, page: number): PageBlocks {
    if (page >= this.pages.length) {
      const more = new Array<PageBlocks | undefined>(Math.max(page + 1, 2 * this.pages.length, 4096)).fill(undefined);
      for (let i = 0; i < this.pages.length; i++) more[i] = this.pages[i];
      this.pages = more;
    }
    let pg = this.pages[page];
    if (pg === undefined || pg.dec !== d) { pg = newPage(d); this.pages[page] = pg; }
    return pg;
  }

  /** Number of compilable instructions from slot k (decoding as needed, like the interpreter would). */
  private scan(c: CpuCore, d: Int32Array, k: number): number {
    let n = 0;
    for (let s = k; s < SLOTS && n < this.maxLen; s++) {
      const i = s << 2;
      let op = d[i];
      if (op === 0) op = c.decodeAt(d, i);
      const t = TEMPLATES[op];
      if (!t || t.code({ p: d[i + 1], a: d[i + 2], b: d[i + 3], pc: '0' }) === undefined) break;
      n++;
      if (t.kind === KIND.BRANCH) break;
    }
    return n;
  }

  /** Source of the block of n instructions from slot k (exported for tests and debugging). */
  source(d: Int32Array, k: number, n: number): string {
    const out: string[] = [];
    let ended = false;
    for (let j = 0; j < n; j++) {
      const i = (k + j) << 2;
      const t = TEMPLATES[d[i]];
      const pc = j === 0 ? 'pc0' : `((pc0 + ${4 * j}) | 0)`;
      const code = t.code({ p: d[i + 1], a: d[i + 2], b: d[i + 3], pc });
      const sync = `c.instret = i0 + ${j + 1}; c.pcLo = (pc0 + ${4 * (j + 1)}) | 0;`;
      switch (t.kind) {
        case KIND.PURE: out.push(code!); break;
        case KIND.CALL: out.push(sync, code!); break;
        case KIND.MEM: out.push(sync, code!, 'if (c.evt !== 0 || c.fLo === 1) return;'); break;
        default: out.push(sync, code!); ended = true; break;
      }
    }
    if (!ended) out.push(`c.instret = i0 + ${n}; c.pcLo = (pc0 + ${4 * n}) | 0;`);
    if (!this.loopsToStart(d, k, n)) return ['const X = c.x, i0 = c.instret;', ...out].join('\n');
    // a loop whose branch targets the block start runs again without leaving the function, with the
    // checks the dispatch loop makes between blocks (same PC and page, no event, budget left)
    return ['const X = c.x; let i0 = c.instret;', 'for (;;) {', ...out,
      `if (c.pcLo !== pc0 || c.pcHi !== pcHi || c.evt !== 0 || c.fLo === 1 || i0 + ${2 * n} > end) return;`,
      `i0 += ${n};`, '}'].join('\n');
  }

  /** Whether the block ends with a PC-relative branch back to its first instruction. */
  private loopsToStart(d: Int32Array, k: number, n: number): boolean {
    const i = (k + n - 1) << 2, op = d[i], a = d[i + 2], back = -4 * (n - 1);
    if (op === 25 /* B */) return a === back && d[i + 3] === a >> 31;
    return (op === 27 /* BCOND */ || op === 28 /* CBZ */ || op === 29 /* TBZ */) && a === back;
  }

  private compile(d: Int32Array, k: number, n: number): Block {
    const body = this.source(d, k, n);
    const make = new Function('H', 'add64', 'lsl64', 'lsr64', 'asr64', `return function block(c, pc0, pcHi, end) {\n${body}\n};`);
    this.stats.blocks++;
    this.stats.compiledInsns += n;
    return make(H, add64, lsl64, lsr64, asr64) as Block;
  }
}

function newPage(dec: Int32Array): PageBlocks {
  return { dec, count: new Int32Array(SLOTS), len: new Int16Array(SLOTS), fns: new Array<Block | undefined>(SLOTS).fill(undefined) };
}

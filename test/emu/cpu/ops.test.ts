// The operation table (emu/cpu/ops.ts) agrees with the decoder, the interpreter and the block
// compiler: every example word decodes to its operation through the pattern the table names;
// random words decode only to table operations and fill only the fields the table lists; the
// interpreter's switch has a case for every operation, each literal label naming the right one;
// every operation has a compiler template or an "interpreted only" reason; generated code touches
// the vCPU only through the JitCpu interface.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decode, patternName } from '../../../emu/cpu/decode.ts';
import { JIT_CPU_MEMBERS, X_METHODS } from '../../../emu/cpu/jit-cpu.ts';
import { TEMPLATES } from '../../../emu/cpu/jit-ops.ts';
import { LS, OP, OPS, pack, slotA, slotD, slotM, slotN, variant, type OpInfo, type OpName } from '../../../emu/cpu/ops.ts';

const NAMES = Object.keys(OPS) as OpName[];
const BY_ID = new Map<number, OpName>(NAMES.map((n) => [OPS[n].id, n]));
const source = (file: string): string => readFileSync(new URL(`../../../emu/cpu/${file}`, import.meta.url), 'utf8');

/** Whether the table says the operation uses part `part` (d n m a x) of p. */
const uses = (name: OpName, part: string): boolean => new RegExp(`(^| )${part}($| |=)`).test(OPS[name].p);

/** Deterministic words: every example, then xorshift32 from a fixed seed. */
function corpus(n: number): number[] {
  const words = NAMES.map((name) => OPS[name].eg[0] | 0);
  let s = 0x2545f491;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    words.push(s | 0);
  }
  return words;
}

/** `case N /* NAME *\/` labels in a source fragment, as [N, NAME]. */
function labels(fragment: string): [number, string][] {
  return [...fragment.matchAll(/case (\d+) \/\* ([A-Z0-9_]+) \*\//g)].map((m) => [Number(m[1]), m[2]!]);
}

describe('operation table', () => {
  it('names each id once, and OP is the table by name', () => {
    expect(new Set(NAMES.map((n) => OPS[n].id)).size).toBe(NAMES.length);
    expect(OP.UNDECODED).toBe(0);
    expect(BY_ID.has(0)).toBe(false);
    for (const n of NAMES) expect(OP[n]).toBe(OPS[n].id);
  });

  it("each operation's example decodes to it, through the pattern the table names", () => {
    for (const name of NAMES) {
      const { eg, id, pattern } = OPS[name];
      expect(decode(eg[0] | 0).op, `${name}: ${eg[1]}`).toBe(id);
      if (pattern !== '') expect(patternName(eg[0] | 0), `${name}: ${eg[1]}`).toBe(pattern);
    }
  });

  it('decoded words hold only the fields the table lists for their operation', () => {
    const seen = new Set<number>();
    const wrong: string[] = [];
    for (const w of corpus(200_000)) {
      const f = decode(w);
      const name = BY_ID.get(f.op);
      const at = `0x${(w >>> 0).toString(16)}`;
      if (name === undefined) {
        wrong.push(`${at}: op ${f.op} is not in the table`);
        continue;
      }
      seen.add(f.op);
      const info = OPS[name];
      const unused: [string, number][] = [
        ['d', uses(name, 'd') ? 0 : slotD(f.p)],
        ['n', uses(name, 'n') ? 0 : slotN(f.p)],
        ['m', uses(name, 'm') ? 0 : slotM(f.p)],
        ['a slot', uses(name, 'a') ? 0 : slotA(f.p)],
        ['x', uses(name, 'x') ? 0 : variant(f.p)],
        ['a', info.a === '' ? f.a : 0],
        ['b', info.b === '' ? f.b : 0],
      ];
      for (const [part, v] of unused) if (v !== 0) wrong.push(`${at} (${name}): ${part} = ${v}, the table says unused`);
    }
    expect(wrong.slice(0, 10)).toEqual([]);
    expect([...seen].sort((a, b) => a - b)).toEqual(NAMES.map((n) => OPS[n].id).sort((a, b) => a - b));
  });
});

describe('interpreter', () => {
  it('has a case for every operation (UNDEF: the default), each literal label naming its operation', () => {
    const src = source('cpu.ts');
    const start = src.indexOf('switch (op) {');
    const body = src.slice(start, src.indexOf('default: this.undefined(); break;', start));
    const found = labels(body);
    for (const [id, name] of found) expect(OP[name as OpName], `case ${id} /* ${name} */`).toBe(id);
    const covered = new Set(found.map(([, name]) => name));
    expect(NAMES.filter((n) => !covered.has(n))).toEqual(['UNDEF']);
    expect(covered.size).toBe(found.length);
  });

  it('reads the fields of p inline with the layout of ops.ts (slot d, n, m, a; variant x)', () => {
    // the interpreter does not call slotN() and co. (see ops.ts): its literal reads must match them
    const p = pack(2, 4, 6, 8, 9);
    expect([slotD(p), slotN(p), slotM(p), slotA(p), variant(p)]).toEqual([2, 4, 6, 8, 9]);
    const reads = ['cpu.ts', 'alu.ts', 'loadstore.ts'].flatMap((f) =>
      [...source(f).matchAll(/\(p >>> (\d+)\) & (\d+)|p >>> (\d+)|p & (\d+)/g)].map((m) => m[0]),
    );
    expect(reads.length).toBeGreaterThan(60);
    const layout = new Set([
      'p & 127',
      '(p >>> 7) & 127',
      '(p >>> 14) & 127',
      '(p >>> 21) & 127',
      'p >>> 28',
      '(p >>> 28) & 1',
      '(p >>> 28) & 3',
      '(p >>> 29) & 1',
      'p >>> 30',
    ]);
    expect(reads.filter((r) => !layout.has(r))).toEqual([]);
  });

  it("ldst's access-type labels name the LS types", () => {
    const src = source('loadstore.ts');
    const start = src.indexOf('protected ldst(');
    const found = labels(src.slice(start, src.indexOf('default: break; // PRFM', start)));
    for (const [id, name] of found) expect(LS[name as keyof typeof LS], `case ${id} /* ${name} */`).toBe(id);
    expect(found.map(([, name]) => name)).toEqual(Object.keys(LS).filter((n) => n !== 'PRFM'));
  });
});

describe('block compiler', () => {
  it('has a template for every operation not marked interpreted-only, and none for the others', () => {
    for (const name of NAMES) {
      const info: OpInfo = OPS[name];
      expect(TEMPLATES[OPS[name].id] !== undefined, name).toBe(info.interpretedOnly === undefined);
    }
    expect(
      Object.keys(TEMPLATES)
        .map(Number)
        .filter((id) => !BY_ID.has(id)),
    ).toEqual([]);
  });

  it('generated code uses the vCPU only through JitCpu, and calls X-touching handlers by their listed names', () => {
    const members = new Set<string>(JIT_CPU_MEMBERS);
    const used = new Set<string>(),
      unlisted = new Set<string>();
    for (const w of corpus(100_000)) {
      const f = decode(w);
      const code = TEMPLATES[f.op]?.code({ p: f.p, a: f.a, b: f.b, pc: 'pc0' });
      if (code === undefined) continue;
      for (const m of code.matchAll(/\bc\.(\w+)/g)) used.add(m[1]!);
      for (const m of code.matchAll(/\bc\.(\w+)\(/g)) {
        // a handler that reads or writes X must be listed, so the block keeps its registers in X
        if (!(X_METHODS as readonly string[]).includes(m[1]!) && !/^(rd|wr)\d+$|^branchTo$|^clearExclusive$/.test(m[1]!))
          unlisted.add(m[1]!);
      }
    }
    expect([...used].filter((m) => !members.has(m))).toEqual([]);
    expect([...unlisted]).toEqual([]);
  });
});

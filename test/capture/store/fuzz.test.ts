// Fuzzing the trace reader (fast-check, fixed seed, a bounded number of cases): a good trace cut
// at random offsets, with bytes flipped, pages overwritten with junk or zeros, and files that are
// not traces at all. Whatever the file, opening it either fails with one TraceError line naming it,
// or gives a reader whose every read (verify, events, info, summary, SQL) completes, reporting each
// damaged chunk as one line; nothing else is ever thrown.
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { openTrace, runSql, TraceError, type TraceReader } from '../../../capture/store/index.ts';
import { bootMixPool } from '../../../bench/boot-mix.ts';
import { everyKind, tmpDir, writeEvents } from './helpers.ts';

const dir = tmpDir();
const RUNS = 200;
const SEED = 20261207;
let good: Buffer;

beforeAll(() => {
  const f = path.join(dir, 'good.trace');
  writeEvents(f, [...everyKind(), ...bootMixPool(4000)], { chunkEvents: 500 });
  good = readFileSync(f);
});

type Damage =
  | { kind: 'cut'; at: number }
  | { kind: 'flip'; flips: [number, number][] }
  | { kind: 'page'; page: number; fill: number[] | 'zero' }
  | { kind: 'junk'; bytes: Uint8Array }
  | { kind: 'text'; text: string };

const damage: fc.Arbitrary<Damage> = fc.oneof(
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('flip' as const),
    flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 16 }),
  }),
  fc.record({
    kind: fc.constant('page' as const),
    page: fc.nat(),
    fill: fc.oneof(fc.constant('zero' as const), fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 64 })),
  }),
  fc.record({ kind: fc.constant('junk' as const), bytes: fc.uint8Array({ maxLength: 9000 }) }),
  fc.record({ kind: fc.constant('text' as const), text: fc.string({ maxLength: 300 }) }),
);

function damaged(d: Damage): Buffer {
  const b = Buffer.from(good);
  switch (d.kind) {
    case 'cut':
      return b.subarray(0, d.at % (b.length + 1));
    case 'flip':
      for (const [at, x] of d.flips) b[at % b.length]! ^= x;
      return b;
    case 'page': {
      const pages = b.length / 4096;
      const start = (d.page % pages) * 4096;
      for (let i = 0; i < 4096; i++) b[start + i] = d.fill === 'zero' ? 0 : d.fill[i % d.fill.length]!;
      return b;
    }
    case 'junk':
      return Buffer.from(d.bytes);
    case 'text':
      return Buffer.from(d.text, 'utf8');
  }
}

function expectOneLineTraceError(e: unknown, file: string): void {
  expect(e).toBeInstanceOf(TraceError);
  expect((e as Error).message).not.toContain('\n');
  expect((e as Error).message.startsWith(`${file}: `)).toBe(true);
}

/** Every read a command does; only TraceErrors (SQL over damaged pages) may come out. */
function readEverything(r: TraceReader, file: string): void {
  const guard = (fn: () => void) => {
    try {
      fn();
    } catch (e) {
      expectOneLineTraceError(e, file);
    }
  };
  guard(() => void r.verify());
  guard(() => {
    let last = -1;
    for (const e of r.events()) {
      expect(e.seq).toBeGreaterThan(last);
      last = e.seq;
    }
  });
  guard(() => void r.info());
  guard(() => void r.summary);
  guard(() => void runSql(r, 'SELECT kind, count(*), max(time) FROM events GROUP BY kind'));
  guard(() => void r.forEachEvent({ kinds: ['console', 'mmio_write'] }, () => {}));
  for (const p of r.problems) expect(p).not.toContain('\n');
}

describe('trace reader fuzz (fast-check, fixed seed)', () => {
  it('damaged and foreign files: one-line errors or readable with named damage', () => {
    let n = 0;
    fc.assert(
      fc.property(damage, (d) => {
        const file = path.join(dir, `fuzz-${n++}.trace`);
        writeFileSync(file, damaged(d));
        let r: TraceReader;
        try {
          r = openTrace(file);
        } catch (e) {
          expectOneLineTraceError(e, file);
          return;
        }
        try {
          readEverything(r, file);
        } finally {
          r.close();
        }
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });
});

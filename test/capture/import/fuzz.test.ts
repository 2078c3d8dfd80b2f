// Fuzzing the importers (fast-check, fixed seed, a bounded number of cases): real QEMU log and
// KVM ftrace lines with their numbers replaced (huge, negative, megabytes of digits), random bytes
// spliced in, lines cut, CRLF, no final newline, whole files of junk; simpletrace files with random
// argument values, flipped bytes and cuts. Whatever the input, an import either succeeds — a trace
// that verifies, every line accounted for — or fails with one ImportError/TraceError line naming the
// input, and leaves nothing at the output path. Never another exception, never a half-written file.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { importFile } from '../../../capture/import/index.ts';
import { openTrace } from '../../../capture/store/index.ts';
import type { ImportFormat } from '../../../capture/import/detect.ts';
import { tmp } from './helpers.ts';
import { writeSimpleTrace, type SimpleRecord } from './simpletrace-writer.ts';
import { DEFAULT_TRACE_EVENTS, loadTraceEvents } from '../../../capture/import/trace-events.ts';

const FIXTURES = join(import.meta.dirname, '../../fixtures');
const RUNS = 200;
const SEED = 20261207;

function seedLines(gz: string, n: number): string[] {
  return gunzipSync(readFileSync(gz)).toString('latin1').split('\n').filter(Boolean).slice(0, n);
}
const QEMU = seedLines(join(FIXTURES, 'qemu/linux-gicv3-smp2.prefix.log.gz'), 400);
const FTRACE = seedLines(join(FIXTURES, 'kvm/nvhe-smp2.head.txt.gz'), 400);

/** A replacement for a number in a line: ordinary, at the edges, or absurd. */
const number = fc.oneof(
  fc.bigInt({ min: 0n, max: 2n ** 64n + 5n }).map((v) => `0x${v.toString(16)}`),
  fc.bigInt({ min: 2n ** 52n, max: 2n ** 80n }).map((v) => `0x${v.toString(16)}`),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 }).map(String),
  fc.bigInt({ min: 0n, max: 10n ** 25n }).map(String),
  fc.integer({ min: 1, max: 4000 }).map((n) => '0x' + '9'.repeat(n)),
  fc.constantFrom('', '-', '0x', 'NaN', '1e999', '０x１'),
);

type Mutation = { at: number; kind: 'number'; with: string } | { at: number; kind: 'bytes'; bytes: number[] } | { at: number; kind: 'cut' };
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ at: fc.nat(), kind: fc.constant('number' as const), with: number }),
  fc.record({ at: fc.nat(), kind: fc.constant('bytes' as const), bytes: fc.array(fc.integer({ min: 1, max: 255 }), { maxLength: 8 }) }),
  fc.record({ at: fc.nat(), kind: fc.constant('cut' as const) }),
);

function mutate(line: string, muts: Mutation[]): string {
  for (const m of muts) {
    if (m.kind === 'number') {
      const nums = [...line.matchAll(/0x[0-9a-fA-F]+|\d+/g)];
      if (!nums.length) continue;
      const hit = nums[m.at % nums.length]!;
      line = line.slice(0, hit.index) + m.with + line.slice(hit.index + hit[0].length);
    } else if (m.kind === 'bytes') {
      const p = m.at % (line.length + 1);
      line = line.slice(0, p) + String.fromCharCode(...m.bytes.map((b) => (b === 10 || b === 13 ? 32 : b))) + line.slice(p);
    } else line = line.slice(0, m.at % (line.length + 1));
  }
  return line;
}

/** A text file from seed lines: each line maybe mutated; LF or CRLF; maybe no final newline. */
function textFile(seeds: string[]) {
  return fc.oneof(
    {
      weight: 9,
      arbitrary: fc
        .record({
          lines: fc.array(fc.record({ seed: fc.nat(seeds.length - 1), muts: fc.array(mutation, { maxLength: 3 }) }), {
            minLength: 1,
            maxLength: 30,
          }),
          crlf: fc.boolean(),
          finalNewline: fc.boolean(),
        })
        .map(({ lines, crlf, finalNewline }) => {
          const eol = crlf ? '\r\n' : '\n';
          return Buffer.from(lines.map((l) => mutate(seeds[l.seed]!, l.muts)).join(eol) + (finalNewline ? eol : ''), 'latin1');
        }),
    },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 512 }).map((a) => Buffer.from(a)) },
  );
}

let n = 0;

/** The property every import must have, whatever `input` holds. */
async function importBehaves(input: string, format: ImportFormat | undefined): Promise<void> {
  const output = join(tmp, `fuzz-out-${n}.trace`);
  let result: Awaited<ReturnType<typeof importFile>> | undefined;
  let error: unknown;
  try {
    result = await importFile({ input, output, format });
  } catch (e) {
    error = e;
  }
  const leftovers = readdirSync(tmp).filter((f) => f.startsWith(`fuzz-out-${n}.trace`) && f !== `fuzz-out-${n}.trace`);
  expect(leftovers).toEqual([]);
  if (error !== undefined) {
    expect(error).toBeInstanceOf(Error);
    const e = error as Error;
    expect(['ImportError', 'TraceError']).toContain(e.name);
    expect(e.message).not.toContain('\n');
    expect(e.message.startsWith(input)).toBe(true);
    expect(existsSync(output)).toBe(false);
    return;
  }
  expect(result!.accounted).toBe(true);
  const r = openTrace(output);
  try {
    expect(r.verify()).toEqual([]);
    expect(r.complete).toBe(true);
    let events = 0;
    for (const e of r.events()) {
      events++;
      expect(e.vcpu).toBeGreaterThanOrEqual(-1);
    }
    expect(events).toBe(result!.events);
  } finally {
    r.close();
  }
}

describe('importer fuzz (fast-check, fixed seed)', () => {
  for (const [format, seeds] of [
    ['qemu-log', QEMU],
    ['ftrace', FTRACE],
  ] as const) {
    it(`${format}: mutated real lines import or fail with one line, never half-written`, async () => {
      await fc.assert(
        fc.asyncProperty(textFile(seeds), fc.boolean(), async (bytes, detect) => {
          const input = join(tmp, `fuzz-in-${++n}.log`);
          writeFileSync(input, bytes);
          await importBehaves(input, detect ? undefined : format);
        }),
        { numRuns: RUNS, seed: SEED },
      );
    });
  }

  it('qemu-simple: random records, flipped bytes and cuts', async () => {
    const EVENTS = ['pl011_write', 'pl011_read', 'gic_set_irq', 'memory_region_ops_write', 'arm_gt_cval_write', 'gicv3_redist_write'];
    const record = fc.record({
      name: fc.constantFrom(...EVENTS),
      ns: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
      args: fc.array(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), { minLength: 6, maxLength: 6 }),
    });
    const defs = loadTraceEvents(DEFAULT_TRACE_EVENTS);
    const damage = fc.record({
      flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { maxLength: 4 }),
      cut: fc.option(fc.nat(), { nil: undefined }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(record, { minLength: 1, maxLength: 20 }), damage, async (recs, d) => {
        const input = join(tmp, `fuzz-in-${++n}.simpletrace`);
        const records: SimpleRecord[] = recs.map((r) => ({
          name: r.name,
          ns: r.ns,
          args: defs.get(r.name)!.args.map((a, i) => (a.isString ? 'mr' : r.args[i]!)),
        }));
        writeSimpleTrace(input, records);
        let b = readFileSync(input);
        for (const [at, x] of d.flips) b[24 + (at % Math.max(1, b.length - 24))]! ^= x; // past the header, mostly
        if (d.cut !== undefined) b = b.subarray(0, d.cut % (b.length + 1));
        writeFileSync(input, b);
        await importBehaves(input, 'qemu-simple');
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });
});

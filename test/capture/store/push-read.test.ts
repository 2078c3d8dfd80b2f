// TraceReader.forEachEvent (the push-based read the replay engine uses) against events(), in
// thread and with the experimental decoding worker (decodeAhead), and the bigint cache behind both.

import { describe, it, expect } from 'vitest';
import path from 'node:path';
import zlib from 'node:zlib';
import Database from 'better-sqlite3';
import { ChunkCursor, openTrace } from '../../../capture/store/index.ts';
import { bigU64 } from '../../../capture/store/chunk-events.ts';
import { joinU64 } from '../../../capture/store/bytes.ts';
import { KIND_CODE, type EventFilter, type NewEvent, type TraceEvent } from '../../../capture/model.ts';
import { bootMixPool } from '../../../bench/boot-mix.ts';
import { corruptChunk, everyKind, plain, tmpDir, writeEvents } from './helpers.ts';

const dir = tmpDir();

/** Every kind, with and without pc (and src_line unless noSrc), among boot-mix events, over many chunks. */
function mixed(noSrc = false): NewEvent[] {
  const out: NewEvent[] = [];
  const pool = bootMixPool(6000);
  let t = 0;
  for (let i = 0; i < pool.length; i++) {
    out.push({ ...pool[i]!, time: (t += 3) } as NewEvent);
    if (i % 97 === 0) {
      for (const [j, e] of everyKind(t).entries()) {
        const x = { ...e, time: (t += 1) } as NewEvent & { pc?: bigint; src_line?: number };
        delete x.pc;
        delete x.src_line;
        if ((i + j) % 2) x.pc = 0xffff800008000000n + BigInt(i * 4 + j);
        if ((i + j) % 3 === 0 && !noSrc) x.src_line = i + j;
        out.push(x);
      }
    }
  }
  return out;
}

const file = path.join(dir, 'push.trace');
writeEvents(file, mixed(), { chunkEvents: 1000 });
// No source lines anywhere: chunks go through the other (smaller) generated walker.
const fileNoSrc = path.join(dir, 'push-nosrc.trace');
writeEvents(fileNoSrc, mixed(true), { chunkEvents: 1000 });

function pushed(f: EventFilter, at = file, decodeAhead?: boolean): { events: TraceEvent[]; codes: boolean } {
  const r = openTrace(at, decodeAhead === undefined ? {} : { decodeAhead });
  const events: TraceEvent[] = [];
  let codes = true;
  r.forEachEvent(f, (e, code) => {
    events.push(e);
    if (code !== KIND_CODE[e.kind]) codes = false;
  });
  r.close();
  return { events, codes };
}

/** Every event through ChunkCursor (the per-event makers, not the chunk walker). */
function viaCursor(at: string): TraceEvent[] {
  const r = openTrace(at);
  const out: TraceEvent[] = [];
  for (const c of r.scan()) {
    const cur = new ChunkCursor(c);
    while (!cur.done) out.push(cur.next());
  }
  r.close();
  return out;
}

function pulled(f: EventFilter, at = file): TraceEvent[] {
  const r = openTrace(at);
  const evs = [...r.events(f)];
  r.close();
  return evs;
}

describe('TraceReader.forEachEvent', () => {
  const filters: EventFilter[] = [
    {},
    { fromSeq: 1234, toSeq: 4321 },
    { fromSeq: 999 },
    { toSeq: 1001 },
    { kinds: ['console', 'mmio_write', 'timer'] },
    { devices: ['gic-cpu@8010000'] },
    { vcpus: [1], fromTime: 100, toTime: 9000 },
  ];
  for (const [f, decodeAhead] of filters.flatMap(
    (f) =>
      [
        [f, false],
        [f, true],
      ] as const,
  )) {
    it(`gives the events events() gives, same objects' shape and key order: ${JSON.stringify(f)}${decodeAhead ? ', decoding on a worker' : ''}`, () => {
      const want = pulled(f);
      const got = pushed(f, file, decodeAhead);
      expect(got.codes).toBe(true);
      expect(got.events.length).toBe(want.length);
      expect(got.events.length).toBeGreaterThan(0);
      // JSON keeps key order: pc and src_line after the kind's fields, as they always were.
      expect(got.events.map((e) => JSON.stringify(plain(e)))).toEqual(want.map((e) => JSON.stringify(plain(e))));
      expect(got.events.map((e) => Object.keys(e).join())).toEqual(want.map((e) => Object.keys(e).join()));
    });
  }

  it.each([false, true])('gives the events events() gives on a trace without source lines (worker: %s)', (decodeAhead) => {
    const want = pulled({}, fileNoSrc);
    const got = pushed({}, fileNoSrc, decodeAhead);
    expect(got.codes).toBe(true);
    expect(want.some((e) => e.src_line !== undefined)).toBe(false);
    expect(want.filter((e) => e.pc !== undefined).length).toBeGreaterThan(1000);
    expect(got.events.map((e) => JSON.stringify(plain(e)))).toEqual(want.map((e) => JSON.stringify(plain(e))));
    expect(got.events.map((e) => Object.keys(e).join())).toEqual(want.map((e) => Object.keys(e).join()));
  });

  it.each([file, fileNoSrc])('builds the events ChunkCursor builds, key order included (%s)', (at) => {
    const want = viaCursor(at);
    const got = pushed({}, at).events;
    expect(got.length).toBe(want.length);
    expect(got.map((e) => JSON.stringify(plain(e)))).toEqual(want.map((e) => JSON.stringify(plain(e))));
    expect(got.map((e) => Object.keys(e).join())).toEqual(want.map((e) => Object.keys(e).join()));
  });

  it('keeps the key order JSON output has always had: common fields, kind fields, pc, src_line', () => {
    const keys = new Set(
      pushed({})
        .events.filter((e) => e.kind === 'timer')
        .map((e) => Object.keys(e).join()),
    );
    expect([...keys].sort()).toEqual([
      'seq,time,vcpu,kind,timer,op,value',
      'seq,time,vcpu,kind,timer,op,value,pc',
      'seq,time,vcpu,kind,timer,op,value,pc,src_line',
      'seq,time,vcpu,kind,timer,op,value,src_line',
    ]);
  });

  it('hands out independent event objects', () => {
    const { events } = pushed({ toSeq: 3000 });
    expect(new Set(events).size).toBe(events.length);
    events[0]!.time = -1;
    expect(events[1]!.time).not.toBe(-1);
  });

  it.each([false, true])(
    'skips a chunk whose field stream fails to decode, whole, and reports it like events() (worker: %s)',
    (decodeAhead) => {
      const bad = path.join(dir, `push-bad-${decodeAhead}.trace`);
      writeEvents(bad, bootMixPool(10_000), { chunkEvents: 2000 });
      const db = new Database(bad);
      const row = db.prepare('SELECT data FROM chunk_data WHERE id = 2').get() as { data: Buffer };
      const raw = Buffer.from(zlib.zstdDecompressSync(row.data));
      const at = raw.indexOf('register:str') + 'register:str'.length;
      let p = at;
      while (raw[p]! & 0x80) p++;
      raw[p + 1] = 0; // an empty dictionary: every index is out of range
      const frame = zlib.zstdCompressSync(raw);
      db.prepare('UPDATE chunk_data SET data = ? WHERE id = 2').run(frame);
      db.prepare('UPDATE chunks SET crc32 = ?, zst_bytes = ? WHERE id = 2').run(zlib.crc32(frame), frame.length);
      db.close();
      const r = openTrace(bad, { decodeAhead });
      const seqs: number[] = [];
      r.forEachEvent({}, (e) => seqs.push(e.seq));
      expect(seqs.length).toBe(8000);
      expect(seqs.some((s) => s >= 4000 && s < 6000)).toBe(false);
      expect(r.problems).toHaveLength(1);
      expect(r.problems[0]).toMatch(/chunk 2: cannot decode: .* \(events 4000\.\.5999\) skipped$/);
      r.close();
      expect(seqs).toEqual(pulled({}, bad).map((e) => e.seq));
    },
  );
});

describe('forEachEvent decoding on a worker thread', () => {
  it('reports a corrupt chunk once, skips it, and reads the rest', () => {
    const f = path.join(dir, 'push-corrupt.trace');
    writeEvents(f, bootMixPool(20_000), { chunkEvents: 2000 });
    corruptChunk(f, 3);
    const seen: string[] = [];
    const r = openTrace(f, { decodeAhead: true, onProblem: (_p, text) => seen.push(text) });
    let n = 0;
    let last = -1;
    let ordered = true;
    r.forEachEvent({}, (e) => {
      n++;
      if (e.seq <= last || (e.seq >= 6000 && e.seq < 8000)) ordered = false;
      last = e.seq;
    });
    expect(n).toBe(18_000);
    expect(ordered).toBe(true);
    expect(seen).toEqual([`${f}: chunk 3: checksum mismatch (chunk is corrupt) (events 6000..7999) skipped`]);
    // The second read meets the same problem without reporting it again.
    r.forEachEvent({ fromSeq: 5000, toSeq: 9000 }, () => n++);
    expect(n).toBe(18_000 + 2000);
    expect(seen).toHaveLength(1);
    r.close();
  });

  it('stops the worker when the callback throws, and the reader stays usable', () => {
    const r = openTrace(file, { decodeAhead: true });
    let n = 0;
    expect(() =>
      r.forEachEvent({}, () => {
        if (++n === 2500) throw new Error('stop here');
      }),
    ).toThrow('stop here');
    const again: number[] = [];
    r.forEachEvent({ toSeq: 3000 }, (e) => again.push(e.seq));
    expect(again).toEqual([...Array(3000).keys()]);
    r.close();
  });
});

describe('bigU64', () => {
  it('gives the value joinU64 gives, for small, repeated and colliding values', () => {
    let x = 0x12345678;
    const rnd = () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0);
    const pairs: [number, number][] = [
      [0, 0],
      [1, 0],
      [1023, 0],
      [1024, 0],
      [0xffffffff, 0xffffffff],
      [0, 1],
      [0x08000000, 0xffff8000],
    ];
    for (let i = 0; i < 20_000; i++) pairs.push([rnd(), i % 3 ? rnd() : 0]);
    for (let i = 0; i < 2000; i++) pairs.push(pairs[(i * 7919) % pairs.length]!);
    for (const [lo, hi] of pairs) expect(bigU64(lo, hi)).toBe(joinU64(lo, hi));
  });
});

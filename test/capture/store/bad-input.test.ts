import { describe, it, expect } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import Database from 'better-sqlite3';
import { openTrace, TraceError } from '../../../capture/store/index.ts';
import { SCHEMA_VERSION } from '../../../capture/model.ts';
import { bootMixPool } from '../../../bench/boot-mix.ts';
import { corruptChunk, tmpDir, writeEvents } from './helpers.ts';

const dir = tmpDir();

function fails(file: string, msg: string | RegExp): void {
  let err: unknown;
  try {
    openTrace(file).close();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(TraceError);
  expect((err as Error).message).toMatch(msg);
  expect((err as Error).message.startsWith(`${file}: `)).toBe(true);
  expect((err as Error).message).not.toContain('\n');
}

function goodTrace(name: string, n = 20_000, chunkEvents = 2000): string {
  const file = path.join(dir, name);
  writeEvents(file, bootMixPool(n), { chunkEvents });
  return file;
}

describe('files that are not traces', () => {
  it('a missing file', () => fails(path.join(dir, 'nope.trace'), /: no such file$/));
  it('an empty file', () => {
    const f = path.join(dir, 'empty.trace');
    fs.writeFileSync(f, '');
    fails(f, /empty file, not a bootscope trace/);
  });
  it('a file that is not SQLite', () => {
    const f = path.join(dir, 'text.trace');
    fs.writeFileSync(f, 'qemu_vmcall 1 2 3\n'.repeat(100));
    fails(f, /not a SQLite database \(no SQLite header at offset 0\), so not a bootscope trace/);
  });
  it('SQLite that is not a bootscope trace', () => {
    const f = path.join(dir, 'other.db');
    const db = new Database(f);
    db.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1)');
    db.close();
    fails(f, /SQLite database, but not a bootscope trace \(no meta table\)/);
    const g = path.join(dir, 'other-meta.db');
    const db2 = new Database(g);
    db2.exec(`CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT); INSERT INTO meta VALUES ('format', '"something-else"')`);
    db2.close();
    fails(g, /SQLite database, but not a bootscope trace \(meta format is "something-else"\)/);
  });
  it('a directory', () => fails(dir, /: is a directory, not a trace file$/));
  it('a trace whose metadata is damaged', () => {
    const f = goodTrace('bad-meta.trace', 100);
    const db = new Database(f);
    db.prepare("UPDATE meta SET value = '{oops' WHERE key = 'clock'").run();
    db.close();
    fails(f, /meta value 'clock' is not valid JSON/);
    const g = goodTrace('no-version.trace', 100);
    const db2 = new Database(g);
    db2.prepare("DELETE FROM meta WHERE key = 'schema_version'").run();
    db2.close();
    fails(g, /trace has no schema version/);
    const h = goodTrace('no-chunks.trace', 100);
    const db3 = new Database(h);
    db3.exec('DROP TABLE chunks');
    db3.close();
    fails(h, /bootscope trace without a chunks table \(damaged\)/);
  });
  it('a trace from a newer schema version', () => {
    const f = goodTrace('newer.trace', 100);
    const db = new Database(f);
    db.prepare("UPDATE meta SET value = ? WHERE key = 'schema_version'").run(String(SCHEMA_VERSION + 1));
    db.close();
    fails(
      f,
      new RegExp(
        `trace schema version ${SCHEMA_VERSION + 1} is newer than this bootscope supports \\(${SCHEMA_VERSION}\\); upgrade bootscope`,
      ),
    );
  });
});

describe('damaged traces', () => {
  it('a truncated file', () => {
    const f = goodTrace('truncated.trace');
    const size = fs.statSync(f).size;
    fs.truncateSync(f, Math.floor(size / 2 / 4096) * 4096);
    fails(f, /truncated: the SQLite header says \d+ bytes, the file has \d+/);
    const g = goodTrace('truncated-odd.trace');
    fs.truncateSync(g, fs.statSync(g).size - 100);
    fails(g, /truncated: /);
    const h = goodTrace('truncated-header.trace');
    fs.truncateSync(h, 50);
    fails(h, /truncated: 50 bytes, shorter than the 100-byte SQLite header/);
  });

  it('a corrupt chunk is reported and skipped, the rest stays readable', () => {
    const f = goodTrace('corrupt.trace');
    corruptChunk(f, 3);
    const seen: string[] = [];
    const r = openTrace(f, { onProblem: (_p, text) => seen.push(text) });
    const evs = [...r.events()];
    expect(evs.length).toBe(18_000);
    expect(evs.some((e) => e.seq >= 6000 && e.seq < 8000)).toBe(false);
    expect(evs[evs.length - 1]!.seq).toBe(19_999);
    expect(seen).toEqual([`${f}: chunk 3: checksum mismatch (chunk is corrupt) (events 6000..7999) skipped`]);
    expect(r.problems).toEqual(seen);
    expect(r.event(6500)).toBeUndefined();
    expect(r.event(8500)!.seq).toBe(8500);
    expect(r.info().problems).toHaveLength(1);
    r.close();
  });

  it('a chunk whose payload decodes badly is reported too (checksum kept valid)', async () => {
    const f = goodTrace('undecodable.trace');
    const zlib = await import('node:zlib');
    const db = new Database(f);
    const payload = Buffer.from('BSC2 this is not a chunk');
    const garbage = zlib.zstdCompressSync(payload);
    db.prepare('UPDATE chunk_data SET data = ? WHERE id = 1').run(garbage);
    db.prepare('UPDATE chunks SET crc32 = ?, zst_bytes = ?, raw_bytes = ? WHERE id = 1').run(
      zlib.crc32(garbage),
      garbage.length,
      payload.length,
    );
    db.close();
    const r = openTrace(f);
    expect(r.verify()).toHaveLength(1);
    expect(r.problems[0]).toMatch(/chunk 1: cannot decode: .*\(events 2000\.\.3999\) skipped$/);
    expect([...r.events()].length).toBe(18_000);
    r.close();
  });
});

describe('a field stream that fails to decode (checksum valid)', () => {
  it('is found by verify() and skipped by events(), with a problem reported', async () => {
    const f = goodTrace('bad-stream.trace');
    const zlib = await import('node:zlib');
    const db = new Database(f);
    const row = db.prepare('SELECT data FROM chunk_data WHERE id = 2').get() as { data: Buffer };
    const raw = Buffer.from(zlib.zstdDecompressSync(row.data));
    // The register stream: name, byte length, then its dictionary size; claim an empty dictionary.
    const at = raw.indexOf('register:str') + 'register:str'.length;
    let p = at;
    while (raw[p]! & 0x80) p++;
    raw[p + 1] = 0;
    const frame = zlib.zstdCompressSync(raw);
    db.prepare('UPDATE chunk_data SET data = ? WHERE id = 2').run(frame);
    db.prepare('UPDATE chunks SET crc32 = ?, zst_bytes = ? WHERE id = 2').run(zlib.crc32(frame), frame.length);
    db.close();
    const lazy = openTrace(f);
    const evs = [...lazy.events()];
    expect(evs.length).toBe(18_000);
    expect(lazy.problems).toHaveLength(1);
    expect(lazy.problems[0]).toMatch(/chunk 2: cannot decode: .* \(events 4000\.\.5999\) skipped$/);
    lazy.close();
    const eager = openTrace(f);
    expect(eager.verify().map((p) => p.chunk)).toEqual([2]);
    eager.close();
  });
});

function runChild(file: string, mode: 'pause' | 'stream', n: number, wait: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '--experimental-strip-types',
        '--disable-warning=ExperimentalWarning',
        path.join(import.meta.dirname, 'writer-child.ts'),
        file,
        mode,
        String(n),
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes(wait)) child.kill('SIGKILL');
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (_code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`child exited: ${err}`))));
  });
}

describe('a writer killed mid-run', () => {
  it('leaves a trace readable up to its last committed chunk, reported as incomplete', async () => {
    const f = path.join(dir, 'killed.trace');
    await runChild(f, 'pause', 5500, 'paused');
    const r = openTrace(f);
    expect(r.complete).toBe(false);
    const evs = [...r.events()];
    expect(evs.length).toBe(5000);
    expect(evs.map((e) => e.seq)).toEqual([...Array(5000).keys()]);
    const info = r.info();
    expect(info.incomplete).toBe('the writer did not finish (killed or crashed): readable up to chunk 4, event 4999');
    expect(info.digest).toBeUndefined();
    expect(info.counts.origin).toBe('scanned');
    expect(Object.values(info.counts.kinds).reduce((a, b) => a + b, 0)).toBe(5000);
    expect(r.summary.eventCount).toBe(5000);
    r.close();
  });

  it('killed while streaming: every committed chunk reads back whole', async () => {
    const f = path.join(dir, 'killed-stream.trace');
    await runChild(f, 'stream', 20_000, 'streaming');
    const r = openTrace(f);
    expect(r.complete).toBe(false);
    expect(r.verify()).toEqual([]);
    const n = r.eventCount;
    expect(n).toBeGreaterThanOrEqual(19_000);
    expect(n % 1000).toBe(0);
    let i = 0;
    for (const e of r.events()) expect(e.seq).toBe(i++);
    expect(i).toBe(n);
    r.close();
  });

  it('killed before the first chunk: opens, empty, incomplete', async () => {
    const f = path.join(dir, 'killed-early.trace');
    await runChild(f, 'pause', 10, 'paused');
    const r = openTrace(f);
    expect(r.complete).toBe(false);
    expect(r.eventCount).toBe(0);
    expect(r.info().incomplete).toBe('the writer did not finish (killed or crashed) before its first chunk');
    r.close();
  });
});

// Damage the reader must find and name: compressed frames that claim huge sizes (refused before
// anything is inflated, with both zstd codecs), a wrong digest, chunks missing from the index.
import { describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import zlib from 'node:zlib';
import path from 'node:path';
import { loadCodec, openTrace } from '../../../capture/store/index.ts';
import { zstdContentSize } from '../../../capture/store/codec.ts';
import { bootMixPool } from '../../../bench/boot-mix.ts';
import { tmpDir, writeEvents } from './helpers.ts';

const dir = tmpDir();
const GiB2 = 2 ** 31;

/**
 * A valid zstd frame of `blocks` RLE blocks of 128 KiB (4 bytes each on disk): tiny, inflates huge.
 * A 2 MiB window (not a single segment): decoders accept it, and Node's zstd inflated the 2 GiB one
 * in full (92 s) before the reader checked the declared size.
 */
function rleFrame(blocks: number, withSize = true): Buffer {
  const head = Buffer.alloc(withSize ? 14 : 6);
  head.writeUInt32LE(0xfd2fb528, 0);
  head[4] = withSize ? 0xc0 : 0x00; // 8-byte Frame_Content_Size, or none
  head[5] = 0x58; // Window_Descriptor: 2 MiB
  if (withSize) head.writeBigUInt64LE(BigInt(blocks) * 131072n, 6);
  const body = Buffer.alloc(blocks * 4);
  for (let i = 0; i < blocks; i++) body.writeUIntLE((i === blocks - 1 ? 1 : 0) | (1 << 1) | (131072 << 3), i * 4, 3);
  return Buffer.concat([head, body]);
}

function goodTrace(name: string): string {
  const f = path.join(dir, name);
  writeEvents(f, bootMixPool(10_000), { chunkEvents: 2000 });
  return f;
}

function replaceChunk(file: string, id: number, frame: Buffer, rawBytes?: number): void {
  const db = new Database(file);
  db.prepare('UPDATE chunk_data SET data = ? WHERE id = ?').run(frame, id);
  db.prepare('UPDATE chunks SET crc32 = ?, zst_bytes = ? WHERE id = ?').run(zlib.crc32(frame), frame.length, id);
  if (rawBytes !== undefined) db.prepare('UPDATE chunks SET raw_bytes = ? WHERE id = ?').run(rawBytes, id);
  db.close();
}

describe('zstd frames that declare a huge size', () => {
  it('the frame header is read as RFC 8878 lays it out', () => {
    expect(zstdContentSize(rleFrame(16384))).toBe(GiB2);
    expect(zstdContentSize(rleFrame(2, false))).toBeUndefined();
    expect(zstdContentSize(zlib.zstdCompressSync(Buffer.alloc(300)))).toBe(300);
    expect(zstdContentSize(Buffer.from('not zstd'))).toBeNull();
  });

  for (const which of ['node', 'zstd-codec'] as const) {
    it(`${which}: a frame declaring 2 GiB is refused before it is inflated`, async () => {
      const codec = await loadCodec(which);
      const frame = rleFrame(16384);
      expect(frame.length).toBeLessThan(70_000);
      const before = process.memoryUsage();
      expect(() => codec.decompress(frame, 4096)).toThrow(
        'zstd frame declares 2147483648 bytes, the chunk index says 4096: refused before inflating',
      );
      const after = process.memoryUsage();
      expect(after.rss - before.rss).toBeLessThan(256 << 20);
      expect(after.arrayBuffers - before.arrayBuffers).toBeLessThan(256 << 20);
      expect(() => codec.decompress(rleFrame(2, false), 262144)).toThrow(/zstd frame does not declare its size/);
      expect(codec.decompress(rleFrame(2), 262144)).toHaveLength(262144);
    });
  }

  it('a stored chunk whose frame declares 2 GiB is a damaged chunk; the rest reads', () => {
    const f = goodTrace('huge-frame.trace');
    replaceChunk(f, 2, rleFrame(16384));
    const r = openTrace(f);
    const before = process.memoryUsage().rss;
    expect([...r.events()]).toHaveLength(8000);
    expect(process.memoryUsage().rss - before).toBeLessThan(256 << 20);
    expect(r.problems).toEqual([
      expect.stringMatching(
        /chunk 2: cannot decompress: zstd frame declares 2147483648 bytes, the chunk index says \d+: refused before inflating \(events 4000\.\.5999\) skipped$/,
      ),
    ]);
    r.close();
  });

  it('an index that claims a huge raw size is damage too (nothing is inflated)', () => {
    const f = goodTrace('huge-raw.trace');
    replaceChunk(f, 1, rleFrame(16384), GiB2);
    const r = openTrace(f);
    expect(r.verify().map((p) => p.message)).toEqual([`the index says it holds ${GiB2} bytes, more than a chunk can (268435456)`]);
    r.close();
  });

  it('decoding ahead on a worker refuses it too', () => {
    const f = goodTrace('huge-frame-ahead.trace');
    replaceChunk(f, 3, rleFrame(16384));
    const r = openTrace(f, { decodeAhead: true });
    let n = 0;
    r.forEachEvent({}, () => n++);
    expect(n).toBe(8000);
    expect(r.problems).toEqual([expect.stringMatching(/chunk 3: cannot decompress: zstd frame declares 2147483648 bytes/)]);
    r.close();
  });
});

describe('verify', () => {
  it('checks the digest of a complete trace', () => {
    const f = goodTrace('digest.trace');
    const ok = openTrace(f);
    expect(ok.verify()).toEqual([]);
    ok.close();
    const db = new Database(f);
    db.prepare("UPDATE meta SET value = ? WHERE key = 'digest'").run(JSON.stringify('sha256:' + '0'.repeat(64)));
    db.close();
    const r = openTrace(f);
    expect(r.verify()).toEqual([
      {
        chunk: -1,
        message: expect.stringMatching(/^digest mismatch: the events hash to sha256:[0-9a-f]{64}, the trace says sha256:0{64}$/),
      },
    ]);
    r.close();
  });

  it('names chunks missing from the index at open, with the events they held', () => {
    const f = goodTrace('holes.trace');
    const db = new Database(f);
    db.exec('DELETE FROM chunks WHERE id IN (1, 2); DELETE FROM chunks WHERE id = 4');
    db.close();
    const r = openTrace(f);
    expect(r.problems).toEqual([
      `${f}: chunk 1: missing from the chunk index, and so is chunk 2 (events 2000..5999) skipped`,
      `${f}: chunk 4: missing from the chunk index (the trace says it holds 10000 events) (events 8000..9999) skipped`,
    ]);
    r.close();
  });
});

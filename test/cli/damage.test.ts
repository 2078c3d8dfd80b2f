// A damaged trace, read by every command: the damage is reported (which chunk, which events) and
// the command exits non-zero. Nothing is skipped silently.
import { beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { bootMixPool } from '../../bench/boot-mix.ts';
import { bootscope, REPO_ROOT, tempDir } from '../helpers/real-guests.ts';
import { corruptChunk, writeEvents } from '../capture/store/helpers.ts';

const { dir, file } = tempDir('bootscope-damage-');
const good = file('good.trace');
const crc = file('crc.trace');
const gone = file('gone.trace');
const CHUNK3 = /chunk 3: checksum mismatch \(chunk is corrupt\) \(events 6000\.\.7999\) skipped/;

beforeAll(() => {
  writeEvents(good, bootMixPool(20_000), { chunkEvents: 2000 });
  copyFileSync(good, crc);
  corruptChunk(crc, 3);
  // A chunk whose index row and data are both gone: only the chunk ids say something is missing.
  copyFileSync(good, gone);
  const db = new Database(gone);
  db.exec('DELETE FROM chunks WHERE id = 5; DELETE FROM chunk_data WHERE id = 5;');
  db.close();
});

/** The last stderr line is the one-line error; every damaged chunk was named before it. */
function expectDamage(r: { code: number | null; err: string }, chunk: RegExp, trace = crc) {
  expect(r.code).toBe(1);
  expect(r.err).toMatch(chunk);
  expect(r.err).not.toMatch(/\n\s+at /);
  const last = r.err.trim().split('\n').pop()!;
  expect(last).toMatch(
    new RegExp(`^bootscope: ${trace}: damaged: 1 chunk could not be read \\(\\d+ events\\); the output above is incomplete$`),
  );
}

describe('every command reports a damaged chunk and exits 1', () => {
  const commands: [string, string[]][] = [
    ['events', ['events', crc]],
    ['events --json', ['events', crc, '--json']],
    ['events --kind', ['events', crc, '--kind', 'console']],
    ['console', ['console', crc]],
    ['console --times', ['console', crc, '--times']],
    ['console --json', ['console', crc, '--json']],
    ['sql', ['sql', crc, 'SELECT count(*) FROM events']],
    ['sql --json', ['sql', crc, 'SELECT kind, count(*) FROM events GROUP BY kind', '--json']],
    ['check', ['check', crc]],
    ['phases', ['phases', crc]],
    ['latency', ['latency', crc]],
    ['exits', ['exits', crc]],
    ['exits --json', ['exits', crc, '--json']],
    ['explain uart', ['explain', 'uart', crc]],
    ['diff', ['diff', good, crc, '--no-findings']],
    ['info --verify', ['info', crc, '--verify']],
    ['info', ['info', crc]],
    ['report', ['report', crc, '-o', file('damaged-report.html')]],
  ];
  for (const [name, args] of commands) {
    it(name, async () => {
      expectDamage(await bootscope(dir, ...args), CHUNK3);
    });
  }

  it('replay: the damaged chunk is named, its events are not taken for a divergence, exit 1', async () => {
    // An emulator run (replay needs one) whose only chunk is corrupted.
    const run = file('workload.trace');
    const r0 = await bootscope(dir, 'run', '--kernel', join(REPO_ROOT, 'guests/bin/workload.bin'), '-o', run);
    expect(r0.code).toBe(0);
    corruptChunk(run, 0);
    const r = await bootscope(dir, 'replay', run);
    expectDamage(r, /chunk 0: checksum mismatch \(chunk is corrupt\) \(events 0\.\.\d+\) skipped/, run);
  });

  it('info names the damage in its text and JSON, and is not "complete"', async () => {
    const r = await bootscope(dir, 'info', crc);
    expect(r.out).toMatch(/status {4}DAMAGED: 1 chunk could not be read/);
    expect(r.out).toMatch(/problem {3}.*chunk 3: checksum mismatch/);
    const j = await bootscope(dir, 'info', crc, '--json');
    expect(j.code).toBe(1);
    const info = JSON.parse(j.out);
    expect(info.problems).toEqual([expect.objectContaining({ chunk: 3, seqFirst: 6000, seqLast: 7999 })]);
  });

  it('a chunk missing from the index is reported by every reader', async () => {
    for (const args of [
      ['events', gone],
      ['info', gone],
      ['sql', gone, 'SELECT count(*) FROM events'],
      ['check', gone],
    ]) {
      expectDamage(await bootscope(dir, ...args), /chunk 5: missing from the chunk index \(events 10000\.\.11999\)/, gone);
    }
  });

  it('an undamaged trace: exit 0, nothing on stderr; info --verify says what it checked', async () => {
    for (const args of [
      ['events', good, '--limit', '3'],
      ['info', good],
      ['sql', good, 'SELECT count(*) FROM events'],
    ]) {
      const r = await bootscope(dir, ...args);
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
    }
    const v = await bootscope(dir, 'info', good, '--verify');
    expect(v.code).toBe(0);
    expect(v.out).toMatch(/verified  10 chunks: checksums, decoding, event counts and the digest match/);
  });
});

import { describe, it, expect } from 'vitest';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { loadCodec, hasNodeZstd, openTrace } from '../../../capture/store/index.ts';
import { bootMixPool } from '../../../bench/boot-mix.ts';
import { plain, tmpDir, writeEvents } from './helpers.ts';

const dir = tmpDir();

function sample(n: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = 12345;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = i % 7 === 0 ? x >>> 24 : i & 0x3f;
  }
  return b;
}

describe.runIf(hasNodeZstd())('zstd: Node built-in and zstd-codec interoperate', () => {
  it('frames from Node decode with zstd-codec and back', async () => {
    const node = await loadCodec('node');
    const wasm = await loadCodec('zstd-codec');
    expect(node.name).toBe('node');
    expect(wasm.name).toBe('zstd-codec');
    for (const n of [0, 1, 1000, 300_000]) {
      const data = sample(n);
      expect(Buffer.from(wasm.decompress(node.compress(data, 3)))).toEqual(Buffer.from(data));
      expect(Buffer.from(node.decompress(wasm.compress(data, 3)))).toEqual(Buffer.from(data));
    }
  });

  it('frames agree with the zstd command-line tool', async () => {
    const node = await loadCodec('node');
    const wasm = await loadCodec('zstd-codec');
    const data = sample(100_000);
    const viaCli = execFileSync('zstd', ['-q', '-c', '-3'], { input: data });
    expect(Buffer.from(node.decompress(viaCli))).toEqual(Buffer.from(data));
    expect(Buffer.from(wasm.decompress(viaCli))).toEqual(Buffer.from(data));
    const f = path.join(dir, 'x.zst');
    fs.writeFileSync(f, wasm.compress(data, 3));
    expect(execFileSync('zstd', ['-q', '-d', '-c', f])).toEqual(Buffer.from(data));
  });

  it('a damaged frame is an error from both', async () => {
    const node = await loadCodec('node');
    const wasm = await loadCodec('zstd-codec');
    const frame = Buffer.from(node.compress(sample(5000), 3));
    frame[frame.length - 6]! ^= 0xff;
    frame[10]! ^= 0xff;
    expect(() => node.decompress(frame)).toThrow();
    expect(() => wasm.decompress(frame.subarray(0, 12))).toThrow();
  });

  it('a trace written with one codec reads with the other, both ways', async () => {
    const evs = bootMixPool(20_000);
    for (const [w, r] of [
      ['node', 'zstd-codec'],
      ['zstd-codec', 'node'],
    ] as const) {
      const file = path.join(dir, `by-${w}.trace`);
      const res = writeEvents(file, evs, { codec: await loadCodec(w), chunkEvents: 5000 });
      const reader = openTrace(file, { codec: await loadCodec(r) });
      expect(reader.verify()).toEqual([]);
      expect(plain([...reader.events()])).toEqual(plain(evs.map((e, i) => ({ ...e, seq: i }))));
      expect(reader.digest).toBe(res.digest);
      reader.close();
    }
  });
});

it('asking for Node zstd on a Node without it says so', async () => {
  if (hasNodeZstd()) await expect(loadCodec('node')).resolves.toBeDefined();
  else await expect(loadCodec('node')).rejects.toThrow(/has no built-in zstd/);
});

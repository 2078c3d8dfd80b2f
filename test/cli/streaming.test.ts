// Output that grows with the trace is streamed: with V8's heap capped at 48 MiB, a million events
// go through a pipe in every output form (the old code queued all of it and died); a reader that
// stops early (`| head`) ends the command quietly with status 0, long before it would have
// finished; empty results are still valid JSON.
import { beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { NewEvent } from '../../capture/model.ts';
import { createTrace } from '../../capture/store/index.ts';
import { bootMixPool } from '../../bench/boot-mix.ts';
import { BASE_OPTS, writeEvents } from '../capture/store/helpers.ts';
import { tempDir } from '../helpers/real-guests.ts';

const ROOT = join(import.meta.dirname, '../..');
const { dir, file } = tempDir('bootscope-stream-');
const big = file('big.trace');
const small = file('small.trace');
const chatty = file('chatty.trace');
const EVENTS = 1_000_000;

beforeAll(() => {
  const w = createTrace(big, BASE_OPTS);
  const pool = bootMixPool(1 << 16);
  const line = Buffer.from('a console line of a chatty guest, long enough to add up\n');
  for (let i = 0, t = 0; i < EVENTS; i++) {
    const e =
      i % 8 === 0
        ? ({ kind: 'console', time: ++t, vcpu: 0, port: 'pl011@9000000', bytes: line } as NewEvent)
        : { ...pool[i % pool.length]!, time: ++t };
    w.append(e as NewEvent);
  }
  w.close();
  writeEvents(
    small,
    bootMixPool(100).filter((e) => e.kind !== 'console' && e.kind !== 'input'),
  );
  // 200 MB of console output: plain `console` used to hold all of it before writing a byte.
  const kib = Buffer.alloc(1024, 'all work and no play makes a chatty guest\n');
  writeEvents(
    chatty,
    (function* () {
      for (let i = 0; i < 200_000; i++) yield { kind: 'console', time: i, vcpu: 0, port: 'pl011@9000000', bytes: kib } as NewEvent;
    })(),
  );
}, 120_000);

/** Run a shell pipeline; `cpu` is the user+system CPU seconds of its children (bash `times`). */
function sh(pipeline: string): Promise<{ code: number | null; out: string; err: string; cpu: number; status: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', `${pipeline}; echo "status \${PIPESTATUS[*]}" >&2; times >&2`], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code) => {
      const e = Buffer.concat(err).toString();
      const lines = e.trimEnd().split('\n');
      const secs = (s: string) => [...s.matchAll(/(\d+)m([\d.]+)s/g)].reduce((a, m) => a + Number(m[1]) * 60 + Number(m[2]), 0);
      resolve({
        code,
        out: Buffer.concat(out).toString(),
        err: lines.slice(0, -3).join('\n'),
        cpu: secs(lines.at(-1)!),
        status: lines.at(-3)!,
      });
    });
  });
}

const cli = (heapMiB?: number) =>
  `"${process.execPath}" ${heapMiB ? `--max-old-space-size=${heapMiB} ` : ''}--disable-warning=ExperimentalWarning ${join(ROOT, 'cli/main.ts')}`;

describe('streamed output, bounded memory', () => {
  const forms: [string, string][] = [
    ['events', `events ${big}`],
    ['events --json', `events ${big} --json`],
    ['sql', `sql ${big} 'SELECT seq, time, kind, device, register, value FROM events'`],
    ['sql --json', `sql ${big} 'SELECT seq, kind, device, value, bytes FROM events' --json`],
    ['console', `console ${big}`],
    ['console --times', `console ${big} --times`],
    ['console --json', `console ${big} --json`],
  ];
  for (const [name, args] of forms) {
    it(`${name}: a million events through a pipe with a 48 MiB heap`, async () => {
      const r = await sh(`${cli(48)} ${args} | tail -c 200`);
      expect(r.err).toBe('');
      expect(r.status).toBe('status 0 0');
      expect(r.out.length).toBeGreaterThan(0);
    });
  }
});

describe('a reader that stops early', () => {
  for (const [name, args] of [
    ['events', `events ${big}`],
    ['sql', `sql ${big} 'SELECT seq, kind, value FROM events'`],
    ['console', `console ${chatty}`],
  ] as const) {
    it(`${name} | head: exit 0, nothing on stderr, far less work than the whole output`, async () => {
      const head = await sh(`${cli()} ${args} | head -c 1000`);
      expect(head.status).toBe('status 0 0');
      expect(head.err).toBe('');
      expect(head.out).toHaveLength(1000);
      const whole = await sh(`${cli()} ${args} > /dev/null`);
      expect(whole.status).toBe('status 0');
      expect(head.cpu).toBeLessThan(whole.cpu / 2);
    });
  }
});

describe('--json is valid JSON when nothing matches', () => {
  for (const args of [
    `events ${small} --kind input --json`,
    `sql ${small} 'SELECT seq FROM events WHERE 0' --json`,
    `console ${small} --json`,
  ]) {
    it(args.replace(small, 'T'), async () => {
      const r = await sh(`${cli()} ${args}`);
      expect(r.status).toBe('status 0');
      expect(JSON.parse(r.out)).toEqual([]);
    });
  }

  it('sql text: widths from the first rows, every row printed, the count at the end', async () => {
    const r = await sh(`${cli()} sql ${big} 'SELECT seq, kind FROM events WHERE seq < 2500'`);
    const lines = r.out.trimEnd().split('\n');
    expect(lines[0]).toBe('seq  kind'); // widths from the first 1000 rows: seq 0..999
    expect(lines).toHaveLength(2 + 2500 + 1);
    expect(lines[2 + 1000]).toMatch(/^1000  \w+$/); // a wider cell later is printed whole
    expect(lines.at(-1)).toBe('(2500 rows)');
  });
});

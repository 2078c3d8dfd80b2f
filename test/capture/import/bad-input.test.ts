import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { importFile } from '../../../cli/commands/import.ts';
import { tmp, tmpFile } from './helpers.ts';
import { writeSimpleTrace } from './simpletrace-writer.ts';

let n = 0;
const out = () => join(tmp, `bad${n++}.trace`);

/** The import must fail with `message` and leave nothing at (or next to) the output path. */
async function expectFailure(
  input: string,
  message: RegExp,
  opts: { strict?: boolean; format?: 'qemu-log' | 'ftrace' | 'qemu-simple' } = {},
) {
  const o = out();
  await expect(importFile({ input, output: o, ...opts })).rejects.toThrow(message);
  expect(existsSync(o)).toBe(false);
  expect(readdirSync(tmp).filter((f) => f.startsWith(o.split('/').pop()!))).toEqual([]);
}

describe('bad input', () => {
  it('an empty file', async () => {
    const f = tmpFile('');
    await expectFailure(f, new RegExp(`^${f}: empty file`));
  });

  it('a truncated last line', async () => {
    const f = tmpFile('pl011_read addr 0x00000018 value 0x00000090\npl011_read addr 0x000000');
    await expectFailure(f, new RegExp(`^${f}:2: truncated last line \\(no newline at end of file\\)`));
  });

  it('binary junk', async () => {
    const junk = Buffer.concat([
      Buffer.from('pl011_read addr 0x00000018 value 0x00000090\n'),
      Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2, 3, 0xff, 0xfe, 10]),
    ]);
    const f = tmpFile(junk);
    await expectFailure(f, new RegExp(`^${f}:2: binary data \\(NUL byte at file offset 48\\)`));
  });

  it('binary junk from the first byte', async () => {
    const f = tmpFile(Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0, 0]));
    await expectFailure(f, new RegExp(`^${f}:1: not a QEMU trace log, QEMU simple trace or ftrace text: binary data`));
  });

  it('a simple-backend file of another version', async () => {
    const f = join(tmp, 'v2.simpletrace');
    writeSimpleTrace(f, [{ name: 'pl011_read', ns: 1n, args: [0, 0] }], { version: 2 });
    await expectFailure(f, new RegExp(`^${f}: simpletrace format version 2 is not supported`));
  });

  it('a truncated simple-backend file', async () => {
    const f = join(tmp, 'cut.simpletrace');
    writeSimpleTrace(f, [{ name: 'pl011_read', ns: 1n, args: [0, 0] }]);
    const { readFileSync, writeFileSync } = await import('node:fs');
    const b = readFileSync(f);
    writeFileSync(f, b.subarray(0, b.length - 5));
    await expectFailure(f, /: record 2: truncated event record \(needs 16 argument bytes\) \(byte offset \d+\)/);
  });

  it('a simple-backend record whose length is damaged: refused before anything is allocated', async () => {
    const { readFileSync, writeFileSync } = await import('node:fs');
    const f = join(tmp, 'huge-record.simpletrace');
    writeSimpleTrace(f, [{ name: 'pl011_read', ns: 1n, args: [0, 0] }]);
    const b = readFileSync(f);
    // The last record ends with its u32 length, u32 pid and 16 argument bytes.
    const at = b.length - 16 - 4 - 4;
    b.writeUInt32LE(0x90000000, at);
    writeFileSync(f, b);
    await expectFailure(f, /: record 2: record length 2415919104 is implausible \(more than 1048576 argument bytes\)/);
    b.writeUInt32LE(24 + 4096, at);
    writeFileSync(f, b);
    await expectFailure(f, /: record 2: truncated event record \(needs 4096 argument bytes\)/);
  });

  it('a file in none of the formats', async () => {
    const f = tmpFile('Hello, this is a README.\nNothing to see.\n');
    await expectFailure(f, new RegExp(`^${f}:1: not a QEMU trace log, QEMU simple trace or ftrace text: 'Hello, this is a README.'`));
  });

  it('a bad line with --strict', async () => {
    const f = tmpFile('pl011_read addr 0x00000018 value 0x00000090\n!!! not a trace line\n');
    await expectFailure(f, new RegExp(`^${f}:2: not a QEMU trace line`), { strict: true });
  });

  it('a missing file and an unknown format', async () => {
    await expectFailure(join(tmp, 'nope.log'), /nope\.log: no such file/);
    const f = tmpFile('pl011_read addr 0x00000018 value 0x00000090\n');
    await expect(importFile({ input: f, output: out(), format: 'pcap' as 'ftrace' })).rejects.toThrow(/unknown format 'pcap'/);
  });

  it('without --strict, bad lines are counted and reported, and the trace is written', async () => {
    const f = tmpFile('pl011_read addr 0x00000018 value 0x00000090\n!!! not a trace line\n');
    const o = out();
    const r = await importFile({ input: f, output: o });
    expect(r.stats.bad).toBe(1);
    expect(r.stats.badSamples).toEqual([{ line: 2, reason: expect.stringMatching(/not a QEMU trace line/), text: '!!! not a trace line' }]);
    expect(existsSync(o)).toBe(true);
    expect(r.accounted).toBe(true);
  });
});

describe('compressed input', () => {
  it('imports a gzipped log (line numbers as zcat shows them) and reports errors against the .gz', async () => {
    const { gzipSync } = await import('node:zlib');
    const { openTrace } = await import('../../../capture/store/index.ts');
    const gz = tmpFile(
      gzipSync('pl011_write addr 0x00000000 value 0x00000041\n\npl011_write addr 0x00000000 value 0x00000042\n'),
      '.log.gz',
    );
    const o = out();
    const r = await importFile({ input: gz, output: o });
    expect(r).toMatchObject({ input: gz, format: 'qemu-log', events: 4 });
    const reader = openTrace(o);
    expect(reader.meta.source.config.file).toBe(gz.split('/').pop());
    expect([...reader.events({ kinds: ['console'] })].map((e) => e.src_line)).toEqual([1, 3]);
    reader.close();
    const bad = tmpFile(gzipSync('pl011_write addr 0x00000000 value 0x00000041\npl011_wr'), '.log.gz');
    await expectFailure(bad, new RegExp(`^${bad}:2: truncated last line`));
  });
});

describe('hostile text', () => {
  it('a line of 40 MB is one bad line (not an "event" with a 40 MB name), the lines around it are kept', async () => {
    const { parse } = await import('./helpers.ts');
    for (const junk of ['x'.repeat(40 << 20), `pl011_write addr 0x0 value 0x${'f'.repeat(40 << 20)}`]) {
      const r = parse('qemu-log', `pl011_write addr 0x00000000 value 0x00000041\n${junk}\npl011_write addr 0x00000000 value 0x00000042\n`);
      expect(r.stats).toMatchObject({ lines: 3, parsed: 2, bad: 1, unmapped: {} });
      expect(r.stats.badSamples[0]!.line).toBe(2);
      expect(r.stats.badSamples[0]!.text.length).toBeLessThan(100);
    }
  });

  it('ftrace: an event "name" that is not one is a bad line', async () => {
    const { parse } = await import('./helpers.ts');
    const r = parse(
      'ftrace',
      ` CPU 0/KVM-1 [000] ..... 1.000000: ${'Zz '.repeat(100)}: payload\n CPU 0/KVM-1 [000] ..... 1.000001: kvm_new_thing: x\n`,
    );
    expect(r.stats).toMatchObject({ bad: 1, unmapped: { kvm_new_thing: 1 } });
    expect(r.stats.badSamples[0]).toMatchObject({ line: 1, reason: 'no event name' });
  });

  it('thousands of distinct unmapped names: the first 500 by name, the rest counted together', async () => {
    const { parse } = await import('./helpers.ts');
    const lines = Array.from({ length: 2000 }, (_, i) => `made_up_event_${i} x 1`).join('\n') + '\n';
    const r = parse('qemu-log', lines);
    expect(Object.keys(r.stats.unmapped)).toHaveLength(501);
    expect(r.stats.unmapped['(other names)']).toBe(1500);
    expect(r.stats.unmapped['made_up_event_0']).toBe(1);
  });

  it('CRLF line ends and bytes that are not UTF-8 read like any other text', async () => {
    const { parse } = await import('./helpers.ts');
    const r = parse(
      'qemu-log',
      Buffer.from('pl011_write addr 0x00000000 value 0x000000e9\r\npl011_read addr 0x00000018 value 0x00000090 reg \xff\xfe\r\n', 'latin1'),
    );
    expect(r.stats).toMatchObject({ lines: 2, parsed: 2, bad: 0 });
  });
});

import { afterEach, describe, expect, it, vi } from 'vitest';
import { Command } from 'commander';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { registerImport } from '../../../cli/commands/import.ts';
import { tmp, tmpFile } from './helpers.ts';

function program(): Command {
  const p = new Command().exitOverride();
  registerImport(p);
  return p;
}

describe('bootscope import (command)', () => {
  afterEach(() => vi.restoreAllMocks());

  it('imports and prints a JSON summary when piped', async () => {
    const out: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => (out.push(String(s)), true));
    const f = tmpFile('pl011_write addr 0x00000000 value 0x00000041\npl011_baudrate_change new baudrate 9600\n\n');
    const o = join(tmp, 'cli.trace');
    await program().parseAsync(['import', f, '-o', o, '--json'], { from: 'user' });
    const s = JSON.parse(out.join(''));
    expect(s).toMatchObject({
      format: 'qemu-log',
      lines: 3,
      parsed: 1,
      unmapped: 1,
      blank: 1,
      bad: 0,
      events: 2,
      unmappedEvents: { pl011_baudrate_change: 1 },
    });
    expect(existsSync(o)).toBe(true);
  });

  it('rejects an unknown --format', async () => {
    const f = tmpFile('pl011_write addr 0x00000000 value 0x00000041\n');
    await expect(program().parseAsync(['import', f, '-o', join(tmp, 'x.trace'), '--format', 'pcap'], { from: 'user' })).rejects.toThrow(
      /unknown --format 'pcap' \(one of qemu-log, qemu-simple, ftrace\)/,
    );
  });
});

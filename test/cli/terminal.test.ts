// Guest-controlled text printed for people never reaches the terminal as escape sequences: control
// characters (C0 but tab and newline, DEL, C1) are shown as \xNN. Plain `console` stays byte-exact.
import { beforeAll, describe, expect, it } from 'vitest';
import type { NewEvent } from '../../capture/model.ts';
import { bootscope, tempDir } from '../helpers/real-guests.ts';
import { writeEvents } from '../capture/store/helpers.ts';

const { dir, file } = tempDir('bootscope-terminal-');
const trace = file('escapes.trace');
// Clear the screen, set the window title, ring the bell, an 8-bit CSI (C1), and a DEL.
const HOSTILE = 'Booting Linux on physical CPU 0x0 \x1b[2J\x1b]0;owned\x07\x9b31m\x7f done\n';
const UART = 'pl011@9000000';

/** Control characters a terminal acts on; tab and newline are fine. */
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/;

beforeAll(() => {
  const evs: NewEvent[] = [];
  let t = 0;
  for (const line of [HOSTILE, 'Linux version 6.1.0 \x1b[1mbold\x1b[0m\n', 'Run /init as init process\n']) {
    evs.push({ kind: 'console', time: (t += 10), vcpu: 0, port: UART, bytes: Buffer.from(line, 'latin1') });
  }
  evs.push({
    kind: 'mmio_write',
    time: (t += 10),
    vcpu: 0,
    addr: 0x09000000,
    size: 4,
    value: 0x1bn,
    device: UART,
    register: 'DR\x1b[5m',
    outcome: 'handled',
  });
  writeEvents(trace, evs);
});

/** Decoded as the terminal would see the bytes (UTF-8), so a C1 control written as U+009B counts. */
const seen = (r: { out: string }) => Buffer.from(r.out, 'latin1').toString('utf8');

describe('guest text on a terminal', () => {
  it('console --times shows control characters as \\xNN', async () => {
    const r = await bootscope(dir, 'console', trace, '--times');
    expect(r.code).toBe(0);
    expect(seen(r)).not.toMatch(CONTROL);
    expect(seen(r)).toContain('Booting Linux on physical CPU 0x0 \\x1b[2J\\x1b]0;owned\\x07\\x9b31m\\x7f done');
  });

  it('phases shows the banner and the marker lines escaped', async () => {
    const r = await bootscope(dir, 'phases', trace);
    expect(r.code).toBe(0);
    expect(seen(r)).not.toMatch(CONTROL);
    expect(seen(r)).toContain('\\x1b[2J');
  });

  it('events (text and JSON) escape strings and bytes', async () => {
    const t = await bootscope(dir, 'events', trace);
    expect(t.code).toBe(0);
    expect(seen(t)).not.toMatch(CONTROL);
    expect(seen(t)).toContain('DR\\x1b[5m');
    const j = await bootscope(dir, 'events', trace, '--json');
    expect(seen(j)).not.toMatch(CONTROL);
    const parsed = JSON.parse(j.out) as { bytes?: string; register?: string }[];
    expect(parsed[0]!.bytes).toBe(HOSTILE); // the JSON still says exactly what the guest wrote
    expect(parsed[3]!.register).toBe('DR\x1b[5m');
  });

  it('sql text output escapes cells', async () => {
    const r = await bootscope(dir, 'sql', trace, "SELECT register FROM events WHERE kind = 'mmio_write'");
    expect(r.code).toBe(0);
    expect(seen(r)).not.toMatch(CONTROL);
    expect(seen(r)).toContain('DR\\x1b[5m');
  });

  it('plain console stays byte for byte what the guest wrote', async () => {
    const r = await bootscope(dir, 'console', trace);
    expect(r.code).toBe(0);
    expect(r.out.startsWith(HOSTILE)).toBe(true);
  });
});

// The real program in a real terminal: tmux runs `bootscope tui`, send-keys types, capture-pane
// reads the screen.

import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeTrace } from './fixture.ts';
import { corruptChunk } from '../capture/store/helpers.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const NODE = process.execPath;
let SESSION = '';

const tmux = (...args: string[]) => execFileSync('tmux', args, { encoding: 'utf8' });
const screen = () => tmux('capture-pane', '-p', '-t', SESSION);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Wait until the screen matches (the program runs at its own pace). */
async function waitFor(re: RegExp, what: string): Promise<string> {
  let s = '';
  for (let i = 0; i < 150; i++) {
    s = screen();
    if (re.test(s)) return s;
    await sleep(100);
  }
  throw new Error(`screen never showed ${what}:\n${s}`);
}

async function keys(...k: string[]): Promise<void> {
  tmux('send-keys', '-t', SESSION, ...k);
  await sleep(150);
}

let file: string;

beforeAll(() => {
  file = makeTrace(30_000, 8192);
});

function start(cols: number, rows: number, trace = file): void {
  SESSION = `bootscope-tui-${process.pid}-${cols}x${rows}`;
  tmux(
    'new-session',
    '-d',
    '-s',
    SESSION,
    '-x',
    String(cols),
    '-y',
    String(rows),
    `cd ${ROOT} && ${NODE} --disable-warning=ExperimentalWarning cli/main.ts tui ${trace}; echo EXITED $?; sleep 30`,
  );
}

afterEach(() => {
  try {
    tmux('kill-session', '-t', SESSION);
  } catch {
    // already gone
  }
});

describe.each([
  [100, 30],
  [80, 24],
])('bootscope tui in tmux (%ix%i)', (cols, height) => {
  it('opens, switches screens, filters, jumps from a finding, quits', async () => {
    start(cols, height);
    let s = await waitFor(/\[o\]verview/, 'the overview');
    expect(s).toContain('events   30,000 in 4 chunks');
    s = await waitFor(/findings (\d+ errors|not available)/, 'the findings count');
    for (const l of s.split('\n')) expect(l.length).toBeLessThanOrEqual(cols);

    await keys('t');
    s = await waitFor(/\[t\]imeline/, 'the timeline');
    expect(s).toMatch(/all events\s+[▁▂▃▄▅▆▇█]/);

    await keys('c');
    s = await waitFor(/\[c\]onsole/, 'the console');
    expect(s).toContain('Booting Linux on physical CPU');

    await keys('l');
    await waitFor(/\[l\]atency/, 'the latency screen');

    await keys('e');
    s = await waitFor(/\[e\]vents/, 'the events screen');
    expect(s).toMatch(/^ #0 t=0 cpu0 vcpu_state/m);
    await keys('F');
    await keys('-l', 'kind=irq_eoi cpu=1');
    await keys('Enter');
    s = await waitFor(/filter: kind=irq_eoi cpu=1/, 'the filter applied');
    const rows = s.split('\n').filter((l) => /^[ *]#\d+ t=/.test(l));
    expect(rows.length).toBeGreaterThan(3);
    for (const r of rows) expect(r).toMatch(/cpu1 irq_eoi/);
    await keys(':');
    await keys('-l', '#777');
    await keys('Enter');
    s = await waitFor(/at #777/, 'the jump');
    await keys('x');

    await keys('f');
    s = await waitFor(/\[f\]indings[^\n]*\n(?!analyzing)/, 'the findings');
    if (/^(ERROR|WARNING|INFO)\s/m.test(s)) {
      const evidence = /evidence: #(\d+)/.exec(s);
      expect(evidence).not.toBeNull();
      await keys('Enter');
      s = await waitFor(/\[e\]vents/, 'the evidence events');
      expect(s).toMatch(new RegExp(`^\\*#${evidence![1]} `, 'm'));
    }

    await keys('?');
    await waitFor(/bootscope tui — keys/, 'the help');
    await keys('Escape');
    await keys('q');
    s = await waitFor(/EXITED/, 'the program to exit');
    expect(s).not.toMatch(/Warning|Error|render method/);
  });
});

describe('bootscope tui on a damaged trace', () => {
  it('says DAMAGED on the status line, and on quitting names the chunk and exits 1', async () => {
    const damaged = makeTrace(30_000, 8192, 'damaged.trace');
    corruptChunk(damaged, 2);
    start(100, 30, damaged);
    let s = await waitFor(/DAMAGED: 1 chunk could not be read \(8192 events\); what is shown is incomplete/, 'the damage');
    await keys('q');
    s = await waitFor(/EXITED \d+/, 'the program to exit');
    s = s.replace(/\n/g, ''); // the terminal wraps the long lines
    expect(s).toMatch(/chunk 2: checksum mismatch \(chunk is corrupt\) \(events 16384\.\.24575\) skipped/);
    expect(s).toMatch(/damaged: 1 chunk could not be read \(8192 events\); the output above is incomplete/);
    expect(s).toContain('EXITED 1');
  });
});

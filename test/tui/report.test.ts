// The HTML report: self-contained (no external references), and rendered by Debian's chromium
// (headless, no background networking) with the SVG charts present and non-empty. A screenshot
// is kept in test-output/.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeReport } from '../../tui/report.ts';
import { makeTrace } from './fixture.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const OUT = path.join(ROOT, 'test-output');
const CHROMIUM = '/usr/bin/chromium';

/**
 * A child process, asynchronously: a synchronous one blocks the vitest worker, whose RPC then
 * times out ("Timeout calling onTaskUpdate") on a loaded machine.
 */
function run(cmd: string, args: string[], opts: { cwd?: string } = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (status) =>
      resolve({ status, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }),
    );
  });
}

async function chromium(args: string[]): Promise<{ stdout: string; stderr: string }> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'bootscope-chromium-'));
  try {
    return await run(CHROMIUM, [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      `--user-data-dir=${profile}`,
      '--enable-logging=stderr',
      '--v=0',
      ...args,
    ]);
  } finally {
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

let single: string;
let pair: string;
let htmlPair: string;

beforeAll(async () => {
  fs.mkdirSync(OUT, { recursive: true });
  const a = makeTrace(30_000, 8192, 'a.trace');
  const b = makeTrace(12_000, 8192, 'b.trace');
  single = path.join(OUT, 'report-single.html');
  pair = path.join(OUT, 'report.html');
  await writeReport([a], single, { overwrite: true });
  await writeReport([a, b], pair, { overwrite: true });
  htmlPair = fs.readFileSync(pair, 'utf8');
});

describe('bootscope report', () => {
  it('is one self-contained file: no scripts, links, images or URLs', () => {
    for (const file of [single, pair]) {
      const html = fs.readFileSync(file, 'utf8');
      expect(html).not.toMatch(/https?:\/\//);
      expect(html).not.toMatch(/\b(src|href)\s*=/i);
      expect(html).not.toMatch(/<(script|link|img|iframe)\b/i);
      expect(html).not.toMatch(/@import|url\(/i);
    }
  });

  it('has the charts and tables, and the diff section for two traces', () => {
    const html = fs.readFileSync(single, 'utf8');
    expect(html).toContain('class="chart gantt"');
    expect(html).toContain('class="chart density"');
    expect(html).toContain('class="chart hist"');
    expect(html).toContain('<h3>Findings</h3>');
    // The boot-mix guest does no block or network I/O (test/real/disk-diff.test.ts has a disk boot's).
    expect(html).toMatch(/<h3>Block and network I\/O<\/h3>\s*<p class="na">no block or network I\/O in this trace<\/p>/);
    expect(htmlPair).not.toContain('<h3>Device layer</h3>');
    expect(html).not.toContain('<h2>Diff</h2>');
    expect(htmlPair).toContain('<h2>Diff</h2>');
    expect(htmlPair).toContain('class="chart compare"');
  });

  it('renders in chromium without console errors; SVGs are present and non-empty; screenshot kept', async () => {
    const dom = await chromium(['--dump-dom', `file://${pair}`]);
    const svgs = [...dom.stdout.matchAll(/<svg class="chart (\w+)"[^>]*>([\s\S]*?)<\/svg>/g)];
    const kinds = new Set(svgs.map((m) => m[1]));
    for (const k of ['gantt', 'density', 'hist', 'compare']) expect(kinds).toContain(k);
    for (const m of svgs) expect(m[2]!.length).toBeGreaterThan(100);
    // Drawn shapes, not empty groups: bars and non-trivial paths.
    expect(dom.stdout).toMatch(/<path d="M[\d.]+,[\d.]+[HVL]/);
    expect(dom.stdout).toMatch(/<rect x="[\d.]+" y="[\d.]+" width="[1-9]/);
    // Chromium logs page console messages as "CONSOLE" lines on stderr.
    expect(dom.stderr).not.toMatch(/CONSOLE\(\d+\)|Uncaught|Failed to load resource/);
    const png = path.join(OUT, 'report.png');
    fs.rmSync(png, { force: true });
    await chromium([`--screenshot=${png}`, '--window-size=1200,2000', `file://${pair}`]);
    expect(fs.statSync(png).size).toBeGreaterThan(20_000);
  });

  it('CLI: writes the file; bad input gives a one-line error', async () => {
    const out = path.join(OUT, 'report-cli.html');
    const a = makeTrace(2000, 1024);
    const cli = (...args: string[]) =>
      run(process.execPath, ['--disable-warning=ExperimentalWarning', 'cli/main.ts', ...args], { cwd: ROOT });
    const r = await cli('report', a, '-o', out, '--force');
    expect([r.status, r.stdout]).toEqual([0, `wrote ${out}\n`]);
    expect(fs.readFileSync(out, 'utf8')).toContain('<svg class="chart gantt"');
    const bad = await cli('report', '/nonexistent.trace', '-o', out);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toBe('bootscope: /nonexistent.trace: no such file\n');
    const missing = await cli('tui', '/nonexistent.trace');
    expect(missing.status).toBe(1);
    expect(missing.stderr).toBe('bootscope: /nonexistent.trace: no such file\n');
    // stdin is /dev/null: not a terminal.
    const tui = await cli('tui', a);
    expect(tui.status).toBe(1);
    expect(tui.stderr).toBe('bootscope: tui needs an interactive terminal (stdin is not a TTY); try `bootscope report`\n');
  });
});

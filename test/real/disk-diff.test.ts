// The device layer on real inputs: Debian's 6.1 kernel boots the same disk to its /sbin/init on
// --machine kvm (virtio-blk-pci) and --machine xen (blkfront/blkback), 1 vCPU each. `diff` lines
// the virtio-blk requests up with the blkif requests (same op, sector and length, same order),
// and shows each side's own set-up: PCI configuration on kvm, the xenstore handshake on xen. The
// same two traces feed the TUI's devices and diff screens (tmux) and the report's device sections
// (Debian's chromium). No NIC here: with one, the Xen initramfs runs more processes before the
// disk's rcS (it waits for eth0's carrier), and ext4 places a new file's first block by the
// writer's PID (ext4_inode_to_goal_block's colour), so the block streams differ by that write —
// a real difference, not the one this test is about. Network frames across the two machines are
// in docs/analyzers.md; their latency is tested in disk-boot.test.ts and xen-disk.test.ts.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestDisk } from '../../scripts/make-test-disk.ts';
import { bootscope, fetchGuests, REPO_ROOT, bootToPowerOff, tempDir } from '../helpers/real-guests.ts';

const tmp = tempDir('bootscope-real-disk-diff-');
let kvm: Promise<string>;
let xen: Promise<string>;

const boot = (name: string, disk: string, initrd: string, kernel: string, ...args: string[]): Promise<string> =>
  bootToPowerOff(tmp, name, { kernel, initrd, disk }, ...args);

beforeAll(() => {
  const guests = fetchGuests();
  const { disk, initramfs } = makeTestDisk(guests.kernel, guests.busybox, tmp.dir);
  kvm = boot('kvm', disk, initramfs, guests.kernel, '--append', 'console=ttyAMA0', '--mem', '512M');
  xen = boot('xen', disk, initramfs, guests.kernel, '--machine', 'xen', '--append', 'console=hvc0', '--mem', '256M');
  for (const p of [kvm, xen]) p.catch(() => {});
});
afterAll(() => tmp.cleanup());

describe('diff of the disk boot, kvm against xen, at the device layer', () => {
  it("every block request aligns with its blkif twin; set-up is each side's own; the text shows both streams", async () => {
    const [a, b] = [await kvm, await xen];
    const r = await bootscope(tmp.dir, 'diff', a, b, '--json', '--no-findings');
    expect(r.err).toBe('');
    const io = JSON.parse(r.out).io as {
      roles: { role: string; a: string | null; b: string | null }[];
      setup: { a: { what: string; count: number }[]; b: { what: string; count: number }[] };
      streams: {
        stream: string;
        countA: number;
        countB: number;
        matched: number;
        firstDivergence: unknown;
        rows: { a: { token: string } | null; b: { token: string } | null }[];
      }[];
    };
    expect(io.roles).toEqual([{ role: 'disk0', a: 'virtio-blk@00:01.0', b: 'vbd-51712' }]);
    // kvm's GICv3 has QEMU virt's ITS, so the virtio function's interrupts are MSI-X messages.
    expect(io.setup.a.map((s) => s.what)).toEqual(['PCI configuration accesses', 'MSI messages']);
    expect(io.setup.b.map((s) => s.what)).toEqual(expect.arrayContaining(['xenstore messages', 'xenbus state changes', 'grant uses']));
    const block = io.streams.find((s) => s.stream === 'block')!;
    expect(block.countA).toBeGreaterThan(10);
    // Both kernels do the same I/O, but whether ext4 needs one more journal transaction before the
    // read-only remount depends on when jbd2's thread runs, which each machine's timing moves: the
    // extra transaction, when one side has it, is rows present on that side only and nothing else.
    expect(block.matched).toBe(Math.min(block.countA, block.countB));
    const extra = block.rows.filter((x) => x.a === null || x.b === null);
    expect(extra.length).toBe(Math.abs(block.countA - block.countB));
    if (block.countA === block.countB) expect(block.firstDivergence).toBeNull();
    else expect(extra.map((x) => (x.a ?? x.b)!.token).filter((t) => !/^disk0 (write \d+\+\d+|flush)$/.test(t))).toEqual([]);
    // The kernel's partition scan, then ext4's superblock read (byte 1024).
    expect(block.rows.slice(0, 2).map((x) => x.a?.token)).toEqual(['disk0 read 0+4096', 'disk0 read 2+1024']);
    const text = await bootscope(tmp.dir, 'diff', a, b, '--no-findings');
    expect(text.out).toContain('device layer\n  disk0  A: virtio-blk@00:01.0   B: vbd-51712\n');
    const { countA, countB, matched } = block;
    expect(text.out).toContain(`\nblock I/O: ${countA} in A, ${countB} in B, ${matched} aligned\n`);
    expect(text.out).toMatch(/\n +#\d+ disk0 read 2\+1024 +#\d+ disk0 read 2\+1024\n/);
  });

  it("xen: phases show the disk's bring-up to the frontend's Connected and no PCI; I/O latency per ring from the event-channel send", async () => {
    const b = await xen;
    const r = await bootscope(tmp.dir, 'phases', b, '--json');
    expect(r.err).toBe('');
    const p = JSON.parse(r.out) as {
      phases: { id: string; title: string; start: number; endMarker?: { what: string } }[];
      missing: string[];
    };
    const at = (id: string) => p.phases.find((x) => x.id === id)!;
    expect(at('device_bringup')).toMatchObject({ title: 'bring-up vbd-51712', endMarker: { what: 'frontend Connected' } });
    expect(at('root_mount').endMarker?.what).toMatch(/^EXT4-fs \(xvda\): mounted filesystem/);
    const order = ['init_started', 'device_bringup', 'root_mount', 'sbin_init', 'poweroff'];
    expect(order.map((id) => at(id).start)).toEqual(order.map((id) => at(id).start).sort((x, y) => x - y));
    expect(p.missing).toEqual(['firmware', 'pci_enum', 'panic']);
    const l = await bootscope(tmp.dir, 'latency', b, '--json');
    const io = JSON.parse(l.out).io as {
      queues: { device: string; queue: number; requests: number; completed: number; stages: { stage: string; count: number }[] }[];
    };
    expect(io.queues.map((q) => `${q.device} q${q.queue}`)).toEqual(['vbd-51712 q0']);
    expect(io.queues[0]!.completed).toBe(io.queues[0]!.requests);
    expect(io.queues[0]!.stages.find((x) => x.stage === 'submit_to_ack')!.count).toBe(io.queues[0]!.requests);
  });
});

describe('the views of the device layer, on the same two boots', () => {
  it('check: a correct disk boot of each machine has no error (virtio rules, LPIs EOId like any interrupt, BARs in the host bridge window)', async () => {
    for (const trace of [await kvm, await xen]) {
      const r = await bootscope(tmp.dir, 'check', trace, '--json');
      const findings = (JSON.parse(r.out) as { findings: { rule: string; severity: string }[] }).findings;
      expect(findings.filter((f) => f.severity === 'error').map((f) => f.rule)).toEqual([]);
    }
  });

  it('a boot against itself is identical, its block stream included', async () => {
    const a = await kvm;
    const r = await bootscope(tmp.dir, 'diff', a, a, '--no-findings');
    expect(r.err).toBe('');
    const m = /^no difference \([\d,]+ aligned events, (\d+) block requests\)$/m.exec(r.out);
    expect(m).not.toBeNull();
    const n = await bootscope(
      tmp.dir,
      'sql',
      a,
      "SELECT (SELECT count(*) FROM events WHERE kind = 'block_request') AS b, (SELECT count(*) FROM events WHERE kind = 'net_frame') AS n",
      '--json',
    );
    const counts = JSON.parse(n.out)[0] as { b: number; n: number };
    expect([Number(m![1]), counts.n]).toEqual([counts.b, 0]);
  });

  it('tui in tmux: the devices screen (each queue, requests and depth over time, histogram) and the diff screen’s device layer side by side', async () => {
    const [a, b] = [await kvm, await xen];
    const session = `bootscope-disk-diff-${process.pid}`;
    const tmux = (...args: string[]) => run('tmux', args);
    const screen = async () => (await tmux('capture-pane', '-p', '-t', session)).out;
    const waitFor = async (re: RegExp, what: string) => {
      let s = '';
      for (let i = 0; i < 600; i++) {
        s = await screen();
        if (re.test(s)) return s;
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new Error(`screen never showed ${what}:\n${s}`);
    };
    const keys = (...k: string[]) => tmux('send-keys', '-t', session, ...k);
    await tmux(
      'new-session',
      '-d',
      '-s',
      session,
      '-x',
      '100',
      '-y',
      '30',
      `cd ${REPO_ROOT} && ${process.execPath} --disable-warning=ExperimentalWarning cli/main.ts tui ${a} ${b}; echo EXITED; sleep 30`,
    );
    try {
      await waitFor(/\[o\]verview/, 'the overview');
      await keys('v');
      let s = await waitFor(/de\[v\]ices[\s\S]*virtio-blk@00:01\.0 q0 \(block/, 'the devices screen');
      expect(s).toMatch(/\nvirtio-blk@00:01\.0 q0 +block +\d+ +\d+ +0 +\d+ +\d+ +\d+\n/);
      expect(s).toMatch(/virtio-blk@00:01\.0 q0 \(block requests\): flush \d+, read \d+, write \d+/);
      expect(s).toMatch(/\nrequests +[ ▁▂▃▄▅▆▇█]*[▁▂▃▄▅▆▇█]/);
      expect(s).toMatch(/\ndepth +[ ▁▂▃▄▅▆▇█]*[▁▂▃▄▅▆▇█]/);
      expect(s).toMatch(/submit→ack: histogram of \d+ \(instr, power-of-two buckets\)\n +\d+–\d+ +\d+/);
      await keys('d');
      await waitFor(/\[d\]iff[\s\S]*i device layer/, 'the diff screen');
      await keys('i');
      s = await waitFor(/device layer \(analyze\/diff-io\.ts\)/, 'the device layer');
      expect(s).toContain('disk0  A: virtio-blk@00:01.0   B: vbd-51712');
      expect(s).toMatch(/set-up B: xenstore messages \d+, xenbus state changes \d+, grant uses \d+/);
      expect(s).toMatch(/\n +2 #\d+ disk0 read 2\+1024 +│ #\d+ disk0 read 2\+1024\n/);
      // n goes to the first divergent row: at most the one jbd2 transaction (see above).
      await keys('n');
      s = await screen();
      if (/\n[+-] +\d+ /.test(s)) expect(s.split('\n')[2]).toMatch(/^[+-] +\d+ .*disk0 (write \d+\+\d+|flush)/);
      await keys('q');
      await waitFor(/EXITED/, 'the program to exit');
    } finally {
      await tmux('kill-session', '-t', session);
    }
  });

  it('report: each trace’s block I/O (table, activity and histogram) and the device layer side by side; chromium renders it', async () => {
    const [a, b] = [await kvm, await xen];
    const file = tmp.file('report.html');
    const r = await bootscope(tmp.dir, 'report', a, b, '-o', file);
    expect(r.err).toBe('');
    const html = readFileSync(file, 'utf8');
    expect(html.match(/<h3>Block and network I\/O<\/h3>/g)).toHaveLength(2);
    for (const q of ['virtio-blk@00:01.0 q0</td><td>block', 'vbd-51712 q0</td><td>block']) expect(html).toContain(`<td>${q}</td>`);
    expect(html.match(/<svg class="chart io"/g)).toHaveLength(2);
    expect(html).toContain('<h3>Device layer</h3>');
    expect(html).toContain('<tr><td>disk0</td><td>virtio-blk@00:01.0</td><td>vbd-51712</td></tr>');
    expect(html).toMatch(/<td>2<\/td><td>#\d+ disk0 read 2\+1024<\/td><td>#\d+ disk0 read 2\+1024<\/td>/);
    const profile = mkdtempSync(path.join(os.tmpdir(), 'bootscope-chromium-'));
    try {
      const dom = await run('/usr/bin/chromium', [
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
        '--dump-dom',
        `file://${file}`,
      ]);
      const io = [...dom.out.matchAll(/<svg class="chart io"[^>]*>([\s\S]*?)<\/svg>/g)];
      expect(io).toHaveLength(2);
      for (const m of io)
        expect(m[1]).toMatch(/<rect x="[\d.]+" y="[\d.]+" width="[\d.]+" height="[1-9][\d.]*"[\s\S]*<path d="M[\d.]+,[\d.]+[HVL]/);
      expect(dom.out).toMatch(/<table class="io">[\s\S]*disk0 read 0\+4096/);
      expect(dom.err).not.toMatch(/CONSOLE\(\d+\)|Uncaught|Failed to load resource/);
    } finally {
      rmSync(profile, { recursive: true, force: true });
    }
  });
});

/** A short child process, asynchronously (tmux, chromium). */
function run(cmd: string, args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out: Buffer.concat(out).toString('utf8'), err: Buffer.concat(err).toString('utf8') }));
  });
}

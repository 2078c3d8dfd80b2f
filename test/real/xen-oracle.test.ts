// The xen machine against real Xen: Debian's pinned xen-hypervisor-4.17-arm64 under QEMU TCG with a
// dom0less domU (scripts/xen-oracle/run.sh), and `bootscope run --machine xen --xen-toolstack
// dom0less` with the same guest, memory, vCPUs, GIC and command line. Compared line by line:
//   - guests/xenprobe: what the platform looks like from inside (ID registers, the vGIC's
//     registers, the device tree it was given), GICv3 with 2 vCPUs and GICv2 with 1 vCPU and the
//     vpl011;
//   - Debian's 6.1 and 6.12 kernels to the rootfs panic, each with console=hvc0 earlycon=xenboot
//     (console_io, `(d1)` lines) and with the vpl011 and console=ttyAMA0 (`DOM1:` lines), on both
//     GIC versions and with 1 and 2 vCPUs;
// printk timestamps aside, every line is the same, except the lines docs/xen.md ("The oracle")
// lists with their reason (DOCUMENTED below). Each real-Xen boot is one QEMU process (6–30 s);
// at most two boots run at once.
import { execFile } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DISK_MARKER, makeTestDisk } from '../../scripts/make-test-disk.ts';
import { bootscope, fetchGuests, REPO_ROOT, runScript, tempDir, type Guests } from '../helpers/real-guests.ts';

const run = promisify(execFile);
const tmp = tempDir('bootscope-xen-oracle-');
afterAll(() => tmp.cleanup());
let guests: Guests;

const PROBE = join(REPO_ROOT, 'guests/bin/xenprobe.bin');
const PANIC_END = 'unknown-block(0,0) ]---';
const MAX_INSNS = '2.5e9';

interface Case {
  name: string;
  kernel: () => string;
  append: string;
  smp: number;
  gic: 2 | 3;
  vpl011: boolean;
  mem: number;
  /** Where the boot ends. */
  stop: string;
}

/**
 * Lines that differ from real Xen on purpose (docs/xen.md, "The oracle"). A line of the
 * difference, on either side, must match one of these.
 */
export const DOCUMENTED: { re: RegExp; why: string }[] = [
  {
    re: /^CPU features: detected: 32-bit EL[01] Support$/,
    why: 'the emulated CPU has no AArch32 (ID_AA64PFR0.EL0/EL1 = 1); the Cortex-A57 under Xen has it',
  },
  {
    re: /^(Registered setend emulation handler|setend instruction emulation is not supported on this system)$/,
    why: 'no mixed-endian EL0 and no AArch32 in the emulated CPU (ID_AA64MMFR0.BigEndEL0, ID_AA64PFR0)',
  },
  { re: /^CPU features: 0x[0-9a-f]+(,[0-9a-f]+)+$/, why: "Linux's capability bitmap: the two 32-bit capabilities above" },
  { re: /^node 0 deferred pages initialised in \d+ms$/, why: 'wall time: TCG under Xen vs virtual time' },
  {
    re: /^hrtimer: interrupt took \d+ ns$/,
    why: 'wall time: a timer interrupt that took long on a loaded host (TCG under Xen); virtual time never does',
  },
  {
    re: /^audit: type=2000 audit\(\d+\.\d+:1\): state=initialized audit_enabled=0 res=1$/,
    why: 'wall time: the audit timestamp, and where the line lands',
  },
  {
    re: /^CPU: \d+ (UID: 0 )?PID: 1 Comm: swapper\/0 Not tainted /,
    why: "with 2 vCPUs: the vCPU init runs on when it panics, the guest scheduler's choice (on real Xen it changes from run to run)",
  },
  {
    re: /^Memory: \d+K\/\d+K available \(/,
    why: '6.12 with 2 vCPUs prints it once the secondary vCPU is up: the free total then depends on how far the second vCPU got (176 KiB more in use on real Xen, on every run); equal with 1 vCPU and with 6.1',
  },
];

/**
 * The xl domU (a real dom0 with xl, xenstored, blkback and netback; scripts/xen-oracle/run-xl.sh)
 * against the emulator's xl machine: lines that differ on purpose besides DOCUMENTED (docs/xen.md,
 * "The oracle with a dom0").
 */
export const XL_DOCUMENTED: { re: RegExp; why: string }[] = [
  {
    re: /^random: crng init done$/,
    why: "libxl writes 128 random bytes as /chosen/rng-seed; the emulator leaves them out, as the kvm machine leaves out QEMU's",
  },
  {
    re: /^blkfront: xvda: flush diskcache: enabled; persistent grants: (enabled|disabled); indirect descriptors: enabled; bounce buffer: (enabled|disabled;)$/,
    why: 'blkback offers feature-persistent 0 (a deliberate difference); blkfront uses bounce buffers exactly when grants are persistent',
  },
  {
    re: /^xen_netfront: backend supports XDP headroom$/,
    why: "netback offers none of Linux netback's optional features (feature-xdp-headroom among them; a deliberate difference)",
  },
  {
    re: /^(xenbus_probe_frontend: Waiting for devices to initialise: \d+s\.\.\.|)$/,
    why: "wall time: a real dom0's backends answer some time after the frontend's request (its kernel threads, TCG); the emulator's within the notification",
  },
];

/**
 * The initramfs is unpacked asynchronously (initramfs_async): where these lines land among the
 * initcalls is timing. Allowed to move, not to change: each must be on both sides.
 */
const XL_MOVED = /^(Trying to unpack rootfs image as initramfs\.\.\.|Freeing initrd memory: \d+K|kvm \[1\]: HYP mode not available)$/;

/** The probe's ID registers that differ from the Cortex-A57 Xen runs on (docs/xen.md). */
const PROBE_ID_DIFFERENCES = [
  'ID_AA64PFR0_EL1',
  'ID_AA64DFR0_EL1',
  'ID_AA64ISAR0_EL1',
  'ID_AA64MMFR0_EL1',
  'ID_PFR0_EL1',
  'ID_DFR0_EL1',
  'ID_ISAR0_EL1',
  'ID_MMFR0_EL1',
  'MVFR0_EL1',
];

/** At most `n` boots at once (each real-Xen or emulator boot keeps a core busy). */
function limited(n: number) {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async <T>(job: () => Promise<T>): Promise<T> => {
    if (running >= n) await new Promise<void>((go) => waiting.push(go));
    running++;
    try {
      return await job();
    } finally {
      running--;
      waiting.shift()?.();
    }
  };
}
const slot = limited(2);

/** Real Xen: the domU's lines (scripts/xen-oracle/domu-log.ts). */
async function realXen(c: Case): Promise<string[]> {
  const out = tmp.file(`xen-${c.name}`);
  const args = [
    '--kernel',
    c.kernel(),
    '--append',
    c.append,
    '--smp',
    String(c.smp),
    '--gic',
    String(c.gic),
    '--mem',
    String(c.mem),
    '--stop',
    c.stop,
    ...(c.vpl011 ? ['--vpl011'] : []),
    out,
  ];
  // asynchronous (runScript): a real-Xen boot takes 10-60 s; its stderr (the log's tail on failure) is passed through
  await runScript(join(REPO_ROOT, 'scripts/xen-oracle/run.sh'), args);
  return readFileSync(join(out, 'domu.log'), 'latin1').split('\n');
}

/** The emulator, the same domain built as Xen's dom0less builder builds it: the console's lines. */
async function emulator(c: Case): Promise<string[]> {
  const r = await bootscope(
    tmp.dir,
    'run',
    '--machine',
    'xen',
    '--xen-toolstack',
    'dom0less',
    '--kernel',
    c.kernel(),
    '--append',
    c.append,
    '--smp',
    String(c.smp),
    '--gic',
    String(c.gic),
    '--mem',
    `${c.mem}M`,
    ...(c.vpl011 ? ['--vuart', 'sbsa'] : []),
    '--stop-on',
    c.stop,
    '--max-insns',
    MAX_INSNS,
    '-o',
    tmp.file(`emu-${c.name}.trace`),
    '--json',
  );
  if (r.code !== 0 || r.err !== '') throw new Error(`bootscope run ${c.name} exited ${r.code}: ${r.err}`);
  const s = JSON.parse(r.out) as { stop: string; console: string };
  if (s.stop !== 'stopped')
    throw new Error(`${c.name}: the emulator's boot ended with ${s.stop}; console tail:\n${s.console.slice(-1500)}`);
  return s.console.split('\n');
}

/** printk timestamps and '\r' dropped; from the first line to the stop text's line. */
function normalise(lines: string[], stop: string): string[] {
  const out = lines.map((l) => l.replace(/\r/g, '').replace(/^\[ *\d+\.\d+\] /, ''));
  const end = out.findIndex((l) => l.includes(stop));
  return end < 0 ? out : out.slice(0, end + 1);
}

/** The lines only in `a` and only in `b` (a longest-common-subsequence diff), and how many matched. */
export function lineDiff(a: string[], b: string[]): { onlyA: string[]; onlyB: string[]; same: number } {
  const n = a.length,
    m = b.length;
  const lcs = Array.from({ length: n + 1 }, () => new Uint16Array(m + 1));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--) lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const onlyA: string[] = [],
    onlyB: string[] = [];
  let i = 0,
    j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      i++;
      j++;
    } else if (lcs[i + 1]![j]! >= lcs[i]![j + 1]!) onlyA.push(a[i++]!);
    else onlyB.push(b[j++]!);
  }
  onlyA.push(...a.slice(i));
  onlyB.push(...b.slice(j));
  return { onlyA, onlyB, same: lcs[0]![0]! };
}

const undocumented = (lines: string[], extra: typeof DOCUMENTED = []): string[] =>
  lines.filter((l) => ![...DOCUMENTED, ...extra].some((d) => d.re.test(l)));

const kernel61 = () => guests.kernel;
const kernel612 = () => guests.kernel612;
const HVC = 'console=hvc0 earlycon=xenboot';
const AMA = 'console=ttyAMA0';

// Each kernel: both consoles, both GIC versions, 1 and 2 vCPUs.
const LINUX: Case[] = [
  { name: '6.1-hvc-gicv3-smp1', kernel: kernel61, append: HVC, smp: 1, gic: 3, vpl011: false, mem: 256, stop: PANIC_END },
  { name: '6.1-ttyAMA0-gicv2-smp2', kernel: kernel61, append: AMA, smp: 2, gic: 2, vpl011: true, mem: 256, stop: PANIC_END },
  { name: '6.12-hvc-gicv2-smp2', kernel: kernel612, append: HVC, smp: 2, gic: 2, vpl011: false, mem: 256, stop: PANIC_END },
  { name: '6.12-ttyAMA0-gicv3-smp1', kernel: kernel612, append: AMA, smp: 1, gic: 3, vpl011: true, mem: 256, stop: PANIC_END },
];
const PROBES: Case[] = [
  { name: 'probe-gicv3-smp2', kernel: () => PROBE, append: HVC, smp: 2, gic: 3, vpl011: false, mem: 128, stop: 'PASS xenprobe' },
  { name: 'probe-gicv2-smp1-vpl011', kernel: () => PROBE, append: HVC, smp: 1, gic: 2, vpl011: true, mem: 128, stop: 'PASS xenprobe' },
];

const results = new Map<string, Promise<{ real: string[]; emu: string[] }>>();

// The xl domU: 6.1 from the disk initramfs (scripts/make-test-disk.ts) with xvda and a vif, 1 vCPU, GICv3.
const MAC = '00:16:3e:aa:bb:cc';
const POWER_DOWN = 'reboot: Power down';
let xl: Promise<{ real: string[]; emu: string[]; xenstore: string[]; serial: string }>;

async function realXl(initrd: string, disk: string): Promise<{ console: string[]; xenstore: string[]; serial: string }> {
  const out = tmp.file('xen-xl');
  await runScript(join(REPO_ROOT, 'scripts/xen-oracle/run-xl.sh'), ['--initrd', initrd, '--disk', disk, '--mac', MAC, out]);
  const lines = (f: string) => readFileSync(join(out, f), 'latin1').split('\n');
  return { console: lines('domu.log'), xenstore: lines('xenstore.txt'), serial: readFileSync(join(out, 'serial.log'), 'latin1') };
}

async function emulatorXl(initrd: string, disk: string): Promise<string[]> {
  const copy = tmp.file('emu-xl.img');
  copyFileSync(disk, copy);
  const r = await bootscope(
    tmp.dir,
    'run',
    '--machine',
    'xen',
    '--kernel',
    guests.kernel,
    '--initrd',
    initrd,
    '--disk',
    copy,
    '--nic',
    `mac=${MAC}`,
    '--append',
    'console=hvc0',
    '--smp',
    '1',
    '--gic',
    '3',
    '--mem',
    '256M',
    '--max-insns',
    '3e9',
    '-o',
    tmp.file('emu-xl.trace'),
    '--json',
  );
  if (r.code !== 0 || r.err !== '') throw new Error(`bootscope run (xl) exited ${r.code}: ${r.err}`);
  const s = JSON.parse(r.out) as { stop: string; console: string };
  if (s.stop !== 'system_off') throw new Error(`xl: the emulator's boot ended with ${s.stop}; console tail:\n${s.console.slice(-1500)}`);
  return s.console.split('\n');
}

beforeAll(() => {
  guests = fetchGuests();
  const { disk, initramfs } = makeTestDisk(guests.kernel, guests.busybox, tmp.file('disk'));
  xl = Promise.all([slot(() => realXl(initramfs, disk)), slot(() => emulatorXl(initramfs, disk))]).then(([real, emu]) => ({
    real: normalise(real.console, POWER_DOWN),
    emu: normalise(emu, POWER_DOWN),
    xenstore: real.xenstore,
    serial: real.serial,
  }));
  xl.catch(() => {}); // awaited by its test
  for (const c of [...PROBES, ...LINUX]) {
    const p = Promise.all([slot(() => realXen(c)), slot(() => emulator(c))]).then(([real, emu]) => ({
      real: normalise(real, c.stop),
      emu: normalise(emu, c.stop),
    }));
    p.catch(() => {}); // awaited by its test
    results.set(c.name, p);
  }
});

/** A DTB from the probe's "dtb OFFSET HEX" lines, as dtc decompiles it. */
async function probeDts(lines: string[], name: string): Promise<string> {
  const hex = lines
    .filter((l) => /^dtb [0-9a-f]{4} /.test(l))
    .map((l) => l.slice(9))
    .join('');
  const file = tmp.file(`${name}.dtb`);
  writeFileSync(file, Buffer.from(hex, 'hex'));
  return (await run('dtc', ['-q', '-I', 'dtb', '-O', 'dts', file])).stdout;
}

describe('guests/xenprobe on real Xen 4.17 and on --machine xen --xen-toolstack dom0less', () => {
  for (const c of PROBES) {
    it(`${c.name}: the same vGIC registers and device tree; only the documented ID registers differ`, async () => {
      const { real, emu } = await results.get(c.name)!;
      expect(real.at(-1)).toBe('PASS xenprobe');
      const plain = (l: string[]) => l.filter((x) => !x.startsWith('dtb '));
      const d = lineDiff(plain(real), plain(emu));
      const idName = (l: string) => /^id (\S+) /.exec(l)?.[1];
      expect(d.onlyA.map(idName)).toEqual(PROBE_ID_DIFFERENCES);
      expect(d.onlyB.map(idName)).toEqual(PROBE_ID_DIFFERENCES);
      expect(d.same).toBeGreaterThan(c.gic === 3 ? 100 : 45);
      expect(await probeDts(emu, `${c.name}-emu`)).toBe(await probeDts(real, `${c.name}-xen`));
    });
  }
});

describe('Debian Linux as a dom0less domU: real Xen 4.17 and the emulator print the same lines', () => {
  for (const c of LINUX) {
    it(`${c.name}: identical apart from the documented lines`, async () => {
      const { real, emu } = await results.get(c.name)!;
      expect(real.at(-1)).toContain(PANIC_END);
      expect(emu.at(-1)).toBe(real.at(-1));
      const d = lineDiff(real, emu);
      expect({ xen: undocumented(d.onlyA), emulator: undocumented(d.onlyB) }).toEqual({ xen: [], emulator: [] });
      expect(d.same).toBeGreaterThan(190);
      // the console the case is about
      expect(
        real.some((l) =>
          (c.vpl011 ? /^printk: (legacy )?console \[ttyAMA0\] enabled$/ : /^printk: (legacy )?bootconsole \[xenboot0\] enabled$/).test(l),
        ),
      ).toBe(true);
      expect(real).toContain('xen:events: Using FIFO-based ABI');
    });
  }
});

describe('Debian Linux as an xl domU with a disk and a vif: a real dom0 (xl, xenstored, blkback, netback) and the emulator', () => {
  it("6.1, 1 vCPU, GICv3: the same lines to the disk's init and power-off, apart from the documented ones", async () => {
    const { real, emu, xenstore, serial } = await xl;
    expect(real).toContain(DISK_MARKER);
    expect(real.at(-1)).toBe(POWER_DOWN);
    expect(emu.at(-1)).toBe(POWER_DOWN);
    // the real handshake reached Connected on both devices (dom0's /init saw both backends at 4
    // and read the tree with the domU paused)
    expect(serial).toMatch(/^DOM0: backends connected after \d+s\r?$/m);
    expect(xenstore).toContain('/local/domain/0/backend/vbd/1/51712/sectors = "32768"   (n0,r1)');
    expect(xenstore).toContain('/local/domain/1/device/vbd/51712/protocol = "arm-abi"   (n1,r0)');
    const d = lineDiff(real, emu);
    const moved = (l: string) => XL_MOVED.test(l) && d.onlyA.includes(l) && d.onlyB.includes(l);
    const rest = (lines: string[]) =>
      undocumented(
        lines.filter((l) => !moved(l)),
        XL_DOCUMENTED,
      );
    expect({ xen: rest(d.onlyA), emulator: rest(d.onlyB) }).toEqual({ xen: [], emulator: [] });
    expect(d.same).toBeGreaterThan(190);
  });
});

// `explain disk` on real Debian 6.1 boots made on purpose with each fault, on both machines
// (virtio-blk over PCIe on kvm, blkfront/blkback on xen), from the disk initramfs
// (scripts/make-test-disk.ts): a good boot (disk-ok); `module_blacklist=` for the disk driver
// (driver-not-bound: the kernel refuses the initramfs's insmod); `root=` naming a device that does
// not exist (wrong-root: the initramfs honours root=); `--disk-fault refuse` (negotiation-failed);
// `--disk-fault eio@2` (io-errors: the ext4 superblock's sector fails); no --disk (no-disk); a DT
// without the PCIe host node and a dom0less domain, which has no xenstore (no-bus). Also the
// command's one-line errors on bad input.
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { makeTestDisk } from '../../scripts/make-test-disk.ts';
import { openTrace } from '../../capture/store/index.ts';
import { dtbFromMeta } from '../../capture/dtb-meta.ts';
import { bootscope, fetchGuests, tempDir, type Guests } from '../helpers/real-guests.ts';
import type { DiskExplanation } from '../../analyze/explain-disk-model.ts';

const tmp = tempDir('bootscope-real-explain-disk-');
let guests: Guests;
let disk: string;
let initrd: string;

interface Boot {
  trace: string;
  console: string;
  stop: string;
}

/** At most two boots at a time: the machine has two cores, shared. */
let running = 0;
const waiting: (() => void)[] = [];
async function slot<T>(f: () => Promise<T>): Promise<T> {
  if (running >= 2) await new Promise<void>((r) => waiting.push(r));
  running++;
  try {
    return await f();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

function boot(name: string, machine: 'kvm' | 'xen', withDisk: boolean, ...args: string[]): Promise<Boot> {
  return slot(async () => {
    const trace = tmp.file(`${name}.trace`);
    const diskArgs: string[] = [];
    if (withDisk) {
      const copy = tmp.file(`${name}.ext4`);
      copyFileSync(disk, copy);
      diskArgs.push('--disk', copy);
    }
    const r = await bootscope(
      tmp.dir,
      'run',
      '--machine',
      machine,
      '--kernel',
      guests.kernel,
      '--initrd',
      initrd,
      '--mem',
      machine === 'kvm' ? '512M' : '256M',
      '--max-insns',
      '4e9',
      '-o',
      trace,
      '--json',
      ...diskArgs,
      ...args,
    );
    if (r.code !== 0 || r.err !== '') throw new Error(`bootscope run ${name} exited ${r.code}: ${r.err}`);
    const s = JSON.parse(r.out) as { console: string; stop: string };
    return { trace, console: s.console, stop: s.stop };
  });
}

const KVM = 'console=ttyAMA0';
const XEN = 'console=hvc0';
const boots: Record<string, Promise<Boot>> = {};

beforeAll(() => {
  guests = fetchGuests();
  ({ disk, initramfs: initrd } = makeTestDisk(guests.kernel, guests.busybox, tmp.dir));
  const plan: [string, 'kvm' | 'xen', boolean, ...string[]][] = [
    ['kvm-ok', 'kvm', true, '--append', KVM],
    ['xen-ok', 'xen', true, '--append', XEN],
    ['kvm-blacklist', 'kvm', true, '--append', `${KVM} module_blacklist=virtio_blk`],
    ['xen-blacklist', 'xen', true, '--append', `${XEN} module_blacklist=xen_blkfront`],
    ['kvm-root', 'kvm', true, '--append', `${KVM} root=/dev/vdz`],
    ['xen-root', 'xen', true, '--append', `${XEN} root=/dev/xvdz`],
    ['kvm-refuse', 'kvm', true, '--append', KVM, '--disk-fault', 'refuse'],
    ['xen-refuse', 'xen', true, '--append', XEN, '--disk-fault', 'refuse'],
    ['kvm-eio', 'kvm', true, '--append', KVM, '--disk-fault', 'eio@2'],
    ['xen-eio', 'xen', true, '--append', XEN, '--disk-fault', 'eio@2'],
    ['kvm-nodisk', 'kvm', false, '--append', KVM],
    ['xen-dom0less', 'xen', false, '--append', XEN, '--xen-toolstack', 'dom0less'],
  ];
  for (const [name, machine, withDisk, ...args] of plan) boots[name] = boot(name, machine, withDisk, ...args);
  // The kvm machine's own DT without its PCIe host node (fdtput -r): the host is there, the guest cannot know.
  boots['kvm-nopci'] = boots['kvm-ok']!.then((ok) => {
    const r = openTrace(ok.trace);
    const dtb = tmp.file('nopci.dtb');
    try {
      writeFileSync(dtb, dtbFromMeta(r.meta.extra)!);
    } finally {
      r.close();
    }
    execFileSync('fdtput', ['-r', dtb, '/pcie@10000000']);
    return boot('kvm-nopci', 'kvm', true, '--dtb', dtb);
  });
  for (const p of Object.values(boots)) p.catch(() => {});
});
afterAll(() => tmp.cleanup());

/** What `explain disk --json` prints: the analyzer's own model. */
type Explained = DiskExplanation;

/** `explain disk` on a boot: its JSON and its text. */
async function explain(name: string): Promise<{ x: Explained; text: string; boot: Boot }> {
  const b = await boots[name]!;
  const j = await bootscope(tmp.dir, 'explain', 'disk', b.trace, '--json');
  expect(j.err).toBe('');
  expect(j.code).toBe(0);
  const t = await bootscope(tmp.dir, 'explain', 'disk', b.trace);
  expect(t.err).toBe('');
  // The helper reads stdout as latin1 (guest bytes 1:1); the text output is UTF-8 (its arrows).
  return { x: JSON.parse(j.out) as Explained, text: Buffer.from(t.out, 'latin1').toString('utf8'), boot: b };
}

const has = (x: Explained, re: RegExp) => x.reasons.some((r) => re.test(r));

describe('explain disk on Debian 6.1 boots made with each fault', () => {
  it('disk-ok: both machines mount the root file system from the disk; the evidence is the status sequence / the xenbus states', async () => {
    const k = await explain('kvm-ok');
    expect(k.boot.stop).toBe('system_off');
    expect(k.x).toMatchObject({ verdict: 'disk-ok', hasRootDisk: true, bus: { kind: 'pci', present: true } });
    expect(k.x.bus.functions).toEqual(['pcie-host@00:00.0', 'virtio-blk@00:01.0']);
    const kd = k.x.devices[0]!;
    expect(kd).toMatchObject({ name: 'virtio-blk@00:01.0', transport: 'virtio-pci', kernelNames: ['vda'], errors: 0, status: '0xf' });
    // virtio 1.2 §3.1.1: reset, ACKNOWLEDGE, DRIVER, FEATURES_OK, DRIVER_OK; reset again at power-off.
    expect(kd.statusWrites).toEqual(['0x0', '0x1', '0x3', '0xb', '0xf', '0x0']);
    expect(kd.completions).toBe(kd.requests);
    expect(kd.requests).toBeGreaterThan(10);
    expect(has(k.x, /^console seq \d+: "EXT4-fs \(vda\): mounted filesystem/)).toBe(true);
    expect(k.text).toMatch(/^verdict: disk-ok\nvirtio-blk@00:01\.0 came up and the root file system on it was mounted\n/);
    expect(k.text).toContain('virtio status: 0x0 → 0x1 → 0x3 → 0xb → 0xf → 0x0 (bits reached 0xf)');
    expect(k.x.evidence.some((e) => / device_status = 0xf /.test(e.text))).toBe(true);

    const x = await explain('xen-ok');
    expect(x.x).toMatchObject({ verdict: 'disk-ok', hasRootDisk: true, bus: { kind: 'xenbus' } });
    expect(x.x.bus.accesses).toBeGreaterThan(20);
    expect(x.x.devices).toHaveLength(1);
    expect(x.x.devices[0]).toMatchObject({ name: 'vbd-51712', transport: 'xen-blkif', kernelNames: ['xvda'], errors: 0 });
    expect(x.x.devices[0]!.frontend).toContain(4);
    expect(x.x.devices[0]!.backend).toContain(4);
    expect(has(x.x, /EXT4-fs \(xvda\): mounted filesystem/)).toBe(true);
    expect(x.text).toContain('xenbus frontend: 3 Initialised, 4 Connected, 5 Closing, 6 Closed; backend: 4 Connected, 5 Closing, 6 Closed');
  });

  it('driver-not-bound: module_blacklist= keeps virtio_blk / xen-blkfront out; the device was found, its driver never took it', async () => {
    const k = await explain('kvm-blacklist');
    expect(k.x.verdict).toBe('driver-not-bound');
    expect(k.x.hasRootDisk).toBe(false);
    const kd = k.x.devices[0]!;
    expect(kd.found).not.toBeNull();
    // virtio_pci registers the device (ACKNOWLEDGE) but no virtio driver probes it (no DRIVER).
    expect(kd.statusWrites).toEqual(['0x0', '0x1']);
    expect(kd.requests).toBe(0);
    expect(has(k.x, /never set DRIVER \(2\)/)).toBe(true);
    expect(has(k.x, /"Module virtio_blk is blacklisted"/)).toBe(true);
    expect(k.boot.console).toContain('BOOTSCOPE-INITRAMFS: no /dev/vda');

    const x = await explain('xen-blacklist');
    expect(x.x.verdict).toBe('driver-not-bound');
    const xd = x.x.devices[0]!;
    expect(xd.found).not.toBeNull();
    expect(xd.frontend).toEqual([]);
    expect(has(x.x, /the frontend never left Initialising/)).toBe(true);
    expect(has(x.x, /"Module xen_blkfront is blacklisted"/)).toBe(true);
    expect(has(x.x, /Initialising != Connected/)).toBe(true);
  });

  it('wrong-root: the disk comes up as vda / xvda, root= names vdz / xvdz, nothing is mounted', async () => {
    for (const [name, dev, root] of [
      ['kvm-root', 'vda', '/dev/vdz'],
      ['xen-root', 'xvda', '/dev/xvdz'],
    ] as const) {
      const r = await explain(name);
      expect(r.x.verdict, name).toBe('wrong-root');
      expect(r.x.kernel.root).toBe(root);
      expect(r.x.devices[0]!.kernelNames).toEqual([dev]);
      expect(r.x.summary).toBe(`the disk came up as ${dev} but root=${root} names another device`);
      expect(has(r.x, new RegExp(`"BOOTSCOPE-INITRAMFS: no ${root}"`))).toBe(true);
      expect(has(r.x, new RegExp(`root=${root}, but the disk that came up is /dev/${dev}$`))).toBe(true);
      expect(r.x.devices[0]!.errors).toBe(0);
    }
  });

  it('negotiation-failed: --disk-fault refuse — virtio-blk clears FEATURES_OK, Linux sets FAILED; blkback never goes Connected', async () => {
    const k = await explain('kvm-refuse');
    expect(k.x.verdict).toBe('negotiation-failed');
    const kd = k.x.devices[0]!;
    expect(kd.featuresRefused).toBe(true);
    expect(kd.statusWrites).toEqual(['0x0', '0x1', '0x3', '0xb', '0x83']);
    expect(has(k.x, /"virtio_blk virtio0: virtio: device refuses features: /)).toBe(true);
    expect(has(k.x, /set FAILED/)).toBe(true);
    expect(k.x.evidence.some((e) => /mmio_read .*device_status = 0x3 /.test(e.text))).toBe(true);

    const x = await explain('xen-refuse');
    expect(x.x.verdict).toBe('negotiation-failed');
    const xd = x.x.devices[0]!;
    expect(xd.backend).not.toContain(4);
    expect(xd.backend).toContain(5);
    expect(xd.deviceError).toContain('the disk refuses to connect');
    expect(has(x.x, /the xenbus handshake never connected/)).toBe(true);
  });

  it('io-errors: --disk-fault eio@2 — the partition scan and the superblock read complete with errors; the kernel says I/O error', async () => {
    for (const [name, dev] of [
      ['kvm-eio', 'vda'],
      ['xen-eio', 'xvda'],
    ] as const) {
      const r = await explain(name);
      expect(r.x.verdict, name).toBe('io-errors');
      const d = r.x.devices[0]!;
      expect(d.errors).toBeGreaterThan(0);
      expect(d.errors).toBe(d.completions);
      expect(d.firstError!.text).toMatch(/ read done ioerr /);
      expect(has(r.x, new RegExp(`"I/O error, dev ${dev}, sector 2 op 0x0:\\(READ\\)`))).toBe(true);
      expect(r.x.kernel.lines.map((l) => l.text)).toContain(`EXT4-fs (${dev}): unable to read superblock`);
    }
  });

  it('no-disk and no-bus: no --disk; a DT without the PCIe host; a dom0less domain (no xenstore)', async () => {
    const n = await explain('kvm-nodisk');
    expect(n.x).toMatchObject({ verdict: 'no-disk', devices: [] });
    expect(n.x.bus.functions).toEqual(['pcie-host@00:00.0']);

    const p = await explain('kvm-nopci');
    expect(p.x.verdict).toBe('no-bus');
    expect(p.x.bus).toMatchObject({ present: true, accesses: 0 });
    expect(p.x.summary).toBe('no PCI enumeration: the kernel never looked for devices on the PCIe host');

    const d = await explain('xen-dom0less');
    expect(d.x.verdict).toBe('no-bus');
    expect(d.x.summary).toBe('xenbus dead: no xenstore traffic from the guest');
  });
});

describe('explain disk: bad input', () => {
  it('an unknown topic, a missing file, a directory, a text file, an empty file: one line each, no stack trace', async () => {
    const dir = tmp.file('a-dir');
    mkdirSync(dir, { recursive: true });
    writeFileSync(tmp.file('text.trace'), 'not a trace\n');
    writeFileSync(tmp.file('empty.trace'), '');
    const cases: [string[], RegExp][] = [
      [['explain', 'disks', tmp.file('text.trace')], /^bootscope: explain: unknown topic 'disks' \(expected one of: uart, disk\)\n$/],
      [['explain', 'disk', tmp.file('missing.trace')], /missing\.trace/],
      [['explain', 'disk', dir], /a-dir/],
      [['explain', 'disk', tmp.file('text.trace')], /text\.trace/],
      [['explain', 'disk', tmp.file('empty.trace')], /empty\.trace/],
    ];
    for (const [args, re] of cases) {
      const r = await bootscope(tmp.dir, ...args);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.err).toMatch(re);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.err).not.toMatch(/\n\s+at /);
    }
  });

  it('--disk-fault: a malformed fault or a disk that is not there is a one-line error', async () => {
    for (const [fault, re] of [
      ['eio@', /^bootscope: --disk-fault eio@: expected \[N:\]eio@FIRST\[-LAST\] or \[N:\]refuse\n$/],
      ['eio@9-3', /LAST >= FIRST/],
      ['1:refuse', /^bootscope: --disk-fault 1:refuse: there is no disk 1 \(1 --disk given\)\n$/],
    ] as const) {
      const r = await bootscope(
        tmp.dir,
        'run',
        '--kernel',
        guests.kernel,
        '--disk',
        disk,
        '--disk-fault',
        fault,
        '-o',
        tmp.file('x.trace'),
      );
      expect(r.code, fault).not.toBe(0);
      expect(r.err).toMatch(re);
    }
  });
});

// Debian's 6.1 kernel boots from the disk initramfs (scripts/make-test-disk.ts) onto the ext4
// disk over virtio-blk-pci and runs the disk's /sbin/init (busybox), which prints a marker, writes
// a file and powers off. The user's image is byte-identical afterwards; with ,rw it holds the
// file. QEMU 7.2 with the same kernel, initramfs and disk prints the same PCI and virtio lines.
// Replay is identical; replay with a changed image is refused. GICv3 has QEMU virt's ITS by
// default (the functions use MSI-X through LPIs; the GIC and ITS lines equal QEMU's), --its off
// gives QEMU's its=off (INTx only).
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DISK_MARKER, HVC_MARKER, INITRAMFS_MARKER, makeTestDisk, WRITTEN_FILE, WRITTEN_TEXT } from '../../scripts/make-test-disk.ts';
import { bootscope, fetchGuests, gicLinesAsKvm, tempDir, type Guests } from '../helpers/real-guests.ts';

const tmp = tempDir('bootscope-real-disk-');
let guests: Guests;
let disk: string;
let initrd: string;
let diskSha: string;
beforeAll(() => {
  guests = fetchGuests();
  ({ disk, initramfs: initrd } = makeTestDisk(guests.kernel, guests.busybox, tmp.dir));
  diskSha = sha(disk);
});
afterAll(() => tmp.cleanup());

const sha = (f: string): string => createHash('sha256').update(readFileSync(f)).digest('hex');
const APPEND = 'console=ttyAMA0';

/** The GICv3, ITS and MSI domain lines (timestamps dropped). */
function gicLines(console: string): string[] {
  return console
    .replace(/\r/g, '')
    .split('\n')
    .map((l) => l.replace(/^\[ *\d+\.\d+\] /, ''))
    .filter((l) => /^(GICv3: |ITS|Platform MSI: |PCI\/MSI: )/.test(l));
}

/** The lines where the kernel enumerates PCI and probes the virtio disk (timestamps dropped). */
function pciLines(console: string): string[] {
  return console
    .replace(/\r/g, '')
    .split('\n')
    .map((l) => l.replace(/^\[ *\d+\.\d+\] /, ''))
    .filter((l) => /^(PCI: |pci-host-generic |pci_bus |pci |virtio-pci |virtio_blk |EXT4-fs \(vda\)|BOOTSCOPE-)/.test(l));
}

function qemu(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('qemu-system-aarch64', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => out.push(d));
    child.on('error', reject);
    child.on('close', () => resolve(Buffer.concat(out).toString('latin1')));
  });
}

describe('Debian Linux 6.1 to /sbin/init on a virtio-blk-pci disk (--machine kvm)', () => {
  const cowDisk = tmp.file('cow.ext4');
  const cowTrace = tmp.file('cow.trace');
  let emuConsole = '';

  it('GICv3, 2 vCPUs: the initramfs mounts /dev/vda, its /sbin/init runs and powers off; the image is unchanged', async () => {
    copyFileSync(disk, cowDisk);
    const r = await bootscope(
      tmp.dir,
      'run',
      '--kernel',
      guests.kernel,
      '--initrd',
      initrd,
      '--append',
      APPEND,
      '--smp',
      '2',
      '--gic',
      '3',
      '--mem',
      '512M',
      '--disk',
      cowDisk,
      '--max-insns',
      '4e9',
      '-o',
      cowTrace,
      '--json',
    );
    expect(r.err).toBe('');
    const s = JSON.parse(r.out);
    emuConsole = s.console as string;
    expect(emuConsole).toContain(`${INITRAMFS_MARKER} /dev/vda`);
    expect(emuConsole).toMatch(new RegExp(`\\n${DISK_MARKER}\\r?\\n`));
    expect(emuConsole).toContain('reboot: Power down');
    expect(s.stop).toBe('system_off');
    expect(sha(cowDisk)).toBe(diskSha);
    expect(s.hashes.disk0).toBe(diskSha);
    // The trace has the device-independent block events and the decoded configuration accesses.
    const ev = await bootscope(
      tmp.dir,
      'sql',
      cowTrace,
      "SELECT kind, count(*) FROM events WHERE kind IN ('block_request', 'block_complete', 'pci_config') GROUP BY kind ORDER BY kind",
      '--json',
    );
    const counts = Object.fromEntries((JSON.parse(ev.out) as { kind: string; 'count(*)': number }[]).map((x) => [x.kind, x['count(*)']]));
    expect(counts.block_request).toBeGreaterThan(10);
    expect(counts.block_complete).toBe(counts.block_request);
    expect(counts.pci_config).toBeGreaterThan(50);
    const writes = await bootscope(
      tmp.dir,
      'sql',
      cowTrace,
      "SELECT count(*) AS n FROM events WHERE kind = 'block_request' AND op = 'write'",
      '--json',
    );
    expect(JSON.parse(writes.out)[0].n).toBeGreaterThan(0);
    // The ITS translated the functions' MSI-X messages into LPIs, acknowledged like any interrupt.
    const msi = await bootscope(
      tmp.dir,
      'sql',
      cowTrace,
      "SELECT count(*) AS n, min(intid) AS lo, (SELECT count(*) FROM events WHERE kind = 'irq_ack' AND intid >= 8192) AS acks FROM events WHERE kind = 'msi' AND addr = 134807616",
      '--json',
    );
    const m = JSON.parse(msi.out)[0];
    expect(m.n).toBeGreaterThan(10);
    expect(m.lo).toBeGreaterThanOrEqual(8192);
    expect(m.acks).toBeGreaterThan(10);
    expect(emuConsole).toContain('ITS [mem 0x08080000-0x0809ffff]');
    const info = await bootscope(tmp.dir, 'info', cowTrace);
    expect(info.out).toMatch(/virtio-blk@00:01\.0 +virtio-blk-pci/);
    expect(info.out).toMatch(
      /PCI functions\n.*\n +00:00\.0 +gpex-root +pcie-host +\d+\n +00:01\.0 +virtio-blk-pci +virtio-blk +36 +[\d,]+\n/,
    );
  });

  it('QEMU 7.2 with the same kernel, initramfs and disk prints the same GICv3/ITS, PCI enumeration and virtio lines', async () => {
    const out = await qemu([
      '-M',
      'virt,gic-version=3',
      '-cpu',
      'cortex-a57',
      '-smp',
      '2',
      '-m',
      '512M',
      '-nographic',
      '-no-reboot',
      '-kernel',
      guests.kernel,
      '-initrd',
      initrd,
      '-append',
      APPEND,
      '-drive',
      `file=${disk},if=none,id=d0,format=raw,snapshot=on`,
      '-device',
      'virtio-blk-pci,drive=d0,disable-legacy=on',
      '-nic',
      'none',
    ]);
    const theirs = pciLines(out);
    expect(theirs).toContain('pci 0000:00:01.0: [1af4:1042] type 00 class 0x010000');
    expect(theirs).toContain('virtio_blk virtio0: 2/0/0 default/read/poll queues');
    expect(theirs).toContain(DISK_MARKER);
    expect(pciLines(emuConsole)).toEqual(theirs);
    expect(gicLines(out)).toContain('ITS [mem 0x08080000-0x0809ffff]');
    expect(gicLines(emuConsole)).toEqual(gicLinesAsKvm(gicLines(out)));
    expect(sha(disk)).toBe(diskSha);
  });

  it("phases of the disk boot: PCI enumeration, the disk's bring-up to DRIVER_OK, root ready and mounted, /init, /sbin/init, power-off", async () => {
    const r = await bootscope(tmp.dir, 'phases', cowTrace, '--json');
    expect(r.err).toBe('');
    const p = JSON.parse(r.out) as {
      phases: { id: string; title: string; start: number; end: number; endMarker?: { what: string } }[];
      missing: string[];
    };
    const at = (id: string) => p.phases.find((x) => x.id === id)!;
    // In boot order: enumeration at the host's probe, then (modules from the initramfs) the disk.
    const order = ['pci_enum', 'rootfs_init', 'init_started', 'device_bringup', 'root_ready', 'root_mount', 'sbin_init', 'poweroff'];
    expect(order.map((id) => at(id)?.start)).toEqual([...order.map((id) => at(id).start)].sort((a, b) => a - b));
    expect(at('device_bringup').title).toBe('bring-up virtio-blk@00:01.0');
    expect(at('device_bringup').endMarker?.what).toBe('device_status DRIVER_OK');
    // Enumeration is over long before the driver comes (its module is loaded by /init).
    expect(at('pci_enum').end).toBeLessThan(at('init_started').start);
    expect(at('root_mount').endMarker?.what).toMatch(/^EXT4-fs \(vda\): mounted filesystem/);
    expect(at('root_mount').start).toBeGreaterThan(at('device_bringup').start);
    expect(p.missing).toEqual(['firmware', 'panic']);
  });

  it("I/O latency of the disk boot: every request of each virtio-blk queue from its notify to the guest's acknowledge of INTx", async () => {
    const r = await bootscope(tmp.dir, 'latency', cowTrace, '--json');
    expect(r.err).toBe('');
    const io = JSON.parse(r.out).io as {
      queues: {
        device: string;
        queue: number;
        requests: number;
        completed: number;
        errors: number;
        stages: { stage: string; count: number; max: number }[];
      }[];
      outstanding: unknown[];
    };
    // 2 vCPUs: virtio_blk asks for a queue per CPU; the device offers two.
    expect(io.queues.map((q) => `${q.device} q${q.queue}`)).toEqual(['virtio-blk@00:01.0 q0', 'virtio-blk@00:01.0 q1']);
    expect(io.queues.reduce((n, q) => n + q.requests, 0)).toBeGreaterThan(10);
    for (const q of io.queues) {
      expect([q.completed, q.errors]).toEqual([q.requests, 0]);
      const stage = (s: string) => q.stages.find((x) => x.stage === s)!;
      expect(stage('submit_to_ack').count).toBe(q.requests);
      expect(stage('complete_to_ack').max).toBeGreaterThan(0);
    }
    expect(io.outstanding).toEqual([]);
    const text = await bootscope(tmp.dir, 'latency', cowTrace);
    expect(text.out).toMatch(/block I\/O per device and queue\n.*\nvirtio-blk@00:01\.0 q0 +\d+ +\d+ +[a-z]+ \d+.* +submit to complete/);
  });

  it('replay of the disk boot is identical', async () => {
    const r = await bootscope(tmp.dir, 'replay', cowTrace);
    expect(r.err).toBe('');
    expect(r.out).toMatch(/^identical \([\d,]+ events\)\n$/);
  });

  it('GICv2, 1 vCPU, ,rw, --nic, --console virtio: the file lands in the image, ARP frames are recorded, hvc0 works; replay then refuses the changed image', async () => {
    const rwDisk = tmp.file('rw.ext4');
    const rwTrace = tmp.file('rw.trace');
    copyFileSync(disk, rwDisk);
    const r = await bootscope(
      tmp.dir,
      'run',
      '--kernel',
      guests.kernel,
      '--initrd',
      initrd,
      '--append',
      APPEND,
      '--smp',
      '1',
      '--gic',
      '2',
      '--mem',
      '512M',
      '--disk',
      `${rwDisk},rw`,
      '--nic',
      'mac=52:54:00:00:be:ef',
      '--console',
      'virtio',
      '--max-insns',
      '4e9',
      '-o',
      rwTrace,
      '--json',
    );
    expect(r.err).toBe('');
    const s = JSON.parse(r.out);
    expect(s.console).toMatch(new RegExp(`\\n${DISK_MARKER}\\r?\\n`));
    expect(s.stop).toBe('system_off');
    expect(sha(rwDisk)).not.toBe(diskSha);
    // The NIC is 00:01.0, the disk 00:02.0, the console 00:03.0 (QEMU's order for -nic, then -device).
    expect(s.console).toContain('pci 0000:00:01.0: [1af4:1041] type 00 class 0x020000');
    expect(s.console).toContain('pci 0000:00:03.0: [1af4:1043] type 00 class 0x078000');
    expect(s.console).toContain(HVC_MARKER);
    const net = await bootscope(
      tmp.dir,
      'sql',
      rwTrace,
      "SELECT direction, ethertype, length, hex(substr(frame, 7, 6)) AS src FROM events WHERE kind = 'net_frame'",
      '--json',
    );
    const frames = JSON.parse(net.out) as { direction: string; ethertype: number; length: number; src: string }[];
    expect(frames.length).toBeGreaterThan(0);
    expect(frames.every((f) => f.direction === 'tx' && f.src === '52540000BEEF')).toBe(true);
    expect(frames.some((f) => f.ethertype === 0x0806 && f.length >= 42)).toBe(true); // the ARP request for 10.0.2.2
    // Frame latency: the TX notify → the MSI-X message of the TX queue (GICv2m SPI) → its ack.
    const lat = JSON.parse((await bootscope(tmp.dir, 'latency', rwTrace, '--json')).out).io as {
      queues: {
        kind: string;
        device: string;
        queue: number;
        requests: number;
        completed: number;
        silent: number;
        stages: { stage: string; count: number; max: number }[];
      }[];
    };
    expect(lat.queues.map((q) => `${q.kind} ${q.device} q${q.queue}`)).toEqual([
      'block virtio-blk@00:02.0 q0',
      'net virtio-net@00:01.0 q1',
    ]);
    const nic = lat.queues[1]!;
    expect(nic.requests).toBe(frames.length);
    expect(nic.completed).toBe(nic.requests);
    expect(nic.stages.find((x) => x.stage === 'submit_to_ack')!.count).toBe(nic.requests - nic.silent);
    expect(nic.stages.find((x) => x.stage === 'complete_to_ack')!.max).toBeGreaterThan(0);
    const hvc = await bootscope(tmp.dir, 'console', rwTrace, '--port', 'virtio-console@00:03.0');
    expect(hvc.out).toContain(HVC_MARKER);
    // GICv2 has QEMU's GICv2m frame, so the functions use MSI-X; the messages are in the trace.
    const msi = await bootscope(
      tmp.dir,
      'sql',
      rwTrace,
      "SELECT count(*) AS n, min(intid) AS lo, max(intid) AS hi FROM events WHERE kind = 'msi'",
      '--json',
    );
    const m = JSON.parse(msi.out)[0];
    expect(m.n).toBeGreaterThan(10);
    expect(m.lo).toBeGreaterThanOrEqual(80);
    expect(m.hi).toBeLessThan(144);
    // QEMU 7.2, GICv2, the same NIC and disk (its virtio console is multiport, so it is left out and
    // so are our console's lines): the same enumeration, MSI-X BARs included.
    const rwCopy = tmp.file('qemu-v2.ext4');
    copyFileSync(disk, rwCopy);
    const out = await qemu([
      '-M',
      'virt,gic-version=2',
      '-cpu',
      'cortex-a57',
      '-smp',
      '1',
      '-m',
      '512M',
      '-nographic',
      '-no-reboot',
      '-kernel',
      guests.kernel,
      '-initrd',
      initrd,
      '-append',
      APPEND,
      '-netdev',
      'user,id=n0',
      '-device',
      'virtio-net-pci,netdev=n0,disable-legacy=on,romfile=,mac=52:54:00:00:be:ef',
      '-drive',
      `file=${rwCopy},if=none,id=d0,format=raw`,
      '-device',
      'virtio-blk-pci,drive=d0,disable-legacy=on',
    ]);
    const theirs = pciLines(out);
    expect(theirs).toContain('pci 0000:00:02.0: BAR 1 [mem 0x10001000-0x10001fff]: assigned');
    const ours = pciLines(s.console).filter((l) => !l.includes('0000:00:03.0') && l !== HVC_MARKER);
    expect(ours).toEqual(theirs);
    const text = execFileSync(existsSync('/usr/sbin/debugfs') ? '/usr/sbin/debugfs' : 'debugfs', ['-R', `cat ${WRITTEN_FILE}`, rwDisk], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    expect(text).toBe(WRITTEN_TEXT);
    const again = await bootscope(tmp.dir, 'replay', rwTrace);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(
      /rw\.trace: the disk image .*rw\.ext4 changed since it was recorded \(sha256 [0-9a-f]{12}…, recorded [0-9a-f]{12}…\) \(the run had it ,rw/,
    );
    expect(again.err.trim().split('\n')).toHaveLength(1);
  });

  it('Debian 6.12 (virtio built in, virtio_blk a .ko.xz module), GICv3 --its off, 1 vCPU: the same init on the same disk, the same PCI and virtio lines as QEMU its=off', async () => {
    const dir612 = tmp.file('k612');
    const d = makeTestDisk(guests.kernel612, guests.busybox, dir612);
    const copy = tmp.file('k612.ext4');
    copyFileSync(d.disk, copy);
    const r = await bootscope(
      tmp.dir,
      'run',
      '--kernel',
      guests.kernel612,
      '--initrd',
      d.initramfs,
      '--append',
      APPEND,
      '--smp',
      '1',
      '--gic',
      '3',
      '--its',
      'off',
      '--mem',
      '512M',
      '--disk',
      copy,
      '--max-insns',
      '5e9',
      '-o',
      tmp.file('k612.trace'),
      '--json',
    );
    expect(r.err).toBe('');
    const s = JSON.parse(r.out);
    expect(s.stop).toBe('system_off');
    expect(s.console).toMatch(new RegExp(`\\n${DISK_MARKER}\\r?\\n`));
    expect(s.console).not.toContain('insmod');
    expect(sha(copy)).toBe(sha(d.disk));
    const out = await qemu([
      '-M',
      'virt,gic-version=3,its=off',
      '-cpu',
      'cortex-a57',
      '-smp',
      '1',
      '-m',
      '512M',
      '-nographic',
      '-no-reboot',
      '-kernel',
      guests.kernel612,
      '-initrd',
      d.initramfs,
      '-append',
      APPEND,
      '-drive',
      `file=${d.disk},if=none,id=d0,format=raw,snapshot=on`,
      '-device',
      'virtio-blk-pci,drive=d0,disable-legacy=on',
      '-nic',
      'none',
    ]);
    const theirs = pciLines(out);
    expect(theirs).toContain(DISK_MARKER);
    expect(pciLines(s.console)).toEqual(theirs);
    expect(s.console).not.toContain('ITS [mem');
    expect(gicLines(s.console)).toEqual(gicLinesAsKvm(gicLines(out)));
  });
});

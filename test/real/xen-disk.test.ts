// Debian's 6.1 and 6.12 kernels as Xen domUs (--machine xen) boot from the disk initramfs
// (scripts/make-test-disk.ts): its /init loads the kernel's own xen-blkfront and xen-netfront
// modules, eth0 comes up with the MAC given to --nic, /dev/xvda appears, the ext4 disk is mounted
// and its /sbin/init prints a marker, writes a file and powers off. Both ends of both PV devices
// reach Connected (and close in order at power-off); the user's image is unchanged; replay is
// identical. 6.1: 2 vCPUs with GICv3 (disk and NIC) and 1 vCPU with GICv2 (disk); 6.12 (its own
// initramfs: its .ko.xz modules): 2 vCPUs with GICv2 (disk and NIC). Three boots, one replay.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DISK_MARKER, INITRAMFS_MARKER, makeTestDisk, NET_MARKER } from '../../scripts/make-test-disk.ts';
import { bootscope, fetchGuests, runOnDiskCopy, tempDir, type Guests } from '../helpers/real-guests.ts';

const tmp = tempDir('bootscope-real-xen-disk-');
let guests: Guests;
let disk: string;
let initrd: string;
let initrd612: string;
let diskSha: string;
const sha = (f: string): string => createHash('sha256').update(readFileSync(f)).digest('hex');
const MAC = '00:16:3e:aa:bb:cc';

type Boot = Awaited<ReturnType<typeof runOnDiskCopy>>;

async function boot(name: string, kernel: string, initrd: string, ...args: string[]): Promise<Boot> {
  const xen = ['--machine', 'xen', '--append', 'console=hvc0', '--mem', '256M'];
  return runOnDiskCopy(tmp, name, { kernel, initrd, disk, maxInsns: '3e9' }, ...xen, ...args);
}

async function sql(trace: string, query: string): Promise<Record<string, unknown>[]> {
  const r = await bootscope(tmp.dir, 'sql', trace, query, '--json');
  if (r.code !== 0) throw new Error(`bootscope sql: ${r.err}`);
  return JSON.parse(r.out);
}

let smp2: Promise<Boot>;
let gicv2: Promise<Boot>;
let linux612: Promise<Boot>;

beforeAll(() => {
  guests = fetchGuests();
  ({ disk, initramfs: initrd } = makeTestDisk(guests.kernel, guests.busybox, tmp.dir));
  // 6.12's initramfs (its own modules); the disk is the same image
  initrd612 = makeTestDisk(guests.kernel612, guests.busybox, tmp.file('6.12')).initramfs;
  diskSha = sha(disk);
  smp2 = boot('smp2-gicv3', guests.kernel, initrd, '--smp', '2', '--gic', '3', '--nic', `mac=${MAC}`);
  gicv2 = boot('smp1-gicv2', guests.kernel, initrd, '--smp', '1', '--gic', '2');
  linux612 = boot('6.12-smp2-gicv2', guests.kernel612, initrd612, '--smp', '2', '--gic', '2', '--nic', `mac=${MAC}`);
  for (const p of [smp2, gicv2, linux612]) p.catch(() => {});
});
afterAll(() => tmp.cleanup());

/** The states each end of a device went through, from the trace's xenbus_state events. */
async function states(trace: string, device: string, end: 'frontend' | 'backend'): Promise<number[]> {
  const rows = await sql(
    trace,
    `SELECT xb_state FROM events WHERE kind = 'xenbus_state' AND device = '${device}' AND "end" = '${end}' ORDER BY seq`,
  );
  return rows.map((r) => r['xb_state'] as number);
}

describe('Debian Linux 6.1 and 6.12 to /sbin/init on a Xen virtual disk (--machine xen)', () => {
  it("2 vCPUs, GICv3, disk and NIC: xen-blkfront finds xvda, eth0 has the MAC and carrier, the disk's init runs and powers off", async () => {
    const b = await smp2;
    const c = b.summary.console;
    expect(c).toContain('blkfront: xvda: flush diskcache: enabled; persistent grants: disabled; indirect descriptors: enabled;');
    expect(c).toContain(`${NET_MARKER} ${MAC} carrier 1 operstate up`);
    expect(c).toContain(`${INITRAMFS_MARKER} /dev/xvda`);
    expect(c).toMatch(new RegExp(`\\n${DISK_MARKER}\\r?\\n`));
    expect(c).toContain('reboot: Power down');
    expect(b.summary.stop).toBe('system_off');
    expect(b.summary.stopMessage).toBe('Xen SCHEDOP_shutdown poweroff');
    expect(sha(b.disk)).toBe(diskSha);
    expect(b.summary.hashes['disk0']).toBe(diskSha);
  });

  it('both ends of both devices reach Connected, and close in order at power-off', async () => {
    const b = await smp2;
    for (const dev of ['vbd-51712', 'vif-0']) {
      expect(await states(b.trace, dev, 'backend'), dev).toEqual([4, 5, 6]);
      expect(await states(b.trace, dev, 'frontend'), dev).toEqual(dev === 'vbd-51712' ? [3, 4, 5, 6] : [4, 5, 6]);
    }
    const info = await bootscope(tmp.dir, 'info', b.trace);
    expect(info.out).toMatch(/vbd-51712 +xvda, 32768 sectors +1 3 4 5 6 \(Closed\) +1 2 4 5 6 \(Closed\) +\d+ requests\n/);
    expect(info.out).toMatch(new RegExp(`vif-0 +vif, mac ${MAC} +1 4 5 6 \\(Closed\\) +1 2 4 5 6 \\(Closed\\) +[1-9]\\d* frames sent\\n`));
  });

  it('the trace holds the handshake, the grants, the block requests and the frames the guest sent', async () => {
    const b = await smp2;
    const counts = Object.fromEntries(
      (await sql(b.trace, 'SELECT kind, count(*) AS n FROM events GROUP BY kind')).map((r) => [r['kind'], r['n'] as number]),
    );
    expect(counts['block_request']).toBeGreaterThan(10);
    expect(counts['block_complete']).toBe(counts['block_request']);
    expect(counts['net_frame']).toBeGreaterThan(0);
    expect(counts['xen_grant']).toBeGreaterThan(counts['block_request']!);
    const bad = await sql(
      b.trace,
      "SELECT count(*) AS n FROM events WHERE (kind = 'block_complete' AND status != 'ok') OR (kind = 'xen_grant' AND gntst != 0)",
    );
    expect(bad[0]!['n']).toBe(0);
    const writes = await sql(b.trace, "SELECT count(*) AS n FROM events WHERE kind = 'block_request' AND op = 'write'");
    expect(writes[0]!['n']).toBeGreaterThan(0);
    // blkfront's ring-ref, event-channel and protocol, written by the domU; blkback's transaction.
    const fe = await sql(
      b.trace,
      "SELECT path, CAST(data AS TEXT) AS value FROM events WHERE kind = 'xenstore' AND domid = 1 AND xs_op = 'WRITE' AND path LIKE '/local/domain/1/device/vbd/51712/%'",
    );
    const keys = Object.fromEntries(fe.map((r) => [String(r['path']).split('/').pop(), r['value']]));
    expect(keys['protocol']).toBe('arm-abi');
    expect(Number(keys['event-channel'])).toBeGreaterThan(2);
    const be = await sql(
      b.trace,
      "SELECT path, result FROM events WHERE kind = 'xenstore' AND domid = 0 AND path = '/local/domain/0/backend/vbd/1/51712/sectors'",
    );
    expect(be).toEqual([{ path: '/local/domain/0/backend/vbd/1/51712/sectors', result: 'OK' }]);
  });

  it("I/O latency of the 2-vCPU boot: the disk's ring and the vif's frames, each from the event-channel send to the ack of the upcall PPI", async () => {
    const b = await smp2;
    const l = await bootscope(tmp.dir, 'latency', b.trace, '--json');
    expect(l.err).toBe('');
    const io = JSON.parse(l.out).io as {
      queues: {
        kind: string;
        device: string;
        queue: number;
        requests: number;
        completed: number;
        silent: number;
        stages: { stage: string; count: number; max: number }[];
      }[];
      outstanding: { device: string; count: number }[];
    };
    // 2 vCPUs: blkfront asks for a ring per vCPU (multi-queue); netfront has one TX ring.
    expect(io.queues.map((q) => `${q.kind} ${q.device} q${q.queue}`)).toEqual(['block vbd-51712 q0', 'block vbd-51712 q1', 'net vif-0 q0']);
    const frames = await sql(b.trace, "SELECT count(*) AS n FROM events WHERE kind = 'net_frame' AND direction = 'tx'");
    const vif = io.queues[2]!;
    expect(vif.requests).toBe(frames[0]!['n']);
    expect(vif.completed + (io.outstanding.find((o) => o.device === 'vif-0')?.count ?? 0)).toBe(vif.requests);
    const stage = (s: string) => vif.stages.find((x) => x.stage === s)!;
    expect(stage('submit_to_ack').count).toBe(vif.completed - vif.silent);
    expect(stage('complete_to_ack').max).toBeGreaterThan(0);
    const text = await bootscope(tmp.dir, 'latency', b.trace);
    expect(text.out).toMatch(/\nnetwork frames sent, per device and queue\n.*\nvif-0 q0 +\d+ +\d+ +tx \d+ +submit to complete/);
  });

  it("1 vCPU, GICv2: the same boot to the disk's init", async () => {
    const b = await gicv2;
    expect(b.summary.console).toContain(`${INITRAMFS_MARKER} /dev/xvda`);
    expect(b.summary.console).toMatch(new RegExp(`\\n${DISK_MARKER}\\r?\\n`));
    expect(b.summary.stopMessage).toBe('Xen SCHEDOP_shutdown poweroff');
    expect(await states(b.trace, 'vbd-51712', 'backend')).toEqual([4, 5, 6]);
    expect(sha(b.disk)).toBe(diskSha);
  });

  it("Debian 6.12, 2 vCPUs, GICv2, disk and NIC: xvda, eth0 with the MAC, the disk's init, power-off; both ends Connected", async () => {
    const b = await linux612;
    const c = b.summary.console;
    expect(c).toContain('Linux version 6.12.');
    expect(c).toContain('blkfront: xvda: flush diskcache: enabled; persistent grants: disabled; indirect descriptors: enabled;');
    expect(c).toContain(`${NET_MARKER} ${MAC} carrier 1 operstate up`);
    expect(c).toContain(`${INITRAMFS_MARKER} /dev/xvda`);
    expect(c).toMatch(new RegExp(`\\n${DISK_MARKER}\\r?\\n`));
    expect(c).toContain('reboot: Power down');
    expect(b.summary.stopMessage).toBe('Xen SCHEDOP_shutdown poweroff');
    for (const dev of ['vbd-51712', 'vif-0']) expect(await states(b.trace, dev, 'backend'), dev).toEqual([4, 5, 6]);
    expect(sha(b.disk)).toBe(diskSha);
    expect(b.summary.hashes['disk0']).toBe(diskSha);
  });

  it('replay of the 2-vCPU boot is identical', async () => {
    const b = await smp2;
    const r = await bootscope(tmp.dir, 'replay', b.trace);
    expect(r.err).toBe('');
    expect(r.out).toMatch(/^identical \([\d,]+ events\)\n$/);
  });
});

// The device-layer diff on real inputs: Debian's 6.1 kernel boots the same disk to its /sbin/init
// on --machine kvm (virtio-blk-pci) and --machine xen (blkfront/blkback), 1 vCPU each. `diff`
// lines the virtio-blk requests up with the blkif requests (same op, sector and length, same
// order), and shows each side's own set-up: PCI configuration on kvm, the xenstore handshake on xen.
import { copyFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestDisk } from '../../scripts/make-test-disk.ts';
import { bootscope, fetchGuests, tempDir } from '../helpers/real-guests.ts';

const tmp = tempDir('bootscope-real-disk-diff-');
let kvm: Promise<string>;
let xen: Promise<string>;

async function boot(name: string, disk: string, initrd: string, kernel: string, ...args: string[]): Promise<string> {
  const copy = tmp.file(`${name}.ext4`);
  copyFileSync(disk, copy);
  const trace = tmp.file(`${name}.trace`);
  const r = await bootscope(
    tmp.dir,
    'run',
    '--kernel',
    kernel,
    '--initrd',
    initrd,
    '--disk',
    copy,
    '--max-insns',
    '4e9',
    '-o',
    trace,
    '--json',
    ...args,
  );
  if (r.code !== 0 || r.err !== '') throw new Error(`bootscope run ${name} exited ${r.code}: ${r.err}`);
  if (JSON.parse(r.out).stop !== 'system_off') throw new Error(`bootscope run ${name} did not power off`);
  return trace;
}

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

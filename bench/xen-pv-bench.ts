// The same Debian 6.1 kernel, disk initramfs and ext4 disk (scripts/make-test-disk.ts) booted to
// the disk's /sbin/init and power-off on the emulator twice in one run: as a Xen domU on the PV
// bus (xen-blkfront, xenstore, grants, event channels) and on the kvm machine (virtio-blk over
// PCIe). Also counts, for the domU, the xenstore traffic and the event-channel notifications the
// boot needed, next to the kvm boot's interrupts and block requests.
//
//   ./bootscope node bench/xen-pv-bench.ts [--runs N] [--write-docs]
//
// Each boot is `bootscope run … --disk COPY -o TRACE --json` as a plain-node child process
// (recording on); wall time is spawn → exit. --write-docs replaces the "## PV bus boot" section of
// docs/benchmarks.md.

import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openTrace } from '../capture/store/index.ts';
import { makeTestDisk } from '../scripts/make-test-disk.ts';

const REPO_ROOT = path.resolve(import.meta.dirname, '..');
const args = process.argv.slice(2);
const runsArg = args.indexOf('--runs');
const RUNS = runsArg >= 0 ? Number(args[runsArg + 1]) : 1;
const writeDocs = args.includes('--write-docs');
const SMP = '2',
  MEM = '256M';

const fetched = execFileSync(path.join(REPO_ROOT, 'scripts/fetch-guests.sh'), { encoding: 'utf8' });
const guests = { kernel: /^kernel (.*)$/m.exec(fetched)![1]!, busybox: /^busybox (.*)$/m.exec(fetched)![1]! };
const tmp = mkdtempSync(path.join(os.tmpdir(), 'bootscope-xen-pv-bench-'));
const { disk, initramfs } = makeTestDisk(guests.kernel, guests.busybox, tmp);

interface Boot {
  machine: 'xen' | 'kvm';
  wallMs: number;
  instructions: number;
  virtualTimeNs: number;
  events: number;
  kinds: Map<string, number>;
  /** xen_evtchn events by peer (xenstored, console, vbd-51712). */
  peers: Map<string, number>;
  /** xen: xenstore requests by the domU and by the backends, watch events, notifications each way. */
  xs?: { domU: number; dom0: number; watchEvents: number; toBackend: number; toGuest: number };
}

function boot(machine: 'xen' | 'kvm', i: number): Promise<Boot> {
  const copy = path.join(tmp, `${machine}${i}.ext4`);
  copyFileSync(disk, copy);
  const trace = path.join(tmp, `${machine}${i}.trace`);
  const argv = [
    '--disable-warning=ExperimentalWarning',
    '--stack-size=4000',
    path.join(REPO_ROOT, 'cli/main.ts'),
    'run',
    '--machine',
    machine,
    '--kernel',
    guests.kernel,
    '--initrd',
    initramfs,
    '--append',
    machine === 'xen' ? 'console=hvc0' : 'console=ttyAMA0',
    '--smp',
    SMP,
    '--gic',
    '3',
    '--mem',
    MEM,
    '--disk',
    copy,
    '--max-insns',
    '4e9',
    '-o',
    trace,
    '-f',
    '--json',
  ];
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '',
      err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString('latin1')));
    child.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
    child.on('error', reject);
    child.on('exit', (code) => {
      const wallMs = performance.now() - t0;
      if (code !== 0) return reject(new Error(`${machine} boot exited ${code}: ${err}`));
      const s = JSON.parse(out) as { stop: string; instructions: number; virtualTimeNs: number; events: number; console: string };
      if (s.stop !== 'system_off' || !s.console.includes('BOOTSCOPE-DISK-INIT-OK'))
        return reject(new Error(`${machine}: the boot did not reach the disk's init (${s.stop})`));
      const r = openTrace(trace);
      const kinds = new Map<string, number>();
      const peers = new Map<string, number>();
      let domU = 0,
        dom0 = 0;
      for (const e of r.events()) {
        kinds.set(e.kind, (kinds.get(e.kind) ?? 0) + 1);
        if (e.kind === 'xen_evtchn') peers.set(e.peer, (peers.get(e.peer) ?? 0) + 1);
        if (e.kind === 'xenstore' && e.xs_op !== 'WATCH_EVENT') {
          if (e.domid === 0) dom0++;
          else domU++;
        }
      }
      const bus = r.meta.extra['pvBus'] as { watchEvents: number; notifications: { toBackend: number; toGuest: number } } | undefined;
      r.close();
      resolve({
        machine,
        wallMs,
        instructions: s.instructions,
        virtualTimeNs: s.virtualTimeNs,
        events: s.events,
        kinds,
        peers,
        ...(bus
          ? { xs: { domU, dom0, watchEvents: bus.watchEvents, toBackend: bus.notifications.toBackend, toGuest: bus.notifications.toGuest } }
          : {}),
      });
    });
  });
}

const median = (xs: number[]): number => {
  const v = [...xs].sort((a, b) => a - b),
    m = v.length >> 1;
  return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
};
const n = (x: number): string => Math.round(x).toLocaleString('en-US');

const load0 = os.loadavg()[0]!;
const xen: Boot[] = [],
  kvm: Boot[] = [];
for (let i = 0; i < RUNS; i++) {
  xen.push(await boot('xen', i));
  kvm.push(await boot('kvm', i));
  process.stderr.write(`run ${i + 1}/${RUNS}: xen ${(xen[i]!.wallMs / 1000).toFixed(1)} s, kvm ${(kvm[i]!.wallMs / 1000).toFixed(1)} s\n`);
}
rmSync(tmp, { recursive: true, force: true });

const X = xen[xen.length - 1]!,
  K = kvm[kvm.length - 1]!;
const k = (b: Boot, kind: string): number => b.kinds.get(kind) ?? 0;
const irqs = (b: Boot): number => k(b, 'irq_deliver');
const xs = X.xs!;
const section = [
  '## PV bus boot (xen domU vs kvm)',
  '',
  "`./bootscope node bench/xen-pv-bench.ts [--runs N] [--write-docs]`: Debian's",
  `\`${path.basename(guests.kernel)}\` with the disk initramfs to the ext4 disk's \`/sbin/init\` and its power-off`,
  `(\`scripts/make-test-disk.ts\`), ${SMP} vCPUs, GICv3, ${MEM}, recording on, both on the emulator in the same run: as a Xen domU`,
  '(`--machine xen`, xen-blkfront on the PV bus, console=hvc0) and on the kvm machine (virtio-blk-pci,',
  `console=ttyAMA0). ${RUNS} alternating run(s) each, wall-time median; measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on`,
  `${os.cpus().length} × ${os.cpus()[0]?.model.trim() ?? 'CPU'} (1-minute load average ${load0.toFixed(1)} at the start).`,
  '',
  '| | xen domU | kvm |',
  '|---|---:|---:|',
  `| wall time, spawn to exit | ${(median(xen.map((b) => b.wallMs)) / 1000).toFixed(1)} s | ${(median(kvm.map((b) => b.wallMs)) / 1000).toFixed(1)} s |`,
  `| guest instructions | ${n(X.instructions)} | ${n(K.instructions)} |`,
  `| virtual time to power-off | ${(X.virtualTimeNs / 1e6).toFixed(0)} ms | ${(K.virtualTimeNs / 1e6).toFixed(0)} ms |`,
  `| events recorded | ${n(X.events)} | ${n(K.events)} |`,
  `| block requests | ${n(k(X, 'block_request'))} | ${n(k(K, 'block_request'))} |`,
  `| interrupts delivered | ${n(irqs(X))} | ${n(irqs(K))} |`,
  `| hypercalls | ${n(k(X, 'hypercall'))} | ${n(k(K, 'hypercall'))} |`,
  `| MMIO accesses | ${n(k(X, 'mmio_read') + k(X, 'mmio_write'))} | ${n(k(K, 'mmio_read') + k(K, 'mmio_write'))} |`,
  `| xenstore requests: domU / backends | ${n(xs.domU)} / ${n(xs.dom0)} | |`,
  `| xenstore watch events | ${n(xs.watchEvents)} | |`,
  `| event-channel notifications: to backends / to the domU | ${n(xs.toBackend)} / ${n(xs.toGuest)} | |`,
  `| … of which (both ways) ${[...X.peers.keys()].sort().join(' / ')} | ${[...X.peers.keys()]
    .sort()
    .map((p) => n(X.peers.get(p)!))
    .join(' / ')} | |`,
  `| grant uses by the backends | ${n(k(X, 'xen_grant'))} | |`,
  '',
  "Most notifications are the PV console's: each hvc0 write notifies the console backend, which",
  'answers; the kvm boot prints to the PL011 instead (its MMIO accesses). The block path needs few:',
  "blkfront batches requests, and blkback notifies only when the frontend's `rsp_event` asks.",
  '',
].join('\n');

process.stdout.write(section + '\n');
if (writeDocs) {
  const file = path.join(REPO_ROOT, 'docs/benchmarks.md');
  const doc = readFileSync(file, 'utf8');
  const start = doc.indexOf('\n## PV bus boot');
  let next: string;
  if (start < 0) next = doc.trimEnd() + '\n\n' + section;
  else {
    const end = doc.indexOf('\n## ', start + 1);
    next = doc.slice(0, start + 1) + section + (end < 0 ? '' : doc.slice(end));
  }
  writeFileSync(file, next);
}

// `explain disk`: why the guest has, or has no, root disk. Follows the disk from the bus (PCIe
// enumeration on the kvm machine, xenstore on the xen machine) to the device (a virtio-blk PCI
// function, a Xen virtual block device), its driver (virtio device status; the xenbus states of
// blkfront and blkback), its requests and completions, and the kernel's root mount, then gives one
// verdict with the events and console lines that show it (docs/analyzers.md).

import type { EventOf, TraceEvent } from '../capture/model.ts';
import type { Analysis, ReplayContext } from './analysis.ts';
import { evidenceOf } from './check.ts';
import { replay, type ReplayOptions, type ReplaySource } from './engine.ts';
import { diskVerdict, type DiskState } from './explain-disk-verdict.ts';
import type { DiskDeviceReport, DiskExplanation, DiskLine } from './explain-disk-model.ts';
import type { Evidence } from './rules/rule.ts';

export * from './explain-disk-model.ts';
export { formatDiskExplanation } from './explain-disk-text.ts';

/** virtio device status bits (OASIS virtio 1.2 §2.1). */
const DRIVER_OK = 4,
  FEATURES_OK = 8;
const MAX_STATUS = 16;
const MAX_LINES = 40;
const MAX_LINE = 512;
const STAMP = /^\[ *\d+\.\d+\] /;

/**
 * Console lines that tell about disks: the kernel's probe lines (virtio_blk, blkfront), module
 * loading, the block layer's I/O errors, the root mount (ext4's "mounted filesystem", the VFS's
 * "Cannot open root device" / "Unable to mount root fs"), and initramfs scripts that gave up
 * waiting for the root device (initramfs-tools' "does not exist", the test initramfs's "no /dev/…").
 */
const DISK_LINE =
  /^(virtio_blk |virtio-pci |virtio: |blkfront: |xen[-_]blkfront|vbd vbd-|xenbus|Module \S+ is blacklisted|.*I\/O error|.*unable to read|VFS: (Cannot|Unable|Mounted)|EXT4-fs |Please append a correct "root="|Kernel panic - not syncing: VFS|List of all partitions|.*does not exist\.\s+Dropping to a shell|Gave up waiting for root|BOOTSCOPE-INITRAMFS: |.*probe of \S+ failed|.*device refuses features)/;

interface Dev {
  report: DiskDeviceReport;
  /** Status bits ever written (virtio). */
  bits: number;
  /** FEATURES_OK written, not yet read back. */
  featuresPending: boolean;
}

class ExplainDisk implements Analysis<DiskExplanation> {
  readonly name = 'explain-disk';
  private readonly devs = new Map<string, Dev>();
  private xen: boolean | undefined;
  private pciHost = false;
  private pciAccesses = 0;
  private readonly functions = new Set<string>();
  private xsGuest = 0;
  private xsError = '';
  private firstBus: TraceEvent | undefined;
  private readonly lines: DiskLine[] = [];
  private readonly open = new Map<string, { text: string; seq: number }>();
  private commandLine: string | null = null;
  private readonly evidence: TraceEvent[] = [];

  private init(ctx: ReplayContext): void {
    this.xen = ctx.meta.source.name === 'xen';
    this.pciHost = ctx.regionsByRole('pcie').length > 0;
  }

  private dev(name: string, transport: DiskDeviceReport['transport']): Dev {
    let d = this.devs.get(name);
    if (!d)
      this.devs.set(
        name,
        (d = {
          bits: 0,
          featuresPending: false,
          report: {
            name,
            transport,
            found: null,
            statusWrites: [],
            status: '0x0',
            featuresRefused: false,
            frontend: [],
            backend: [],
            requests: 0,
            completions: 0,
            errors: 0,
            firstError: null,
            deviceError: '',
            kernelNames: [],
          },
        }),
      );
    return d;
  }

  onEvent(e: TraceEvent, ctx: ReplayContext): void {
    if (this.xen === undefined) this.init(ctx);
    switch (e.kind) {
      case 'pci_config':
        this.pciAccesses++;
        this.firstBus ??= e;
        if (e.outcome === 'handled' && e.device) {
          this.functions.add(e.device);
          if (e.device.startsWith('virtio-blk')) this.dev(e.device, 'virtio-pci').report.found ??= evidenceOf(e);
        }
        return;
      case 'mmio_read':
      case 'mmio_write':
        if (e.device.startsWith('virtio-blk') && e.register.endsWith('device_status')) this.status(e);
        return;
      case 'xenstore':
        this.xenstore(e);
        return;
      case 'xenbus_state': {
        if (!e.device.startsWith('vbd')) return;
        const r = this.dev(e.device, 'xen-blkif').report;
        const list = e.end === 'frontend' ? r.frontend : r.backend;
        if (list.length < MAX_STATUS) list.push(e.xb_state);
        if (this.evidence.length < 64) this.evidence.push(e);
        return;
      }
      case 'block_request':
        this.dev(e.device, e.device.startsWith('vbd') ? 'xen-blkif' : 'virtio-pci').report.requests++;
        return;
      case 'block_complete': {
        const r = this.dev(e.device, e.device.startsWith('vbd') ? 'xen-blkif' : 'virtio-pci').report;
        r.completions++;
        if (e.status !== 'ok') {
          r.errors++;
          r.firstError ??= evidenceOf(e);
        }
        return;
      }
      case 'console':
        this.console(e);
        return;
      case 'device_error': {
        if (!e.device.startsWith('vbd') && !e.device.startsWith('virtio-blk')) return;
        const r = this.dev(e.device, e.device.startsWith('vbd') ? 'xen-blkif' : 'virtio-pci').report;
        if (!r.deviceError) {
          r.deviceError = e.detail;
          this.evidence.push(e);
        }
        return;
      }
    }
  }

  private status(e: EventOf<'mmio_read'> | EventOf<'mmio_write'>): void {
    const d = this.dev(e.device, 'virtio-pci');
    const v = Number(e.value & 0xffn);
    if (e.kind === 'mmio_read') {
      // §3.1.1 step 6: the driver re-reads the status; FEATURES_OK clear means the device refused.
      if (d.featuresPending && !(v & FEATURES_OK)) {
        d.report.featuresRefused = true;
        this.evidence.push(e);
      }
      d.featuresPending = false;
      return;
    }
    d.bits |= v;
    d.report.status = '0x' + d.bits.toString(16);
    if (v & FEATURES_OK && !(v & DRIVER_OK)) d.featuresPending = true;
    if (d.report.statusWrites.length < MAX_STATUS) {
      d.report.statusWrites.push('0x' + v.toString(16));
      this.evidence.push(e);
    }
  }

  private xenstore(e: EventOf<'xenstore'>): void {
    const vbd = /\/(?:device\/vbd|backend\/vbd\/\d+)\/(\d+)/.exec(e.path);
    if (vbd) {
      const d = this.dev(`vbd-${vbd[1]}`, 'xen-blkif');
      // Found by the guest: its own first access to the device's xenstore directory.
      if (e.domid !== 0 && !d.report.found) d.report.found = evidenceOf(e);
    }
    if (e.domid === 0) return;
    this.xsGuest++;
    this.firstBus ??= e;
    if (e.result.startsWith('XENSTORE_ERROR') && !this.xsError) {
      this.xsError = e.result;
      this.evidence.push(e);
    }
  }

  private console(e: EventOf<'console'>): void {
    let cur = this.open.get(e.port);
    for (const b of e.bytes) {
      if (b === 10) {
        if (cur) this.line(cur);
        cur = undefined;
        continue;
      }
      if (b === 13) continue;
      cur ??= { text: '', seq: e.seq };
      // Guest text reaches the user's terminal: control bytes are shown, not sent.
      if (cur.text.length < MAX_LINE)
        cur.text += b < 0x20 || (b >= 0x7f && b < 0xa0) ? `\\x${b.toString(16).padStart(2, '0')}` : String.fromCharCode(b);
    }
    if (cur) this.open.set(e.port, cur);
    else this.open.delete(e.port);
  }

  private line(l: { text: string; seq: number }): void {
    const text = l.text.replace(STAMP, '');
    if (text.startsWith('Kernel command line: ')) {
      this.commandLine ??= text.slice('Kernel command line: '.length).trim();
      return;
    }
    if (!DISK_LINE.test(text)) return;
    const name = /^virtio_blk virtio\d+: \[(\w+)\]/.exec(text)?.[1] ?? /^blkfront: (xvd\w+):/.exec(text)?.[1];
    if (name) this.nameDevice(name);
    if (this.lines.length < MAX_LINES) this.lines.push({ seq: l.seq, text });
  }

  /** The kernel names disks in probe order; give the name to the first device of its kind without one. */
  private nameDevice(name: string): void {
    const transport = name.startsWith('xvd') ? 'xen-blkif' : 'virtio-pci';
    const d = [...this.devs.values()].find((x) => x.report.transport === transport && !x.report.kernelNames.length);
    if (d) d.report.kernelNames.push(name);
  }

  finish(ctx: ReplayContext): DiskExplanation {
    if (this.xen === undefined) this.init(ctx);
    for (const l of this.open.values()) this.line(l);
    this.open.clear();
    const append = ctx.meta.source.config['append'];
    const commandLine = this.commandLine ?? (typeof append === 'string' ? append : null);
    const root = /(?:^|\s)root=(\S+)/.exec(commandLine ?? '')?.[1] ?? '';
    const devices = [...this.devs.values()].map((d) => d.report);
    const state: DiskState = {
      xen: this.xen!,
      bus: {
        kind: this.xen ? 'xenbus' : 'pci',
        present: this.xen || this.pciHost,
        accesses: this.xen ? this.xsGuest : this.pciAccesses,
        functions: [...this.functions].sort(),
        error: this.xsError,
        first: this.firstBus ? evidenceOf(this.firstBus) : null,
      },
      devices,
      root,
      lines: this.lines,
    };
    const v = diskVerdict(state);
    // The root device's own steps (status writes, xenbus states, a refused re-read) and the bus's errors.
    const bySeq = new Map<number, Evidence>();
    for (const e of [
      ...v.evidence,
      ...this.evidence.filter((e) => !v.device || deviceOf(e) === v.device || deviceOf(e) === '').map(evidenceOf),
    ])
      bySeq.set(e.seq, e);
    const evidence = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
    return {
      verdict: v.verdict,
      hasRootDisk: v.verdict === 'disk-ok',
      summary: v.summary,
      reasons: v.reasons,
      bus: state.bus,
      devices,
      kernel: { commandLine, root, lines: this.lines },
      evidence: evidence.slice(0, 32),
    };
  }
}

const deviceOf = (e: TraceEvent): string => ('device' in e ? e.device : '');

export function explainDiskAnalysis(): Analysis<DiskExplanation> {
  return new ExplainDisk();
}

export function explainDisk(src: ReplaySource, opts?: ReplayOptions): DiskExplanation {
  return replay(src, [explainDiskAnalysis()], opts)['explain-disk'] as DiskExplanation;
}

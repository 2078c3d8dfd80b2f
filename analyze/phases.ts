// Boot phases: where a boot spent its time, from events and from the console (kernel log lines).
//
// Data-driven: PHASES lists the phases in boot order, each with markers — console regexes
// matched against completed lines (printk timestamps stripped) and event predicates. A phase
// starts at its earliest marker; it ends where the next phase found starts (the last one at the
// end of the trace). A span (a phase with `ends` markers: PCI enumeration, a device's bring-up,
// the root mount) runs alongside the others: it ends at its own first end marker and ends no
// other phase. A per-device span (`perDevice`) is found once for each device its markers name. Works on any guest: bare-metal guests get the phases their events show
// (kernel entry, console, GIC, timer, SMP), and the result says which kind of guest it saw.

import type { TraceEvent } from '../capture/model.ts';
import type { LiteAnalysis, LiteContext } from './standalone.ts';

export const PHASE_IDS = [
  'firmware',
  'kernel_entry',
  'early_console',
  'gic_init',
  'timer_init',
  'smp_bringup',
  'driver_probe',
  'pci_enum',
  'device_bringup',
  'root_ready',
  'console_handover',
  'rootfs_init',
  'init_started',
  'root_mount',
  'sbin_init',
  'poweroff',
  'panic',
  'efi_stub',
] as const;
export type PhaseId = (typeof PHASE_IDS)[number];

type EventMarker = (e: TraceEvent, ctx: LiteContext) => boolean;

export interface PhaseSpec {
  id: PhaseId;
  title: string;
  /** Console lines (printk timestamp removed) that mark the phase's start. */
  lines: readonly RegExp[];
  /** Events that mark the phase's start, with a label for the report. */
  events: readonly { label: string; test: EventMarker }[];
  /** A point in time, not a stretch: it has no duration and does not end the phase it falls in. */
  milestone?: boolean;
  /** What ends a span: its first end marker at or after its start. A span does not end the phase
   *  it falls in; one whose end is never seen runs to the end of the trace (and a note says so). */
  ends?: {
    lines: readonly RegExp[];
    events: readonly { label: string; test: EventMarker }[];
    /** Ends at the last event passing `test` seen before the first passing `until` (or before the
     *  end of the trace): for a burst whose end only shows afterwards. */
    lastBefore?: { label: string; test: EventMarker; until: EventMarker; untilLine?: (text: string) => boolean };
  };
  /** A span found once per device: the device an event names (undefined: not this spec's event).
   *  Start and end markers are matched per device. */
  perDevice?: (e: TraceEvent) => string | undefined;
  /** A phase of the device layer or of userspace: listed as not seen only when the trace has
   *  device-layer events (a bare-metal guest has no PCI bus to enumerate). */
  deviceLayer?: boolean;
  /** A phase of UEFI boots: listed as not seen only when UEFI firmware was (its banner). */
  uefiOnly?: boolean;
}

const isMmio = (e: TraceEvent): e is Extract<TraceEvent, { kind: 'mmio_read' | 'mmio_write' }> =>
  e.kind === 'mmio_read' || e.kind === 'mmio_write';
const roleIs = (e: TraceEvent, ctx: LiteContext, role: string): boolean => isMmio(e) && ctx.region(e.device)?.role === role;

/** Device status bit DRIVER_OK (Virtual I/O Device (VIRTIO) Version 1.2, §2.1). */
const VIRTIO_DRIVER_OK = 4n;
/** XenbusStateConnected (xen/include/public/io/xenbus.h). */
const XENBUS_CONNECTED = 4;
const DEVICE_KINDS = new Set<TraceEvent['kind']>([
  'pci_config',
  'block_request',
  'block_complete',
  'net_frame',
  'xenbus_state',
  'xenstore',
  'msi',
]);
/** A write of the virtio-pci common configuration's device_status (§4.1.4.3). */
const virtioStatusWrite = (e: TraceEvent): e is Extract<TraceEvent, { kind: 'mmio_write' }> =>
  e.kind === 'mmio_write' && DEVICE_STATUS.test(e.register);
const DEVICE_STATUS = /(^| )device_status$/;
/** Kernel log lines of the PCI core and host drivers (drivers/pci/probe.c, setup-bus.c, pci-host-common.c). */
const PCI_LOG = /^(pci|pci_bus|pcieport|PCI|pci-host-generic|\S+-pcie?)[ :]/;
/** The device a bring-up marker names: a virtio function by its status writes, a Xen PV device by its xenbus states. */
const bringupDevice = (e: TraceEvent): string | undefined =>
  virtioStatusWrite(e) ? e.device : e.kind === 'xenbus_state' ? e.device : undefined;
/** The ext4 superblock is at byte 1024, sector 2 (The Linux kernel's ext4 disk layout, "Layout"). */
const EXT4_SB_SECTOR = 2;

export const PHASES: readonly PhaseSpec[] = [
  {
    id: 'firmware',
    title: 'firmware / loader',
    lines: [/^U-Boot (SPL )?\d{4}\.\d\d/, /Booting Trusted Firmware/, /^UEFI firmware/, /^EDK II/],
    events: [],
  },
  {
    id: 'kernel_entry',
    title: 'kernel entry',
    lines: [/^Starting kernel \.\.\./, /^Booting Linux on physical CPU/, /^Linux version /],
    // Without firmware, the guest's first event is (close to) its entry point.
    events: [{ label: 'first event of the guest', test: () => true }],
  },
  {
    id: 'early_console',
    title: 'early console',
    lines: [/^earlycon: /, /^printk: bootconsole \[/],
    events: [{ label: 'first console output', test: (e) => e.kind === 'console' }],
  },
  {
    id: 'gic_init',
    title: 'GIC init',
    lines: [/^GICv[234]: /, /^GIC: /, /^GICv2m: /],
    events: [
      { label: 'first GIC distributor access', test: (e, c) => roleIs(e, c, 'gic_dist') },
      { label: 'first GIC CPU interface access', test: (e, c) => roleIs(e, c, 'gic_cpu') || roleIs(e, c, 'gic_redist') },
    ],
  },
  {
    id: 'timer_init',
    title: 'timer init',
    lines: [/^arch_timer: /, /^clocksource: arch_sys_counter/],
    events: [
      {
        label: 'first generic timer programming',
        test: (e) => e.kind === 'timer' && (e.op === 'ctl' || e.op === 'cval' || e.op === 'tval'),
      },
    ],
  },
  {
    id: 'smp_bringup',
    title: 'SMP bring-up',
    lines: [/^smp: Bringing up secondary CPUs/, /^CPU\d+: Booted secondary processor/],
    events: [{ label: 'first PSCI CPU_ON', test: (e) => e.kind === 'hypercall' && e.name.endsWith('CPU_ON') }],
  },
  {
    id: 'driver_probe',
    title: 'driver probe',
    lines: [/^Serial: AMBA PL011 UART driver/, /^rtc-pl031 /, /^virtio[-_]/, /^\S+\.pl011: ttyAMA\d/, /^loop: module loaded/],
    events: [],
  },
  {
    // The kernel walks the configuration space (vendor IDs, BAR sizing) and assigns resources;
    // drivers come later (modules: much later), and the first one to use its function enables
    // memory decoding (COMMAND bit 1, pci_enable_device). Enumeration is the configuration
    // traffic before that, or before the kernel's log moves on to another subsystem.
    id: 'pci_enum',
    title: 'PCI enumeration',
    deviceLayer: true,
    lines: [/: PCI host bridge to bus /],
    events: [{ label: 'first PCI configuration access', test: (e) => e.kind === 'pci_config' }],
    ends: {
      lines: [],
      events: [],
      lastBefore: {
        label: 'last configuration access of the enumeration',
        test: (e) => e.kind === 'pci_config',
        // A driver enabling its function, or the kernel logging about something else.
        until: (e) => e.kind === 'pci_config' && e.write && e.offset === 4 && (e.value & 2n) !== 0n,
        untilLine: (text) => !PCI_LOG.test(text),
      },
    },
  },
  {
    // virtio: from the first device_status write (reset, then ACKNOWLEDGE) to DRIVER_OK.
    // Xen PV: from the first xenbus state change to the frontend's Connected (which the frontend
    // only writes after the backend's Connected: blkfront/netfront connect then).
    id: 'device_bringup',
    title: 'bring-up',
    deviceLayer: true,
    perDevice: bringupDevice,
    lines: [],
    events: [
      { label: 'first virtio device_status write', test: virtioStatusWrite },
      { label: 'first xenbus state change', test: (e) => e.kind === 'xenbus_state' },
    ],
    ends: {
      lines: [],
      events: [
        { label: 'device_status DRIVER_OK', test: (e) => virtioStatusWrite(e) && (e.value & VIRTIO_DRIVER_OK) !== 0n },
        { label: 'frontend Connected', test: (e) => e.kind === 'xenbus_state' && e.end === 'frontend' && e.xb_state === XENBUS_CONNECTED },
      ],
    },
  },
  {
    id: 'root_ready',
    title: 'root device ready',
    deviceLayer: true,
    milestone: true,
    lines: [/^virtio_blk virtio\d+: \[vd[a-z]+\] /, /^blkfront: xvd[a-z]+: /],
    events: [{ label: 'first block request completed', test: (e) => e.kind === 'block_complete' && e.status === 'ok' }],
  },
  {
    id: 'console_handover',
    title: 'console handover',
    lines: [/^printk: console \[[^\]]+\] enabled/, /^printk: bootconsole \[[^\]]+\] disabled/],
    events: [],
    milestone: true,
  },
  {
    id: 'rootfs_init',
    title: 'rootfs / init',
    lines: [
      /^Run \S+ as init process/,
      /^VFS: Mounted root/,
      /^Freeing unused kernel memory/,
      /^VFS: Unable to mount root fs/,
      /^VFS: Cannot open root device/,
    ],
    events: [],
  },
  {
    id: 'init_started',
    title: '/init started',
    deviceLayer: true,
    milestone: true,
    lines: [/^Run \/init as init process/],
    events: [],
  },
  {
    // From the first read of the superblock region (the kernel's partition scan, then the
    // filesystem's own probe) to the filesystem's "mounted" line.
    id: 'root_mount',
    title: 'root mount',
    deviceLayer: true,
    lines: [],
    events: [
      {
        label: 'first read of the superblock region (sector 2)',
        test: (e) =>
          e.kind === 'block_request' && e.op === 'read' && e.sector <= EXT4_SB_SECTOR && EXT4_SB_SECTOR * 512 < e.sector * 512 + e.length,
      },
    ],
    ends: { lines: [/^EXT4-fs \(\S+\): mounted filesystem/, /^VFS: Mounted root/], events: [] },
  },
  {
    id: 'sbin_init',
    title: '/sbin/init (userspace)',
    deviceLayer: true,
    // TOMOYO (built into Debian's kernels) prints its line when /sbin/init is executed, even
    // after an initramfs' switch_root; busybox init itself prints nothing to the console.
    lines: [
      /^Run \/sbin\/init as init process/,
      /^Not activating Mandatory Access Control as \S+ does not exist/,
      /^Calling \S+ to load policy/,
      /^init started: BusyBox/,
      /^systemd\[1\]: /,
      /^Welcome to /,
    ],
    events: [],
  },
  {
    id: 'poweroff',
    title: 'power-off',
    deviceLayer: true,
    lines: [
      /^The system is going down/,
      /^Requesting system (poweroff|halt|reboot)/,
      /^reboot: (Power down|Restarting system|System halted)/,
    ],
    events: [
      { label: 'PSCI SYSTEM_OFF', test: (e) => e.kind === 'hypercall' && e.name.endsWith('SYSTEM_OFF') },
      { label: 'Xen SCHEDOP_shutdown', test: (e) => e.kind === 'hypercall' && e.name.includes('sched_op') && e.subop === 'shutdown' },
    ],
  },
  {
    id: 'panic',
    title: 'panic',
    lines: [/^Kernel panic - not syncing/, /^Internal error: /, /^Unable to handle kernel /],
    events: [],
  },
  // Listed last so the indices above stay put; phases are ordered by time, not by this list.
  // The kernel's EFI stub, a UEFI application, runs between the firmware and the kernel proper
  // (its first line follows the firmware's screen-clearing escapes, hence no anchor).
  {
    id: 'efi_stub',
    title: 'EFI stub',
    uefiOnly: true,
    lines: [/EFI stub: Booting Linux Kernel/],
    events: [],
  },
];

/** A UEFI firmware's banner (EDK2's "UEFI firmware (version …)"). */
const UEFI_BANNER = /^(UEFI firmware|EDK II)/;
/** The EFI stub's lines that name the hardware description it hands the kernel. */
const STUB_DT = /EFI stub: Using DTB from configuration table/;
const STUB_ACPI = /EFI stub: Generating empty DTB/;

/** What started a phase. */
export interface PhaseMarker {
  /** 'line' (a console line) or 'event'. */
  by: 'line' | 'event';
  /** The console line, or the event marker's label. */
  what: string;
  seq: number;
  time: number;
}

export interface Phase {
  id: PhaseId;
  title: string;
  start: number;
  end: number;
  duration: number;
  startNs: number;
  endNs: number;
  durationNs: number;
  marker: PhaseMarker;
  /** The device of a per-device span (its bring-up). */
  device?: string;
  /** What ended a span (absent for other phases, and for a span whose end was not seen). */
  endMarker?: PhaseMarker;
}

export type GuestKind = 'linux' | 'firmware+linux' | 'firmware' | 'other';

export interface PhasesResult {
  guest: GuestKind;
  /** The guest's first console line ('' when it printed nothing). */
  banner: string;
  traceStart: number;
  traceEnd: number;
  phases: Phase[];
  /** Phases of PHASES that were not seen. */
  missing: PhaseId[];
  notes: string[];
}

const PRINTK_TIME = /^\[\s*\d+\.\d+\]\s?/;
const FIRMWARE = 0;
const KERNEL_ENTRY = 1;

/** The phases analysis: onEvent per event, finish() gives the phases. Bounded memory. */
export class PhasesAnalysis implements LiteAnalysis<PhasesResult> {
  readonly name = 'phases';
  private readonly specs: readonly PhaseSpec[];
  private readonly hits: (PhaseMarker | undefined)[];
  /** End markers of spans, by spec index. */
  private readonly endHits: (PhaseMarker | undefined)[];
  /** Per-device spans: device → its start and end markers, by spec index. */
  private readonly devices: Map<string, { start: PhaseMarker; end?: PhaseMarker }>[];
  private sawDeviceLayer = false;
  /** lastBefore ends: the latest candidate, and whether `until` has fixed it. */
  private readonly lastEnd: ({ m: PhaseMarker } | undefined)[];
  private readonly open = new Map<string, { text: string; time: number; seq: number }>();
  private firstTime = -1;
  private lastTime = 0;
  private banner = '';
  private linuxLines = 0;
  private firmwareSeen = false;
  private uefiSeen = false;
  /** The hardware description the EFI stub said it passes on. */
  private description: 'ACPI' | 'DT' | undefined;
  /** Indices of phases whose event markers may still fire (kept short: the hot path). */
  private eventPending: number[] = [];

  constructor(specs: readonly PhaseSpec[] = PHASES) {
    this.specs = specs;
    this.hits = specs.map(() => undefined);
    this.endHits = specs.map(() => undefined);
    this.devices = specs.map(() => new Map());
    this.lastEnd = specs.map(() => undefined);
    this.refreshPending();
  }

  onEvent(e: TraceEvent, ctx: LiteContext): void {
    if (this.firstTime < 0) this.firstTime = e.time;
    this.lastTime = e.time;
    if (!this.sawDeviceLayer && DEVICE_KINDS.has(e.kind)) this.sawDeviceLayer = true;
    if (this.eventPending.length) this.matchEvent(e, ctx);
    if (e.kind === 'console') this.feedConsole(e.port, e.bytes, e.time, e.seq);
  }

  private refreshPending(): void {
    this.eventPending = [];
    for (let i = 0; i < this.specs.length; i++) {
      const spec = this.specs[i]!;
      // After firmware, the kernel's phases begin at its entry (a line marker), not before.
      if (this.firmwareSeen && (i === KERNEL_ENTRY || !this.hits[KERNEL_ENTRY])) continue;
      const waitsForEnd = this.hits[i] && !this.endHits[i] && (spec.ends?.events.length || spec.ends?.lastBefore);
      if (spec.perDevice || (!this.hits[i] && spec.events.length) || waitsForEnd) this.eventPending.push(i);
    }
  }

  private matchEvent(e: TraceEvent, ctx: LiteContext): void {
    for (const i of this.eventPending) {
      const spec = this.specs[i]!;
      if (spec.perDevice) {
        this.matchDevice(i, spec, e, ctx);
        continue;
      }
      if (!this.hits[i]) {
        const m = firstMatch(spec.events, e, ctx);
        if (m) this.hit(i, m);
      } else if (spec.ends && !this.endHits[i]) {
        const lb = spec.ends.lastBefore;
        if (lb) {
          if (lb.until(e, ctx)) {
            this.endHits[i] = this.lastEnd[i]?.m ?? { by: 'event', what: lb.label, seq: e.seq, time: e.time };
            this.refreshPending();
            continue;
          }
          if (lb.test(e, ctx)) this.lastEnd[i] = { m: { by: 'event', what: lb.label, seq: e.seq, time: e.time } };
        }
        const m = firstMatch(spec.ends.events, e, ctx);
        if (m) {
          this.endHits[i] = m;
          this.refreshPending();
        }
      }
    }
  }

  private matchDevice(i: number, spec: PhaseSpec, e: TraceEvent, ctx: LiteContext): void {
    const device = spec.perDevice!(e);
    if (device === undefined) return;
    let span = this.devices[i]!.get(device);
    if (!span) {
      const m = firstMatch(spec.events, e, ctx);
      if (!m) return;
      this.devices[i]!.set(device, (span = { start: m }));
    }
    if (!span.end && spec.ends) span.end = firstMatch(spec.ends.events, e, ctx);
  }

  // Lines are split at LF; CR is dropped; a line keeps its first 512 characters (latin1, a byte each).
  // A line starts (time, seq) with the event that wrote its first byte.
  private feedConsole(port: string, bytes: Uint8Array, time: number, seq: number): void {
    let line = this.open.get(port);
    const n = bytes.length;
    let i = 0;
    while (i < n) {
      if (!line) this.open.set(port, (line = { text: '', time, seq }));
      const nl = bytes.indexOf(0x0a, i);
      const end = nl < 0 ? n : nl;
      // Pieces of at most 1024 bytes (fromCharCode's argument list), until the line is full.
      for (let a = i; a < end && line.text.length < 512; a += 1024) {
        let part = String.fromCharCode.apply(null, bytes.subarray(a, Math.min(end, a + 1024)) as unknown as number[]);
        if (part.includes('\r')) part = part.replaceAll('\r', '');
        line.text = (line.text + part).slice(0, 512);
      }
      if (nl < 0) break;
      this.onLine(line.text, line.time, line.seq);
      this.open.delete(port);
      line = undefined;
      i = nl + 1;
    }
  }

  private onLine(raw: string, time: number, seq: number): void {
    if (!this.banner && raw.trim()) this.banner = raw.trim();
    const text = raw.replace(PRINTK_TIME, '');
    if (text.length !== raw.length) this.linuxLines++;
    if (!this.uefiSeen && UEFI_BANNER.test(text)) this.uefiSeen = true;
    if (!this.description) this.description = STUB_ACPI.test(text) ? 'ACPI' : STUB_DT.test(text) ? 'DT' : undefined;
    for (let i = 0; i < this.specs.length; i++) {
      const spec = this.specs[i]!;
      if (this.hits[i]) {
        const lb = spec.ends?.lastBefore;
        if (lb?.untilLine && !this.endHits[i] && this.lastEnd[i] && lb.untilLine(text)) {
          this.endHits[i] = this.lastEnd[i]!.m;
          this.refreshPending();
          continue;
        }
        if (spec.ends && !this.endHits[i] && spec.ends.lines.some((re) => re.test(text))) {
          this.endHits[i] = { by: 'line', what: text, seq, time };
          this.refreshPending();
        }
        continue;
      }
      for (const re of spec.lines) {
        if (re.test(text)) {
          this.hit(i, { by: 'line', what: text, seq, time });
          break;
        }
      }
    }
  }

  private hit(i: number, m: PhaseMarker): void {
    this.hits[i] = m;
    if (i !== FIRMWARE) {
      if (m.by === 'event' || this.specs[i]!.events.length || this.specs[i]!.ends) this.refreshPending();
      return;
    }
    // Firmware found: what the events showed so far was the firmware's doing, not the kernel's;
    // and the kernel is entered where the firmware says so (a line marker), not at an event.
    this.firmwareSeen = true;
    for (let j = KERNEL_ENTRY; j < this.specs.length; j++) {
      if (this.hits[j]?.by === 'event') {
        this.hits[j] = undefined;
        this.endHits[j] = undefined;
      }
      this.devices[j]!.clear();
    }
    this.refreshPending();
  }

  finish(ctx: LiteContext): PhasesResult {
    for (const [, line] of this.open) if (line.text) this.onLine(line.text, line.time, line.seq);
    this.open.clear();
    const traceStart = Math.max(this.firstTime, 0);
    const traceEnd = this.lastTime;
    // A burst never followed by its `until`: it ended with its last event.
    this.lastEnd.forEach((c, i) => {
      if (c && !this.endHits[i]) this.endHits[i] = c.m;
    });
    const found: { i: number; m: PhaseMarker; end?: PhaseMarker; device?: string }[] = [];
    this.hits.forEach((m, i) => {
      if (m) found.push({ i, m, end: this.endHits[i] });
    });
    this.devices.forEach((byDevice, i) => {
      for (const [device, s] of byDevice) found.push({ i, m: s.start, end: s.end, device });
    });
    found.sort((a, b) => a.m.time - b.m.time || a.m.seq - b.m.seq || a.i - b.i);
    // Only the boot's main line (neither milestones nor spans) ends the phase before it.
    const chained = (i: number): boolean => !this.specs[i]!.milestone && !this.specs[i]!.ends;
    const unended: string[] = [];
    const phases: Phase[] = found.map(({ i, m, end: endM, device }, k) => {
      const spec = this.specs[i]!;
      let end = traceEnd;
      if (spec.milestone) end = m.time;
      else if (spec.ends) {
        if (endM) end = endM.time;
        else unended.push(device ? `${spec.title} ${device}` : spec.title);
      } else if (spec.id !== 'panic') {
        // Ends where the next phase of the main line starts.
        for (let j = k + 1; j < found.length; j++)
          if (chained(found[j]!.i)) {
            end = found[j]!.m.time;
            break;
          }
      }
      // Firmware runs from the start: what precedes its banner is firmware too.
      const start = i === FIRMWARE ? traceStart : m.time;
      const startNs = ctx.toNs(start - traceStart);
      const endNs = ctx.toNs(end - traceStart);
      const title = device ? `${spec.title} ${device}` : spec.title;
      const p: Phase = { id: spec.id, title, start, end, duration: end - start, startNs, endNs, durationNs: endNs - startNs, marker: m };
      if (device) p.device = device;
      if (endM) p.endMarker = endM;
      return p;
    });
    const has = (id: PhaseId) => phases.some((p) => p.id === id);
    const kernelByLine = phases.some((p) => p.id === 'kernel_entry' && p.marker.by === 'line');
    const linux = this.linuxLines > 0 || kernelByLine;
    const guest: GuestKind = has('firmware') ? (linux ? 'firmware+linux' : 'firmware') : linux ? 'linux' : 'other';
    const notes: string[] = [];
    if (guest === 'other') {
      notes.push(
        this.banner
          ? `not a Linux boot (no kernel log lines; the guest's first line is "${this.banner}"): phases come from events only`
          : 'not a Linux boot and no console output: phases come from events only',
      );
    }
    if (guest === 'firmware') notes.push('firmware only: no kernel was started in this trace');
    if (this.hits[KERNEL_ENTRY]?.by === 'event')
      notes.push('kernel entry is the first event of the trace (no firmware or kernel banner seen)');
    if (linux && this.linuxLines > 0)
      notes.push(
        'console-line phases start when the line reached the console; early printk lines are buffered until the early console exists',
      );
    for (const u of unended) notes.push(`${u}: its end was not seen, so it runs to the end of the trace`);
    if (this.description === 'ACPI')
      notes.push(
        'hardware description: ACPI (the EFI stub generated an empty DTB; the kernel found the tables through the UEFI system table)',
      );
    else if (this.description === 'DT')
      notes.push("hardware description: DT (the EFI stub used the firmware's DTB from the configuration table)");
    const missing = this.specs
      .filter(
        (s, i) => !this.hits[i] && !this.devices[i]!.size && (!s.deviceLayer || this.sawDeviceLayer) && (!s.uefiOnly || this.uefiSeen),
      )
      .map((s) => s.id);
    return { guest, banner: this.banner, traceStart, traceEnd, phases, missing, notes };
  }
}

function firstMatch(markers: readonly { label: string; test: EventMarker }[], e: TraceEvent, ctx: LiteContext): PhaseMarker | undefined {
  for (const m of markers) if (m.test(e, ctx)) return { by: 'event', what: m.label, seq: e.seq, time: e.time };
  return undefined;
}

/** Phases of an event stream (for tests and callers without the engine). */
export function phasesOf(events: Iterable<TraceEvent>, ctx: LiteContext): PhasesResult {
  const a = new PhasesAnalysis();
  for (const e of events) a.onEvent(e, ctx);
  return a.finish(ctx);
}

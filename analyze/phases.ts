// Boot phases: where a boot spent its time, from events and from the console (kernel log lines).
//
// Data-driven: PHASES lists the phases in boot order, each with markers — console regexes
// matched against completed lines (printk timestamps stripped) and event predicates. A phase
// starts at its earliest marker; it ends where the next phase found starts (the last one at the
// end of the trace). Works on any guest: bare-metal guests get the phases their events show
// (kernel entry, console, GIC, timer, SMP), and the result says which kind of guest it saw.

import type { TraceEvent } from '../capture/model.ts';
import type { LiteAnalysis, LiteContext } from './standalone.ts';

export const PHASE_IDS = [
  'firmware', 'kernel_entry', 'early_console', 'gic_init', 'timer_init', 'smp_bringup',
  'driver_probe', 'console_handover', 'rootfs_init', 'panic',
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
}

const isMmio = (e: TraceEvent): e is Extract<TraceEvent, { kind: 'mmio_read' | 'mmio_write' }> =>
  e.kind === 'mmio_read' || e.kind === 'mmio_write';
const roleIs = (e: TraceEvent, ctx: LiteContext, role: string): boolean =>
  isMmio(e) && ctx.region(e.device)?.role === role;

export const PHASES: readonly PhaseSpec[] = [
  {
    id: 'firmware', title: 'firmware / loader',
    lines: [/^U-Boot (SPL )?\d{4}\.\d\d/, /Booting Trusted Firmware/, /^UEFI firmware/, /^EDK II/],
    events: [],
  },
  {
    id: 'kernel_entry', title: 'kernel entry',
    lines: [/^Starting kernel \.\.\./, /^Booting Linux on physical CPU/, /^Linux version /],
    // Without firmware, the guest's first event is (close to) its entry point.
    events: [{ label: 'first event of the guest', test: () => true }],
  },
  {
    id: 'early_console', title: 'early console',
    lines: [/^earlycon: /, /^printk: bootconsole \[/],
    events: [{ label: 'first console output', test: (e) => e.kind === 'console' }],
  },
  {
    id: 'gic_init', title: 'GIC init',
    lines: [/^GICv[234]: /, /^GIC: /, /^GICv2m: /],
    events: [
      { label: 'first GIC distributor access', test: (e, c) => roleIs(e, c, 'gic_dist') },
      { label: 'first GIC CPU interface access', test: (e, c) => roleIs(e, c, 'gic_cpu') || roleIs(e, c, 'gic_redist') },
    ],
  },
  {
    id: 'timer_init', title: 'timer init',
    lines: [/^arch_timer: /, /^clocksource: arch_sys_counter/],
    events: [{ label: 'first generic timer programming', test: (e) => e.kind === 'timer' && (e.op === 'ctl' || e.op === 'cval' || e.op === 'tval') }],
  },
  {
    id: 'smp_bringup', title: 'SMP bring-up',
    lines: [/^smp: Bringing up secondary CPUs/, /^CPU\d+: Booted secondary processor/],
    events: [{ label: 'first PSCI CPU_ON', test: (e) => e.kind === 'hypercall' && e.name.endsWith('CPU_ON') }],
  },
  {
    id: 'driver_probe', title: 'driver probe',
    lines: [/^Serial: AMBA PL011 UART driver/, /^rtc-pl031 /, /^virtio[-_]/, /^\S+\.pl011: ttyAMA\d/, /^loop: module loaded/],
    events: [],
  },
  {
    id: 'console_handover', title: 'console handover',
    lines: [/^printk: console \[[^\]]+\] enabled/, /^printk: bootconsole \[[^\]]+\] disabled/],
    events: [],
    milestone: true,
  },
  {
    id: 'rootfs_init', title: 'rootfs / init',
    lines: [/^Run \S+ as init process/, /^VFS: Mounted root/, /^Freeing unused kernel memory/, /^VFS: Unable to mount root fs/, /^VFS: Cannot open root device/],
    events: [],
  },
  {
    id: 'panic', title: 'panic',
    lines: [/^Kernel panic - not syncing/, /^Internal error: /, /^Unable to handle kernel /],
    events: [],
  },
];

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
  private readonly open = new Map<string, { text: string; time: number; seq: number }>();
  private firstTime = -1;
  private lastTime = 0;
  private banner = '';
  private linuxLines = 0;
  private firmwareSeen = false;
  /** Indices of phases whose event markers may still fire (kept short: the hot path). */
  private eventPending: number[] = [];

  constructor(specs: readonly PhaseSpec[] = PHASES) {
    this.specs = specs;
    this.hits = specs.map(() => undefined);
    this.refreshPending();
  }

  onEvent(e: TraceEvent, ctx: LiteContext): void {
    if (this.firstTime < 0) this.firstTime = e.time;
    this.lastTime = e.time;
    if (this.eventPending.length) this.matchEvent(e, ctx);
    if (e.kind === 'console') this.feedConsole(e.port, e.bytes, e.time, e.seq);
  }

  private refreshPending(): void {
    this.eventPending = [];
    for (let i = 0; i < this.specs.length; i++) {
      if (this.hits[i] || !this.specs[i]!.events.length) continue;
      // After firmware, the kernel's phases begin at its entry (a line marker), not before.
      if (this.firmwareSeen && (i === KERNEL_ENTRY || !this.hits[KERNEL_ENTRY])) continue;
      this.eventPending.push(i);
    }
  }

  private matchEvent(e: TraceEvent, ctx: LiteContext): void {
    for (const i of this.eventPending) {
      for (const m of this.specs[i]!.events) {
        if (m.test(e, ctx)) { this.hit(i, { by: 'event', what: m.label, seq: e.seq, time: e.time }); break; }
      }
    }
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
    for (let i = 0; i < this.specs.length; i++) {
      if (this.hits[i]) continue;
      for (const re of this.specs[i]!.lines) {
        if (re.test(text)) { this.hit(i, { by: 'line', what: text, seq, time }); break; }
      }
    }
  }

  private hit(i: number, m: PhaseMarker): void {
    this.hits[i] = m;
    if (i !== FIRMWARE) { if (m.by === 'event' || this.specs[i]!.events.length) this.refreshPending(); return; }
    // Firmware found: what the events showed so far was the firmware's doing, not the kernel's;
    // and the kernel is entered where the firmware says so (a line marker), not at an event.
    this.firmwareSeen = true;
    for (let j = KERNEL_ENTRY; j < this.specs.length; j++) if (this.hits[j]?.by === 'event') this.hits[j] = undefined;
    this.refreshPending();
  }

  finish(ctx: LiteContext): PhasesResult {
    for (const [, line] of this.open) if (line.text) this.onLine(line.text, line.time, line.seq);
    this.open.clear();
    const traceStart = Math.max(this.firstTime, 0);
    const traceEnd = this.lastTime;
    const found: { i: number; m: PhaseMarker }[] = [];
    this.hits.forEach((m, i) => { if (m) found.push({ i, m }); });
    found.sort((a, b) => a.m.time - b.m.time || a.m.seq - b.m.seq || a.i - b.i);
    const phases: Phase[] = found.map(({ i, m }, k) => {
      const spec = this.specs[i]!;
      let end = traceEnd;
      if (spec.milestone) end = m.time;
      else if (spec.id !== 'panic') {
        // Ends where the next phase (not a milestone) starts.
        for (let j = k + 1; j < found.length; j++) if (!this.specs[found[j]!.i]!.milestone) { end = found[j]!.m.time; break; }
      }
      // Firmware runs from the start: what precedes its banner is firmware too.
      const start = i === FIRMWARE ? traceStart : m.time;
      const startNs = ctx.toNs(start - traceStart);
      const endNs = ctx.toNs(end - traceStart);
      return { id: spec.id, title: spec.title, start, end, duration: end - start, startNs, endNs, durationNs: endNs - startNs, marker: m };
    });
    const has = (id: PhaseId) => phases.some((p) => p.id === id);
    const kernelByLine = phases.some((p) => p.id === 'kernel_entry' && p.marker.by === 'line');
    const linux = this.linuxLines > 0 || kernelByLine;
    const guest: GuestKind = has('firmware') ? (linux ? 'firmware+linux' : 'firmware') : linux ? 'linux' : 'other';
    const notes: string[] = [];
    if (guest === 'other') {
      notes.push(this.banner
        ? `not a Linux boot (no kernel log lines; the guest's first line is "${this.banner}"): phases come from events only`
        : 'not a Linux boot and no console output: phases come from events only');
    }
    if (guest === 'firmware') notes.push('firmware only: no kernel was started in this trace');
    if (this.hits[KERNEL_ENTRY]?.by === 'event') notes.push('kernel entry is the first event of the trace (no firmware or kernel banner seen)');
    if (linux && this.linuxLines > 0) notes.push('console-line phases start when the line reached the console; early printk lines are buffered until the early console exists');
    const missing = this.specs.filter((s, i) => !this.hits[i]).map((s) => s.id);
    return { guest, banner: this.banner, traceStart, traceEnd, phases, missing, notes };
  }
}

/** Phases of an event stream (for tests and callers without the engine). */
export function phasesOf(events: Iterable<TraceEvent>, ctx: LiteContext): PhasesResult {
  const a = new PhasesAnalysis();
  for (const e of events) a.onEvent(e, ctx);
  return a.finish(ctx);
}

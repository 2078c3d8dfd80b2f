// Perfetto export: each trace becomes a process; a thread-like track per vCPU, a track per device,
// a track per interrupt (slices from assert to EOI), boot phases as slices, console lines as log
// messages and a counter of event density. Times are the trace's clock in nanoseconds. Packets are
// written as they are made (one pass over the events after a phases pass), so memory is bounded by
// the number of tracks, not by the trace. Field numbers: proto.ts; layout: docs/export.md.

import { COMMON_FIELDS, EVENT_KINDS, KIND_FIELDS, timeToNs, type ClockInfo, type FieldType, type TraceEvent } from '../../capture/model.ts';
import { bytesToText } from '../../capture/describe.ts';
import type { TraceReader } from '../../capture/store/index.ts';
import { PHASES, PhasesAnalysis, type PhasesResult } from '../phases.ts';
import { runLite } from '../standalone.ts';
import {
  encodePacketView,
  SEQ_INCREMENTAL_STATE_CLEARED,
  SEQ_NEEDS_INCREMENTAL_STATE,
  TYPE_COUNTER,
  TYPE_INSTANT,
  TYPE_SLICE_BEGIN,
  TYPE_SLICE_END,
  UNIT_COUNT,
  type ProtoObject,
} from './proto.ts';

export interface PerfettoSource {
  name: string;
  reader: TraceReader;
}

export interface PerfettoOptions {
  /** Called every PROGRESS_EVERY events; an async pause lets signals in. Return false to stop. */
  onProgress?: () => boolean | Promise<boolean>;
}

export interface PerfettoWritten {
  packets: number;
  events: number;
  stopped: boolean;
}

const PROGRESS_EVERY = 1 << 16;
/** Longest console line kept whole; a longer one is cut into pieces of this many characters. */
const MAX_LINE = 4096;
/** Event density: at most this many counter samples per trace. */
const DENSITY_BUCKETS = 1000;

/** Interned event names (iid = index + 1): the event kinds, then our own slice names. */
const EVENT_NAMES: readonly string[] = [...EVENT_KINDS, 'interrupt'];
/** Interned debug-annotation names: every field of the model. */
const ANNOTATION_NAMES: readonly string[] = [
  ...new Set([...Object.keys(COMMON_FIELDS), ...Object.values(KIND_FIELDS).flatMap((f) => Object.keys(f))]),
];
const nameIid = new Map(EVENT_NAMES.map((n, i) => [n, i + 1]));
const annIid = new Map(ANNOTATION_NAMES.map((n, i) => [n, i + 1]));
/** Per kind: its fields with their annotation-name iids (built once, not per event). */
const KIND_ANNOTATIONS = Object.fromEntries(
  Object.entries(KIND_FIELDS).map(([kind, fields]) => [
    kind,
    Object.entries(fields as Record<string, { type: FieldType }>).map(([name, spec]) => ({
      name,
      iid: annIid.get(name)!,
      type: spec.type,
    })),
  ]),
) as Record<TraceEvent['kind'], { name: string; iid: number; type: FieldType }[]>;
/** Strings interned per sequence at most: beyond, values are written inline (memory stays bounded). */
const MAX_INTERNED = 1 << 16;
const SEQ_IID = annIid.get('seq')!;
const PC_IID = annIid.get('pc')!;
/** Longer strings are written inline: interning pays for names, not for text. */
const MAX_INTERNED_LENGTH = 256;
/** Packets are gathered into writes of about this size. */
const BATCH_BYTES = 1 << 17;

/** pid per trace, tid per vCPU: distinct from every pid (Perfetto merges equal pids/tids). */
const pidOf = (t: number) => t + 1;
const tidOf = (t: number, vcpu: number) => (1 << 24) + t * 1024 + ((vcpu + 1) & 1023);

/** Write the Perfetto trace of `sources` (one process each) through `write`. */
export async function writePerfetto(
  sources: readonly PerfettoSource[],
  write: (b: Uint8Array) => void,
  opts: PerfettoOptions = {},
): Promise<PerfettoWritten> {
  const res: PerfettoWritten = { packets: 0, events: 0, stopped: false };
  const batch = new Uint8Array(BATCH_BYTES);
  let held = 0;
  const send = (b: Uint8Array) => {
    if (held + b.length > batch.length) {
      write(batch.slice(0, held));
      held = 0;
    }
    if (b.length > batch.length) write(b.slice());
    else {
      batch.set(b, held);
      held += b.length;
    }
  };
  // Track uuids are small numbers counted over the whole file: short varints in every event.
  const uuids = { next: 1 };
  try {
    for (let t = 0; t < sources.length; t++) {
      const w = new TraceExport(t, sources[t]!, uuids, (p) => {
        send(encodePacketView(p));
        res.packets++;
      });
      const done = await w.run(opts, res);
      if (!done) {
        res.stopped = true;
        break;
      }
    }
  } finally {
    if (held) write(batch.slice(0, held));
  }
  return res;
}

interface Track {
  uuid: number;
  last: number;
}

/** The export of one trace: its tracks, open slices and pending phase packets. */
class TraceExport {
  private readonly seqId: number;
  private readonly procUuid: number;
  private readonly uuids: { next: number };
  /** Names and string values interned on this sequence so far, and those the next packet defines. */
  private readonly names = new Map(nameIid);
  private readonly strings = new Map<string, number>();
  private newNames: ProtoObject[] = [];
  private newStrings: ProtoObject[] = [];
  private readonly tracks = new Map<string, Track>();
  private readonly clock: ClockInfo;
  /** Open interrupt slices by (vCPU, INTID) key. */
  private readonly openIrq = new Set<number>();
  /** Console lines being gathered, per port. */
  private readonly lines = new Map<string, { ts: number; text: string }>();
  private nextLogIid = 1;
  /** Phase packets, in time order, sent as the events pass their times. */
  private phaseQueue: { ts: number; packet: () => ProtoObject }[] = [];
  private phaseAt = 0;
  private density: { track: Track; width: number; start: number; bucket: number; count: number; t0: number } | undefined;
  private maxTs = 0;

  private readonly t: number;
  private readonly src: PerfettoSource;
  private readonly emit: (p: ProtoObject) => void;

  constructor(t: number, src: PerfettoSource, uuids: { next: number }, emit: (p: ProtoObject) => void) {
    this.t = t;
    this.src = src;
    this.emit = emit;
    this.seqId = t + 1;
    this.uuids = uuids;
    this.procUuid = uuids.next++;
    this.clock = src.reader.meta.clock;
  }

  async run(opts: PerfettoOptions, res: PerfettoWritten): Promise<boolean> {
    const r = this.src.reader;
    const phases = runLite(r, [new PhasesAnalysis()], r.meta, r.regions).phases as PhasesResult;
    this.start();
    this.planPhases(phases);
    this.planDensity();
    let n = 0;
    for (const e of r.events()) {
      this.onEvent(e);
      res.events++;
      if (++n % PROGRESS_EVERY === 0 && opts.onProgress && !(await opts.onProgress())) return false;
    }
    this.finish();
    return true;
  }

  private ns(time: number): number {
    return Math.max(0, Math.round(timeToNs(time, this.clock)));
  }

  /** The sequence's first packet: clears incremental state and interns every fixed name. */
  private start(): void {
    const m = this.src.reader.meta;
    this.emit({
      trusted_packet_sequence_id: this.seqId,
      sequence_flags: SEQ_INCREMENTAL_STATE_CLEARED,
      first_packet_on_sequence: true,
      interned_data: {
        event_names: EVENT_NAMES.map((name, i) => ({ iid: i + 1, name })),
        debug_annotation_names: ANNOTATION_NAMES.map((name, i) => ({ iid: i + 1, name })),
      },
    });
    this.emit({
      trusted_packet_sequence_id: this.seqId,
      track_descriptor: {
        uuid: this.procUuid,
        name: this.src.name,
        process: {
          pid: pidOf(this.t),
          process_name: `${this.src.name} (${m.source.type} ${m.source.name})`,
          cmdline: [this.src.reader.path],
        },
      },
    });
  }

  /** A track by key, its descriptor sent the first time it is used (before any of its events). */
  private track(key: string, describe: (uuid: number) => ProtoObject): Track {
    let tr = this.tracks.get(key);
    if (!tr) {
      tr = { uuid: this.uuids.next++, last: 0 };
      this.tracks.set(key, tr);
      this.emit({ trusted_packet_sequence_id: this.seqId, track_descriptor: describe(tr.uuid) });
    }
    return tr;
  }

  private child(key: string, name: string): Track {
    return this.track(key, (uuid) => ({ uuid, parent_uuid: this.procUuid, name }));
  }

  private vcpuTrack(vcpu: number): Track {
    return this.track(`vcpu:${vcpu}`, (uuid) => ({
      uuid,
      parent_uuid: this.procUuid,
      thread: { pid: pidOf(this.t), tid: tidOf(this.t, vcpu), thread_name: vcpu < 0 ? 'vCPU ?' : `vCPU ${vcpu}` },
    }));
  }

  /** Send a track event; its time never goes back on its track (imports may step back). */
  private event(tr: Track, ts: number, ev: ProtoObject, interned?: ProtoObject): void {
    this.emit(this.packet(tr, ts, ev, interned));
  }

  /**
   * A track-event packet. A `name` becomes an interned name_iid; names and string values first
   * used by this event are defined in this packet's interned_data (Perfetto's incremental state
   * for the sequence, cleared by its first packet).
   */
  private packet(tr: Track, ts: number, ev: ProtoObject, interned?: ProtoObject): ProtoObject {
    if (ts < tr.last) ts = tr.last;
    tr.last = ts;
    if (ts > this.maxTs) this.maxTs = ts;
    if (typeof ev.name === 'string') {
      const { name, ...rest } = ev;
      ev = { ...rest, name_iid: this.nameIid(name) };
    }
    const p: ProtoObject = {
      timestamp: ts,
      trusted_packet_sequence_id: this.seqId,
      sequence_flags: SEQ_NEEDS_INCREMENTAL_STATE,
      track_event: { track_uuid: tr.uuid, ...ev },
    };
    if (interned || this.newNames.length || this.newStrings.length) {
      p.interned_data = {
        ...interned,
        ...(this.newNames.length ? { event_names: this.newNames } : {}),
        ...(this.newStrings.length ? { debug_annotation_string_values: this.newStrings } : {}),
      };
      this.newNames = [];
      this.newStrings = [];
    }
    return p;
  }

  private nameIid(name: string): number {
    let iid = this.names.get(name);
    if (iid === undefined) {
      iid = this.names.size + 1;
      this.names.set(name, iid);
      this.newNames.push({ iid, name });
    }
    return iid;
  }

  /** A string annotation value: interned while the sequence has room, else inline. */
  private stringValue(v: string): ProtoObject {
    let iid = this.strings.get(v);
    if (iid === undefined) {
      if (this.strings.size >= MAX_INTERNED || v.length > MAX_INTERNED_LENGTH) return { string_value: v };
      iid = this.strings.size + 1;
      this.strings.set(v, iid);
      this.newStrings.push({ iid, str: v });
    }
    return { string_value_iid: iid };
  }

  /** The event's fields as debug annotations (u64 values as pointers: the UI shows them in hex). */
  private annotations(e: TraceEvent): ProtoObject[] {
    const rec = e as unknown as Record<string, unknown>;
    const out: ProtoObject[] = [{ name_iid: SEQ_IID, int_value: e.seq }];
    if (e.pc !== undefined) out.push({ name_iid: PC_IID, pointer_value: BigInt.asUintN(64, e.pc) });
    for (const f of KIND_ANNOTATIONS[e.kind]) {
      const v = rec[f.name];
      out.push(
        f.type === 'str' || f.type === 'enum'
          ? { name_iid: f.iid, ...this.stringValue(v as string) }
          : { name_iid: f.iid, ...annotationValue(v, f.type) },
      );
    }
    return out;
  }

  private onEvent(e: TraceEvent): void {
    const ts = this.ns(e.time);
    this.flushPhases(ts);
    this.countDensity(ts);
    switch (e.kind) {
      case 'console':
        this.consoleBytes(e.port, e.bytes, ts);
        return;
      case 'mmio_read':
      case 'mmio_write': {
        const reg = e.register || `0x${e.addr.toString(16)}`;
        const tr = this.child(`dev:${e.device}`, e.device || 'unassigned MMIO');
        this.event(tr, ts, {
          type: TYPE_INSTANT,
          name: `${e.kind === 'mmio_read' ? 'read' : 'write'} ${reg}`,
          debug_annotations: this.annotations(e),
        });
        return;
      }
      case 'hypercall': {
        const name = (e.name || `0x${e.func.toString(16)}`) + (e.subop ? `/${e.subop}` : '');
        this.event(this.vcpuTrack(e.vcpu), ts, { type: TYPE_INSTANT, name, debug_annotations: this.annotations(e) });
        return;
      }
      case 'irq_line':
      case 'irq_deliver':
      case 'irq_ack':
      case 'irq_eoi':
      case 'irq_deactivate':
        this.instant(e, ts);
        this.irqLifecycle(e, ts);
        return;
      default:
        this.instant(e, ts);
    }
  }

  /** An instant named by its kind, on its device's track when it names one, else its vCPU's. */
  private instant(e: TraceEvent, ts: number): void {
    const dev = deviceName(e);
    const tr = dev ? this.child(`dev:${dev}`, dev) : this.vcpuTrack(e.vcpu);
    this.event(tr, ts, { type: TYPE_INSTANT, name_iid: nameIid.get(e.kind)!, debug_annotations: this.annotations(e) });
  }

  // Interrupt lifecycles, keyed as the latency analysis keys them (SGIs/PPIs per vCPU): a slice
  // opens at the first of assert, delivery or acknowledge, and closes at EOI (or deactivation).
  private irqLifecycle(e: Extract<TraceEvent, { intid: number }>, ts: number): void {
    if (e.intid >= 1020 && e.intid < 8192) return; // special INTIDs (1023 = spurious)
    const key = e.intid < 32 ? e.vcpu * 65536 + e.intid : -1 - e.intid;
    const name = e.intid < 32 ? `IRQ ${e.intid} (vCPU ${e.vcpu})` : `IRQ ${e.intid}`;
    const open = this.openIrq.has(key);
    const begins = e.kind === 'irq_line' ? e.level === 1 : e.kind === 'irq_deliver' || e.kind === 'irq_ack';
    if (begins && !open) {
      const tr = this.child(`irq:${key}`, name);
      this.openIrq.add(key);
      this.event(tr, ts, { type: TYPE_SLICE_BEGIN, name, debug_annotations: [{ name_iid: annIid.get('intid')!, int_value: e.intid }] });
    } else if (open && (e.kind === 'irq_eoi' || e.kind === 'irq_deactivate')) {
      this.openIrq.delete(key);
      this.event(this.child(`irq:${key}`, name), ts, { type: TYPE_SLICE_END });
    }
  }

  private consoleBytes(port: string, bytes: Uint8Array, ts: number): void {
    let line = this.lines.get(port);
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i]!;
      if (!line) this.lines.set(port, (line = { ts, text: '' }));
      if (b === 0x0a || line.text.length >= MAX_LINE) {
        this.logLine(port, line);
        line = undefined;
        this.lines.delete(port);
        if (b === 0x0a) continue;
        this.lines.set(port, (line = { ts, text: '' }));
      }
      if (b !== 0x0d) line.text += String.fromCharCode(b);
    }
  }

  private logLine(port: string, line: { ts: number; text: string }): void {
    const tr = this.child(`console:${port}`, `console ${port}`);
    const iid = this.nextLogIid++;
    this.event(
      tr,
      line.ts,
      { type: TYPE_INSTANT, name_iid: nameIid.get('console')!, log_message: { body_iid: iid } },
      { log_message_body: [{ iid, body: line.text }] },
    );
  }

  /** Boot phases: the main line on one track, each span (PCI, a device, the root mount) on its own. */
  private planPhases(res: PhasesResult): void {
    const main = res.phases.filter((p) => !isSpan(p.id) && !isMilestone(p.id)).sort((a, b) => a.start - b.start);
    const queue: { ts: number; packet: () => ProtoObject }[] = [];
    const slice = (key: string, title: string, name: string, start: number, end: number) => {
      const tr = this.child(key, title);
      queue.push({ ts: start, packet: () => this.phasePacket(tr, start, { type: TYPE_SLICE_BEGIN, name }) });
      queue.push({ ts: end, packet: () => this.phasePacket(tr, end, { type: TYPE_SLICE_END }) });
    };
    main.forEach((p, i) => {
      const next = main[i + 1];
      const start = this.ns(p.start);
      const end = Math.max(start, Math.min(this.ns(p.end), next ? this.ns(next.start) : Infinity));
      slice('phases', 'boot phases', p.title, start, end);
    });
    for (const p of res.phases) {
      if (isMilestone(p.id)) {
        const tr = this.child('phases', 'boot phases');
        const ts = this.ns(p.start);
        queue.push({ ts, packet: () => this.phasePacket(tr, ts, { type: TYPE_INSTANT, name: p.title }) });
      } else if (isSpan(p.id)) {
        const title = p.device ? `${p.title} ${p.device}` : p.title;
        slice(`span:${p.id}:${p.device ?? ''}`, title, title, this.ns(p.start), Math.max(this.ns(p.start), this.ns(p.end)));
      }
    }
    // Stable sort keeps each track's begin before its end at equal times.
    this.phaseQueue = queue.map((q, i) => ({ ...q, i })).sort((a, b) => a.ts - b.ts || a.i - b.i);
  }

  private phasePacket(tr: Track, ts: number, ev: ProtoObject): ProtoObject {
    return this.packet(tr, ts, ev);
  }

  private flushPhases(upTo: number): void {
    while (this.phaseAt < this.phaseQueue.length && this.phaseQueue[this.phaseAt]!.ts <= upTo)
      this.emit(this.phaseQueue[this.phaseAt++]!.packet());
  }

  /** Event density: events per bucket of a round width, at most DENSITY_BUCKETS per trace. */
  private planDensity(): void {
    const info = this.src.reader.info();
    const t0 = this.ns(info.timeFirst);
    const span = Math.max(1, this.ns(info.timeLast) - t0);
    const width = 10 ** Math.max(3, Math.ceil(Math.log10(span / DENSITY_BUCKETS)));
    const track = this.track('density', (uuid) => ({
      uuid,
      parent_uuid: this.procUuid,
      name: `events per ${fmtWidth(width)}`,
      counter: { unit: UNIT_COUNT },
    }));
    this.density = { track, width, start: t0, bucket: 0, count: 0, t0 };
  }

  private countDensity(ts: number): void {
    const d = this.density!;
    const b = Math.max(0, Math.floor((ts - d.t0) / d.width));
    if (b > d.bucket) {
      this.densitySample(d.t0 + d.bucket * d.width, d.count);
      // An idle stretch reads as zero, not as a line drawn across it.
      if (b > d.bucket + 1) this.densitySample(d.t0 + (d.bucket + 1) * d.width, 0);
      d.bucket = b;
      d.count = 0;
    }
    d.count++;
  }

  private densitySample(ts: number, n: number): void {
    const d = this.density!;
    this.event(d.track, ts, { type: TYPE_COUNTER, counter_value: n });
  }

  private finish(): void {
    for (const [port, line] of this.lines) if (line.text.length) this.logLine(port, line);
    this.lines.clear();
    const d = this.density!;
    if (d.count) this.densitySample(d.t0 + d.bucket * d.width, d.count);
    this.flushPhases(Infinity);
    // Interrupts still in flight at the end of the trace end with it.
    for (const [key, tr] of this.tracks)
      if (key.startsWith('irq:') && this.openIrq.has(Number(key.slice(4)))) this.event(tr, this.maxTs, { type: TYPE_SLICE_END });
    this.openIrq.clear();
  }
}

function fmtWidth(ns: number): string {
  if (ns >= 1e9) return `${ns / 1e9} s`;
  if (ns >= 1e6) return `${ns / 1e6} ms`;
  return `${ns / 1e3} µs`;
}

const SPANS = new Set(PHASES.filter((p) => p.ends || p.perDevice).map((p) => p.id));
const MILESTONES = new Set(PHASES.filter((p) => p.milestone).map((p) => p.id));
const isSpan = (id: string) => SPANS.has(id as never);
const isMilestone = (id: string) => MILESTONES.has(id as never);

/** The device an instant belongs to (interrupt lines on their source's track). */
function deviceName(e: TraceEvent): string {
  switch (e.kind) {
    case 'irq_line':
      return e.source;
    case 'block_request':
    case 'block_complete':
    case 'net_frame':
    case 'pci_config':
    case 'device_error':
    case 'msi':
    case 'xenbus_state':
    case 'its_command':
    case 'its_translate':
    case 'input':
      return 'device' in e ? e.device : e.port;
    case 'xen_grant':
      return e.backend;
    default:
      return '';
  }
}

function annotationValue(v: unknown, type: FieldType): ProtoObject {
  switch (type) {
    case 'u64':
      return { pointer_value: BigInt.asUintN(64, v as bigint) };
    case 'u64[]':
      return { string_value: `[${(v as bigint[]).map((x) => '0x' + x.toString(16)).join(', ')}]` };
    case 'bool':
      return { bool_value: v as boolean };
    case 'bytes':
      return { string_value: bytesToText(v as Uint8Array) };
    case 'str':
    case 'enum':
      return { string_value: v as string };
    default:
      return { int_value: v as number };
  }
}

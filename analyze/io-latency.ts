// Block I/O and network frame latency, per device and queue: request submitted (the doorbell that
// made the device look: a virtqueue notify write, or the event-channel send to a Xen backend) →
// completion (the device's used-ring / blkif response, with the INTID it raised: INTx SPI, MSI or
// the event-channel upcall PPI) → the guest acknowledges that interrupt (IAR). Same streaming
// distributions as the interrupt latency (analyze/latency.ts): bounded memory.
//
// A block completion names its request and its INTID (block_complete). A transmitted frame has no
// completion event of its own: the device's next interrupt after it announces it — the function's
// MSI or its INTx line rising (virtio-net; the device puts the used buffer back as it takes the
// frame), or the event-channel notification to the guest from the vif's backend (netfront; the
// upcall PPI, GUEST_EVTCHN_PPI). A frame the device took without announcing it before the guest's
// next doorbell to that device is completed silently (event index or a line already high).

import type { EventKind, TraceEvent } from '../capture/model.ts';
import { Distribution, distributionStats, type DistributionStats } from './latency.ts';
import type { LiteAnalysis, LiteContext } from './standalone.ts';
import { XEN_EVTCHN_PPI } from './state/xen-evtchn.ts';

export const IO_STAGES = ['submit_to_complete', 'complete_to_ack', 'submit_to_ack'] as const;
export type IoStage = (typeof IO_STAGES)[number];

/** The event kinds the analysis reads. */
export const IO_LATENCY_KINDS: EventKind[] = [
  'block_request',
  'block_complete',
  'net_frame',
  'mmio_write',
  'xen_evtchn',
  'msi',
  'irq_line',
  'irq_ack',
];

export interface IoStageStats extends DistributionStats {
  stage: IoStage;
}

export interface IoQueueLatency {
  /** Block requests, or network frames (requests are then frames; ops their direction). */
  kind: 'block' | 'net';
  device: string;
  queue: number;
  requests: number;
  completed: number;
  /** Completions that raised no interrupt (the guest suppressed it): no acknowledge stage. */
  silent: number;
  errors: number;
  /** Most requests in flight at once. */
  maxDepth: number;
  /** Requests by operation. */
  ops: Record<string, number>;
  stages: IoStageStats[];
  /** Requests per time bin and the most in flight in each bin (when asked for: the TUI, the report). */
  timeline?: IoTimeline;
}

/** A queue's activity over [from, to) in equal time bins. */
export interface IoTimeline {
  from: number;
  to: number;
  requests: number[];
  /** Most requests (frames) in flight during the bin, counting those in flight when it began. */
  depth: number[];
}

export interface IoLatencyResult {
  clock: string;
  queues: IoQueueLatency[];
  /** Requests (frames) without a completion at the end of the trace, per device and queue. */
  outstanding: { kind: 'block' | 'net'; device: string; queue: number; count: number }[];
  notes: string[];
}

interface Queue {
  kind: 'block' | 'net';
  device: string;
  queue: number;
  requests: number;
  completed: number;
  silent: number;
  errors: number;
  depth: number;
  maxDepth: number;
  ops: Map<string, number>;
  /** request id → submit time (block). */
  flight: Map<bigint, number>;
  /** Frames taken by the device and not yet announced by an interrupt (net). */
  frames: { submit: number; taken: number }[];
  stages: Map<IoStage, Distribution>;
  bins?: { requests: number[]; depth: number[]; lastDepth: number[]; touched: Uint8Array };
}

/** A completion waiting for the guest to acknowledge its interrupt. */
interface Unacked {
  q: Queue;
  submit: number;
  complete: number;
}

/** Doorbell register names of virtio-pci (notify.qN) and virtio-mmio (QueueNotify). */
const NOTIFY = /(^| )(notify\.q\d+|QueueNotify)$/;

export class IoLatencyAnalysis implements LiteAnalysis<IoLatencyResult> {
  readonly name = 'io_latency';
  readonly kinds = IO_LATENCY_KINDS;

  /** `timeline`: also count each queue's requests and depth in `bins` equal bins over [from, to). */
  private readonly timeline: { from: number; to: number; bins: number } | undefined;
  constructor(timeline?: { from: number; to: number; bins: number }) {
    this.timeline = timeline;
  }

  private readonly queues = new Map<string, Queue>();
  /** Latest doorbell per device: requests it made the device see were submitted then. */
  private readonly doorbell = new Map<string, number>();
  /** Completions per INTID waiting for an acknowledge: one interrupt may announce several. */
  private readonly waiting = new Map<number, Unacked[]>();

  /** Net queues per device holding frames that wait for their interrupt. */
  private readonly unannounced = new Map<string, Set<Queue>>();

  private queueOf(kind: 'block' | 'net', device: string, queue: number): Queue {
    const key = `${kind}\0${device}\0${queue}`;
    let q = this.queues.get(key);
    if (!q) {
      this.queues.set(
        key,
        (q = {
          kind,
          device,
          queue,
          requests: 0,
          completed: 0,
          silent: 0,
          errors: 0,
          depth: 0,
          maxDepth: 0,
          ops: new Map(),
          flight: new Map(),
          frames: [],
          stages: new Map(),
        }),
      );
      if (this.timeline) {
        const n = this.timeline.bins;
        q.bins = {
          requests: new Array<number>(n).fill(0),
          depth: new Array<number>(n).fill(0),
          lastDepth: new Array<number>(n).fill(0),
          touched: new Uint8Array(n),
        };
      }
    }
    return q;
  }

  private binOf(t: number): number {
    const tl = this.timeline!;
    const span = Math.max(1, tl.to - tl.from);
    return Math.max(0, Math.min(tl.bins - 1, Math.floor(((t - tl.from) / span) * tl.bins)));
  }

  /** Notes the queue's depth at `time` (and a new request, when `request`). */
  private track(q: Queue, time: number, request: boolean): void {
    q.depth = q.kind === 'net' ? q.frames.length : q.flight.size;
    if (q.depth > q.maxDepth) q.maxDepth = q.depth;
    if (!q.bins) return;
    const b = this.binOf(time);
    if (request) q.bins.requests[b]!++;
    if (q.depth > q.bins.depth[b]!) q.bins.depth[b] = q.depth;
    q.bins.lastDepth[b] = q.depth;
    q.bins.touched[b] = 1;
  }

  private add(q: Queue, stage: IoStage, v: number): void {
    let d = q.stages.get(stage);
    if (!d) q.stages.set(stage, (d = new Distribution()));
    d.add(v);
  }

  onEvent(e: TraceEvent): void {
    switch (e.kind) {
      case 'mmio_write':
        if (e.device && NOTIFY.test(e.register)) this.ring(e.device, e.time);
        return;
      case 'xen_evtchn':
        if (e.dir === 'to_backend') this.ring(e.peer, e.time);
        else this.announce(e.peer, XEN_EVTCHN_PPI, e.time);
        return;
      case 'msi':
        if (e.intid) this.announce(e.device, e.intid, e.time);
        return;
      case 'irq_line':
        if (e.level === 1 && e.source) this.announce(e.source, e.intid, e.time);
        return;
      case 'net_frame': {
        // Only what the guest sends has a doorbell and a completion (received frames: none yet).
        if (e.direction !== 'tx') return;
        const q = this.queueOf('net', e.device, e.queue);
        q.requests++;
        q.ops.set(e.direction, (q.ops.get(e.direction) ?? 0) + 1);
        q.frames.push({ submit: this.doorbell.get(e.device) ?? e.time, taken: e.time });
        this.track(q, e.time, true);
        let set = this.unannounced.get(e.device);
        if (!set) this.unannounced.set(e.device, (set = new Set()));
        set.add(q);
        return;
      }
      case 'block_request': {
        const q = this.queueOf('block', e.device, e.queue);
        q.requests++;
        q.ops.set(e.op, (q.ops.get(e.op) ?? 0) + 1);
        q.flight.set(e.request, this.doorbell.get(e.device) ?? e.time);
        this.track(q, e.time, true);
        return;
      }
      case 'block_complete': {
        const q = this.queueOf('block', e.device, e.queue);
        const submit = q.flight.get(e.request);
        if (submit === undefined) return;
        q.flight.delete(e.request);
        this.track(q, e.time, false);
        q.completed++;
        if (e.status !== 'ok') q.errors++;
        this.add(q, 'submit_to_complete', e.time - submit);
        if (!e.intid) {
          q.silent++;
          return;
        }
        let list = this.waiting.get(e.intid);
        if (!list) this.waiting.set(e.intid, (list = []));
        list.push({ q, submit, complete: e.time });
        return;
      }
      case 'irq_ack': {
        const list = this.waiting.get(e.intid);
        if (!list?.length) return;
        for (const u of list) {
          this.add(u.q, 'complete_to_ack', e.time - u.complete);
          this.add(u.q, 'submit_to_ack', e.time - u.submit);
        }
        list.length = 0;
        return;
      }
      default:
    }
  }

  /** A doorbell: frames the device took since the last one and did not announce completed silently. */
  private ring(device: string, time: number): void {
    const set = this.unannounced.get(device);
    if (set) {
      for (const q of set) {
        for (const f of q.frames) {
          q.completed++;
          q.silent++;
          this.add(q, 'submit_to_complete', f.taken - f.submit);
        }
        q.frames.length = 0;
        this.track(q, time, false);
      }
      set.clear();
    }
    this.doorbell.set(device, time);
  }

  /** An interrupt from `device`: it completes the frames the device took and had not announced. */
  private announce(device: string, intid: number, time: number): void {
    const set = this.unannounced.get(device);
    if (!set?.size) return;
    let list = this.waiting.get(intid);
    if (!list) this.waiting.set(intid, (list = []));
    for (const q of set) {
      for (const f of q.frames) {
        q.completed++;
        this.add(q, 'submit_to_complete', time - f.submit);
        list.push({ q, submit: f.submit, complete: time });
      }
      q.frames.length = 0;
      this.track(q, time, false);
    }
    set.clear();
  }

  finish(ctx: LiteContext): IoLatencyResult {
    const queues = [...this.queues.values()].sort(
      (a, b) => a.kind.localeCompare(b.kind) || a.device.localeCompare(b.device) || a.queue - b.queue,
    );
    const toNs = (t: number) => ctx.toNs(t);
    const notes: string[] = [];
    if (queues.length && ctx.clock.kind === 'instructions') {
      notes.push(
        "the emulator's devices complete a request when its doorbell rings, so submit → complete is 0 in virtual time; what the guest waits for is complete → ack",
      );
    }
    const unacked = [...this.waiting.values()].reduce((n, l) => n + l.length, 0);
    if (unacked) notes.push(`${unacked} completion(s) whose interrupt the guest had not acknowledged by the end of the trace`);
    return {
      clock: ctx.clock.kind,
      queues: queues.map((q) => ({
        kind: q.kind,
        device: q.device,
        queue: q.queue,
        requests: q.requests,
        completed: q.completed,
        silent: q.silent,
        errors: q.errors,
        maxDepth: q.maxDepth,
        ops: Object.fromEntries([...q.ops].sort()),
        stages: ioStageRows(q.stages, toNs),
        ...(q.bins && this.timeline ? { timeline: timelineOf(q.bins, this.timeline) } : {}),
      })),
      outstanding: queues
        .filter((q) => q.flight.size || q.frames.length)
        .map((q) => ({ kind: q.kind, device: q.device, queue: q.queue, count: q.flight.size + q.frames.length })),
      notes,
    };
  }
}

/** Bins without events keep the depth the queue had when the previous bin ended. */
function timelineOf(b: NonNullable<Queue['bins']>, tl: { from: number; to: number }): IoTimeline {
  const depth = b.depth.slice();
  let carry = 0;
  for (let i = 0; i < depth.length; i++) {
    // The depth the bin began with counts too (requests still in flight from before).
    if (!b.touched[i]) depth[i] = carry;
    else {
      depth[i] = Math.max(depth[i]!, carry);
      carry = b.lastDepth[i]!;
    }
  }
  return { from: tl.from, to: tl.to, requests: b.requests.slice(), depth };
}

function ioStageRows(m: Map<IoStage, Distribution>, toNs: (t: number) => number): IoStageStats[] {
  return IO_STAGES.filter((s) => m.has(s)).map((stage) => ({ stage, ...distributionStats(m.get(stage)!, toNs) }));
}

/** I/O latency of an event stream (tests). */
export function ioLatencyOf(events: Iterable<TraceEvent>, ctx: LiteContext): IoLatencyResult {
  const a = new IoLatencyAnalysis();
  for (const e of events) a.onEvent(e);
  return a.finish(ctx);
}

// The replay engine: one streaming pass over a trace, in seq order, through the state models,
// serving every analysis at once (see analyze/analysis.ts for the call order).

import type { DeviceRegion, DeviceRole, EventKind, TraceEvent, TraceMeta } from '../capture/model.ts';
import { EVENT_KINDS, KIND_CODE, timeToNs } from '../capture/model.ts';
import type { EventFilter } from '../capture/model.ts';
import type { Analysis, ReplayContext, ReplayResults, StateChange, StateModels } from './analysis.ts';
import { GicState, iccName } from './state/gic.ts';
import { PsciState } from './state/psci.ts';
import { TimerState } from './state/timer.ts';
import { UartState } from './state/uart.ts';
import { XenEvtchnState } from './state/xen-evtchn.ts';

/** What the engine needs from a trace (TraceReader satisfies it; tests may pass arrays). */
export interface ReplaySource {
  readonly meta: TraceMeta;
  readonly regions: readonly DeviceRegion[];
  events(filter?: EventFilter): Iterable<TraceEvent>;
  blob?(name: string): Uint8Array | undefined;
}

export interface ReplayOptions {
  /** Called every `progressEvery` events with the count so far (for a TTY progress line). */
  onProgress?: (events: number) => void;
  progressEvery?: number;
}

class Context implements ReplayContext {
  readonly meta: TraceMeta;
  readonly regions: readonly DeviceRegion[];
  readonly clock: TraceMeta['clock'];
  readonly state: StateModels;
  eventsSeen = 0;
  lastTime = 0;
  private readonly byName = new Map<string, DeviceRegion>();
  private readonly byRole = new Map<DeviceRole, DeviceRegion[]>();
  private readonly sorted: DeviceRegion[];
  private readonly src: ReplaySource;
  private dtbCache: Uint8Array | undefined | null = null;

  constructor(src: ReplaySource) {
    this.src = src;
    this.meta = src.meta;
    this.regions = src.regions;
    this.clock = src.meta.clock;
    for (const r of src.regions) {
      this.byName.set(r.name, r);
      let list = this.byRole.get(r.role);
      if (!list) this.byRole.set(r.role, (list = []));
      list.push(r);
    }
    this.sorted = [...src.regions].sort((a, b) => a.base - b.base);
    this.state = {
      uart: new UartState(src.regions),
      gic: new GicState(src.regions),
      timer: new TimerState(),
      psci: new PsciState(),
      evtchn: new XenEvtchnState(),
    };
  }

  // One-entry cache: consecutive events mostly hit the same device (UART polls, GIC sequences).
  private lastName = '';
  private lastRegion: DeviceRegion | undefined;

  region(name: string): DeviceRegion | undefined {
    if (name === this.lastName) return this.lastRegion;
    this.lastName = name;
    return (this.lastRegion = this.byName.get(name));
  }

  regionsByRole(role: DeviceRole): readonly DeviceRegion[] {
    return this.byRole.get(role) ?? [];
  }

  regionAt(addr: number): DeviceRegion | undefined {
    let lo = 0;
    let hi = this.sorted.length - 1;
    let best: DeviceRegion | undefined;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const r = this.sorted[mid]!;
      if (r.base <= addr) {
        best = r;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return best && addr < best.base + best.size ? best : undefined;
  }

  blob(name: string): Uint8Array | undefined {
    const stored = this.src.blob?.(name);
    if (stored || name !== 'dtb') return stored;
    if (this.dtbCache === null) this.dtbCache = emulatorDtb(this.meta);
    return this.dtbCache;
  }

  toNs(time: number): number {
    return timeToNs(time, this.clock);
  }
}

/** The emulator keeps the DTB the guest got in meta.extra (base64, trailing zeros trimmed). */
function emulatorDtb(meta: TraceMeta): Uint8Array | undefined {
  const b64 = meta.extra['dtbBase64'];
  if (typeof b64 !== 'string') return undefined;
  const raw = Buffer.from(b64, 'base64');
  const size = typeof meta.extra['dtbSize'] === 'number' ? (meta.extra['dtbSize'] as number) : raw.length;
  const out = new Uint8Array(Math.max(size, raw.length));
  out.set(raw);
  return out;
}

/** Replays `src` through the state models and `analyses`; returns each analysis' result by name. */
export function replay(src: ReplaySource, analyses: readonly Analysis[], opts: ReplayOptions = {}): ReplayResults {
  const ctx = new Context(src);
  const st = ctx.state;
  // Per-kind dispatch lists, so an analysis that wants three kinds costs nothing on the others.
  const onEvent: Analysis[][] = EVENT_KINDS.map(() => []);
  const after: Analysis[][] = EVENT_KINDS.map(() => []);
  for (const a of analyses) {
    const kinds: readonly EventKind[] = a.kinds ?? EVENT_KINDS;
    for (const k of kinds) {
      onEvent[KIND_CODE[k]]!.push(a);
      if (a.afterEvent) after[KIND_CODE[k]]!.push(a);
    }
  }
  const listeners = analyses.filter((a) => a.onChange);
  let current: TraceEvent | undefined;
  const emit = (model: keyof StateModels) => (what: string, key: string | number, from: unknown, to: unknown) => {
    if (!listeners.length) return;
    const c: StateChange = { model, what, key, from, to, event: current! };
    for (const a of listeners) a.onChange!(c, ctx);
  };
  const uartChange = emit('uart');
  const gicChange = emit('gic');
  const every = opts.progressEvery ?? 1_000_000;

  for (const e of src.events()) {
    current = e;
    ctx.eventsSeen++;
    ctx.lastTime = e.time;
    const code = KIND_CODE[e.kind];
    const pre = onEvent[code]!;
    for (let i = 0; i < pre.length; i++) pre[i]!.onEvent(e, ctx);
    applyToState(e, ctx, st, uartChange, gicChange);
    const post = after[code]!;
    for (let i = 0; i < post.length; i++) post[i]!.afterEvent!(e, ctx);
    if (opts.onProgress && ctx.eventsSeen % every === 0) opts.onProgress(ctx.eventsSeen);
  }
  const results: ReplayResults = {};
  for (const a of analyses) results[a.name] = a.finish(ctx);
  return results;
}

function applyToState(
  e: TraceEvent,
  ctx: Context,
  st: StateModels,
  uartChange: (w: string, k: string | number, f: unknown, t: unknown) => void,
  gicChange: (w: string, k: number, f: unknown, t: unknown) => void,
): void {
  switch (e.kind) {
    case 'mmio_read':
    case 'mmio_write': {
      const r = e.device ? ctx.region(e.device) : undefined;
      if (!r) return;
      if (r.role === 'uart') st.uart.apply(e, uartChange);
      else if (r.role === 'gic_dist' || r.role === 'gic_redist' || r.role === 'gic_cpu') st.gic.applyMmio(e, r, gicChange);
      return;
    }
    case 'sysreg': {
      const icc = iccName(e);
      if (icc) st.gic.applySysreg(e, icc);
      return;
    }
    case 'irq_line':
      st.gic.applyLine(e, gicChange);
      return;
    case 'irq_ack':
      st.gic.applyAck(e, gicChange);
      return;
    case 'irq_eoi':
      st.gic.applyEoi(e);
      return;
    case 'irq_deactivate':
      st.gic.applyDeactivate(e, gicChange);
      return;
    case 'irq_deliver':
      st.evtchn.applyDeliver(e);
      return;
    case 'hypercall':
      st.psci.applyCall(e);
      st.evtchn.applyCall(e);
      return;
    case 'vcpu_state':
      st.psci.applyVcpu(e);
      return;
    case 'timer':
      st.timer.apply(e);
      return;
  }
}

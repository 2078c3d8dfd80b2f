// The replay engine: one streaming pass over a trace, in seq order, through the state models,
// serving every analysis at once (see analyze/analysis.ts for the call order).

import type { DeviceRegion, DeviceRole, EventKind, EventOf, MmioEvent, TraceEvent, TraceMeta } from '../capture/model.ts';
import { EVENT_KINDS, KIND_CODE, timeToNs } from '../capture/model.ts';
import { dtbFromMeta } from '../capture/dtb-meta.ts';
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
  /**
   * Optional push-based read of the same events (TraceReader has it): cb(event, kindCode) per
   * event, in order, kindCode = KIND_CODE[event.kind]. The engine prefers it to events().
   */
  forEachEvent?(filter: EventFilter, cb: (e: TraceEvent, kindCode: number) => void): void;
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
  /** The event being replayed (the engine's, for StateChange.event). */
  current: TraceEvent | undefined = undefined;
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
      gic: new GicState(src.regions, src.meta.source),
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
    if (this.dtbCache === null) this.dtbCache = dtbFromMeta(this.meta.extra);
    return this.dtbCache;
  }

  toNs(time: number): number {
    return timeToNs(time, this.clock);
  }
}

// Kind codes (KIND_CODE, stable: the store's append-only numbering) as literals for the switch.
const K_MMIO_READ = 0,
  K_MMIO_WRITE = 1,
  K_IRQ_LINE = 2,
  K_IRQ_DELIVER = 3,
  K_IRQ_ACK = 4,
  K_IRQ_EOI = 5,
  K_IRQ_DEACTIVATE = 6,
  K_HYPERCALL = 7,
  K_SYSREG = 9,
  K_VCPU_STATE = 13,
  K_TIMER = 14;
for (const [k, c] of [
  ['mmio_read', K_MMIO_READ],
  ['mmio_write', K_MMIO_WRITE],
  ['irq_line', K_IRQ_LINE],
  ['irq_deliver', K_IRQ_DELIVER],
  ['irq_ack', K_IRQ_ACK],
  ['irq_eoi', K_IRQ_EOI],
  ['irq_deactivate', K_IRQ_DEACTIVATE],
  ['hypercall', K_HYPERCALL],
  ['sysreg', K_SYSREG],
  ['vcpu_state', K_VCPU_STATE],
  ['timer', K_TIMER],
] as const)
  if (KIND_CODE[k] !== c) throw new Error(`engine: kind code of ${k} is ${KIND_CODE[k]}, expected ${c}`);

const MODEL_NONE = 0,
  MODEL_UART = 1,
  MODEL_GIC = 2;

type StepFn = (e: TraceEvent, code: number) => void;

/**
 * The per-event function, generated for this replay's analyses: one case per kind that calls
 * each wanted analysis directly. Each call site then sees one analysis (monomorphic, so V8 can
 * inline it), where a loop over a list of analyses would be one megamorphic call site.
 */
function compileStep(
  onEvent: readonly (readonly Analysis[])[],
  after: readonly (readonly Analysis[])[],
  ctx: Context,
  apply: readonly (((e: TraceEvent) => void) | undefined)[],
  onProgress: ((events: number) => void) | undefined,
  every: number,
): StepFn {
  const pre: Analysis[] = [...new Set(onEvent.flat())];
  const post: Analysis[] = [...new Set(after.flat())];
  const cases = EVENT_KINDS.map((_, code) => {
    // e.time is read per case: there it sees one kind's shapes, not all of them (megamorphic).
    const calls = [`ctx.lastTime = e.time;`, ...onEvent[code]!.map((a) => `a${pre.indexOf(a)}.onEvent(e, ctx);`)];
    if (apply[code]) calls.push(`s${code}(e);`);
    for (const a of after[code]!) calls.push(`q${post.indexOf(a)}.afterEvent(e, ctx);`);
    return `case ${code}: ${calls.join(' ')} break;`;
  });
  const body = `${pre.map((_, i) => `const a${i} = A[${i}];`).join(' ')}
${apply.map((f, code) => (f ? `const s${code} = apply[${code}];` : '')).join(' ')}
${post.map((_, i) => `const q${i} = Q[${i}];`).join(' ')}
let untilProgress = every; // progress(seen) when seen % every === 0, without a division per event
return function step(e, code) {
  ctx.current = e;
  const seen = ++ctx.eventsSeen;
  switch (code) {
    ${cases.join('\n    ')}
    default: ctx.lastTime = e.time;
  }
  if (progress !== undefined && --untilProgress === 0) {
    untilProgress = every;
    progress(seen);
  }
};`;
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const make = new Function('A', 'Q', 'ctx', 'apply', 'progress', 'every', body) as (
    A: Analysis[],
    Q: Analysis[],
    ctx: Context,
    apply: readonly (((e: TraceEvent) => void) | undefined)[],
    progress: ((n: number) => void) | undefined,
    every: number,
  ) => StepFn;
  return make(pre, post, ctx, apply, onProgress, every);
}

/** Replays `src` through the state models and `analyses`; returns each analysis' result by name. */
export function replay(src: ReplaySource, analyses: readonly Analysis[], opts: ReplayOptions = {}): ReplayResults {
  const ctx = new Context(src);
  const st = ctx.state;
  // Per-kind dispatch lists, so an analysis that wants three kinds costs nothing on the others.
  // A composite (Analysis.members) is replaced by its members, each in the lists of its kinds.
  const onEvent: Analysis[][] = EVENT_KINDS.map(() => []);
  const after: Analysis[][] = EVENT_KINDS.map(() => []);
  for (const a of analyses) {
    for (const m of a.members ?? [a]) {
      const kinds: readonly EventKind[] = m.kinds ?? EVENT_KINDS;
      for (const k of kinds) onEvent[KIND_CODE[k]]!.push(m);
    }
    if (a.afterEvent) for (const k of a.kinds ?? EVENT_KINDS) after[KIND_CODE[k]]!.push(a);
  }
  const listeners = analyses.filter((a) => a.onChange);
  const emit = (model: keyof StateModels) => (what: string, key: string | number, from: unknown, to: unknown) => {
    if (!listeners.length) return;
    const c: StateChange = { model, what, key, from, to, event: ctx.current! };
    for (const a of listeners) a.onChange!(c, ctx);
  };
  const uartChange = emit('uart');
  const gicChange = emit('gic');
  // State models only regions of the trace can reach are skipped when absent.
  const uart = st.uart.byRegion.size > 0 ? st.uart : undefined;
  const gic = st.gic;

  // The device of the last MMIO event, its region and which state model it feeds.
  let devName = '';
  let devRegion: DeviceRegion | undefined;
  let devModel = MODEL_NONE;
  // One small function per kind that changes state (kinds without are left out of the step).
  const apply: ((e: TraceEvent) => void)[] = [];
  const mmio = (e: TraceEvent): void => {
    const m = e as MmioEvent;
    const d = m.device;
    if (d !== devName) {
      devName = d;
      devRegion = d ? ctx.region(d) : undefined;
      const role = devRegion?.role;
      devModel = role === 'uart' ? MODEL_UART : role === 'gic_dist' || role === 'gic_redist' || role === 'gic_cpu' ? MODEL_GIC : MODEL_NONE;
    }
    if (devModel === MODEL_UART) uart?.apply(m, uartChange);
    else if (devModel === MODEL_GIC) gic.applyMmio(m, devRegion!, gicChange);
  };
  apply[K_MMIO_READ] = mmio;
  apply[K_MMIO_WRITE] = (e) => mmio(e);
  apply[K_SYSREG] = (e) => {
    const icc = iccName(e as EventOf<'sysreg'>);
    if (icc) gic.applySysreg(e as EventOf<'sysreg'>, icc);
  };
  apply[K_IRQ_LINE] = (e) => gic.applyLine(e as EventOf<'irq_line'>, gicChange);
  apply[K_IRQ_ACK] = (e) => gic.applyAck(e as EventOf<'irq_ack'>, gicChange);
  apply[K_IRQ_EOI] = (e) => gic.applyEoi(e as EventOf<'irq_eoi'>);
  apply[K_IRQ_DEACTIVATE] = (e) => gic.applyDeactivate(e as EventOf<'irq_deactivate'>, gicChange);
  apply[K_IRQ_DELIVER] = (e) => st.evtchn.applyDeliver(e as EventOf<'irq_deliver'>);
  apply[K_HYPERCALL] = (e) => {
    st.psci.applyCall(e as EventOf<'hypercall'>);
    st.evtchn.applyCall(e as EventOf<'hypercall'>);
  };
  apply[K_VCPU_STATE] = (e) => st.psci.applyVcpu(e as EventOf<'vcpu_state'>);
  apply[K_TIMER] = (e) => st.timer.apply(e as EventOf<'timer'>);
  const step = compileStep(onEvent, after, ctx, apply, opts.onProgress, opts.progressEvery ?? 1_000_000);
  if (src.forEachEvent) src.forEachEvent({}, step);
  else for (const e of src.events()) step(e, KIND_CODE[e.kind]);
  const results: ReplayResults = {};
  for (const a of analyses) results[a.name] = a.finish(ctx);
  return results;
}

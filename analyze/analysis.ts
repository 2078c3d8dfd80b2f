// The contract between the replay engine and everything that analyses a trace.
//
// One pass: the engine (analyze/engine.ts) reads the trace once, in seq order, and for each event
//   1. calls every analysis' onEvent(e, ctx) with ctx.state holding the state *before* e,
//   2. applies e to the state models (UART, GIC, timer, PSCI, Xen event channels), which report
//      each change to every analysis' onChange (if it has one),
//   3. calls every analysis' afterEvent(e, ctx) (if it has one) with the state *after* e.
// At the end, finish(ctx) returns the analysis' result. Analyses must keep bounded memory
// (counters, histograms, the first N examples), never a list of all events.

import type { ClockInfo, DeviceRegion, DeviceRole, EventKind, TraceEvent, TraceMeta } from '../capture/model.ts';
import type { GicState } from './state/gic.ts';
import type { PsciState } from './state/psci.ts';
import type { TimerState } from './state/timer.ts';
import type { UartState } from './state/uart.ts';
import type { XenEvtchnState } from './state/xen-evtchn.ts';

/** The state models the engine keeps up to date. */
export interface StateModels {
  readonly uart: UartState;
  readonly gic: GicState;
  readonly timer: TimerState;
  readonly psci: PsciState;
  readonly evtchn: XenEvtchnState;
}

/** A state change a model reports while applying an event (see each model for its `what`s). */
export interface StateChange {
  /** Which model: 'uart' | 'gic' | 'timer' | 'psci' | 'evtchn'. */
  readonly model: keyof StateModels;
  /** What changed, e.g. 'uart.enabled', 'gic.pending', 'psci.power'. */
  readonly what: string;
  /** The thing that changed: region name, INTID, vCPU, timer name or port, as the model says. */
  readonly key: string | number;
  readonly from: unknown;
  readonly to: unknown;
  /** The event that caused it. */
  readonly event: TraceEvent;
}

export interface ReplayContext {
  readonly meta: TraceMeta;
  readonly regions: readonly DeviceRegion[];
  readonly clock: ClockInfo;
  /** Region by its name (the events' `device` field). */
  region(name: string): DeviceRegion | undefined;
  /** Regions of one role, in table order. */
  regionsByRole(role: DeviceRole): readonly DeviceRegion[];
  /** Region containing a guest-physical address. */
  regionAt(addr: number): DeviceRegion | undefined;
  /** A stored blob (e.g. 'dtb'); the engine also exposes the DTB kept in meta.extra (capture/dtb-meta.ts) as 'dtb'. */
  blob(name: string): Uint8Array | undefined;
  /** Trace time → nanoseconds. */
  toNs(time: number): number;
  readonly state: StateModels;
  /** Events replayed so far (including the current one). */
  readonly eventsSeen: number;
  /** Time of the last event seen (0 before the first). */
  readonly lastTime: number;
}

export interface Analysis<R = unknown> {
  readonly name: string;
  /** Kinds this analysis wants; all kinds when absent (the engine skips the call otherwise). */
  readonly kinds?: readonly EventKind[];
  /**
   * A composite (e.g. `check`, whose rule families are analyses): the engine calls each
   * member's onEvent for the member's kinds, in place of this analysis' own onEvent (which
   * must do the same for callers without the engine). afterEvent, onChange and finish are
   * still this analysis'.
   */
  readonly members?: readonly Analysis<unknown>[];
  /** Called with the state before `e` is applied. */
  onEvent(e: TraceEvent, ctx: ReplayContext): void;
  /** Called with the state after `e` is applied. */
  afterEvent?(e: TraceEvent, ctx: ReplayContext): void;
  /** Called for every change a state model reports. */
  onChange?(c: StateChange, ctx: ReplayContext): void;
  finish(ctx: ReplayContext): R;
}

/** Results of a replay, keyed by analysis name. */
export type ReplayResults = Record<string, unknown>;

// Runs analyses that need no state models (phases, latency, diff's normaliser) over any event
// stream: unit tests feed arrays, the CLI feeds a reader. The same analyses also plug into the
// replay engine (analyze/engine.ts), whose context is a superset of LiteContext.

import {
  timeToNs,
  type ClockInfo,
  type DeviceRegion,
  type DeviceRole,
  type EventFilter,
  type TraceEvent,
  type TraceMeta,
} from '../capture/model.ts';

/** Events to analyse: an iterable (tests' arrays, `reader.events(f)`), or something that pushes
 *  them (TraceReader.forEachEvent: no generator step per event, the fast path). */
export type EventStream = Iterable<TraceEvent> | { forEachEvent(f: EventFilter, cb: (e: TraceEvent) => void): void };

/** Calls cb for every event of `events` (with `filter` when the stream is a reader). */
export function eachEvent(events: EventStream, cb: (e: TraceEvent) => void, filter: EventFilter = {}): void {
  if (Symbol.iterator in events) for (const e of events) cb(e);
  else events.forEachEvent(filter, cb);
}

/** The part of the engine's ReplayContext that state-free analyses use. */
export interface LiteContext {
  readonly meta: TraceMeta;
  readonly regions: readonly DeviceRegion[];
  readonly clock: ClockInfo;
  region(name: string): DeviceRegion | undefined;
  regionsByRole(role: DeviceRole): readonly DeviceRegion[];
  toNs(time: number): number;
  readonly lastTime: number;
}

/** An analysis that runs with a LiteContext (and therefore also under the replay engine). */
export interface LiteAnalysis<R> {
  readonly name: string;
  onEvent(e: TraceEvent, ctx: LiteContext): void;
  finish(ctx: LiteContext): R;
}

/** Meta for synthetic event arrays (tests). */
export function syntheticMeta(clock: ClockInfo = { kind: 'ns' }, name = 'test'): TraceMeta {
  return {
    schemaVersion: 1,
    toolVersion: 'test',
    createdAt: '',
    clock,
    hashes: {},
    extra: {},
    source: { type: 'synthetic', name, config: {} },
  };
}

export function liteContext(meta: TraceMeta, regions: readonly DeviceRegion[]): LiteContext & { lastTime: number } {
  const byName = new Map(regions.map((r) => [r.name, r]));
  const byRole = new Map<DeviceRole, DeviceRegion[]>();
  for (const r of regions) {
    let list = byRole.get(r.role);
    if (!list) byRole.set(r.role, (list = []));
    list.push(r);
  }
  const clock = meta.clock;
  return {
    meta,
    regions,
    clock,
    lastTime: 0,
    region: (name) => byName.get(name),
    regionsByRole: (role) => byRole.get(role) ?? [],
    toNs: (t) => timeToNs(t, clock),
  };
}

/** One pass of `events` (only those matching `filter`, for a reader) through `analyses`; returns
 *  each result by analysis name. */
export function runLite(
  events: EventStream,
  analyses: readonly LiteAnalysis<unknown>[],
  meta: TraceMeta,
  regions: readonly DeviceRegion[],
  filter: EventFilter = {},
): Record<string, unknown> {
  const ctx = liteContext(meta, regions);
  const n = analyses.length;
  eachEvent(
    events,
    (e) => {
      ctx.lastTime = e.time;
      for (let i = 0; i < n; i++) analyses[i]!.onEvent(e, ctx);
    },
    filter,
  );
  const out: Record<string, unknown> = {};
  for (const a of analyses) out[a.name] = a.finish(ctx);
  return out;
}

// What the TUI and the HTML report show, as plain data: the trace's headline facts (instant, from
// the stored summaries and the chunk index), and the analyzer results (findings, phases, latency,
// diff) adapted from whatever analyze/ provides. An analyzer that is missing or fails gives
// `{ available: false, why }`, so screens say "not available" instead of breaking.

import { KIND_CODE, deviceOf, timeToNs, type TraceEvent } from '../capture/model.ts';
import { ChunkCursor, openTrace, type TraceInfo, type TraceReader } from '../capture/store/index.ts';
import { consoleLines, type ConsoleLine } from '../analyze/console.ts';

export type Severity = 'error' | 'warning' | 'info';

export interface Finding {
  id: string;
  severity: Severity;
  message: string;
  clause?: string;
  /** Sequence numbers of the evidence events. */
  evidence: number[];
}

export interface Phase {
  name: string;
  start: number; // trace time
  end: number;
}

export interface LatencySeries {
  /** e.g. 'INTID 27 (vtimer) assert→ack'. */
  label: string;
  intid?: number;
  /** Latency samples (trace time units) or, when the analyzer gives only a summary, empty. */
  samples: number[];
  /** Histogram from the analyzer (power-of-two buckets), when it gives one. */
  bins?: HistBin[];
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface HistBin {
  x0: number;
  x1: number;
  count: number;
}

export interface DiffData {
  /** Summary lines, as `bootscope diff` prints them. */
  summary: string[];
  /** Divergences: positions in A and B (sequence numbers) and what differs. */
  divergences: { a?: number; b?: number; text: string }[];
}

/** An analyzer result, or why there is none. */
export type Maybe<T> = { available: true; value: T } | { available: false; why: string };

export const notAvailable = <T>(why: string): Maybe<T> => ({ available: false, why });

/** Everything the overview needs: from stored counts and the chunk index, no event decoding. */
export interface Overview {
  path: string;
  label: string;
  info: TraceInfo;
  durationNs: number;
  kinds: [string, number][];
  devices: [string, number][];
}

/** One opened trace and the lazily computed views of it. */
export class TraceData {
  readonly path: string;
  readonly reader: TraceReader;
  readonly overview: Overview;
  private consoleCache: ConsoleLine[] | undefined;
  private analysesCache: Analyses | undefined;

  constructor(path: string, reader?: TraceReader) {
    this.path = path;
    this.reader = reader ?? openTrace(path);
    this.overview = buildOverview(path, this.reader);
  }

  get meta() {
    return this.reader.meta;
  }
  get eventCount(): number {
    return this.overview.info.events;
  }
  get timeFirst(): number {
    return this.overview.info.timeFirst;
  }
  get timeLast(): number {
    return this.overview.info.timeLast;
  }
  toNs(t: number): number {
    return timeToNs(t, this.reader.meta.clock);
  }

  /** Console lines with times (decodes only chunks holding console events). */
  consoleLines(): ConsoleLine[] {
    this.consoleCache ??= [...consoleLines(this.reader.events({ kinds: ['console'] }))];
    return this.consoleCache;
  }

  /** Findings, phases and latency, computed once (one pass when the replay engine exists). */
  async analyses(): Promise<Analyses> {
    this.analysesCache ??= await runAnalyses(this);
    return this.analysesCache;
  }

  /** Cached results, if analyses() has finished. */
  get analysesDone(): Analyses | undefined {
    return this.analysesCache;
  }

  close(): void {
    this.reader.close();
  }
}

export interface Analyses {
  findings: Maybe<Finding[]>;
  phases: Maybe<Phase[]>;
  latency: Maybe<LatencySeries[]>;
}

function buildOverview(path: string, reader: TraceReader): Overview {
  const info = reader.info();
  const src = info.meta.source;
  const kinds = Object.entries(info.counts.kinds).sort((a, b) => b[1] - a[1]);
  const devices = new Map<string, number>();
  for (const r of info.counts.devices) if (r.device) devices.set(r.device, (devices.get(r.device) ?? 0) + r.count);
  return {
    path,
    label: `${src.type} ${src.name}`,
    info,
    durationNs: info.durationNs,
    kinds,
    devices: [...devices].sort((a, b) => b[1] - a[1]),
  };
}

// ---------------------------------------------------------------------------------------------
// Event density over time, per device (the timeline's rows).

export interface Density {
  from: number;
  to: number;
  bins: number;
  /** Per row name: counts per bin. 'all' is every event. */
  rows: Map<string, Float64Array>;
}

/**
 * Events per bin over [from, to), per device and in total. The total comes from the columns
 * only; devices need the device field, so events of device-bearing kinds are built. Only
 * chunks overlapping the window are decoded. `maxChunks` bounds work (the rest is estimated
 * from the chunk index, spreading each chunk's count over its time range).
 */
/** Kinds whose events name a device (deviceOf is not ''). */
const HAS_DEVICE = new Uint8Array(32);
for (const k of ['mmio_read', 'mmio_write', 'irq_line', 'console', 'input'] as const) HAS_DEVICE[KIND_CODE[k]] = 1;

export function density(data: TraceData, from: number, to: number, bins: number, maxChunks = Infinity): Density {
  const rows = new Map<string, Float64Array>();
  const all = new Float64Array(bins);
  rows.set('all', all);
  const span = Math.max(1, to - from);
  const binOf = (t: number) => Math.min(bins - 1, Math.floor(((t - from) / span) * bins));
  const chunks = data.reader.chunks.filter((c) => c.timeMax >= from && c.timeMin < to);
  const exact = chunks.length <= maxChunks;
  for (const info of chunks) {
    if (!exact) {
      // Estimate from the index: the chunk's events spread evenly over its time range.
      const a = Math.max(from, info.timeMin);
      const b = Math.min(to, info.timeMax + 1);
      const full = Math.max(1, info.timeMax + 1 - info.timeMin);
      const share = (info.count * (b - a)) / full;
      const b0 = binOf(a);
      const b1 = binOf(b - 1);
      for (let i = b0; i <= b1; i++) all[i]! += share / (b1 - b0 + 1);
      continue;
    }
    const c = data.reader.chunk(info);
    if (!c) continue;
    const cur = new ChunkCursor(c);
    for (let i = 0; i < c.count; i++) {
      const t = c.time[i]!;
      const k = c.kind[i]!;
      if (t < from || t >= to || !HAS_DEVICE[k]) {
        if (t >= from && t < to) all[binOf(t)]!++;
        cur.skip();
        continue;
      }
      const bin = binOf(t);
      all[bin]!++;
      const dev = deviceOf(cur.next() as TraceEvent) || '(unassigned)';
      let row = rows.get(dev);
      if (!row) rows.set(dev, (row = new Float64Array(bins)));
      row[bin]!++;
    }
  }
  return { from, to, bins, rows };
}

/** Per-device density over the whole trace at a fixed resolution (built in the worker). */
export function densityIndex(data: TraceData, bins: number): Density {
  return density(data, data.timeFirst, data.timeLast + 1, bins);
}

/**
 * A view's density from the whole-trace index: each view bin sums the index bins it covers
 * (views coarser than the index only; finer views decode their chunks instead).
 */
export function resample(index: Density, from: number, to: number, bins: number): Density | undefined {
  const w = (index.to - index.from) / index.bins;
  if ((to - from) / bins < w) return undefined;
  const rows = new Map<string, Float64Array>();
  for (const [name, src] of index.rows) {
    const out = new Float64Array(bins);
    for (let i = 0; i < index.bins; i++) {
      const t = index.from + (i + 0.5) * w;
      if (t < from || t >= to) continue;
      out[Math.min(bins - 1, Math.floor(((t - from) / (to - from)) * bins))]! += src[i]!;
    }
    rows.set(name, out);
  }
  return { from, to, bins, rows };
}

// ---------------------------------------------------------------------------------------------
// Analyzer adapters. The analyzers live in analyze/ and are written in parallel with this file:
// each is imported dynamically and its output normalized defensively.

type Rec = Record<string, unknown>;
const isRec = (v: unknown): v is Rec => typeof v === 'object' && v !== null;
const num = (v: unknown): number | undefined =>
  typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : typeof v === 'string' && v.trim() !== '' && !isNaN(Number(v)) ? Number(v) : undefined;
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

async function tryImport(rel: string): Promise<Rec | undefined> {
  try {
    return (await import(new URL(rel, import.meta.url).href)) as Rec;
  } catch {
    return undefined;
  }
}

type Fn = (...args: unknown[]) => unknown;
function pickFn(mod: Rec | undefined, names: string[]): Fn | undefined {
  if (!mod) return undefined;
  for (const n of names) if (typeof mod[n] === 'function') return mod[n] as Fn;
  return undefined;
}

/** Call an analyzer entry point: with a path first (most CLI-style functions), then a reader. */
async function callAnalyzer(fn: Fn, data: TraceData): Promise<unknown> {
  const attempts: unknown[][] = [[data.reader], [data.path]];
  let lastErr: unknown;
  for (const args of attempts) {
    try {
      return await fn(...args);
    } catch (err) {
      lastErr = err;
    }
  }
  throw lastErr;
}

/** A constructor or factory of an analysis object (onEvent/finish) exported by a module. */
function makeAnalysis(mod: Rec | undefined, names: string[]): { name: string; onEvent: Fn; finish: Fn } | undefined {
  if (!mod) return undefined;
  for (const n of names) {
    const C = mod[n];
    if (typeof C !== 'function') continue;
    try {
      const a = (/^[A-Z]/.test(n) ? new (C as new () => unknown)() : (C as () => unknown)()) as Rec;
      if (typeof a.onEvent === 'function' && typeof a.finish === 'function') return a as { name: string; onEvent: Fn; finish: Fn };
    } catch {
      // not constructible without arguments: try the next name
    }
  }
  return undefined;
}

async function runAnalyses(data: TraceData): Promise<Analyses> {
  const [check, phases, latency, engine, lite] = await Promise.all([
    tryImport('../analyze/check.ts'),
    tryImport('../analyze/phases.ts'),
    tryImport('../analyze/latency.ts'),
    tryImport('../analyze/engine.ts'),
    tryImport('../analyze/standalone.ts'),
  ]);
  // Phases and latency: one pass through the replay engine (or the state-free runner).
  const pa = makeAnalysis(phases, ['PhasesAnalysis']);
  const la = makeAnalysis(latency, ['LatencyAnalysis']);
  const ca = makeAnalysis(check, ['checkAnalysis']);
  const passes = [ca, pa, la].filter((a) => a !== undefined);
  let results: Rec = {};
  let passError = '';
  if (passes.length) {
    try {
      const replay = pickFn(engine, ['replay']);
      const runLite = pickFn(lite, ['runLite']);
      if (replay) results = replay(data.reader, passes) as Rec;
      else if (runLite) results = runLite(data.reader, passes, data.reader.meta, data.reader.regions) as Rec;
      else passError = 'no replay engine (analyze/engine.ts)';
    } catch (err) {
      passError = (err as Error).message;
    }
  }
  const fromPass = <T>(a: { name: string } | undefined, what: string, adapt: (v: unknown) => T | undefined): Maybe<T> => {
    if (!a) return notAvailable(`analyze/${what}.ts is not available`);
    if (passError) return notAvailable(`analysis pass failed: ${passError}`);
    const v = adapt(results[a.name]);
    return v === undefined ? notAvailable(`analyze/${what}.ts returned an unknown shape`) : { available: true, value: v };
  };
  // Findings: check.ts's analysis in the same pass, else its entry point.
  let findings: Maybe<Finding[]>;
  const checkFn = pickFn(check, ['checkTrace', 'runCheck', 'runChecks', 'check']);
  if (ca) findings = fromPass(ca, 'check', adaptFindings);
  else if (!checkFn) findings = notAvailable(check ? 'analyze/check.ts has no entry point the TUI knows' : 'analyze/check.ts is not available');
  else {
    try {
      const out = adaptFindings(await callAnalyzer(checkFn, data));
      findings = out ? { available: true, value: out } : notAvailable('analyze/check.ts returned an unknown shape');
    } catch (err) {
      findings = notAvailable(`analyze/check.ts failed: ${(err as Error).message}`);
    }
  }
  return {
    findings,
    phases: fromPass(pa, 'phases', adaptPhases),
    latency: fromPass(la, 'latency', adaptLatency),
  };
}

function listIn(v: unknown, keys: string[]): unknown[] | undefined {
  if (Array.isArray(v)) return v;
  if (!isRec(v)) return undefined;
  for (const k of keys) if (Array.isArray(v[k])) return v[k] as unknown[];
  return undefined;
}

function seqsOf(v: unknown): number[] {
  const list = listIn(v, ['evidence', 'events', 'seqs']) ?? [];
  const out: number[] = [];
  for (const x of list) {
    const n = num(x) ?? (isRec(x) ? num(x.seq) : undefined);
    if (n !== undefined) out.push(n);
  }
  return out;
}

export function adaptFindings(v: unknown): Finding[] | undefined {
  const list = listIn(v, ['findings', 'results']);
  if (!list) return undefined;
  return list.filter(isRec).map((f) => {
    const sev = (str(f.severity) ?? 'info').toLowerCase();
    return {
      id: str(f.id) ?? str(f.rule) ?? '?',
      severity: sev.startsWith('err') ? 'error' : sev.startsWith('warn') ? 'warning' : 'info',
      message: str(f.message) ?? str(f.text) ?? '',
      ...(str(f.clause) ? { clause: str(f.clause)! } : {}),
      evidence: seqsOf(f.evidence ?? f.events ?? f),
    };
  });
}

export function adaptPhases(v: unknown): Phase[] | undefined {
  const list = listIn(v, ['phases']);
  if (!list) return undefined;
  const out: Phase[] = [];
  for (const p of list) {
    if (!isRec(p)) continue;
    const start = num(p.start) ?? num(p.startTime) ?? num(p.from);
    const end = num(p.end) ?? num(p.endTime) ?? num(p.to);
    const name = str(p.title) ?? str(p.name) ?? str(p.phase) ?? str(p.id);
    if (start !== undefined && end !== undefined && name) out.push({ name, start, end });
  }
  return out;
}

/** Power-of-two buckets with the empty ones in between (and one either side) filled in. */
export function fillLog2(bins: HistBin[]): HistBin[] {
  if (!bins.length) return [];
  const have = new Map(bins.map((b) => [Math.round(Math.log2(Math.max(1, b.x1))), b.count]));
  const ks = [...have.keys()];
  const lo = Math.max(0, Math.min(...ks) - 1);
  const hi = Math.max(...ks) + 1;
  const out: HistBin[] = [];
  for (let k = lo; k <= hi; k++) out.push({ x0: k === 0 ? 0 : 2 ** (k - 1), x1: 2 ** k, count: have.get(k) ?? 0 });
  return out;
}

export function adaptLatency(v: unknown): LatencySeries[] | undefined {
  if (!isRec(v)) return undefined;
  const groups = listIn(v, ['byIntid']);
  if (!groups) return undefined;
  const out: LatencySeries[] = [];
  for (const g of [...groups, ...(listIn(v, ['byRole']) ?? [])]) {
    if (!isRec(g)) continue;
    const intid = num(g.intid);
    const who = intid !== undefined ? `INTID ${intid}${str(g.role) ? ' ' + str(g.role) : ''}` : `role ${str(g.role) ?? str(g.key) ?? '?'}`;
    for (const st of listIn(g, ['stages']) ?? []) {
      if (!isRec(st)) continue;
      const bins: HistBin[] = [];
      for (const hb of listIn(st, ['histogram']) ?? []) {
        if (!Array.isArray(hb)) continue;
        const upper = num(hb[0]) ?? 0;
        bins.push({ x0: upper <= 1 ? 0 : upper / 2, x1: upper, count: num(hb[1]) ?? 0 });
      }
      out.push({
        label: `${who} ${(str(st.stage) ?? '?').replace(/_to_/g, '→')}`,
        ...(intid !== undefined ? { intid } : {}),
        samples: [],
        bins,
        count: num(st.count) ?? 0,
        p50: num(st.p50) ?? 0,
        p90: num(st.p90) ?? 0,
        p99: num(st.p99) ?? 0,
        max: num(st.max) ?? 0,
      });
    }
  }
  return out;
}

/** Adapts analyze/diff.ts's DiffResult: the summary text comes from `bootscope diff`'s renderer. */
export function adaptDiff(v: unknown, render?: Fn): DiffData | undefined {
  if (!isRec(v)) return undefined;
  let text = '';
  try {
    text = render ? String(render(v)) : '';
  } catch {
    text = '';
  }
  const summary = text ? text.replace(/\n+$/, '').split('\n') : [];
  const divergences: DiffData['divergences'] = [];
  const seqOf = (runs: unknown): number | undefined => {
    const list = Array.isArray(runs) ? runs : [];
    return list.length && isRec(list[0]) ? num(list[0].seq) : undefined;
  };
  const tokens = (runs: unknown): string =>
    (Array.isArray(runs) ? runs : []).filter(isRec).slice(0, 2).map((r) => `${str(r.token) ?? '?'}${(num(r.count) ?? 1) > 1 ? '×' + num(r.count) : ''}`).join(', ');
  const describe = (vcpu: unknown, a: unknown, b: unknown): string => {
    const ta = tokens(a);
    const tb = tokens(b);
    return `vCPU ${num(vcpu) ?? '?'}: A ${ta || '(nothing)'} | B ${tb || '(nothing)'}`;
  };
  const fd = v.firstDivergence;
  if (isRec(fd)) {
    const a = seqOf(fd.a) ?? seqOf(fd.after);
    const b = seqOf(fd.b);
    divergences.push({ ...(a !== undefined ? { a } : {}), ...(b !== undefined ? { b } : {}), text: 'first divergence, ' + describe(fd.vcpu, fd.a, fd.b) });
  }
  for (const hk of listIn(v, ['hunks']) ?? []) {
    if (!isRec(hk)) continue;
    const a = seqOf(hk.a);
    const b = seqOf(hk.b);
    if (divergences.some((d) => d.a === a && d.b === b)) continue;
    divergences.push({ ...(a !== undefined ? { a } : {}), ...(b !== undefined ? { b } : {}), text: describe(hk.vcpu, hk.a, hk.b) });
  }
  if (!summary.length) summary.push(v.identical === true ? 'no differences' : `${divergences.length} divergences`);
  return { summary, divergences };
}

/** Diff of two traces: analyze/diff.ts when present, else count differences from the summaries. */
export async function diffTraces(a: TraceData, b: TraceData): Promise<{ data: DiffData; fromAnalyzer: boolean; why?: string; raw?: unknown }> {
  const mod = await tryImport('../analyze/diff.ts');
  const fn = pickFn(mod, ['diffTraces']);
  let why = mod ? 'analyze/diff.ts has no diffTraces()' : 'analyze/diff.ts is not available';
  if (fn) {
    try {
      const cli = await tryImport('../cli/commands/diff.ts');
      const raw = fn(a.reader, b.reader, { names: [a.path, b.path] });
      const d = adaptDiff(raw, pickFn(cli, ['renderDiff']));
      if (d) return { data: d, fromAnalyzer: true, raw };
      why = 'analyze/diff.ts returned an unknown shape';
    } catch (err) {
      why = `analyze/diff.ts failed: ${(err as Error).message}`;
    }
  }
  return { data: countDiff(a, b), fromAnalyzer: false, why };
}

/** Differences in event counts per kind and device role (roles line up Xen and KVM addresses). */
export function countDiff(a: TraceData, b: TraceData): DiffData {
  const summary: string[] = [];
  const ia = a.overview.info;
  const ib = b.overview.info;
  summary.push(`A: ${a.path} (${a.overview.label}), ${ia.events} events`);
  summary.push(`B: ${b.path} (${b.overview.label}), ${ib.events} events`);
  const keys = new Set([...Object.keys(ia.counts.kinds), ...Object.keys(ib.counts.kinds)]);
  for (const k of [...keys].sort()) {
    const x = ia.counts.kinds[k] ?? 0;
    const y = ib.counts.kinds[k] ?? 0;
    if (x !== y) summary.push(`kind ${k}: ${x} vs ${y} (${y - x >= 0 ? '+' : ''}${y - x})`);
  }
  const byRole = (d: TraceData) => {
    const m = new Map<string, number>();
    const role = new Map(d.reader.regions.map((r) => [r.name, r.role]));
    for (const [dev, n] of d.overview.devices) {
      const k = role.get(dev) ?? dev;
      m.set(k, (m.get(k) ?? 0) + n);
    }
    return m;
  };
  const ra = byRole(a);
  const rb = byRole(b);
  for (const k of [...new Set([...ra.keys(), ...rb.keys()])].sort()) {
    const x = ra.get(k) ?? 0;
    const y = rb.get(k) ?? 0;
    if (x !== y) summary.push(`device ${k}: ${x} vs ${y}`);
  }
  const ha = a.reader.summary.byHypercall;
  const hb = b.reader.summary.byHypercall;
  for (const k of [...new Set([...Object.keys(ha), ...Object.keys(hb)])].sort()) {
    if (!(k in hb)) summary.push(`hypercall ${k}: only in A (${ha[k]})`);
    else if (!(k in ha)) summary.push(`hypercall ${k}: only in B (${hb[k]})`);
  }
  return { summary, divergences: [] };
}

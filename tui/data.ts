// What the TUI and the HTML report show, as plain data: the trace's headline facts (instant, from
// the stored summaries and the chunk index), and the analyzer results (findings, phases, latency,
// diff) in the analyzers' own types. An analysis that fails (e.g. on a damaged trace) gives
// `{ available: false, why }`, so screens say why instead of breaking.

import { KIND_CODE, deviceOf, timeToNs, type EventKind, type TraceEvent } from '../capture/model.ts';
import { DEVICE_FIELD_BY_KIND } from '../capture/store/layout.ts';
import { ChunkCursor, openTrace, type TraceInfo, type TraceProblem, type TraceReader } from '../capture/store/index.ts';
import { consoleLines, type ConsoleLine } from '../analyze/console.ts';
import { checkAnalysis, type CheckResult } from '../analyze/check.ts';
import { diffTraces as analyzeDiff, type DiffResult, type RunRef } from '../analyze/diff.ts';
import { replay } from '../analyze/engine.ts';
import type { ReplayResults } from '../analyze/analysis.ts';
import { LatencyAnalysis, type LatencyResult } from '../analyze/latency.ts';
import { PhasesAnalysis, type Phase, type PhasesResult } from '../analyze/phases.ts';
import type { Finding, Severity } from '../analyze/rules/rule.ts';
import { renderDiff } from '../analyze/diff-text.ts';
import type { IoDiff } from '../analyze/diff-io.ts';
import { IO_LATENCY_KINDS, IoLatencyAnalysis, type IoLatencyResult, type IoQueueLatency } from '../analyze/io-latency.ts';
import { runLite } from '../analyze/standalone.ts';

export type { Finding, Phase, Severity };

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
  /** The device layer: block and network streams aligned by role (absent without the analyzer). */
  io?: IoDiff;
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

  /** Damaged chunks met so far by this reader, plus those `more` names (e.g. the analysis worker's). */
  problems(more: readonly TraceProblem[] = []): TraceProblem[] {
    const all = [...this.reader.problemDetails];
    for (const p of more) if (!all.some((q) => q.chunk === p.chunk && q.message === p.message)) all.push(p);
    return all;
  }

  close(): void {
    this.reader.close();
  }
}

export interface Analyses {
  findings: Maybe<Finding[]>;
  phases: Maybe<Phase[]>;
  latency: Maybe<LatencySeries[]>;
  /** Block and network I/O per device and queue, with each queue's activity over the trace. */
  io: Maybe<IoLatencyResult>;
}

/** Time bins of each queue's requests-over-time and depth (screens and charts resample them). */
export const IO_BINS = 512;

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
for (const k of Object.keys(DEVICE_FIELD_BY_KIND) as EventKind[]) HAS_DEVICE[KIND_CODE[k]] = 1;

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
// Analyzer results as the screens show them: the analyzers' own types, flattened where a screen
// wants rows (latency series, diff lines).

async function runAnalyses(data: TraceData): Promise<Analyses> {
  const check = checkAnalysis();
  const phases = new PhasesAnalysis();
  const latency = new LatencyAnalysis();
  let results: ReplayResults;
  try {
    // One pass through the replay engine serves all three.
    results = replay(data.reader, [check, phases, latency]);
  } catch (err) {
    const why = `analysis pass failed: ${(err as Error).message}`;
    return { findings: notAvailable(why), phases: notAvailable(why), latency: notAvailable(why), io: ioOf(data) };
  }
  return {
    findings: { available: true, value: (results[check.name] as CheckResult).findings },
    phases: { available: true, value: (results[phases.name] as PhasesResult).phases },
    latency: { available: true, value: latencySeries(results[latency.name] as LatencyResult) },
    io: ioOf(data),
  };
}

/** The I/O pass: only the kinds it reads are decoded (a separate, cheap pass). */
function ioOf(data: TraceData): Maybe<IoLatencyResult> {
  try {
    const a = new IoLatencyAnalysis({ from: data.timeFirst, to: data.timeLast + 1, bins: IO_BINS });
    const out = runLite(data.reader, [a], data.meta, data.reader.regions, { kinds: IO_LATENCY_KINDS });
    return { available: true, value: out[a.name] as IoLatencyResult };
  } catch (err) {
    return notAvailable(`I/O pass failed: ${(err as Error).message}`);
  }
}

/** A queue's name as screens show it. */
export const queueLabel = (q: Pick<IoQueueLatency, 'device' | 'queue'>): string => `${q.device} q${q.queue}`;

/** An I/O queue's stage as a latency series (the latency screen's and the report's histograms). */
export function ioSeries(q: IoQueueLatency, stage: IoQueueLatency['stages'][number]): LatencySeries {
  return {
    label: `${queueLabel(q)} ${stage.stage.replace(/_to_/g, '→')}`,
    samples: [],
    bins: stage.histogram.map(([upper, count]) => ({ x0: upper <= 1 ? 0 : upper / 2, x1: upper, count })),
    count: stage.count,
    p50: stage.p50,
    p90: stage.p90,
    p99: stage.p99,
    max: stage.max,
  };
}

/** Sums (requests) or maxima (depth) of `values` into `n` coarser bins (n ≤ values.length). */
export function rebin(values: readonly number[], n: number, how: 'sum' | 'max'): number[] {
  const out: number[] = [];
  for (let b = 0; b < n; b++) {
    const i0 = Math.floor((b * values.length) / n);
    const i1 = Math.max(i0 + 1, Math.floor(((b + 1) * values.length) / n));
    let v = 0;
    for (let i = i0; i < i1 && i < values.length; i++) v = how === 'sum' ? v + values[i]! : Math.max(v, values[i]!);
    out.push(v);
  }
  return out;
}

/** The sequence numbers of a finding's evidence events. */
export const evidenceSeqs = (f: Finding): number[] => f.evidence.map((e) => e.seq);

/** One row per (INTID or role, stage), with the analyzer's power-of-two histogram as bins. */
export function latencySeries(r: LatencyResult): LatencySeries[] {
  const out: LatencySeries[] = [];
  for (const g of [...r.byIntid, ...r.byRole]) {
    const who = g.intid !== undefined ? `INTID ${g.intid}${g.role ? ' ' + g.role : ''}` : `role ${g.role || g.key}`;
    for (const st of g.stages) {
      out.push({
        label: `${who} ${st.stage.replace(/_to_/g, '→')}`,
        ...(g.intid !== undefined ? { intid: g.intid } : {}),
        samples: [],
        bins: st.histogram.map(([upper, count]) => ({ x0: upper <= 1 ? 0 : upper / 2, x1: upper, count })),
        count: st.count,
        p50: st.p50,
        p90: st.p90,
        p99: st.p99,
        max: st.max,
      });
    }
  }
  return out;
}

/** Power-of-two buckets with the empty ones in between (and one either side) filled in. */
export function fillLog2(bins: HistBin[]): HistBin[] {
  if (!bins.length) return [];
  const have = new Map(bins.map((b) => [Math.round(Math.log2(Math.max(1, b.x1))), b.count]));
  let lo = Infinity;
  let hi = -Infinity;
  for (const k of have.keys()) {
    if (k < lo) lo = k;
    if (k > hi) hi = k;
  }
  lo = Math.max(0, lo - 1);
  hi += 1;
  const out: HistBin[] = [];
  for (let k = lo; k <= hi; k++) out.push({ x0: k === 0 ? 0 : 2 ** (k - 1), x1: 2 ** k, count: have.get(k) ?? 0 });
  return out;
}

const runText = (runs: readonly RunRef[]): string =>
  runs
    .slice(0, 2)
    .map((r) => `${r.token}${r.count > 1 ? '×' + r.count : ''}`)
    .join(', ');

const divergenceText = (vcpu: number, a: readonly RunRef[], b: readonly RunRef[]): string =>
  `vCPU ${vcpu}: A ${runText(a) || '(nothing)'} | B ${runText(b) || '(nothing)'}`;

/** The diff screen's lines: `bootscope diff`'s text, and each divergence with its seqs in A and B. */
export function diffView(d: DiffResult): DiffData {
  const summary = renderDiff(d).replace(/\n+$/, '').split('\n');
  const divergences: DiffData['divergences'] = [];
  const at = (runs: readonly RunRef[]) => (runs.length ? { seq: runs[0]!.seq } : undefined);
  const push = (a: readonly RunRef[], b: readonly RunRef[], text: string) => {
    const sa = at(a)?.seq;
    const sb = at(b)?.seq;
    if (divergences.some((x) => x.a === sa && x.b === sb)) return;
    divergences.push({ ...(sa !== undefined ? { a: sa } : {}), ...(sb !== undefined ? { b: sb } : {}), text });
  };
  const fd = d.firstDivergence;
  if (fd) push(fd.a.length ? fd.a : fd.after, fd.b, 'first divergence, ' + divergenceText(fd.vcpu, fd.a, fd.b));
  for (const h of d.hunks) push(h.a, h.b, divergenceText(h.vcpu, h.a, h.b));
  return { summary, divergences, io: d.io };
}

/** Diff of two traces through analyze/diff.ts; if that fails (e.g. a damaged trace), the
 *  differences in stored counts, with the reason. */
export async function diffTraces(
  a: TraceData,
  b: TraceData,
): Promise<{ data: DiffData; fromAnalyzer: boolean; why?: string; raw?: DiffResult }> {
  try {
    const raw = analyzeDiff(a.reader, b.reader, { names: [a.path, b.path] });
    return { data: diffView(raw), fromAnalyzer: true, raw };
  } catch (err) {
    return { data: countDiff(a, b), fromAnalyzer: false, why: `analyze/diff.ts failed: ${(err as Error).message}` };
  }
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

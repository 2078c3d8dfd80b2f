// The TUI application: tabs, the current screen, a status line, prompts, and key routing.
// runTui(paths) opens the traces and renders until q.

import React, { useEffect, useRef, useState } from 'react';
import { Box, Text, render, useApp, useInput, useStdout, type Key } from 'ink';
import { Worker } from 'node:worker_threads';
import { damageSummary, type TraceProblem } from '../capture/store/index.ts';
import { TraceData, diffTraces, type Analyses, type Density, type DiffData } from './data.ts';
import { parseFilter, parseJump } from './event-window.ts';
import { SCREEN_KEYS, SCREENS, initialState, type AppState, type Ctx, type KeyHandler, type KeyInfo, type ScreenId } from './state.ts';
import { Lines, fit, h, line, type Line } from './ui.ts';
import { renderOverview } from './overview.ts';
import { eventsKeys, gotoEvents, renderEvents } from './events.ts';
import { findingsKeys, renderFindings } from './findings.ts';
import { consoleKeys, renderConsole } from './console.ts';
import { latencyKeys, renderLatency } from './latency.ts';
import { renderTimeline, timelineKeys } from './timeline.ts';
import { diffKeys, renderDiff } from './diff.ts';
import { devicesKeys, renderDevices } from './devices.ts';
import { helpLines } from './keys.ts';

const RENDER: Record<ScreenId, (s: AppState, ctx: Ctx) => Line[]> = {
  overview: (_s, ctx) => renderOverview(ctx),
  timeline: renderTimeline,
  events: renderEvents,
  findings: renderFindings,
  latency: renderLatency,
  devices: renderDevices,
  console: renderConsole,
  diff: renderDiff,
};

/** Resolution of the whole-trace density index (view bins are sums of these). */
const DENSITY_BINS = 4096;

const KEYS: Partial<Record<ScreenId, KeyHandler>> = {
  timeline: timelineKeys,
  events: eventsKeys,
  findings: findingsKeys,
  latency: latencyKeys,
  devices: devicesKeys,
  console: consoleKeys,
  diff: diffKeys,
};

/** Apply one key press to the state (pure apart from trace reads); 'quit' ends the program. */
export function reduceKey(s: AppState, input: string, key: KeyInfo, ctx: Ctx): AppState | 'quit' {
  if (key.ctrl && input === 'c') return 'quit';
  if (s.prompt) return promptKey(s, input, key, ctx);
  if (s.help) return input === 'q' ? 'quit' : { ...s, help: false };
  const t = { ...s, message: undefined };
  if (input === 'q') return 'quit';
  if (input === '?') return { ...t, help: true };
  const to = SCREEN_KEYS[input];
  if (to) return { ...t, screen: to };
  if (s.screen === 'events' && (input === 'F' || input === '/' || input === ':'))
    return { ...t, prompt: { kind: input === 'F' ? 'filter' : input === '/' ? 'search' : 'jump', text: '' } };
  const handler = KEYS[s.screen];
  return handler ? handler(t, input, key, ctx) : t;
}

function promptKey(s: AppState, input: string, key: KeyInfo, ctx: Ctx): AppState {
  const p = s.prompt!;
  if (key.escape) return { ...s, prompt: undefined };
  if (key.backspace || key.delete) return { ...s, prompt: { ...p, text: p.text.slice(0, -1) } };
  if (!key.return) return input && !key.ctrl ? { ...s, prompt: { ...p, text: p.text + input } } : s;
  const done = { ...s, prompt: undefined };
  const ev = s.events;
  if (p.kind === 'filter') {
    const f = parseFilter(p.text, ev.filter);
    if (typeof f === 'string') return { ...done, message: f };
    return { ...done, events: { ...ev, filter: f, top: 0, cursor: 0 }, message: p.text ? `filter: ${p.text}` : 'filter cleared' };
  }
  if (p.kind === 'search') {
    const filter = { ...ev.filter };
    if (p.text) filter.text = p.text;
    else delete filter.text;
    return {
      ...done,
      events: { ...ev, filter, top: ev.filter.fromSeq ?? 0, cursor: 0 },
      message: p.text ? `search: ${p.text}` : 'search cleared',
    };
  }
  const j = parseJump(p.text);
  if (typeof j === 'string') return { ...done, message: j };
  if ('seq' in j) {
    if (j.seq >= ctx.data.eventCount) return { ...done, message: `no event #${j.seq}: the trace has ${ctx.data.eventCount} events` };
    return { ...gotoEvents(done, j.seq, ev.filter, ev.marks), message: `at #${j.seq}` };
  }
  const e = ctx.data.reader.seekTime(j.time);
  if (!e) return { ...done, message: `no event at or after time ${j.time}` };
  return { ...gotoEvents(done, e.seq, ev.filter, ev.marks), message: `time ${j.time}: #${e.seq}` };
}

/** The whole frame (tabs, body, status) as lines: what App draws, and what tests check. */
export function frameLines(s: AppState, ctx: Ctx): { tabs: string; body: Line[]; status: Line } {
  const tabs = tabLine(s.screen, !!ctx.other, ctx.width - 'bootscope  '.length);
  const body = s.help ? helpLines() : RENDER[s.screen](s, ctx);
  let status: Line;
  if (s.prompt)
    status = line(`${s.prompt.kind === 'filter' ? 'filter' : s.prompt.kind === 'search' ? '/' : 'jump to'}: ${s.prompt.text}█`, {
      color: 'yellow',
    });
  else if (s.message) status = line(s.message, { color: 'yellow' });
  else if (ctx.damage) status = line(`DAMAGED: ${ctx.damage}; what is shown is incomplete   ? help  q quit`, { color: 'red' });
  else status = line(`${ctx.data.path}${ctx.analyses ? '' : '  (analyzing…)'}   ? help  q quit`, { dim: true });
  return { tabs, body, status };
}

/** The key of each screen, inside its name: `[o]verview`, `de[v]ices` (current), ` t imeline`. */
const KEY_OF = Object.fromEntries(Object.entries(SCREEN_KEYS).map(([k, id]) => [id, k])) as Record<ScreenId, string>;

/** The tabs; when they do not fit, the other screens shrink to their key. */
export function tabLine(current: ScreenId, two: boolean, width: number): string {
  const ids = SCREENS.filter((id) => id !== 'diff' || two);
  const tab = (id: ScreenId, short: boolean) => {
    const k = KEY_OF[id];
    const at = id.indexOf(k);
    if (id === current) return `${id.slice(0, at)}[${k}]${id.slice(at + 1)}`;
    // Unselected: the key stands apart (` t imeline`, ` de v ices`), as wide as `[t]imeline` plus the gap.
    return short ? ` ${k} ` : `${at ? ' ' : ''}${id.slice(0, at)} ${k} ${id.slice(at + 1)}`;
  };
  const full = ids.map((id) => tab(id, false)).join(' ');
  return full.length <= width ? full : ids.map((id) => tab(id, true)).join(' ');
}

export interface AppProps {
  data: TraceData;
  other?: TraceData;
  /** Fixed size (tests); otherwise the terminal's, following resizes. */
  width?: number;
  height?: number;
  /** Skip the background analyzer pass (tests that check the overview without it). */
  noAnalyses?: boolean;
  /** Analyzer results given up front (tests, or a caller that already ran them). */
  analyses?: Analyses;
  initial?: Partial<AppState>;
  /** Filled with the damage the analysis worker found, for the caller to report after exit. */
  workerProblems?: TraceProblem[];
}

function useTerminalSize(fixed: { width?: number; height?: number }): { width: number; height: number } {
  const { stdout } = useStdout();
  const get = () => ({ width: fixed.width ?? stdout.columns ?? 80, height: fixed.height ?? stdout.rows ?? 24 });
  const [size, setSize] = useState(get);
  useEffect(() => {
    if (fixed.width && fixed.height) return;
    const on = () => setSize(get());
    stdout.on('resize', on);
    return () => {
      stdout.off('resize', on);
    };
  }, [stdout]);
  return size;
}

export function App(props: AppProps): React.ReactElement {
  const { exit } = useApp();
  const size = useTerminalSize(props);
  const [state, setState] = useState<AppState>(() => ({ ...initialState(props.data), ...props.initial }));
  const [analyses, setAnalyses] = useState<Analyses | undefined>(props.analyses ?? props.data.analysesDone);
  const [densityIndex, setDensityIndex] = useState<Density | undefined>();
  const [workerProblems, setWorkerProblemsState] = useState<TraceProblem[]>([]);
  const setWorkerProblems = (p: TraceProblem[]) => {
    props.workerProblems?.splice(0, Infinity, ...p);
    setWorkerProblemsState(p);
  };
  const [diff, setDiff] = useState<{ data: DiffData; fromAnalyzer: boolean; why?: string } | undefined>();
  // Analyses run after the first frame is on screen, so opening is instant.
  useEffect(() => {
    let live = true;
    let worker: Worker | undefined;
    const t = setTimeout(() => {
      if (!props.noAnalyses && !props.analyses) {
        // Off the UI thread: the analyzer pass and the density index take seconds on large traces.
        try {
          worker = new Worker(new URL('./analysis-worker.ts', import.meta.url), {
            workerData: { path: props.data.path, bins: DENSITY_BINS },
          });
          worker.on('message', (m: { type: string; value: unknown }) => {
            if (!live) return;
            if (m.type === 'analyses') setAnalyses(m.value as Analyses);
            else if (m.type === 'density') setDensityIndex(m.value as Density);
            else if (m.type === 'problems') setWorkerProblems(m.value as TraceProblem[]);
          });
          worker.on('error', () => {
            worker = undefined;
            void props.data.analyses().then((a) => live && setAnalyses(a));
          });
          worker.unref();
        } catch {
          void props.data.analyses().then((a) => live && setAnalyses(a));
        }
      }
      if (props.other) void diffTraces(props.data, props.other).then((d) => live && setDiff(d));
    }, 30);
    return () => {
      live = false;
      clearTimeout(t);
      void worker?.terminate();
    };
  }, []);
  // One row fewer than the terminal: ink clears the whole screen (flicker) when output fills it.
  const width = Math.max(40, size.width);
  const height = Math.max(10, size.height - 1);
  const problems = props.data.problems(workerProblems);
  const ctx: Ctx = {
    data: props.data,
    other: props.other,
    analyses,
    diff,
    densityIndex,
    width,
    height: height - 2,
    ...(problems.length ? { damage: damageSummary(problems) } : {}),
  };
  // The latest state, also between renders (keys can arrive faster than frames).
  const current = useRef(state);
  current.current = state;
  useInput((input: string, key: Key) => {
    const next = reduceKey(current.current, input, key as KeyInfo, ctx);
    if (next === 'quit') {
      exit();
      return;
    }
    current.current = next;
    setState(next);
  });
  const { tabs, body, status } = frameLines(state, ctx);
  return h(
    Box,
    { flexDirection: 'column', width, height },
    h(Text, { color: 'cyan', bold: true, wrap: 'truncate' }, fit(`bootscope  ${tabs}`, width)),
    h(Lines, { lines: body, width, height: height - 2 }),
    h(Text, { wrap: 'truncate', color: status.color, dimColor: status.dim }, fit(status.text, width)),
  );
}

/** Open the traces and run the TUI until the user quits. */
/** Runs the TUI until the user quits; returns the damage met in each trace (path → problems). */
export async function runTui(paths: string[]): Promise<{ path: string; problems: TraceProblem[] }[]> {
  const [a, b] = paths;
  if (!a) throw new Error('runTui: no trace given');
  const data = new TraceData(a);
  const other = b ? new TraceData(b) : undefined;
  const workerProblems: TraceProblem[] = [];
  try {
    const inst = render(h(App, { data, other, workerProblems }), { exitOnCtrlC: false });
    await inst.waitUntilExit();
    return [
      { path: data.path, problems: data.problems(workerProblems) },
      ...(other ? [{ path: other.path, problems: other.problems() }] : []),
    ];
  } finally {
    data.close();
    other?.close();
  }
}

// The TUI's state (one plain object, updated by the screens' key handlers) and the context the
// screens render from.

import type { Analyses, Density, DiffData, TraceData } from './data.ts';
import type { ViewFilter } from './event-window.ts';

export const SCREENS = ['overview', 'timeline', 'events', 'findings', 'latency', 'devices', 'console', 'diff'] as const;
export type ScreenId = (typeof SCREENS)[number];

/** The single key that opens each screen. */
export const SCREEN_KEYS: Record<string, ScreenId> = {
  o: 'overview',
  t: 'timeline',
  e: 'events',
  f: 'findings',
  l: 'latency',
  v: 'devices',
  c: 'console',
  d: 'diff',
};

export type PromptKind = 'filter' | 'search' | 'jump';

export interface AppState {
  screen: ScreenId;
  help: boolean;
  prompt?: { kind: PromptKind; text: string };
  /** One-line message in the status bar (errors from prompts, what a jump did). */
  message?: string;
  events: { filter: ViewFilter; top: number; cursor: number; marks: number[] };
  findings: { cursor: number };
  console: { cursor: number };
  latency: { cursor: number };
  devices: { cursor: number };
  /** View [from, to), selected phase, and a span being selected (`s` at its start, `s` at its end). */
  timeline: { from: number; to: number; phase: number; selStart?: number; sel?: [number, number] };
  /** `io`: the device-layer view (both I/O streams side by side) instead of the event streams. */
  diff: { cursor: number; top: number; io: boolean; ioTop: number };
}

export function initialState(data: TraceData): AppState {
  return {
    screen: 'overview',
    help: false,
    events: { filter: {}, top: 0, cursor: 0, marks: [] },
    findings: { cursor: 0 },
    console: { cursor: 0 },
    latency: { cursor: 0 },
    devices: { cursor: 0 },
    timeline: { from: data.timeFirst, to: Math.max(data.timeFirst + 1, data.timeLast + 1), phase: 0 },
    diff: { cursor: 0, top: 0, io: false, ioTop: 0 },
  };
}

/** What screens render from besides the state. */
export interface Ctx {
  data: TraceData;
  other?: TraceData;
  /** Analyzer results once computed (undefined while running). */
  analyses?: Analyses;
  diff?: { data: DiffData; fromAnalyzer: boolean; why?: string };
  /** Whole-trace per-device density (computed in the background), when ready. */
  densityIndex?: Density;
  /** "1 chunk could not be read (2000 events)" once any damage is known: every view is incomplete. */
  damage?: string;
  width: number;
  /** Rows available to the screen body. */
  height: number;
}

/** The subset of ink's Key the handlers use (so tests can build keys easily). */
export interface KeyInfo {
  upArrow?: boolean;
  downArrow?: boolean;
  leftArrow?: boolean;
  rightArrow?: boolean;
  pageUp?: boolean;
  pageDown?: boolean;
  return?: boolean;
  escape?: boolean;
  backspace?: boolean;
  delete?: boolean;
  ctrl?: boolean;
  home?: boolean;
  end?: boolean;
}

export type KeyHandler = (s: AppState, input: string, key: KeyInfo, ctx: Ctx) => AppState;

/** Cursor movement shared by list screens: returns the new cursor index. */
export function moveCursor(cursor: number, count: number, input: string, key: KeyInfo, page: number): number {
  let c = cursor;
  if (key.downArrow || input === 'j') c++;
  else if (key.upArrow || input === 'k') c--;
  else if (key.pageDown || input === ' ') c += page;
  else if (key.pageUp) c -= page;
  else if (input === 'g' || key.home) c = 0;
  else if (input === 'G' || key.end) c = count - 1;
  return Math.max(0, Math.min(Math.max(0, count - 1), c));
}

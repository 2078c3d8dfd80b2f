// Shared rendering pieces: screens produce styled lines (cheap to build, one <Text> each),
// and helpers for fitting text, numbers and bars into a width.

import React from 'react';
import { Box, Text } from 'ink';

export const h = React.createElement;

/** One styled line of a screen. */
export interface Line {
  text: string;
  color?: string;
  bold?: boolean;
  inverse?: boolean;
  dim?: boolean;
  /** Differently coloured pieces; when present they are drawn instead of `text` (same characters). */
  parts?: { text: string; color?: string }[];
}

export const line = (text: string, style: Omit<Line, 'text'> = {}): Line => ({ text, ...style });

/** Cut or pad text to exactly w columns (ellipsis when cut). */
export function fit(text: string, w: number): string {
  if (w <= 0) return '';
  if (text.length > w) return w > 1 ? text.slice(0, w - 1) + '…' : text.slice(0, w);
  return text.padEnd(w);
}

/** Render lines into a box of exactly `height` rows (padding with blanks), each cut to width. */
export function Lines(props: { lines: Line[]; width: number; height: number }): React.ReactElement {
  const rows: React.ReactElement[] = [];
  for (let i = 0; i < props.height; i++) {
    const l = props.lines[i];
    const { text, parts, ...style } = l ?? { text: '' };
    if (parts) {
      // Cut the pieces to the width, then pad.
      let room = props.width;
      const kids = parts.map((p, k) => {
        const t = p.text.slice(0, Math.max(0, room));
        room -= t.length;
        return h(Text, { key: k, color: p.color }, t);
      });
      rows.push(h(Text, { key: i, wrap: 'truncate', ...style }, ...kids, ' '.repeat(Math.max(0, room))));
    } else rows.push(h(Text, { key: i, wrap: 'truncate', ...style }, fit(text, props.width)));
  }
  return h(Box, { flexDirection: 'column', width: props.width, height: props.height }, ...rows);
}

export function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export { fmtNs } from '../analyze/text.ts';

/** A horizontal bar of `frac` (0..1) of w cells, with eighth-block precision. */
export function bar(frac: number, w: number): string {
  const cells = Math.max(0, Math.min(1, frac)) * w;
  // A remainder that rounds up to a whole cell is a full block (eighths go up to ▉, 7/8).
  const rest8 = Math.round((cells - Math.floor(cells)) * 8);
  const full = Math.floor(cells) + (rest8 === 8 ? 1 : 0);
  const rest = rest8 === 8 ? 0 : rest8;
  const parts = ' ▏▎▍▌▋▊▉';
  return '█'.repeat(full) + (rest > 0 && full < w ? parts[rest] : '');
}

const SPARK = ' ▁▂▃▄▅▆▇█';

/** One character per value, height by value relative to max (log scale keeps small counts visible). */
export function sparkline(values: ArrayLike<number>, max: number): string {
  let s = '';
  const lm = Math.log1p(max);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    s += v <= 0 || lm === 0 ? ' ' : SPARK[Math.max(1, Math.round((Math.log1p(v) / lm) * 8))];
  }
  return s;
}

/** Scroll offset so that `cursor` is visible in a window of `height` rows. */
export function scrollTo(cursor: number, top: number, height: number): number {
  if (cursor < top) return cursor;
  if (cursor >= top + height) return cursor - height + 1;
  return top;
}

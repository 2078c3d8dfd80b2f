// The diff screen's device-layer view: each side's devices by role and own set-up, then the block
// and network streams side by side, aligned request for request (`-` only in A, `+` only in B,
// a replaced request on one row, divergent rows in yellow). ↑/↓ scroll, n/N the next/previous
// divergent row.

import type { IoDiff } from '../analyze/diff-io.ts';
import { fit, line, type Line } from './ui.ts';

interface Row {
  text: string;
  head?: boolean;
  diverge?: boolean;
}

/** The view's rows (headers, then each stream's aligned pairs). */
export function ioRows(d: IoDiff, half: number): Row[] {
  const rows: Row[] = [];
  for (const r of d.roles) rows.push({ text: `${r.role.padEnd(6)} A: ${r.a ?? '-'}   B: ${r.b ?? '-'}` });
  const setup = (x: { what: string; count: number }[]) => (x.length ? x.map((s) => `${s.what} ${s.count}`).join(', ') : 'none');
  rows.push({ text: `set-up A: ${setup(d.setup.a)}` }, { text: `set-up B: ${setup(d.setup.b)}` });
  const cell = (x: { seq: number; token: string } | null) => (x ? `#${x.seq} ${x.token}` : '');
  for (const s of d.streams) {
    const f = s.firstDivergence;
    rows.push({
      text: `${s.stream} I/O: ${s.countA} in A, ${s.countB} in B, ${s.matched} aligned; ${f ? `first divergence at row ${f.row + 1}` : 'same order on both sides'}`,
      head: true,
    });
    s.rows.forEach((r, i) => {
      const diverge = !r.a || !r.b || r.a.token !== r.b.token;
      const mark = !r.a ? '+' : !r.b ? '-' : diverge ? '~' : ' ';
      rows.push({ text: `${mark}${String(i + 1).padStart(5)} ${fit(cell(r.a), half - 8)}│ ${cell(r.b)}`, diverge });
    });
    if (s.truncated) rows.push({ text: `  … more rows (bootscope diff --json has the first ${s.rows.length})` });
  }
  return rows;
}

export function renderIoView(d: IoDiff | undefined, top: number, width: number, height: number): Line[] {
  if (!d || !d.streams.length) return [line('no block or network I/O on either side', { dim: true })];
  const rows = ioRows(d, Math.floor(width / 2));
  const out: Line[] = [line('device layer (analyze/diff-io.ts): A on the left, B on the right', { bold: true })];
  for (const r of rows.slice(top, top + height - 2))
    out.push(line(r.text, r.head ? { bold: true, color: 'cyan' } : r.diverge ? { color: 'yellow' } : {}));
  while (out.length < height - 1) out.push(line(''));
  out.push(line('i event streams  ↑/↓ PgUp/PgDn scroll  n/N next/previous divergent row', { dim: true }));
  return out;
}

/** The next (dir 1) or previous (-1) divergent row from `top`, or `top` when there is none. */
export function nextDivergentRow(d: IoDiff, width: number, top: number, dir: 1 | -1): number {
  const rows = ioRows(d, Math.floor(width / 2));
  for (let i = top + dir; i >= 0 && i < rows.length; i += dir) if (rows[i]!.diverge) return i;
  return top;
}

export const ioRowCount = (d: IoDiff | undefined, width: number): number => (d ? ioRows(d, Math.floor(width / 2)).length : 0);

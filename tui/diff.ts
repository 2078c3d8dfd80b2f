// Diff screen (two traces): the summary of `bootscope diff`, the two event streams side by side
// at the selected divergence, and n/N for the next/previous divergence.

import { formatEventLine } from '../capture/describe.ts';
import { pageFrom } from './event-window.ts';
import { fit, line, type Line } from './ui.ts';
import type { AppState, Ctx, KeyHandler } from './state.ts';
import { ioRowCount, nextDivergentRow, renderIoView } from './diff-io.ts';

export function renderDiff(s: AppState, ctx: Ctx): Line[] {
  if (!ctx.other) return [line('diff needs two traces: bootscope tui A.trace B.trace', { dim: true })];
  if (!ctx.diff) return [line('comparing…', { dim: true })];
  const { data, fromAnalyzer, why } = ctx.diff;
  if (s.diff.io) return renderIoView(data.io, s.diff.ioTop, ctx.width, ctx.height);
  const out: Line[] = [];
  const sumH = Math.min(data.summary.length + 1, Math.max(3, Math.floor(ctx.height / 3)));
  out.push(
    line(
      fromAnalyzer ? 'diff (analyze/diff.ts)' : `count differences only (${why ?? 'analyze/diff.ts not available'}: no stream alignment)`,
      { bold: true },
    ),
  );
  for (const l of data.summary.slice(s.diff.top, s.diff.top + sumH - 1)) out.push(line(l));
  const dv = data.divergences[s.diff.cursor];
  out.push(
    line(
      `${'─'.repeat(4)} ${data.divergences.length ? `divergence ${s.diff.cursor + 1}/${data.divergences.length}: ${dv?.text ?? ''}` : 'no divergences listed'} ${'─'.repeat(4)}`,
      { color: 'yellow' },
    ),
  );
  const paneH = ctx.height - out.length - 1;
  const half = Math.floor((ctx.width - 1) / 2);
  const around = (q: number | undefined) => Math.max(0, (q ?? 0) - Math.floor(paneH / 3));
  // A divergence with nothing on one side: show that side where the last one with a position was.
  const near = (side: 'a' | 'b'): number | undefined => {
    for (let i = s.diff.cursor; i >= 0; i--) {
      const q = data.divergences[i]?.[side];
      if (q !== undefined) return q;
    }
    return undefined;
  };
  const a = pageFrom(ctx.data.reader, {}, around(near('a')), paneH);
  const b = pageFrom(ctx.other.reader, {}, around(near('b')), paneH);
  out.push(line(fit('A ' + ctx.data.overview.label, half) + '│' + fit('B ' + ctx.other.overview.label, half), { bold: true }));
  for (let i = 0; i < paneH - 1; i++) {
    const ea = a[i];
    const eb = b[i];
    const hit = (ea && ea.seq === dv?.a) || (eb && eb.seq === dv?.b);
    out.push(
      line(fit(ea ? formatEventLine(ea) : '', half) + '│' + fit(eb ? formatEventLine(eb) : '', half), {
        color: hit ? 'yellow' : undefined,
      }),
    );
  }
  out.push(line('n/N next/previous divergence  ↑/↓ scroll summary  i device layer', { dim: true }));
  return out;
}

export const diffKeys: KeyHandler = (s, input, key, ctx) => {
  const d = ctx.diff?.data;
  if (!d) return s;
  if (input === 'i') return { ...s, diff: { ...s.diff, io: !s.diff.io } };
  if (s.diff.io) return ioKeys(s, input, key, ctx);
  if (input === 'n') return { ...s, diff: { ...s.diff, cursor: Math.min(Math.max(0, d.divergences.length - 1), s.diff.cursor + 1) } };
  if (input === 'N') return { ...s, diff: { ...s.diff, cursor: Math.max(0, s.diff.cursor - 1) } };
  if (key.downArrow || input === 'j')
    return { ...s, diff: { ...s.diff, top: Math.min(Math.max(0, d.summary.length - 1), s.diff.top + 1) } };
  if (key.upArrow || input === 'k') return { ...s, diff: { ...s.diff, top: Math.max(0, s.diff.top - 1) } };
  return s;
};

const ioKeys: KeyHandler = (s, input, key, ctx) => {
  const io = ctx.diff?.data.io;
  if (!io) return s;
  const last = Math.max(0, ioRowCount(io, ctx.width) - 1);
  const page = Math.max(1, ctx.height - 3);
  let top = s.diff.ioTop;
  if (input === 'n') top = nextDivergentRow(io, ctx.width, top, 1);
  else if (input === 'N') top = nextDivergentRow(io, ctx.width, top, -1);
  else if (key.downArrow || input === 'j') top++;
  else if (key.upArrow || input === 'k') top--;
  else if (key.pageDown || input === ' ') top += page;
  else if (key.pageUp) top -= page;
  else if (input === 'g' || key.home) top = 0;
  else if (input === 'G' || key.end) top = last;
  return { ...s, diff: { ...s.diff, ioTop: Math.max(0, Math.min(last, top)) } };
};

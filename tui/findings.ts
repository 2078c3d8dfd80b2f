// Findings screen: the `check` results by severity; Enter jumps to the evidence events.

import { fit, line, scrollTo, type Line } from './ui.ts';
import { gotoEvents } from './events.ts';
import { moveCursor, type Ctx, type KeyHandler, type AppState } from './state.ts';
import { evidenceSeqs, type Finding } from './data.ts';

const ORDER = { error: 0, warning: 1, info: 2 };
const COLOR = { error: 'red', warning: 'yellow', info: 'blue' };

export function findingsList(ctx: Ctx): Finding[] | string {
  const a = ctx.analyses;
  if (!a) return 'analyzing… (findings appear when the check pass finishes)';
  if (!a.findings.available) return `findings not available: ${a.findings.why}`;
  return [...a.findings.value].sort((x, y) => ORDER[x.severity] - ORDER[y.severity]);
}

export function renderFindings(s: AppState, ctx: Ctx): Line[] {
  const list = findingsList(ctx);
  if (typeof list === 'string') return [line(list, { dim: true })];
  if (!list.length) return [line('no findings: every rule passed', { color: 'green' })];
  const detailH = 8;
  const listH = Math.max(3, ctx.height - detailH - 1);
  const top = scrollTo(s.findings.cursor, Math.max(0, s.findings.cursor - listH + 1), listH);
  const out: Line[] = [];
  for (let i = top; i < Math.min(list.length, top + listH); i++) {
    const f = list[i]!;
    out.push(
      line(`${f.severity.toUpperCase().padEnd(7)} ${fit(f.rule, 22)} ${f.message}`, {
        color: COLOR[f.severity],
        inverse: i === s.findings.cursor,
      }),
    );
  }
  while (out.length < listH) out.push(line(''));
  out.push(line('─'.repeat(ctx.width), { dim: true }));
  const f = list[s.findings.cursor]!;
  out.push(line(`${f.rule}${f.clause ? '  (' + f.clause + ')' : ''}`, { bold: true }));
  for (const l of wrap(f.message, ctx.width).slice(0, 3)) out.push(line(l));
  const seqs = evidenceSeqs(f);
  out.push(
    line(
      `evidence: ${
        seqs.length
          ? seqs
              .slice(0, 12)
              .map((q) => '#' + q)
              .join(' ') + (seqs.length > 12 ? ' …' : '')
          : '(none)'
      }`,
    ),
  );
  out.push(line(f.evidence.length ? 'Enter: show the evidence events' : '', { dim: true }));
  return out;
}

/** Word-wrap text to lines of at most w columns. */
export function wrap(text: string, w: number): string[] {
  const out: string[] = [];
  let cur = '';
  for (const word of text.split(/\s+/)) {
    if (cur && cur.length + 1 + word.length > w) {
      out.push(cur);
      cur = word;
    } else cur = cur ? cur + ' ' + word : word;
  }
  if (cur) out.push(cur);
  return out;
}

export const findingsKeys: KeyHandler = (s, input, key, ctx) => {
  const list = findingsList(ctx);
  if (typeof list === 'string' || !list.length) return s;
  if (key.return) {
    const f = list[s.findings.cursor]!;
    const seqs = evidenceSeqs(f);
    if (!seqs.length) return { ...s, message: `${f.rule} has no evidence events` };
    const first = Math.min(...seqs);
    return { ...gotoEvents(s, first, {}, seqs), message: `${f.rule}: evidence ${seqs.map((q) => '#' + q).join(' ')}` };
  }
  return { ...s, findings: { cursor: moveCursor(s.findings.cursor, list.length, input, key, ctx.height - 9) } };
};

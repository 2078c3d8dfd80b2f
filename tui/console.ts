// Console screen: the reconstructed console text with times; Enter jumps to the events that
// produced the line (from the end of the previous line to the console event of this one).

import { fit, line, scrollTo, type Line } from './ui.ts';
import { gotoEvents } from './events.ts';
import { moveCursor, type AppState, type Ctx, type KeyHandler } from './state.ts';

export function renderConsole(s: AppState, ctx: Ctx): Line[] {
  const lines = ctx.data.consoleLines();
  if (!lines.length) return [line('the guest wrote nothing to a console', { dim: true })];
  const h = ctx.height - 1;
  const top = scrollTo(s.console.cursor, Math.max(0, s.console.cursor - h + 1), h);
  const tw = String(lines[lines.length - 1]!.time).length;
  const out: Line[] = [line(`${lines.length} lines; Enter shows a line's events`, { dim: true })];
  for (let i = top; i < Math.min(lines.length, top + h); i++) {
    const l = lines[i]!;
    out.push(line(fit(`[${String(l.time).padStart(tw)}] ${l.text}`, ctx.width), { inverse: i === s.console.cursor }));
  }
  return out;
}

export const consoleKeys: KeyHandler = (s, input, key, ctx) => {
  const lines = ctx.data.consoleLines();
  if (!lines.length) return s;
  if (key.return) {
    const i = s.console.cursor;
    const l = lines[i]!;
    const from = i > 0 ? lines[i - 1]!.lastSeq + 1 : 0;
    return { ...gotoEvents(s, from, { fromSeq: from, toSeq: l.lastSeq + 1 }, [l.seq]), message: `events of console line ${i + 1}` };
  }
  return { ...s, console: { cursor: moveCursor(s.console.cursor, lines.length, input, key, ctx.height - 2) } };
};

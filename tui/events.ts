// Events screen: a virtualized list (only the visible page is read from the trace), filters,
// text search, jumps to #seq or a time, and a detail pane with the decoded fields and guest PC.

import { eventToJson, formatEventLine } from '../capture/describe.ts';
import { deviceOf, type TraceEvent } from '../capture/model.ts';
import { limits, describeFilter, findNext, findPrev, pageBefore, pageFrom, type ScanStop, type ViewFilter } from './event-window.ts';
import { fit, line, type Line } from './ui.ts';
import type { AppState, Ctx, KeyHandler } from './state.ts';

/** Rows of the list and of the detail pane, and whether the detail sits to the right. */
export function eventsLayout(ctx: Ctx): { list: number; detail: number; side: boolean; listWidth: number } {
  const side = ctx.width >= 140;
  if (side) return { list: ctx.height - 1, detail: ctx.height - 1, side, listWidth: ctx.width - 48 };
  const detail = ctx.height >= 30 ? 10 : 7;
  return { list: Math.max(3, ctx.height - 2 - detail), detail, side, listWidth: ctx.width };
}

/** The visible page. Text searches look at most SEARCH_BUDGET events per frame (no freezes). */
function page(s: AppState, ctx: Ctx, stop?: ScanStop): TraceEvent[] {
  const budget = s.events.filter.text ? limits.search : Infinity;
  return pageFrom(ctx.data.reader, s.events.filter, s.events.top, eventsLayout(ctx).list, budget, stop);
}

export function renderEvents(s: AppState, ctx: Ctx): Line[] {
  const { list, detail, side, listWidth } = eventsLayout(ctx);
  const stop: ScanStop = {};
  const evs = page(s, ctx, stop);
  const ev = evs[Math.min(s.events.cursor, evs.length - 1)];
  const flt = describeFilter(s.events.filter);
  const pos = ev ? `#${ev.seq} of ${ctx.data.eventCount.toLocaleString('en-US')}` : 'no events';
  const out: Line[] = [line(fit(`filter: ${flt || '(none)'}`, Math.max(10, ctx.width - pos.length - 1)) + ' ' + pos, { color: 'cyan' })];
  const marks = new Set(s.events.marks);
  const rows: Line[] = [];
  for (let i = 0; i < list; i++) {
    const e = evs[i];
    if (!e) {
      const paused = stop.stoppedAt !== undefined && i === evs.length;
      rows.push(
        line(paused ? `  (search paused after #${stop.stoppedAt}: press n to search further)` : i === 0 ? '  (no matching events)' : '', {
          dim: !paused,
          color: paused ? 'yellow' : undefined,
        }),
      );
      continue;
    }
    const mark = marks.has(e.seq) ? '*' : ' ';
    rows.push(line(mark + formatEventLine(e), { inverse: i === s.events.cursor, color: marks.has(e.seq) ? 'yellow' : undefined }));
  }
  const det = ev ? detailLines(ev, ctx) : [];
  if (side) {
    for (let i = 0; i < list; i++) {
      const r = rows[i]!;
      const d = det[i]?.text ?? '';
      out.push({ ...r, text: fit(r.text, listWidth - 1) + '│' + fit(d, ctx.width - listWidth) });
    }
    return out;
  }
  out.push(...rows);
  out.push(line('─'.repeat(ctx.width), { dim: true }));
  out.push(...det.slice(0, detail));
  return out;
}

/** Numeric fields that read better in hex (addresses, syndromes, function ids). */
const HEX_FIELDS = new Set(['addr', 'esr', 'func', 'encoding']);

/** The detail pane: decoded fields, guest PC and the device region. */
export function detailLines(e: TraceEvent, ctx: Ctx): Line[] {
  const out: Line[] = [];
  const j = eventToJson(e);
  out.push(
    line(
      `#${e.seq} ${e.kind}  time ${e.time} (${ctx.data.toNs(e.time).toFixed(0)} ns)  vCPU ${e.vcpu < 0 ? '-' : e.vcpu}  PC ${e.pc !== undefined ? '0x' + e.pc.toString(16) : '(not recorded)'}`,
      { bold: true },
    ),
  );
  const dbg = debugCommand(ctx.data.path, ctx.data.reader.meta.source.type, e.seq);
  if (dbg) out.push(line(`gdb: ${dbg}`, { color: 'green' }));
  const fields = Object.entries(j).filter(([k]) => !['seq', 'time', 'vcpu', 'pc', 'kind'].includes(k));
  const parts = fields.map(
    ([k, v]) =>
      `${k}: ${Array.isArray(v) ? '[' + v.join(', ') + ']' : typeof v === 'string' ? (k === 'bytes' ? JSON.stringify(v) : v) : typeof v === 'number' && HEX_FIELDS.has(k) ? '0x' + v.toString(16) : String(v)}`,
  );
  // Two fields per line when they fit.
  for (let i = 0; i < parts.length; i += 2) {
    const a = parts[i]!;
    const b = parts[i + 1];
    out.push(line(b && a.length < 38 && b.length < 38 ? a.padEnd(40) + b : a));
    if (b && !(a.length < 38 && b.length < 38)) out.push(line(b));
  }
  const dev = deviceOf(e);
  const region = ctx.data.reader.regions.find((r) => r.name === dev);
  if (region)
    out.push(
      line(
        `device ${region.name}: ${region.model} (${region.role}) at 0x${region.base.toString(16)}+0x${region.size.toString(16)}${region.intid !== undefined ? ` INTID ${region.intid}` : ''}`,
        { dim: true },
      ),
    );
  return out;
}

/**
 * The command that replays an emulator trace under gdb at this event (docs/gdb.md), or undefined
 * for traces bootscope cannot replay (imported ones).
 */
export function debugCommand(tracePath: string, sourceType: string, seq: number): string | undefined {
  if (sourceType !== 'emulator') return undefined;
  const q = /^[\w@%+=:,./-]+$/.test(tracePath) ? tracePath : `'${tracePath.replace(/'/g, `'\\''`)}'`;
  return `bootscope debug ${q} --gdb 1234 --at '#${seq}'`;
}

/** Show the events screen at seq (unfiltered unless a filter is given). */
export function gotoEvents(s: AppState, seq: number, filter: ViewFilter = {}, marks: number[] = []): AppState {
  return { ...s, screen: 'events', events: { filter, top: seq, cursor: 0, marks } };
}

export const eventsKeys: KeyHandler = (s, input, key, ctx) => {
  const { list } = eventsLayout(ctx);
  const ev = s.events;
  const r = ctx.data.reader;
  // Text searches are budgeted (see limits.search); other filters prune by the chunk index.
  const budget = ev.filter.text ? limits.search : Infinity;
  const pf = (from: number, n: number) => pageFrom(r, ev.filter, from, n, budget);
  const pb = (before: number, n: number) => pageBefore(r, ev.filter, before, n, budget);
  const set = (top: number, cursor: number, extra: Partial<AppState> = {}): AppState => ({
    ...s,
    ...extra,
    events: { ...ev, top, cursor },
  });
  if (key.downArrow || input === 'j') {
    const p = pf(ev.top, list + 1);
    if (ev.cursor < Math.min(list, p.length) - 1) return set(ev.top, ev.cursor + 1);
    return p.length > list ? set(p[1]!.seq, ev.cursor) : s;
  }
  if (key.upArrow || input === 'k') {
    if (ev.cursor > 0) return set(ev.top, ev.cursor - 1);
    const first = pf(ev.top, 1)[0];
    const prev = first ? pb(first.seq, 1)[0] : undefined;
    return prev ? set(prev.seq, 0) : s;
  }
  if (key.pageDown || input === ' ') {
    const p = pf(ev.top, list * 2);
    if (p.length > list) return set(p[list]!.seq, Math.min(ev.cursor, p.length - list - 1));
    return set(ev.top, Math.max(0, p.length - 1));
  }
  if (key.pageUp) {
    const first = pf(ev.top, 1)[0];
    const prev = first ? pb(first.seq, list) : [];
    return prev.length ? set(prev[0]!.seq, ev.cursor) : set(ev.top, 0);
  }
  if (input === 'g' || key.home) return set(ev.filter.fromSeq ?? 0, 0);
  if (input === 'G' || key.end) {
    const last = pb(Infinity, list);
    return last.length ? set(last[0]!.seq, last.length - 1) : s;
  }
  if (input === 'x') return { ...s, message: 'filter cleared', events: { ...ev, filter: {}, marks: [] } };
  if (input === 'n' || input === 'N') {
    if (!ev.filter.text) return { ...s, message: 'no search: press / to search' };
    const stop: ScanStop = {};
    const cur = pageFrom(r, ev.filter, ev.top, ev.cursor + 1, limits.search, stop)[ev.cursor];
    if (input === 'n' && !cur && stop.stoppedAt !== undefined) {
      // Nothing on screen yet: carry on from where the last look stopped.
      const more: ScanStop = {};
      const hit = findNext(r, ev.filter, stop.stoppedAt + 1, more);
      if (hit) return set(hit.seq, 0, { message: `match at #${hit.seq}` });
      const to = more.stoppedAt;
      return to !== undefined
        ? set(to + 1, 0, { message: `no match up to #${to}; n searches further` })
        : { ...s, message: `no further match for "${ev.filter.text}"` };
    }
    const at = cur?.seq ?? ev.top;
    const more: ScanStop = {};
    const hit = input === 'n' ? findNext(r, ev.filter, at + 1, more) : findPrev(r, ev.filter, at);
    if (hit) return set(hit.seq, 0, { message: `match at #${hit.seq}` });
    if (more.stoppedAt !== undefined)
      return set(more.stoppedAt + 1, 0, { message: `no match up to #${more.stoppedAt}; n searches further` });
    return { ...s, message: `no ${input === 'n' ? 'further' : 'earlier'} match for "${ev.filter.text}"` };
  }
  return s;
};

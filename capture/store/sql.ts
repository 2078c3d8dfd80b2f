// SQL over a trace: decoded events appear as the table `events` (a better-sqlite3 virtual
// table that decodes chunks lazily), next to the real meta, devices, chunks and *_counts tables.
//
// Push-down: better-sqlite3 tells a virtual table nothing about WHERE clauses on its columns,
// so analyzePushdown() reads the query text and keeps only constraints it can prove apply to
// every `events` row the query uses (top-level AND terms of the WHERE of the one SELECT that
// reads `events`, comparing time/seq/kind/device/register/vcpu/intid with literals). Those
// prune chunks before decoding; SQLite still applies the full WHERE, so pruning only has to
// keep a superset of the rows the query needs.

import type Database from 'better-sqlite3';
import { EVENT_KINDS, type EventFilter, type EventKind } from '../model.ts';
import { EVENTS_COLUMNS, eventRows } from './sql-rows.ts';
import { TraceError } from './errors.ts';
import type { TraceReader } from './reader.ts';

interface SqlState {
  reader: TraceReader | undefined;
  filter: EventFilter;
  empty: boolean;
}

const registered = new WeakMap<Database.Database, SqlState>();

function stateFor(reader: TraceReader): SqlState {
  const db = reader.sqlDb;
  let st = registered.get(db);
  if (!st) {
    const state: SqlState = { reader, filter: {}, empty: false };
    st = state;
    registered.set(db, state);
    const cols = EVENTS_COLUMNS;
    db.table('events', {
      columns: [...cols],
      parameters: [],
      *rows() {
        const r = state.reader;
        if (!r || state.empty) return;
        yield* eventRows(r, state.filter);
      },
    });
  }
  st.reader = reader;
  return st;
}

export { EVENTS_COLUMNS };

export interface SqlResult {
  columns: string[];
  rows: unknown[][];
  /** The filter pushed down to the events table ({} when none). */
  pushdown: EventFilter;
}

/** A query's rows as they come: nothing is held but the row being read. */
export interface SqlStream {
  columns: string[];
  rows: Iterable<unknown[]>;
  /** The filter pushed down to the events table ({} when none). */
  pushdown: EventFilter;
}

const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * Run one read-only SQL statement over a trace, row by row. Errors (preparing, or met while the
 * rows are read) are TraceErrors naming the file. Integers come as numbers when exact, else as
 * bigints.
 */
export function streamSql(reader: TraceReader, sql: string): SqlStream {
  const st = stateFor(reader);
  const { filter, empty } = analyzePushdown(sql);
  st.filter = filter;
  st.empty = empty;
  let stmt: Database.Statement;
  try {
    stmt = reader.sqlDb.prepare(sql);
  } catch (err) {
    throw new TraceError(reader.path, `SQL: ${(err as Error).message}`);
  }
  if (!stmt.reader) throw new TraceError(reader.path, 'SQL: only queries that return rows (SELECT, WITH, PRAGMA …) are allowed');
  let columns: string[];
  try {
    stmt.safeIntegers(true);
    stmt.raw(true);
    columns = stmt.columns().map((c) => c.name);
  } catch (err) {
    throw new TraceError(reader.path, `SQL: ${(err as Error).message}`);
  }
  const fail = (err: unknown): never => {
    throw err instanceof TraceError ? err : new TraceError(reader.path, `SQL: ${(err as Error).message}`);
  };
  function* rows(): Generator<unknown[]> {
    let it: IterableIterator<unknown[]> | undefined;
    try {
      it = stmt.iterate() as IterableIterator<unknown[]>;
    } catch (err) {
      fail(err);
    }
    try {
      for (;;) {
        let r: IteratorResult<unknown[]>;
        try {
          r = it!.next();
        } catch (err) {
          return fail(err);
        }
        if (r.done) return;
        const row = r.value;
        for (let i = 0; i < row.length; i++) {
          const v = row[i];
          if (typeof v === 'bigint' && v >= MIN_SAFE && v <= MAX_SAFE) row[i] = Number(v);
        }
        yield row;
      }
    } finally {
      it?.return?.(); // a consumer that stops early (`| head`) frees the statement
    }
  }
  return { columns, rows: rows(), pushdown: filter };
}

/** Run one read-only SQL statement over a trace, all rows in memory (see streamSql). */
export function runSql(reader: TraceReader, sql: string): SqlResult {
  const s = streamSql(reader, sql);
  return { columns: s.columns, rows: [...s.rows], pushdown: s.pushdown };
}

// ---------------------------------------------------------------------------------------------
// Output

function cellText(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (Buffer.isBuffer(v)) return JSON.stringify(v.toString('latin1')).slice(1, -1);
  return String(v);
}

function jsonValue(v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (Buffer.isBuffer(v)) return v.toString('latin1');
  return v;
}

export interface SqlOutputOptions {
  json?: boolean;
  /** Text mode: applied to every cell before widths are measured (e.g. escaping for a terminal). */
  cell?: (s: string) => string;
  /** Text mode: column widths and alignment come from the first `sample` rows (default 1000). */
  sample?: number;
}

/**
 * Write a query's rows as an aligned text table, or with json as a JSON array of row objects (one
 * per line), streaming: memory holds at most `sample` rows whatever the row count. Rows past the
 * sample that are wider than it keep their full text (the table is then ragged, nothing is cut).
 * Returns the number of rows.
 */
export function writeSqlResult(
  res: { columns: string[]; rows: Iterable<unknown[]> },
  write: (s: string) => void,
  opts: SqlOutputOptions = {},
): number {
  const cols = res.columns;
  let n = 0;
  if (opts.json) {
    for (const r of res.rows) {
      const o: Record<string, unknown> = {};
      for (let i = 0; i < cols.length; i++) o[cols[i]!] = jsonValue(r[i]);
      write((n++ ? ',\n' : '[\n') + JSON.stringify(o));
    }
    write(n ? '\n]\n' : '[]\n');
    return n;
  }
  const it = res.rows[Symbol.iterator]();
  try {
    return writeTable(cols, it, write, opts.cell ?? ((s: string) => s), opts.sample ?? 1000);
  } finally {
    it.return?.(); // stopped early (the reader of the output went away): free the statement
  }
}

function writeTable(
  cols: string[],
  it: Iterator<unknown[]>,
  write: (s: string) => void,
  cell: (s: string) => string,
  limit: number,
): number {
  const sample: unknown[][] = [];
  let next = it.next();
  while (!next.done && sample.length < limit) {
    sample.push([...next.value]); // the producer may reuse its row array
    next = it.next();
  }
  const widths = cols.map((c) => c.length);
  const numeric = cols.map(() => sample.length > 0);
  for (const r of sample) {
    for (let i = 0; i < cols.length; i++) {
      const w = cell(cellText(r[i])).length;
      if (w > widths[i]!) widths[i] = w;
      const v = r[i];
      if (!(typeof v === 'number' || typeof v === 'bigint' || v === null)) numeric[i] = false;
    }
  }
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd() + '\n';
  const row = (r: unknown[]) => line(r.map((v) => cell(cellText(v))));
  write(line(cols));
  write(widths.map((w) => '-'.repeat(w)).join('  ') + '\n');
  for (const r of sample) write(row(r));
  let n = sample.length;
  sample.length = 0;
  for (; !next.done; next = it.next()) {
    write(row(next.value));
    n++;
  }
  write(`(${n} row${n === 1 ? '' : 's'})\n`);
  return n;
}

/** An aligned text table, or with json a JSON array of row objects (in memory; see writeSqlResult). */
export function formatSqlResult(res: SqlResult, opts: { json?: boolean } = {}): string {
  const parts: string[] = [];
  writeSqlResult(res, (s) => parts.push(s), { ...opts, sample: Infinity });
  return parts.join('');
}

// ---------------------------------------------------------------------------------------------
// Push-down analysis

type Tok = { t: 'id' | 'str' | 'num' | 'op' | 'punct'; v: string; depth: number };

function tokenize(sql: string): Tok[] | undefined {
  const out: Tok[] = [];
  let depth = 0;
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '-' && sql[i + 1] === '-') {
      while (i < sql.length && sql[i] !== '\n') i++;
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? sql.length : end + 2;
    } else if (c === "'") {
      let v = '';
      i++;
      for (;;) {
        if (i >= sql.length) return undefined;
        if (sql[i] === "'") {
          if (sql[i + 1] === "'") {
            v += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        v += sql[i++];
      }
      out.push({ t: 'str', v, depth });
    } else if (c === '"' || c === '`' || c === '[') {
      const close = c === '[' ? ']' : c;
      const end = sql.indexOf(close, i + 1);
      if (end < 0) return undefined;
      out.push({ t: 'id', v: sql.slice(i + 1, end).toLowerCase(), depth });
      i = end + 1;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_$]*/.exec(sql.slice(i))![0];
      out.push({ t: 'id', v: m.toLowerCase(), depth });
      i += m.length;
    } else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(sql[i + 1] ?? ''))) {
      const m = /^(0x[0-9a-fA-F]+|[0-9]*\.?[0-9]+([eE][+-]?[0-9]+)?)/.exec(sql.slice(i))![0];
      out.push({ t: 'num', v: m, depth });
      i += m.length;
    } else if (c === '(') {
      out.push({ t: 'punct', v: c, depth });
      depth++;
      i++;
    } else if (c === ')') {
      depth--;
      out.push({ t: 'punct', v: c, depth });
      i++;
    } else {
      const two = sql.slice(i, i + 2);
      if (['<=', '>=', '==', '!=', '<>', '||', '<<', '>>'].includes(two)) {
        out.push({ t: 'op', v: two, depth });
        i += 2;
      } else {
        out.push({ t: /[,;.]/.test(c) ? 'punct' : 'op', v: c, depth });
        i++;
      }
    }
  }
  return out;
}

const CLAUSE_END = new Set(['group', 'order', 'limit', 'having', 'window', 'union', 'intersect', 'except']);
const NOT_ALIAS = new Set([
  'where',
  'join',
  'on',
  'left',
  'right',
  'full',
  'inner',
  'cross',
  'natural',
  'outer',
  'using',
  'group',
  'order',
  'limit',
  'having',
  'window',
  'union',
  'intersect',
  'except',
  'indexed',
  'not',
]);

/** Constraints on `events` that a query's text proves; {} when unsure. */
export function analyzePushdown(sql: string): { filter: EventFilter; empty: boolean } {
  const none = { filter: {}, empty: false };
  const toks = tokenize(sql);
  if (!toks) return none;
  const refs = toks.map((t, i) => (t.t === 'id' && t.v === 'events' ? i : -1)).filter((i) => i >= 0);
  if (refs.length !== 1) return none;
  const at = refs[0]!;
  const d = toks[at]!.depth;
  // It must be a table reference in a FROM clause.
  const prev = toks[at - 1];
  if (!prev || (!(prev.t === 'id' && (prev.v === 'from' || prev.v === 'join')) && !(prev.v === ',' && inFrom(toks, at, d)))) return none;
  if (toks[at + 1]?.v === '(') return none;
  let alias: string | undefined;
  let j = at + 1;
  if (toks[j]?.t === 'id' && toks[j]!.v === 'as') j++;
  if (toks[j]?.t === 'id' && !NOT_ALIAS.has(toks[j]!.v) && toks[j]!.depth === d) alias = toks[j]!.v;
  // The WHERE of the same SELECT.
  let w = -1;
  for (let k = at + 1; k < toks.length; k++) {
    const t = toks[k]!;
    if (t.depth < d || (t.depth === d && t.v === ';')) break;
    if (t.depth !== d || t.t !== 'id') continue;
    if (CLAUSE_END.has(t.v) || t.v === 'select') break;
    if (t.v === 'where') {
      w = k;
      break;
    }
  }
  if (w < 0) return none;
  let end = w + 1;
  while (end < toks.length) {
    const t = toks[end]!;
    if (t.depth < d || (t.depth === d && (t.v === ';' || (t.t === 'id' && CLAUSE_END.has(t.v))))) break;
    end++;
  }
  const clause = toks.slice(w + 1, end);
  // Split into top-level AND terms; give up on OR or CASE at the top level.
  const terms: Tok[][] = [];
  let cur: Tok[] = [];
  let inBetween = false;
  for (const t of clause) {
    if (t.depth === d && t.t === 'id') {
      if (t.v === 'or' || t.v === 'case') return none;
      if (t.v === 'between') inBetween = true;
      else if (t.v === 'and') {
        if (inBetween) inBetween = false;
        else {
          terms.push(cur);
          cur = [];
          continue;
        }
      }
    }
    cur.push(t);
  }
  terms.push(cur);
  const f: EventFilter = {};
  let empty = false;
  for (const term of terms) {
    const r = readTerm(term, alias);
    if (!r) continue;
    if (r.apply(f)) empty = true;
  }
  return { filter: f, empty };
}

function inFrom(toks: Tok[], at: number, d: number): boolean {
  for (let k = at - 1; k >= 0; k--) {
    const t = toks[k]!;
    if (t.depth < d) return false;
    if (t.depth !== d || t.t !== 'id') continue;
    if (t.v === 'from') return true;
    if (t.v === 'select' || t.v === 'where' || t.v === 'on') return false;
  }
  return false;
}

const NUM_COLS = new Set(['time', 'seq', 'vcpu', 'intid']);
const STR_COLS = new Set(['kind', 'device', 'register']);

function intLiteral(toks: Tok[], i: number): { v: number; next: number } | undefined {
  let neg = false;
  if (toks[i]?.v === '-') {
    neg = true;
    i++;
  }
  const t = toks[i];
  if (t?.t !== 'num' || !/^(0x[0-9a-f]+|[0-9]+)$/i.test(t.v)) return undefined;
  const v = Number(t.v);
  if (!Number.isSafeInteger(v)) return undefined;
  return { v: neg ? -v : v, next: i + 1 };
}

/** Column name of a (possibly qualified) reference at toks[i], or undefined. */
function colRef(toks: Tok[], i: number, alias: string | undefined): { col: string; next: number } | undefined {
  const t = toks[i];
  if (t?.t !== 'id') return undefined;
  if (toks[i + 1]?.v === '.') {
    const q = t.v;
    if (q !== 'events' && q !== alias) return undefined;
    const c = toks[i + 2];
    if (c?.t !== 'id') return undefined;
    return { col: c.v, next: i + 3 };
  }
  return { col: t.v, next: i + 1 };
}

type Applier = { apply(f: EventFilter): boolean };

const FLIP: Record<string, string> = { '<': '>', '<=': '>=', '>': '<', '>=': '<=', '=': '=', '==': '=' };

function readTerm(term: Tok[], alias: string | undefined): Applier | undefined {
  // col OP literal | literal OP col | col BETWEEN a AND b | col IN (literals)
  const left = colRef(term, 0, alias);
  if (left && (NUM_COLS.has(left.col) || STR_COLS.has(left.col))) {
    const op = term[left.next];
    if (op?.t === 'op' && op.v in FLIP) {
      return litConstraint(left.col, op.v, term, left.next + 1);
    }
    if (op?.t === 'id' && op.v === 'between' && NUM_COLS.has(left.col)) {
      const a = intLiteral(term, left.next + 1);
      if (!a || term[a.next]?.v !== 'and') return undefined;
      const b = intLiteral(term, a.next + 1);
      if (!b || b.next !== term.length) return undefined;
      return range(left.col, a.v, b.v + 1);
    }
    if (op?.t === 'id' && op.v === 'in' && term[left.next + 1]?.v === '(') {
      const vals: (string | number)[] = [];
      let k = left.next + 2;
      for (;;) {
        const lit = STR_COLS.has(left.col) ? strLit(term, k) : intLiteral(term, k);
        if (!lit) return undefined;
        vals.push(lit.v);
        k = lit.next;
        if (term[k]?.v === ',') {
          k++;
          continue;
        }
        if (term[k]?.v === ')' && k + 1 === term.length) break;
        return undefined;
      }
      return members(left.col, vals);
    }
    return undefined;
  }
  // literal OP col
  const lit = intLiteral(term, 0) ?? strLit(term, 0);
  if (lit) {
    const op = term[lit.next];
    if (op?.t !== 'op' || !(op.v in FLIP)) return undefined;
    const right = colRef(term, lit.next + 1, alias);
    if (!right || right.next !== term.length) return undefined;
    const flipped = FLIP[op.v]!;
    return litConstraint(right.col, flipped, [...term.slice(0, lit.next)], 0);
  }
  return undefined;
}

function strLit(toks: Tok[], i: number): { v: string; next: number } | undefined {
  const t = toks[i];
  return t?.t === 'str' ? { v: t.v, next: i + 1 } : undefined;
}

function litConstraint(col: string, op: string, toks: Tok[], i: number): Applier | undefined {
  if (STR_COLS.has(col)) {
    const s = strLit(toks, i);
    if (!s || s.next !== toks.length || (op !== '=' && op !== '==')) return undefined;
    return members(col, [s.v]);
  }
  if (!NUM_COLS.has(col)) return undefined;
  const n = intLiteral(toks, i);
  if (!n || n.next !== toks.length) return undefined;
  switch (op) {
    case '=':
    case '==':
      return col === 'vcpu' || col === 'intid' ? members(col, [n.v]) : range(col, n.v, n.v + 1);
    case '>':
      return range(col, n.v + 1, undefined);
    case '>=':
      return range(col, n.v, undefined);
    case '<':
      return range(col, undefined, n.v);
    case '<=':
      return range(col, undefined, n.v + 1);
  }
  return undefined;
}

function range(col: string, from: number | undefined, to: number | undefined): Applier | undefined {
  if (col !== 'time' && col !== 'seq') return undefined;
  return {
    apply(f) {
      const lo = col === 'time' ? 'fromTime' : 'fromSeq';
      const hi = col === 'time' ? 'toTime' : 'toSeq';
      if (from !== undefined) f[lo] = Math.max(f[lo] ?? -Infinity, Math.max(0, from));
      if (to !== undefined) f[hi] = Math.min(f[hi] ?? Infinity, to);
      return false;
    },
  };
}

function intersect<T>(prev: T[] | undefined, next: T[]): T[] {
  return prev ? prev.filter((x) => next.includes(x)) : next;
}

function members(col: string, vals: (string | number)[]): Applier {
  return {
    apply(f) {
      switch (col) {
        case 'kind': {
          const kinds = vals.filter((v): v is EventKind => EVENT_KINDS.includes(v as EventKind));
          f.kinds = intersect(f.kinds, kinds);
          return f.kinds.length === 0;
        }
        case 'device':
          f.devices = intersect(f.devices, vals as string[]);
          return f.devices.length === 0;
        case 'register':
          f.registers = intersect(f.registers, vals as string[]);
          return f.registers.length === 0;
        case 'vcpu':
          f.vcpus = intersect(f.vcpus, vals.map(Number));
          return f.vcpus.length === 0;
        case 'intid':
          f.intids = intersect(f.intids, vals.map(Number));
          return f.intids.length === 0;
      }
      return false;
    },
  };
}

import { describe, it, expect, beforeAll } from 'vitest';
import path from 'node:path';
import { matchesFilter, type EventFilter, type TraceEvent } from '../../../capture/model.ts';
import { openTrace, runSql, formatSqlResult, analyzePushdown, EVENTS_COLUMNS } from '../../../capture/store/index.ts';
import { bootMixPool } from '../../../bench/boot-mix.ts';
import { everyKind, tmpDir, withSeq, writeEvents } from './helpers.ts';

const dir = tmpDir();
const file = path.join(dir, 'sql.trace');
let evs: TraceEvent[];

beforeAll(() => {
  const src = [...bootMixPool(20_000, { vcpus: 2 }), ...everyKind(50_000_000)];
  evs = withSeq(src);
  writeEvents(file, src, { chunkEvents: 1500 });
});

function sql(q: string) {
  const r = openTrace(file);
  try {
    return runSql(r, q);
  } finally {
    r.close();
  }
}

describe('the events table', () => {
  it('has the common columns, then every field of the model', () => {
    expect(EVENTS_COLUMNS.slice(0, 6)).toEqual(['seq', 'time', 'vcpu', 'kind', 'pc', 'src_line']);
    expect(EVENTS_COLUMNS).toContain('register');
    expect(EVENTS_COLUMNS).toContain('bytes');
    expect(sql('SELECT * FROM events LIMIT 1').columns).toEqual(EVENTS_COLUMNS);
  });

  it('counts per kind agree with the events and the stored summary', () => {
    const res = sql('SELECT kind, count(*) AS n FROM events GROUP BY kind ORDER BY kind');
    const want: Record<string, number> = {};
    for (const e of evs) want[e.kind] = (want[e.kind] ?? 0) + 1;
    expect(Object.fromEntries(res.rows.map(([k, n]) => [k, n]))).toEqual(want);
    const stored = sql('SELECT kind, count FROM kind_counts ORDER BY kind');
    expect(stored.rows).toEqual(res.rows);
  });

  it("shows values as SQLite types: u64 as INTEGER (two's complement above 2^63), bytes as BLOB, lists as JSON", () => {
    const res = sql(`SELECT kind, value, printf('%x', value) AS hex, typeof(bytes) AS bt, CAST(bytes AS TEXT) AS text, results, write, pc
      FROM events WHERE seq >= ${evs.length - everyKind().length} ORDER BY seq`);
    const byKind = Object.fromEntries(res.rows.map((r) => [r[0], r]));
    expect(byKind['mmio_write']![1]).toBe(-1);
    expect(byKind['mmio_write']![2]).toBe('ffffffffffffffff');
    expect(byKind['mmio_read']![1]).toBe(0x90);
    expect(byKind['mmio_read']![7]).toBe(Number(BigInt.asIntN(64, 0xffff800008001234n)));
    expect(byKind['console']![3]).toBe('blob');
    expect(byKind['console']![4]).toBe('hi\0\ufffd\n');
    expect(byKind['hypercall']![5]).toBe('["0x10001","0x8000000000000000"]');
    expect(byKind['sysreg']![6]).toBe(1);
    expect(byKind['irq_eoi']![1]).toBe(null);
  });

  it('joins with the metadata, devices and summary tables', () => {
    const res = sql(`SELECT d.name, d.model, count(*) FROM events e JOIN devices d ON e.device = d.name
      WHERE e.kind = 'mmio_write' GROUP BY d.name ORDER BY d.name`);
    const want = new Map<string, number>();
    for (const e of evs) if (e.kind === 'mmio_write' && e.device) want.set(e.device, (want.get(e.device) ?? 0) + 1);
    expect(res.rows.map((r) => [r[0], r[2]])).toEqual([...want].sort());
    expect(sql("SELECT json_extract(value, '$.name') FROM meta WHERE key = 'source'").rows).toEqual([['test']]);
  });

  it('LIMIT stops decoding early, and a query can run twice on one reader', () => {
    const r = openTrace(file);
    expect(runSql(r, 'SELECT seq FROM events LIMIT 3').rows).toEqual([[0], [1], [2]]);
    expect(runSql(r, 'SELECT count(*) FROM events').rows).toEqual([[evs.length]]);
    r.close();
  });

  const queries: [string, string, (e: TraceEvent) => boolean, EventFilter][] = [
    ['time range', 'time >= 100000 AND time < 150000', (e) => e.time >= 100000 && e.time < 150000, { fromTime: 100000, toTime: 150000 }],
    ['BETWEEN on seq', 'seq BETWEEN 3000 AND 3999', (e) => e.seq >= 3000 && e.seq <= 3999, { fromSeq: 3000, toSeq: 4000 }],
    [
      'kind and device',
      "kind = 'mmio_read' AND device = 'gic-cpu@8010000'",
      (e) => e.kind === 'mmio_read' && e.device === 'gic-cpu@8010000',
      { kinds: ['mmio_read'], devices: ['gic-cpu@8010000'] },
    ],
    [
      'IN lists, reversed comparison',
      "kind IN ('irq_ack', 'irq_eoi') AND 2000 > seq AND vcpu IN (1)",
      (e) => (e.kind === 'irq_ack' || e.kind === 'irq_eoi') && e.seq < 2000 && e.vcpu === 1,
      { kinds: ['irq_ack', 'irq_eoi'], toSeq: 2000, vcpus: [1] },
    ],
    [
      'register and intid',
      "register = 'GICC_IAR' OR intid = 27",
      (e) => ('register' in e && e.register === 'GICC_IAR') || ('intid' in e && e.intid === 27),
      {},
    ],
  ];
  for (const [name, where, pred, pushed] of queries) {
    it(`WHERE with ${name}: right rows, and the provable part pushed down`, () => {
      const res = sql(`SELECT seq FROM events WHERE ${where} ORDER BY seq`);
      expect(res.rows.map((r) => r[0])).toEqual(evs.filter(pred).map((e) => e.seq));
      expect(res.pushdown).toEqual(pushed);
      expect(evs.filter(pred).every((e) => matchesFilter(e, pushed))).toBe(true);
    });
  }

  it('an impossible kind gives no rows without decoding', () => {
    expect(sql("SELECT * FROM events WHERE kind = 'nonsense'").rows).toEqual([]);
  });

  it('bad SQL and writes are one-line errors naming the file', () => {
    expect(() => sql('SELEC 1')).toThrow(`${file}: SQL: near "SELEC": syntax error`);
    expect(() => sql('SELECT nope FROM events')).toThrow(`${file}: SQL: no such column: nope`);
    expect(() => sql('DELETE FROM meta')).toThrow(/^.*: SQL: (only queries that return rows|attempt to write a readonly database)/);
    expect(() => sql('SELECT 1; SELECT 2')).toThrow(/SQL: The supplied SQL string contains more than one statement/);
  });
});

describe('push-down analysis only keeps what it can prove', () => {
  const cases: [string, EventFilter][] = [
    ['SELECT * FROM events WHERE time > 5', { fromTime: 6 }],
    ['SELECT * FROM events AS e WHERE e.time <= 9 AND e.kind == "x"', { toTime: 10 }],
    ["SELECT * FROM events e WHERE e.kind = 'wfx' AND time >= 0x10", { kinds: ['wfx'], fromTime: 16 }],
    ["SELECT * FROM events WHERE time > 5 OR kind = 'wfx'", {}],
    ['SELECT * FROM events WHERE (time > 5 AND time < 9) AND seq = 4', { fromSeq: 4, toSeq: 5 }],
    ['SELECT * FROM events WHERE time > 5 COLLATE nocase', {}],
    ['SELECT * FROM events WHERE time > 5 + 1', {}],
    ['SELECT * FROM events WHERE time > 5.5', {}],
    ['SELECT * FROM events WHERE time > ?', {}],
    ['SELECT * FROM events WHERE NOT time > 5', {}],
    ['SELECT * FROM events WHERE CASE WHEN time > 5 AND seq = 1 THEN 1 END', {}],
    ['SELECT * FROM events a, events b WHERE a.time > 5', {}],
    ['WITH x AS (SELECT * FROM events) SELECT * FROM x WHERE time > 5', {}],
    ['SELECT * FROM meta WHERE key IN (SELECT kind FROM events WHERE seq < 10)', { toSeq: 10 }],
    ['SELECT * FROM (SELECT * FROM events) WHERE time > 5', {}],
    ['SELECT * FROM devices d JOIN events e ON e.device = d.name WHERE d.base > 5 AND e.seq < 7', { toSeq: 7 }],
    ['SELECT * FROM events e JOIN chunks c WHERE c.time_first > 5 AND c.seq_first = 3', {}],
    ['SELECT * FROM events WHERE time > 5 GROUP BY kind HAVING time < 3', { fromTime: 6 }],
    ['SELECT * FROM events WHERE seq < 3 UNION SELECT * FROM events WHERE seq > 9', {}],
    ["SELECT * FROM events WHERE kind = 'it''s'", { kinds: [] }],
    ["SELECT 'events' FROM events WHERE vcpu = -1", { vcpus: [-1] }],
  ];
  for (const [q, want] of cases) it(q, () => expect(analyzePushdown(q).filter).toEqual(want));
});

describe('output', () => {
  it('prints an aligned table, or a JSON array of row objects', () => {
    const res = sql("SELECT kind, count(*) AS n FROM events WHERE kind IN ('wfx', 'hypercall') GROUP BY kind ORDER BY kind");
    const n = Object.fromEntries(res.rows.map(([k, c]) => [k, c]));
    const w = String(Math.max(n['hypercall'] as number, n['wfx'] as number)).length;
    expect(formatSqlResult(res)).toBe(
      [
        `kind       ${' '.repeat(Math.max(0, w - 1))}n`,
        `---------  ${'-'.repeat(Math.max(1, w))}`,
        `hypercall  ${String(n['hypercall']).padStart(Math.max(1, w))}`,
        `wfx        ${String(n['wfx']).padStart(Math.max(1, w))}`,
        '(2 rows)',
        '',
      ].join('\n'),
    );
    expect(JSON.parse(formatSqlResult(res, { json: true }))).toEqual([
      { kind: 'hypercall', n: n['hypercall'] },
      { kind: 'wfx', n: n['wfx'] },
    ]);
    const big = sql(
      `SELECT value, bytes FROM events WHERE seq >= ${evs.length - everyKind().length} AND kind IN ('mmio_write', 'console') ORDER BY seq`,
    );
    expect(JSON.parse(formatSqlResult(big, { json: true }))).toEqual([
      { value: -1, bytes: null },
      { value: null, bytes: 'hi\u0000\u00ff\n' },
    ]);
  });
});

// `bootscope export`, read back by the tools it is for: DuckDB reads the Parquet export (one trace,
// and a hive-partitioned directory of 20 traces) and finds the rows, kinds and devices `bootscope
// sql` finds; the Perfetto export decodes against the message table the writer uses and is well
// formed; JSON lines are the `events --json` objects; bad inputs and outputs leave nothing behind.
// Traces: the imported QEMU Linux boot prefix and an emulator run of the bare-metal uart guest.

import { beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { EVENTS_COLUMN_TYPES } from '../../capture/export/columns.ts';
import { EVENT_KINDS } from '../../capture/model.ts';
import { openTrace } from '../../capture/store/index.ts';
import { consoleLines } from '../../analyze/console.ts';
import { decodeMessage, TYPE_SLICE_BEGIN, TYPE_SLICE_END, type ProtoObject } from '../../analyze/perfetto/proto.ts';
import { bootscope, tempDir } from '../helpers/real-guests.ts';
import { guestTrace, qemuFixtureTrace } from '../analyze/helpers.ts';
import { corruptChunk, writeEvents } from '../capture/store/helpers.ts';
import { bootMixPool } from '../../bench/boot-mix.ts';
import { spawn } from 'node:child_process';

const { dir, file } = tempDir('bootscope-export-');
let qemu = '';
let emu = '';
let db: DuckDBConnection;

beforeAll(async () => {
  qemu = file('qemu-linux.trace');
  emu = file('emu-uart.trace');
  fs.copyFileSync(await qemuFixtureTrace(), qemu);
  fs.copyFileSync(await guestTrace('uart', 1, 2), emu);
  db = await (await DuckDBInstance.create(':memory:')).connect();
});

/** Rows of a DuckDB query as JSON-able objects (BIGINT as strings). */
async function duck(sql: string): Promise<Record<string, unknown>[]> {
  return (await db.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
}

/** `bootscope sql TRACE QUERY --json`, parsed. */
async function sql(trace: string, query: string): Promise<Record<string, unknown>[]> {
  const r = await bootscope(dir, 'sql', trace, query, '--json');
  expect(r.err).toBe('');
  return JSON.parse(r.out) as Record<string, unknown>[];
}

const str = (rows: Record<string, unknown>[]) =>
  rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v === null ? null : String(v)])));

/** A one-line error, exit status 1, and nothing but the listed names in the test directory. */
function failsCleanly(r: { code: number | null; out: string; err: string }, message: RegExp): void {
  expect(r.code).toBe(1);
  expect(r.err).toMatch(message);
  expect(r.err.trim().split('\n')).toHaveLength(1);
  expect(fs.readdirSync(dir).filter((f) => f.includes('.partial-') || f.includes('.old-'))).toEqual([]);
}

describe('parquet', () => {
  for (const which of ['qemu', 'emu'] as const) {
    it(`${which}: DuckDB reads the events table with the rows, columns, types, kinds and devices of bootscope sql`, async () => {
      const trace = which === 'qemu' ? qemu : emu;
      const out = file(`${which}.parquet`);
      const r = await bootscope(dir, 'export', trace, '--format', 'parquet', '-o', out);
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      const p = `'${out}'`;

      // Columns and types: the events table's, in order; SQLite's typeof() agrees with each type.
      const described = await duck(`DESCRIBE SELECT * FROM ${p}`);
      const duckType = { INTEGER: 'BIGINT', TEXT: 'VARCHAR', BLOB: 'BLOB' } as const;
      expect(described.map((d) => `${d.column_name as string}:${d.column_type as string}`)).toEqual(
        EVENTS_COLUMN_TYPES.map((c) => `${c.name}:${duckType[c.sql]}`),
      );
      const head = (await bootscope(dir, 'sql', trace, 'SELECT * FROM events LIMIT 0', '--json')).out;
      expect(head).toBe('[]\n');
      // better-sqlite3's virtual table hands JavaScript numbers to SQLite as REAL: an INTEGER
      // column may read as 'real' there, but then holds only whole numbers.
      const typeofs = await sql(
        trace,
        `SELECT ${EVENTS_COLUMN_TYPES.map((c) => `group_concat(DISTINCT typeof("${c.name}")) AS "${c.name}"`).join(', ')} FROM events`,
      );
      const whole = await sql(
        trace,
        `SELECT ${EVENTS_COLUMN_TYPES.filter((c) => c.sql === 'INTEGER')
          .map((c) => `sum("${c.name}" != CAST("${c.name}" AS INTEGER)) AS "${c.name}"`)
          .join(', ')} FROM events`,
      );
      for (const c of EVENTS_COLUMN_TYPES) {
        const seen = String(typeofs[0]![c.name] ?? 'null')
          .split(',')
          .filter((t) => t !== 'null');
        const ok = c.sql === 'INTEGER' ? ['integer', 'real'] : [c.sql.toLowerCase()];
        expect(
          seen.every((t) => ok.includes(t)),
          `${c.name}: ${seen.join(',')}`,
        ).toBe(true);
        if (c.sql === 'INTEGER') expect(Number(whole[0]![c.name] ?? 0), `${c.name} holds whole numbers`).toBe(0);
      }
      const count = await sql(trace, 'SELECT count(*) AS n FROM events');
      expect(await duck(`SELECT count(*) AS n FROM ${p}`)).toEqual(str(count));
      expect(Number(count[0]!.n)).toBe(openTrace(trace).eventCount);
      const byKind = 'SELECT kind, count(*) AS n FROM events GROUP BY kind ORDER BY kind';
      expect(await duck(byKind.replace('events', p))).toEqual(str(await sql(trace, byKind)));
      const byDevice = `SELECT kind, coalesce(device, source, port, '') AS device, count(*) AS n FROM events GROUP BY 1, 2 ORDER BY 1, 2`;
      const devices = await sql(trace, byDevice);
      expect(devices.length).toBeGreaterThan(3);
      expect(await duck(byDevice.replace('events', p))).toEqual(str(devices));
      // Every value, not only counts: u64 register values, PCs, blobs, JSON lists.
      const all = `SELECT seq, pc, value, nullif(hex(bytes), '') AS bytes, args, register, intid FROM events ORDER BY seq`;
      expect(await duck(all.replace('events', p))).toEqual(str(await sql(trace, all)));

      // zstd column chunks; the trace's metadata as key/value metadata.
      expect(await duck(`SELECT DISTINCT compression FROM parquet_metadata(${p})`)).toEqual([{ compression: 'ZSTD' }]);
      const kv = await duck(`SELECT decode(key) AS k, decode(value) AS v FROM parquet_kv_metadata(${p}) ORDER BY 1`);
      expect(kv.map((x) => x.k)).toEqual(['bootscope.meta', 'bootscope.regions', 'bootscope.trace']);
      const meta = JSON.parse(kv[0]!.v as string) as { source: { type: string } };
      expect(meta.source.type).toBe(which === 'qemu' ? 'import' : 'emulator');
      expect(JSON.parse(kv[2]!.v as string)).toMatchObject({ trace: path.basename(trace, '.trace'), events: Number(count[0]!.n) });
    });
  }

  it('a hive-partitioned export of 20 traces reads as one table, with the traces table beside it', async () => {
    const traces: string[] = [];
    for (let i = 1; i <= 20; i++) {
      const t = file(`boot-${String(i).padStart(2, '0')}.trace`);
      fs.copyFileSync(i % 2 ? qemu : emu, t);
      traces.push(t);
    }
    const out = file('fleet');
    const r = await bootscope(dir, 'export', ...traces, '--format', 'parquet', '-o', out);
    expect(r.err).toBe('');
    expect(fs.readdirSync(path.join(out, 'events')).sort()).toEqual(traces.map((t) => `trace=${path.basename(t, '.trace')}`));
    const events = `read_parquet('${out}/events/*/*.parquet', hive_partitioning = true)`;
    const qemuN = openTrace(qemu).eventCount;
    const emuN = openTrace(emu).eventCount;
    const perTrace = await duck(`SELECT trace, count(*) AS n FROM ${events} GROUP BY trace ORDER BY trace`);
    expect(perTrace).toEqual(traces.map((t, i) => ({ trace: path.basename(t, '.trace'), n: String(i % 2 ? emuN : qemuN) })));
    // bootscope sql over the same 20 traces (a pattern) gives DuckDB's answer, with a trace column.
    const many = await bootscope(
      dir,
      'sql',
      file('boot-*.trace'),
      'SELECT trace, count(*) AS n FROM events GROUP BY trace ORDER BY trace',
      '--json',
    );
    expect(many.err).toBe('');
    expect(str(JSON.parse(many.out) as Record<string, unknown>[])).toEqual(perTrace);
    const q = `SELECT trace, kind, coalesce(device, source, port, '') AS device, count(*) AS n FROM events WHERE vcpu >= 0 GROUP BY ALL ORDER BY 1, 2, 3`;
    const viaSql = await bootscope(dir, 'sql', file('boot-*.trace'), q.replace('GROUP BY ALL', 'GROUP BY 1, 2, 3'), '--json');
    expect(str(JSON.parse(viaSql.out) as Record<string, unknown>[])).toEqual(await duck(q.replace('events', events)));
    // Kinds across the fleet: ten of each trace's counts.
    const fleetKinds = await duck(`SELECT kind, count(*) AS n FROM ${events} GROUP BY kind ORDER BY kind`);
    const one = (t: string) => sql(t, 'SELECT kind, count(*) AS n FROM events GROUP BY kind');
    const expected = new Map<string, number>();
    for (const row of [...(await one(qemu)), ...(await one(emu))])
      expected.set(row.kind as string, (expected.get(row.kind as string) ?? 0) + 10 * Number(row.n));
    expect(fleetKinds).toEqual([...expected].sort(([a], [b]) => (a < b ? -1 : 1)).map(([kind, n]) => ({ kind, n: String(n) })));
    // The traces table joins the events by trace.
    const joined = await duck(
      `SELECT t.trace, t.source_type, t.events, count(*) AS n FROM ${events} e JOIN '${out}/traces.parquet' t USING (trace) GROUP BY ALL ORDER BY t.trace LIMIT 2`,
    );
    expect(joined).toEqual([
      { trace: 'boot-01', source_type: 'import', events: String(qemuN), n: String(qemuN) },
      { trace: 'boot-02', source_type: 'emulator', events: String(emuN), n: String(emuN) },
    ]);
    const cols = (await duck(`DESCRIBE SELECT * FROM '${out}/traces.parquet'`)).map((c) => c.column_name);
    expect(cols).toEqual(
      expect.arrayContaining(['trace', 'machine', 'kernel_sha256', 'digest', 'duration_ns', ...EVENT_KINDS.map((k) => `n_${k}`)]),
    );
  });

  it('--partition writes the directory for one trace; --force replaces only a previous export', async () => {
    const out = file('one');
    expect((await bootscope(dir, 'export', emu, '--format', 'parquet', '--partition', '-o', out)).code).toBe(0);
    expect(fs.existsSync(path.join(out, 'events', 'trace=emu-uart', 'part-0.parquet'))).toBe(true);
    failsCleanly(await bootscope(dir, 'export', emu, '--format', 'parquet', '--partition', '-o', out), /already exists \(use --force/);
    expect((await bootscope(dir, 'export', emu, qemu, '--format', 'parquet', '--force', '-o', out)).code).toBe(0);
    expect(fs.readdirSync(path.join(out, 'events')).sort()).toEqual(['trace=emu-uart', 'trace=qemu-linux']);
    const other = file('not-an-export');
    fs.mkdirSync(other);
    failsCleanly(await bootscope(dir, 'export', emu, qemu, '--format', 'parquet', '--force', '-o', other), /is not a bootscope export/);
  });
});

/** Decoded packets of a Perfetto export. */
function packets(file: string): ProtoObject[] {
  const trace = decodeMessage('Trace', fs.readFileSync(file));
  return trace.packet as ProtoObject[];
}

describe('perfetto', () => {
  it('decodes against the declared messages and is well formed: descriptors first, slices nest, time monotonic per track', async () => {
    const out = file('both.pftrace');
    const r = await bootscope(dir, 'export', qemu, emu, '--format', 'perfetto', '-o', out);
    expect(r.err).toBe('');
    const pk = packets(out);
    const described = new Map<bigint, ProtoObject>();
    const last = new Map<bigint, bigint>();
    const stacks = new Map<bigint, number>();
    const sequences = new Set<bigint>();
    const names = new Map<bigint, Map<bigint, string>>(); // interned event names per sequence
    const strings = new Map<bigint, Set<bigint>>(); // interned annotation string values per sequence
    const logs = new Map<bigint, number>(); // log messages per sequence
    const byName = new Map<string, number>();
    for (const p of pk) {
      const seqId = p.trusted_packet_sequence_id as bigint;
      expect(seqId).toBeGreaterThan(0n);
      if (!sequences.has(seqId)) {
        // The first packet of a sequence clears incremental state and interns the names.
        expect(p.sequence_flags).toBe(1n);
        sequences.add(seqId);
      }
      const interned = p.interned_data as ProtoObject | undefined;
      // Interned on first use, each iid defined once per sequence.
      const seqNames = names.get(seqId) ?? names.set(seqId, new Map()).get(seqId)!;
      for (const n of (interned?.event_names as ProtoObject[] | undefined) ?? []) {
        expect(seqNames.has(n.iid as bigint), `event name ${n.iid} defined twice`).toBe(false);
        seqNames.set(n.iid as bigint, n.name as string);
      }
      const seqStrings = strings.get(seqId) ?? strings.set(seqId, new Set()).get(seqId)!;
      for (const n of (interned?.debug_annotation_string_values as ProtoObject[] | undefined) ?? []) {
        expect(seqStrings.has(n.iid as bigint), `string ${n.iid} defined twice`).toBe(false);
        seqStrings.add(n.iid as bigint);
      }
      const td = p.track_descriptor as ProtoObject | undefined;
      if (td) {
        expect(described.has(td.uuid as bigint)).toBe(false);
        if (td.parent_uuid !== undefined) expect(described.has(td.parent_uuid as bigint)).toBe(true);
        described.set(td.uuid as bigint, td);
      }
      const te = p.track_event as ProtoObject | undefined;
      if (!te) continue;
      const uuid = te.track_uuid as bigint;
      expect(described.has(uuid), `track ${uuid} described before its events`).toBe(true);
      const ts = p.timestamp as bigint;
      expect(ts >= (last.get(uuid) ?? 0n), `time monotonic on track ${uuid}`).toBe(true);
      last.set(uuid, ts);
      if (te.name_iid !== undefined) expect(seqNames.has(te.name_iid as bigint)).toBe(true);
      for (const a of (te.debug_annotations as ProtoObject[] | undefined) ?? [])
        if (a.string_value_iid !== undefined) expect(seqStrings.has(a.string_value_iid as bigint)).toBe(true);
      const depth = stacks.get(uuid) ?? 0;
      if (te.type === BigInt(TYPE_SLICE_BEGIN)) stacks.set(uuid, depth + 1);
      if (te.type === BigInt(TYPE_SLICE_END)) {
        expect(depth, `slice end on track ${uuid} with no slice open`).toBeGreaterThan(0);
        stacks.set(uuid, depth - 1);
      }
      if (te.log_message) {
        const body = (interned?.log_message_body as ProtoObject[])[0]!;
        expect(body.iid).toBe((te.log_message as ProtoObject).body_iid);
        logs.set(seqId, (logs.get(seqId) ?? 0) + 1);
      }
      const name = typeof te.name === 'string' ? te.name : seqNames.get(te.name_iid as bigint);
      if (name !== undefined) byName.set(name, (byName.get(name) ?? 0) + 1);
    }
    expect([...stacks.values()].every((d) => d === 0)).toBe(true);
    // A process per trace, a thread per vCPU (the QEMU boot has two), tracks per device and IRQ.
    const tracks = [...described.values()];
    expect(tracks.filter((t) => t.process).map((t) => (t.process as ProtoObject).pid)).toEqual([1n, 2n]);
    const threads = tracks.filter((t) => t.thread).map((t) => (t.thread as ProtoObject).thread_name);
    expect(threads).toEqual(expect.arrayContaining(['vCPU 0', 'vCPU 1']));
    const trackNames = tracks.map((t) => t.name);
    expect(trackNames).toEqual(expect.arrayContaining(['pl011@9000000', 'boot phases', 'IRQ 33']));
    expect(trackNames.some((n) => typeof n === 'string' && /^IRQ 27 \(vCPU \d\)$/.test(n))).toBe(true);
    expect(tracks.filter((t) => t.counter)).toHaveLength(2);
    // One log message per console line, per trace.
    for (const [i, t] of [qemu, emu].entries()) {
      const r2 = openTrace(t);
      expect(logs.get(BigInt(i + 1))).toBe([...consoleLines(r2.events({ kinds: ['console'] }))].length);
    }
    // Hypercalls as instants named by their decoded names (the uart guest's PSCI SYSTEM_OFF).
    expect([...byName.keys()].some((n) => n.startsWith('PSCI_'))).toBe(true);
    // MMIO instants name the register.
    expect(byName.get('write DR')).toBeGreaterThan(100);
    // Phase slices, IRQ slices.
    expect([...byName.keys()]).toEqual(expect.arrayContaining(['IRQ 33', 'kernel entry']));
  });
});

describe('jsonl', () => {
  it('is the events --json objects, one per line (file and stdout)', async () => {
    const out = file('emu.jsonl');
    expect((await bootscope(dir, 'export', emu, '--format', 'jsonl', '-o', out)).code).toBe(0);
    const json = JSON.parse((await bootscope(dir, 'events', emu, '--json')).out) as unknown[];
    const lines = fs.readFileSync(out, 'utf8').trimEnd().split('\n');
    expect(lines.map((l) => JSON.parse(l))).toEqual(json);
    const piped = await bootscope(dir, 'export', emu, '--format', 'jsonl', '-o', '-');
    expect(piped.out).toBe(fs.readFileSync(out, 'latin1'));
    // Several traces: each object starts with its trace's name.
    const both = await bootscope(dir, 'export', emu, qemu, '--format', 'jsonl', '-o', '-');
    const first = JSON.parse(both.out.split('\n')[0]!) as Record<string, unknown>;
    expect(Object.keys(first)[0]).toBe('trace');
    expect(first).toEqual({ trace: 'emu-uart', ...(json[0] as object) });
  });
});

describe('bad inputs and outputs: one line, nothing left behind', () => {
  it('a damaged trace', async () => {
    const bad = file('damaged.trace');
    fs.copyFileSync(qemu, bad);
    corruptChunk(bad, 0);
    for (const format of ['parquet', 'perfetto', 'jsonl']) {
      const out = file(`damaged.${format}`);
      const r = await bootscope(dir, 'export', bad, '--format', format, '-o', out);
      expect(r.code).toBe(1);
      expect(r.err.trim().split('\n').pop()).toMatch(
        /^bootscope: .*damaged\.trace: damaged: 1 chunk could not be read \(\d+ events\); nothing exported$/,
      );
      expect(fs.existsSync(out)).toBe(false);
    }
  });

  it('not a trace, a missing trace, an unknown format', async () => {
    const junk = file('junk.trace');
    fs.writeFileSync(junk, 'not a trace at all');
    failsCleanly(
      await bootscope(dir, 'export', junk, '--format', 'parquet', '-o', file('junk.parquet')),
      /junk\.trace: not a SQLite database/,
    );
    failsCleanly(
      await bootscope(dir, 'export', file('missing.trace'), '--format', 'parquet', '-o', file('m.parquet')),
      /missing\.trace: no such file/,
    );
    failsCleanly(
      await bootscope(dir, 'export', emu, '--format', 'csv', '-o', file('x.csv')),
      /--format: 'csv' is not one of parquet, perfetto, jsonl/,
    );
    expect(fs.existsSync(file('junk.parquet'))).toBe(false);
  });

  it('an output that exists, is an input, is in a missing or unwritable directory', async () => {
    const exists = file('exists.pftrace');
    fs.writeFileSync(exists, 'keep me');
    failsCleanly(await bootscope(dir, 'export', emu, '--format', 'perfetto', '-o', exists), /exists\.pftrace: file exists \(use --force/);
    expect(fs.readFileSync(exists, 'utf8')).toBe('keep me');
    failsCleanly(await bootscope(dir, 'export', emu, '--format', 'jsonl', '-o', emu), /is also an input of this command/);
    failsCleanly(await bootscope(dir, 'export', emu, '--format', 'parquet', '-o', file('no/such/dir/x.parquet')), /does not exist/);
    failsCleanly(await bootscope(dir, 'export', emu, qemu, '--format', 'parquet', '-o', exists), /exists and is not a directory/);
    const ro = file('ro');
    fs.mkdirSync(ro);
    fs.chmodSync(ro, 0o555);
    try {
      const asRoot = process.getuid?.() === 0;
      // root writes anywhere: a read-only directory refuses only other users; then a file in a
      // path through a regular file stands in for the unwritable place.
      const target = asRoot ? path.join(exists, 'x.parquet') : path.join(ro, 'x.parquet');
      failsCleanly(
        await bootscope(dir, 'export', emu, '--format', 'parquet', '-o', target),
        asRoot ? /is not a directory/ : /permission denied/,
      );
    } finally {
      fs.chmodSync(ro, 0o755);
    }
    // --force replaces an existing file with the complete new export.
    expect((await bootscope(dir, 'export', emu, '--format', 'perfetto', '--force', '-o', exists)).code).toBe(0);
    expect(fs.readFileSync(exists).length).toBeGreaterThan(1000);
  });
});

describe('interrupted', () => {
  it('SIGINT midway: exit 130, one line, the partial output removed', async () => {
    const big = file('big.trace');
    writeEvents(big, bootMixPool(400_000));
    const out = file('big.parquet');
    const child = spawn(
      process.execPath,
      [
        '--disable-warning=ExperimentalWarning',
        path.join(import.meta.dirname, '../../cli/main.ts'),
        'export',
        big,
        '--format',
        'parquet',
        '-o',
        out,
      ],
      {
        cwd: dir,
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    let closed = false;
    const done = new Promise<number | null>((resolve) => child.on('close', (code) => ((closed = true), resolve(code))));
    // Once the first row group is in the partial file, the export is midway (7 row groups in all).
    const partial = `${out}.partial-${child.pid}`;
    while (!closed && !(fs.existsSync(partial) && fs.statSync(partial).size > 0)) await new Promise((r) => setTimeout(r, 5));
    expect(closed, 'the export finished before its first row group was seen').toBe(false);
    child.kill('SIGINT');
    expect(await done).toBe(130);
    expect(err).toMatch(/SIGINT: export stopped; nothing written to .*big\.parquet\n$/);
    expect(fs.existsSync(partial)).toBe(false);
    expect(fs.existsSync(out)).toBe(false);
  });
});

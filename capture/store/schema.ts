// The SQLite schema of a trace file. docs/trace-schema.md describes every table.
// Small traces are dominated by fixed per-table pages, hence WITHOUT ROWID tables (no separate
// primary-key index), 4 KiB pages, and no SQL indexes on the chunk index (readers load it whole).

/** Value of meta.format: how readers recognise a bootscope trace. */
export const FORMAT_ID = 'bootscope-trace';

export const DDL = `
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL              -- JSON
) WITHOUT ROWID;

CREATE TABLE devices (
  name       TEXT PRIMARY KEY,
  model      TEXT NOT NULL,
  role       TEXT NOT NULL,
  base       INTEGER NOT NULL,
  size       INTEGER NOT NULL,
  intid      INTEGER,
  compatible TEXT                  -- JSON array or NULL
) WITHOUT ROWID;

CREATE TABLE chunks (
  id          INTEGER PRIMARY KEY,
  seq_first   INTEGER NOT NULL,
  seq_last    INTEGER NOT NULL,
  time_first  INTEGER NOT NULL,    -- time of the chunk's first event
  time_min    INTEGER NOT NULL,
  time_max    INTEGER NOT NULL,
  count       INTEGER NOT NULL,
  kinds       INTEGER NOT NULL,    -- bit (1 << kind code) for each kind present
  vcpus       TEXT NOT NULL,       -- JSON array of the vCPUs present
  devices     TEXT NOT NULL,       -- JSON array of device names present (deviceOf)
  registers   TEXT NOT NULL,       -- JSON array of MMIO register names present
  intids      TEXT NOT NULL,       -- JSON array of INTIDs present
  raw_bytes   INTEGER NOT NULL,    -- payload size before zstd
  zst_bytes   INTEGER NOT NULL,
  crc32       INTEGER NOT NULL     -- CRC-32 of the compressed payload
);

CREATE TABLE chunk_data (
  id   INTEGER PRIMARY KEY,        -- = chunks.id
  data BLOB NOT NULL               -- zstd frame of the chunk payload
);

CREATE TABLE kind_counts     (kind TEXT PRIMARY KEY, count INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE device_counts   (device TEXT NOT NULL, kind TEXT NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (device, kind)) WITHOUT ROWID;
CREATE TABLE register_counts (device TEXT NOT NULL, register TEXT NOT NULL, kind TEXT NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (device, register, kind)) WITHOUT ROWID;
CREATE TABLE intid_counts    (intid INTEGER NOT NULL, kind TEXT NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (intid, kind)) WITHOUT ROWID;
CREATE TABLE hypercall_counts(conduit TEXT NOT NULL, func INTEGER NOT NULL, name TEXT NOT NULL, subop TEXT NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (conduit, func, name, subop)) WITHOUT ROWID;
CREATE TABLE vcpu_counts     (vcpu INTEGER NOT NULL, kind TEXT NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (vcpu, kind)) WITHOUT ROWID;
`;

/** Keys of the meta table (values are JSON). */
export const META_KEYS = {
  format: 'format',
  schemaVersion: 'schema_version',
  toolVersion: 'tool_version',
  createdAt: 'created_at',
  source: 'source',
  clock: 'clock',
  hashes: 'hashes',
  extra: 'extra',
  chunkEvents: 'chunk_events',
  codec: 'codec',
  complete: 'complete',
  eventCount: 'event_count',
  digest: 'digest',
  timeFirst: 'time_first',
  timeLast: 'time_last',
  closedAt: 'closed_at',
  abandoned: 'abandoned',
  interrupted: 'interrupted',
} as const;

export const SUMMARY_TABLES = [
  'kind_counts',
  'device_counts',
  'register_counts',
  'intid_counts',
  'hypercall_counts',
  'vcpu_counts',
] as const;

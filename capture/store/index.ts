// The trace store: one SQLite file per trace, events in zstd-compressed column chunks.
// Writers: createTrace(); readers: openTrace(); SQL: runSql(). See docs/trace-schema.md.

export { TraceWriter, createTrace, DEFAULT_CHUNK_EVENTS, type WriterOptions, type WriteResult, type CloseOptions } from './writer.ts';
export { TraceReader, openTrace, type ReaderOptions, type ChunkInfo, type CountRows, type TraceInfo, type TraceSummary } from './reader.ts';
export { TraceError, damageSummary, describeProblem, type TraceProblem } from './errors.ts';
export { loadCodec, defaultCodec, hasNodeZstd, type ZstdCodec } from './codec.ts';
export { DecodedChunk, type DecodedStream } from './chunk-decode.ts';
export { ChunkCursor, kindAt, streamString } from './chunk-events.ts';
export { FIELD_STREAMS, KIND_LAYOUTS, STREAM_BY_KEY } from './layout.ts';
export {
  runSql,
  streamSql,
  formatSqlResult,
  writeSqlResult,
  analyzePushdown,
  EVENTS_COLUMNS,
  type SqlResult,
  type SqlStream,
  type SqlOutputOptions,
} from './sql.ts';

// The column layout of a chunk, derived from the trace model's KIND_FIELDS.
//
// Every event field goes to a stream keyed by its name and type; kinds that share a field
// (addr in mmio_read and mmio_write, intid in all irq_* kinds) share its stream, which makes
// delta/dictionary coding and zstd work across them. Streams are named in the chunk, so adding
// fields to the model never changes how old chunks decode.

import { KIND_FIELDS, EVENT_KINDS, KIND_CODE, type EventKind, type FieldType } from '../model.ts';

/** How a stream's values are laid out in the chunk. */
export type StreamEncoding =
  | 'varint' //   unsigned varint per value
  | 'zigzag' //   signed varint per value
  | 'numdict' //  per-chunk dictionary of numbers, varint index per value
  | 'str' //      per-chunk dictionary of strings, varint index per value
  | 'u64' //      64-bit varint per value
  | 'u8' //       one byte per value (bool, enum index)
  | 'bytes' //    varint length + bytes per value
  | 'u64list'; // varint count + 64-bit varints per value

/** Fields whose values repeat from a small set: dictionary-coded per chunk. */
const NUMBER_DICT_FIELDS = new Set(['addr', 'size', 'func', 'encoding', 'esr', 'imm']);

export interface StreamSpec {
  /** Index among field streams (positions in builder/decoder arrays). */
  readonly index: number;
  /** Name stored in the chunk: `${field}:${type}`. */
  readonly key: string;
  readonly field: string;
  readonly type: FieldType;
  readonly enc: StreamEncoding;
}

export interface FieldLayout {
  readonly name: string;
  readonly type: FieldType;
  readonly stream: StreamSpec;
  readonly values?: readonly string[];
}

export interface KindLayout {
  readonly kind: EventKind;
  readonly code: number;
  readonly fields: readonly FieldLayout[];
}

function encodingOf(field: string, type: FieldType): StreamEncoding {
  switch (type) {
    case 'u32':
    case 'u53':
      return NUMBER_DICT_FIELDS.has(field) ? 'numdict' : 'varint';
    case 'i32':
      return 'zigzag';
    case 'u64':
      return 'u64';
    case 'bool':
    case 'enum':
      return 'u8';
    case 'str':
      return 'str';
    case 'bytes':
      return 'bytes';
    case 'u64[]':
      return 'u64list';
  }
}

function buildLayout(): { streams: StreamSpec[]; kinds: KindLayout[] } {
  const streams: StreamSpec[] = [];
  const byKey = new Map<string, StreamSpec>();
  const kinds: KindLayout[] = [];
  for (const kind of EVENT_KINDS) {
    const spec = KIND_FIELDS[kind] as Record<string, { type: FieldType; values?: readonly string[] }>;
    const fields: FieldLayout[] = [];
    for (const [name, f] of Object.entries(spec)) {
      const key = `${name}:${f.type}`;
      let stream = byKey.get(key);
      if (!stream) {
        stream = { index: streams.length, key, field: name, type: f.type, enc: encodingOf(name, f.type) };
        streams.push(stream);
        byKey.set(key, stream);
      }
      fields.push({ name, type: f.type, stream, ...(f.values && f.values.length ? { values: f.values } : {}) });
    }
    kinds.push({ kind, code: KIND_CODE[kind], fields });
  }
  return { streams, kinds };
}

const layout = buildLayout();

/** All field streams, in a fixed order. */
export const FIELD_STREAMS: readonly StreamSpec[] = layout.streams;
/** Per kind code: its fields and their streams. */
export const KIND_LAYOUTS: readonly KindLayout[] = layout.kinds;
export const STREAM_BY_KEY: ReadonlyMap<string, StreamSpec> = new Map(FIELD_STREAMS.map((s) => [s.key, s]));

/** Names of the common streams (not tied to a field). */
export const COMMON_STREAMS = ['@kind', '@flags', '@seq', '@time', '@vcpu', '@pc', '@src_line'] as const;

/** Bits of the per-event flags byte. */
export const FLAG_PC = 1;
export const FLAG_SRC_LINE = 2;

/** Fields that name the device an event concerns (the model's deviceOf()). */
export const DEVICE_FIELD_BY_KIND: Partial<Record<EventKind, string>> = {
  mmio_read: 'device',
  mmio_write: 'device',
  irq_line: 'source',
  console: 'port',
  input: 'port',
  block_request: 'device',
  block_complete: 'device',
  net_frame: 'device',
  pci_config: 'device',
  xenbus_state: 'device',
  xen_grant: 'backend',
  xen_evtchn: 'peer',
  device_error: 'device',
  msi: 'device',
  its_command: 'device',
  its_translate: 'device',
};

/** All distinct field names across kinds (the SQL `events` columns after the common ones). */
export const ALL_FIELD_NAMES: readonly string[] = [...new Set(KIND_LAYOUTS.flatMap((k) => k.fields.map((f) => f.name)))];

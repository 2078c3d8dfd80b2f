// The few Perfetto protobuf messages bootscope writes, declared once as data, with a small encoder
// (varints and length-delimited fields) and a decoder driven by the same table (tests read the
// export back with it). Field numbers are Perfetto's, from its trace format definitions:
// protos/perfetto/trace/trace.proto, trace_packet.proto, interned_data/interned_data.proto and
// track_event/{track_descriptor,process_descriptor,thread_descriptor,counter_descriptor,
// track_event,debug_annotation,log_message}.proto in the Perfetto source tree (docs/export.md).

/** Wire-level scalar types we use (proto2). */
export type ScalarType = 'uint64' | 'uint32' | 'int64' | 'int32' | 'bool' | 'enum' | 'string' | 'double';

export interface FieldDef {
  readonly no: number;
  /** A scalar type, or the name of a message in MESSAGES. */
  readonly type: ScalarType | MessageName;
  readonly repeated?: boolean;
}

const field = (no: number, type: ScalarType | MessageName, repeated = false): FieldDef => ({ no, type, ...(repeated ? { repeated } : {}) });

export type MessageName =
  | 'Trace'
  | 'TracePacket'
  | 'TrackDescriptor'
  | 'ProcessDescriptor'
  | 'ThreadDescriptor'
  | 'CounterDescriptor'
  | 'TrackEvent'
  | 'DebugAnnotation'
  | 'LogMessage'
  | 'InternedData'
  | 'EventName'
  | 'DebugAnnotationName'
  | 'LogMessageBody'
  | 'InternedString';

/** Every message and field we write. Names as in Perfetto's .proto files. */
export const MESSAGES: Readonly<Record<MessageName, Readonly<Record<string, FieldDef>>>> = {
  Trace: { packet: field(1, 'TracePacket', true) },
  TracePacket: {
    timestamp: field(8, 'uint64'),
    trusted_packet_sequence_id: field(10, 'uint32'),
    track_event: field(11, 'TrackEvent'),
    interned_data: field(12, 'InternedData'),
    sequence_flags: field(13, 'uint32'),
    track_descriptor: field(60, 'TrackDescriptor'),
    first_packet_on_sequence: field(87, 'bool'),
  },
  TrackDescriptor: {
    uuid: field(1, 'uint64'),
    name: field(2, 'string'),
    process: field(3, 'ProcessDescriptor'),
    thread: field(4, 'ThreadDescriptor'),
    parent_uuid: field(5, 'uint64'),
    counter: field(8, 'CounterDescriptor'),
  },
  ProcessDescriptor: { pid: field(1, 'int32'), cmdline: field(2, 'string', true), process_name: field(6, 'string') },
  ThreadDescriptor: { pid: field(1, 'int32'), tid: field(2, 'int32'), thread_name: field(5, 'string') },
  CounterDescriptor: { unit: field(3, 'enum'), unit_multiplier: field(4, 'int64') },
  TrackEvent: {
    debug_annotations: field(4, 'DebugAnnotation', true),
    type: field(9, 'enum'),
    name_iid: field(10, 'uint64'),
    track_uuid: field(11, 'uint64'),
    log_message: field(21, 'LogMessage'),
    categories: field(22, 'string', true),
    name: field(23, 'string'),
    counter_value: field(30, 'int64'),
    double_counter_value: field(44, 'double'),
  },
  DebugAnnotation: {
    name_iid: field(1, 'uint64'),
    bool_value: field(2, 'bool'),
    uint_value: field(3, 'uint64'),
    int_value: field(4, 'int64'),
    double_value: field(5, 'double'),
    string_value: field(6, 'string'),
    pointer_value: field(7, 'uint64'),
    name: field(10, 'string'),
    string_value_iid: field(17, 'uint64'),
  },
  LogMessage: { body_iid: field(2, 'uint64') },
  InternedData: {
    event_names: field(2, 'EventName', true),
    debug_annotation_names: field(3, 'DebugAnnotationName', true),
    log_message_body: field(20, 'LogMessageBody', true),
    debug_annotation_string_values: field(29, 'InternedString', true),
  },
  EventName: { iid: field(1, 'uint64'), name: field(2, 'string') },
  DebugAnnotationName: { iid: field(1, 'uint64'), name: field(2, 'string') },
  LogMessageBody: { iid: field(1, 'uint64'), body: field(2, 'string') },
  // `str` is `bytes` in Perfetto's definition: the same wire type; we put UTF-8 text in it.
  InternedString: { iid: field(1, 'uint64'), str: field(2, 'string') },
};

/** TrackEvent.Type. */
export const TYPE_SLICE_BEGIN = 1;
export const TYPE_SLICE_END = 2;
export const TYPE_INSTANT = 3;
export const TYPE_COUNTER = 4;
/** TracePacket.SequenceFlags. */
export const SEQ_INCREMENTAL_STATE_CLEARED = 1;
export const SEQ_NEEDS_INCREMENTAL_STATE = 2;
/** CounterDescriptor.Unit. */
export const UNIT_COUNT = 2;

/** A message value: field name → value (arrays for repeated fields, objects for messages). */
export type ProtoValue = number | bigint | boolean | string | ProtoObject | ProtoValue[];
export interface ProtoObject {
  [field: string]: ProtoValue | undefined;
}

// ---------------------------------------------------------------------------------------------
// Encoding

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const utf8 = new TextEncoder();
const TWO64 = 1n << 64n;

/** A growable byte buffer with protobuf primitives. */
class Out {
  buf = new Uint8Array(256);
  len = 0;
  room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }
  varint(v: number | bigint): void {
    if (typeof v === 'number' && v >= 0 && v <= 0x7fffffff) {
      // The common case (iids, uuids, small values): 31-bit arithmetic.
      this.room(5);
      while (v > 0x7f) {
        this.buf[this.len++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
      this.buf[this.len++] = v;
      return;
    }
    if (typeof v === 'number' && v >= 0 && v <= Number.MAX_SAFE_INTEGER) {
      this.varint64(v % 0x100000000, Math.floor(v / 0x100000000));
      return;
    }
    // Negative int32/int64 values are their 64-bit two's complement (10 bytes), as protobuf does.
    let b = BigInt(v);
    if (b < 0n) b += TWO64;
    if (b < 0n || b >= TWO64) throw new RangeError(`protobuf varint out of range: ${v}`);
    this.varint64(Number(b & 0xffffffffn), Number(b >> 32n));
  }
  /** A 64-bit varint from its 32-bit halves (no BigInt arithmetic per byte). */
  private varint64(lo: number, hi: number): void {
    this.room(10);
    lo >>>= 0;
    hi >>>= 0;
    while (hi !== 0 || lo > 0x7f) {
      this.buf[this.len++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    this.buf[this.len++] = lo;
  }
  string(v: string): void {
    const n = Buffer.byteLength(v, 'utf8');
    this.varint(n);
    this.room(n);
    utf8.encodeInto(v, this.buf.subarray(this.len, this.len + n));
    this.len += n;
  }
  bytes(b: Uint8Array): void {
    this.varint(b.length);
    this.room(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  double(v: number): void {
    this.room(8);
    new DataView(this.buf.buffer, this.buf.byteOffset).setFloat64(this.len, v, true);
    this.len += 8;
  }
  /** Write the length of what follows `at` (one byte reserved there) as its varint prefix. */
  lengthAt(at: number): void {
    const n = this.len - at - 1;
    if (n < 0x80) {
      this.buf[at] = n;
      return;
    }
    let size = 1;
    for (let v = n; v >= 0x80; v >>>= 7) size++;
    this.room(size - 1);
    this.buf.copyWithin(at + size, at + 1, this.len);
    this.len += size - 1;
    let v = n;
    for (let i = 0; i < size - 1; i++, v >>>= 7) this.buf[at + i] = (v & 0x7f) | 0x80;
    this.buf[at + size - 1] = v;
  }
  take(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }
}

function encodeInto(out: Out, name: MessageName, obj: ProtoObject): void {
  const defs = MESSAGES[name];
  // for…in, not Object.keys: no array per message (one packet per event makes this the hot loop).
  for (const key in obj) {
    const v = obj[key];
    if (v === undefined) continue;
    const def = defs[key];
    if (!def) throw new Error(`protobuf: ${name} has no field '${key}'`);
    if (!def.repeated) encodeField(out, def, v);
    else for (const one of v as ProtoValue[]) encodeField(out, def, one);
  }
}

function encodeField(out: Out, def: FieldDef, v: ProtoValue): void {
  switch (def.type) {
    case 'uint64':
    case 'uint32':
    case 'int64':
    case 'int32':
    case 'enum':
      out.varint((def.no << 3) | WIRE_VARINT);
      out.varint(v as number | bigint);
      return;
    case 'bool':
      out.varint((def.no << 3) | WIRE_VARINT);
      out.varint(v ? 1 : 0);
      return;
    case 'double':
      out.varint((def.no << 3) | WIRE_I64);
      out.double(v as number);
      return;
    case 'string':
      out.varint((def.no << 3) | WIRE_LEN);
      out.string(v as string);
      return;
    default: {
      // Encoded in place after a one-byte length; moved along when the length needs more bytes.
      out.varint((def.no << 3) | WIRE_LEN);
      out.room(1);
      const at = out.len++;
      encodeInto(out, def.type, v as ProtoObject);
      out.lengthAt(at);
    }
  }
}

/** One message, encoded. */
export function encodeMessage(name: MessageName, obj: ProtoObject): Uint8Array {
  const out = new Out();
  encodeInto(out, name, obj);
  return out.take();
}

const top = new Out();

/**
 * A TracePacket framed as one `packet` field of the Trace message: a file is these concatenated,
 * so packets stream out one at a time and the whole file is a valid Trace.
 */
export function encodePacket(packet: ProtoObject): Uint8Array {
  return encodePacketView(packet).slice();
}

/** encodePacket's bytes without the copy: valid until the next packet is encoded. */
export function encodePacketView(packet: ProtoObject): Uint8Array {
  top.len = 0;
  encodeField(top, MESSAGES.Trace.packet!, packet);
  return top.take();
}

// ---------------------------------------------------------------------------------------------
// Decoding (against the same table; unknown field numbers and wrong wire types are errors)

class In {
  pos = 0;
  readonly buf: Uint8Array;
  constructor(buf: Uint8Array) {
    this.buf = buf;
  }
  varint(): bigint {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.buf.length) throw new Error('protobuf: truncated varint');
      const b = this.buf[this.pos++]!;
      v |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
      shift += 7n;
      if (shift > 63n) throw new Error('protobuf: varint longer than 10 bytes');
    }
  }
  slice(n: number): Uint8Array {
    if (this.pos + n > this.buf.length) throw new Error('protobuf: length past the end');
    const s = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
}

const utf8d = new TextDecoder('utf-8', { fatal: true });

/** Decode a message; integers come as bigints (signed types as signed), strings as strings. */
export function decodeMessage(name: MessageName, bytes: Uint8Array): ProtoObject {
  const defs = MESSAGES[name];
  const byNo = new Map(Object.entries(defs).map(([k, d]) => [d.no, [k, d] as const]));
  const inp = new In(bytes);
  const obj: ProtoObject = {};
  while (inp.pos < bytes.length) {
    const tag = Number(inp.varint());
    const no = tag >>> 3;
    const wire = tag & 7;
    const hit = byNo.get(no);
    if (!hit) throw new Error(`protobuf: ${name} has no field number ${no}`);
    const [key, def] = hit;
    let v: ProtoValue;
    if (def.type === 'double') {
      if (wire !== WIRE_I64) throw new Error(`protobuf: ${name}.${key} has wire type ${wire}, expected 1`);
      const s = inp.slice(8);
      v = new DataView(s.buffer, s.byteOffset, 8).getFloat64(0, true);
    } else if (def.type === 'string' || def.type in MESSAGES) {
      if (wire !== WIRE_LEN) throw new Error(`protobuf: ${name}.${key} has wire type ${wire}, expected 2`);
      const s = inp.slice(Number(inp.varint()));
      v = def.type === 'string' ? utf8d.decode(s) : decodeMessage(def.type as MessageName, s);
    } else {
      if (wire !== WIRE_VARINT) throw new Error(`protobuf: ${name}.${key} has wire type ${wire}, expected 0`);
      const raw = inp.varint();
      if (def.type === 'bool') v = raw !== 0n;
      else if (def.type === 'int64' || def.type === 'int32') v = BigInt.asIntN(64, raw);
      else v = raw;
    }
    if (def.repeated) ((obj[key] ??= []) as ProtoValue[]).push(v);
    else obj[key] = v;
  }
  return obj;
}

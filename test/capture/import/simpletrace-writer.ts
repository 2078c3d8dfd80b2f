// Test helper: writes QEMU simpletrace (format version 4) files to the documented layout, with
// argument layouts from a trace-events-all file (Debian's QEMU is built without this backend).
import { writeFileSync } from 'node:fs';
import { loadTraceEvents, DEFAULT_TRACE_EVENTS, type TraceEventDef } from '../../../capture/import/trace-events.ts';

export interface SimpleRecord {
  name: string;
  ns: bigint;
  args: Array<bigint | number | string>;
  pid?: number;
}

export function writeSimpleTrace(
  path: string,
  records: SimpleRecord[],
  opts: { version?: number; eventsFile?: string; skipMapping?: string[]; dropped?: bigint } = {},
): void {
  const defs = loadTraceEvents(opts.eventsFile ?? DEFAULT_TRACE_EVENTS);
  const parts: Buffer[] = [];
  const u64 = (v: bigint) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(v);
    return b;
  };
  const u32 = (v: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    return b;
  };
  parts.push(u64(0xffffffffffffffffn), u64(0xf2b177cb0aa429b4n), u64(BigInt(opts.version ?? 4)));
  const ids = new Map<string, bigint>();
  for (const r of records) {
    if (ids.has(r.name)) continue;
    const id = BigInt(ids.size + 1);
    ids.set(r.name, id);
    if (opts.skipMapping?.includes(r.name)) continue;
    const name = Buffer.from(r.name, 'latin1');
    parts.push(u64(0n), u64(id), u32(name.length), name);
  }
  if (opts.dropped !== undefined) {
    parts.push(u64(1n), u64(0xfffffffffffffffen), u64(records[0]?.ns ?? 0n), u32(32), u32(1), u64(opts.dropped));
  }
  for (const r of records) {
    const def: TraceEventDef | undefined = defs.get(r.name);
    if (!def) throw new Error(`${r.name} is not in the trace-events file`);
    const args: Buffer[] = def.args.map((a, i) => {
      const v = r.args[i];
      if (a.isString) {
        const s = Buffer.from(String(v ?? ''), 'latin1');
        return Buffer.concat([u32(s.length), s]);
      }
      return u64(BigInt.asUintN(64, BigInt(v ?? 0)));
    });
    const body = Buffer.concat(args);
    parts.push(u64(1n), u64(ids.get(r.name)!), u64(r.ns), u32(24 + body.length), u32(r.pid ?? 4242), body);
  }
  writeFileSync(path, Buffer.concat(parts));
}

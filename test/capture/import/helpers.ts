// Shared helpers for importer tests: temp files and running a parser into an array.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseFile } from '../../../capture/import/index.ts';
import type { ImportFormat } from '../../../capture/import/detect.ts';
import type { DeviceRegion, NewEvent } from '../../../capture/model.ts';

export const tmp = mkdtempSync(join(tmpdir(), 'bootscope-import-'));
let n = 0;

export function tmpFile(content: string | Uint8Array, ext = '.log'): string {
  const p = join(tmp, `f${n++}${ext}`);
  writeFileSync(p, content);
  return p;
}

export function parse(
  format: ImportFormat,
  content: string | Uint8Array,
  opts: { dtbRegions?: DeviceRegion[]; strict?: boolean; events?: string } = {},
) {
  const events: NewEvent[] = [];
  const file = typeof content === 'string' || content instanceof Uint8Array ? tmpFile(content) : content;
  const out = parseFile(format, file, (e) => events.push(e), opts);
  return { events, ...out, file };
}

export function parsePath(format: ImportFormat, file: string, opts: { strict?: boolean; events?: string } = {}) {
  const events: NewEvent[] = [];
  const out = parseFile(format, file, (e) => events.push(e), opts);
  return { events, ...out, file };
}

export function ofKind<K extends NewEvent['kind']>(events: NewEvent[], kind: K): Extract<NewEvent, { kind: K }>[] {
  return events.filter((e): e is Extract<NewEvent, { kind: K }> => e.kind === kind);
}

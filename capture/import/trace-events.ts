// QEMU trace-events files: each event's argument list (for the simple backend's binary layout)
// and its format string (to render records as the log backend would print them).
import { readFileSync } from 'node:fs';
import { ImportError } from './errors.ts';

export interface TraceEventArg {
  type: string;
  name: string;
  /** Stored as u32 length + bytes in simpletrace records. */
  isString: boolean;
  /** Bits of the C type (32 for int/unsigned/uint32_t and smaller, else 64): how printf shows it. */
  bits: 32 | 64;
}

export interface TraceEventDef {
  name: string;
  args: TraceEventArg[];
  /** printf format with PRI* macros resolved, e.g. "addr 0x%08x value 0x%08x". */
  fmt: string;
}

export const DEFAULT_TRACE_EVENTS = '/usr/share/qemu/trace-events-all';

const LINE = /^((?:[a-z]+\s+)*)([A-Za-z0-9_]+)\(([^)]*)\)\s*(.*)$/;
const NARROW =
  /^(const\s+)?(unsigned( int)?|signed|int|bool|char|short|u?int(8|16|32)_t|unsigned (char|short)|uint|int32|uint32|u?int16|u?int8)$/;

export function parseTraceEvents(text: string, file: string): Map<string, TraceEventDef> {
  const out = new Map<string, TraceEventDef>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.trim();
    if (raw === '' || raw.startsWith('#')) continue;
    const m = LINE.exec(raw);
    if (!m) throw new ImportError(file, i + 1, `not a trace-events line: '${raw.slice(0, 80)}'`);
    const args: TraceEventArg[] = [];
    const list = m[3]!.trim();
    if (list !== 'void' && list !== '') {
      for (const a of list.split(',')) {
        const am = /^(.*?)([A-Za-z0-9_]+)$/.exec(a.trim());
        if (!am) throw new ImportError(file, i + 1, `cannot read argument '${a.trim()}' of ${m[2]}`);
        const type = am[1]!.trim();
        const isString = /char\s*\*$/.test(type) && !/\*\s*\*/.test(type);
        const bare = type.replace(/\s+/g, ' ').trim();
        args.push({ type: bare, name: am[2]!, isString, bits: !isString && NARROW.test(bare) ? 32 : 64 });
      }
    }
    out.set(m[2]!, { name: m[2]!, args, fmt: resolveFormat(m[4]!) });
  }
  return out;
}

export function loadTraceEvents(file: string): Map<string, TraceEventDef> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new ImportError(file, 0, 'cannot read the trace-events file (give one with --events FILE)');
  }
  return parseTraceEvents(text, file);
}

/** `"a %" PRIx64 " b"` → `a %x b` (the length is irrelevant once values are bigints). */
function resolveFormat(s: string): string {
  if (!s.startsWith('"')) return '';
  let out = '';
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c === '"') {
      i++;
      while (i < s.length && s[i] !== '"') {
        if (s[i] === '\\' && i + 1 < s.length) {
          const n = s[i + 1]!;
          out += n === 'n' ? '\n' : n === 't' ? '\t' : n;
          i += 2;
        } else out += s[i++];
      }
      i++;
    } else if (s.startsWith('PRI', i)) {
      const m = /^PRI([diouxX])(8|16|32|64|PTR)?/.exec(s.slice(i));
      out += m ? m[1] : '';
      i += m ? m[0].length : 3;
    } else i++;
  }
  return out;
}

/** printf with C semantics for the conversions QEMU's trace formats use. */
export function formatEvent(def: TraceEventDef, values: Array<bigint | string>): string {
  const f = def.fmt;
  let out = '';
  let ai = 0;
  for (let i = 0; i < f.length; i++) {
    const c = f[i]!;
    if (c !== '%') {
      out += c;
      continue;
    }
    const m = /^%([-+ 0#]*)(\d*)(?:\.(\d+))?(hh|h|ll|l|z|j|t|L)?([diouxXscp%])/.exec(f.slice(i));
    if (!m) {
      out += c;
      continue;
    }
    i += m[0].length - 1;
    const conv = m[5]!;
    if (conv === '%') {
      out += '%';
      continue;
    }
    const arg = def.args[ai];
    const v = values[ai++];
    let s: string;
    if (typeof v === 'string') s = v;
    else if (v === undefined) s = '';
    else {
      const narrow = arg?.bits === 32 && m[4] !== 'l' && m[4] !== 'll' && m[4] !== 'z' && m[4] !== 'j';
      const u = BigInt.asUintN(narrow ? 32 : 64, v);
      if (conv === 'd' || conv === 'i') s = BigInt.asIntN(narrow ? 32 : 64, v).toString();
      else if (conv === 'u') s = u.toString();
      else if (conv === 'x') s = u.toString(16);
      else if (conv === 'X') s = u.toString(16).toUpperCase();
      else if (conv === 'o') s = u.toString(8);
      else if (conv === 'p') s = u === 0n ? '(nil)' : '0x' + u.toString(16);
      else if (conv === 'c') s = String.fromCharCode(Number(u & 0xffn));
      else s = u.toString();
      if (m[1]!.includes('#') && u !== 0n && (conv === 'x' || conv === 'X')) s = '0x' + s;
    }
    const width = m[2] ? Number(m[2]) : 0;
    if (s.length < width) {
      const zero = m[1]!.includes('0') && !m[1]!.includes('-') && conv !== 's';
      if (m[1]!.includes('-')) s = s.padEnd(width);
      else if (zero && s.startsWith('-')) s = '-' + s.slice(1).padStart(width - 1, '0');
      else if (zero && s.startsWith('0x') && m[1]!.includes('#')) s = '0x' + s.slice(2).padStart(width - 2, '0');
      else s = s.padStart(width, zero ? '0' : ' ');
    }
    out += s;
  }
  return out;
}

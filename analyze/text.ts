// Plain-text rendering shared by everything that prints for people (cli, tui, analyzers' text
// formatters): aligned tables and human-readable numbers.

import Table from 'cli-table3';

/** Render rows as an aligned, borderless table. */
export function renderTable(head: string[], rows: (string | number)[][]): string {
  const t = new Table({
    head,
    style: { head: [], border: [], compact: true, 'padding-left': 0, 'padding-right': 2 },
    chars: {
      top: '',
      'top-mid': '',
      'top-left': '',
      'top-right': '',
      bottom: '',
      'bottom-mid': '',
      'bottom-left': '',
      'bottom-right': '',
      left: '',
      'left-mid': '',
      mid: '',
      'mid-mid': '',
      right: '',
      'right-mid': '',
      middle: '',
    },
  });
  for (const r of rows) t.push(r.map(String));
  return t
    .toString()
    .split('\n')
    .map((l) => l.trimEnd())
    .join('\n');
}

export function fmtCount(n: number): string {
  return n.toLocaleString('en-US');
}

export function fmtBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

export function fmtNs(ns: number): string {
  if (!isFinite(ns)) return '-';
  if (ns < 1e3) return `${ns.toFixed(0)} ns`;
  if (ns < 1e6) return `${(ns / 1e3).toFixed(1)} µs`;
  if (ns < 1e9) return `${(ns / 1e6).toFixed(2)} ms`;
  return `${(ns / 1e9).toFixed(3)} s`;
}

// Control characters a terminal acts on: C0 except tab and newline, DEL, and C1 (U+0080–U+009F,
// which a UTF-8 terminal may take as 8-bit CSI/OSC). Guest text is latin1-decoded bytes, so every
// byte the guest wrote is one of these code points or printable.
// eslint-disable-next-line no-control-regex
const TERMINAL_CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/;
// eslint-disable-next-line no-control-regex
const TERMINAL_CONTROL_ALL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;

/**
 * Text for a terminal with guest-controlled parts in it (console lines, DT strings, names from an
 * imported file): control characters are shown as \xNN, never sent as escape sequences.
 */
export function terminalSafe(s: string): string {
  return TERMINAL_CONTROL.test(s) ? s.replace(TERMINAL_CONTROL_ALL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`) : s;
}

// eslint-disable-next-line no-control-regex
const JSON_RAW_CONTROL = /[\x7f-\x9f]/;
// eslint-disable-next-line no-control-regex
const JSON_RAW_CONTROL_ALL = /[\x7f-\x9f]/g;

/**
 * JSON text that is also safe on a terminal: JSON.stringify escapes C0 controls but leaves DEL and
 * C1 raw; inside JSON strings (the only place they can be) \u00XX means the same.
 */
export function jsonSafe(json: string): string {
  return JSON_RAW_CONTROL.test(json) ? json.replace(JSON_RAW_CONTROL_ALL, (c) => `\\u00${c.charCodeAt(0).toString(16)}`) : json;
}

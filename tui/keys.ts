// Global keys and the help text.

import { line, type Line } from './ui.ts';

export const HELP: [string, string][] = [
  ['o t e f l v c d', 'overview, timeline, events, findings, latency, devices, console, diff'],
  ['? / Esc', 'this help / close it'],
  ['q, Ctrl-C', 'quit'],
  ['↑ ↓ j k', 'move; PgUp PgDn (Space) page; g/G first/last'],
  ['Enter', "findings: evidence events; console: the line's events; timeline: events in view"],
  ['Events  F', 'filter: kind=mmio_write dev=pl011@9000000 reg=UARTDR cpu=0 intid=27'],
  ['Events  /', 'search text (shows matching events; n/N next/previous)'],
  ['Events  :', 'jump to #SEQ or t=TIME'],
  ['Events  x', 'clear filter and search'],
  ['Timeline', '+/- zoom, ←/→ pan, 0 reset, ↑/↓ phase, p zoom to phase, s start/end a selection at the centre, Esc clears it'],
  ['Devices', '↑/↓ pick a queue: its requests and depth over time, its latency histogram'],
  ['Diff', 'n/N next/previous divergence; i the device layer (block and network streams side by side)'],
];

export function helpLines(): Line[] {
  return [line('bootscope tui — keys', { bold: true }), line(''), ...HELP.map(([k, v]) => line(`${k.padEnd(14)} ${v}`))];
}

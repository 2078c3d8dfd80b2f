// Output helpers shared by the subcommands: tables, JSON, numbers, progress.

import cliProgress from 'cli-progress';

import { jsonSafe } from '../analyze/text.ts';

export { fmtBytes, fmtCount, fmtNs, jsonSafe, renderTable, terminalSafe } from '../analyze/text.ts';

/** JSON with bigints as hex strings; DEL and C1 controls escaped too (see jsonSafe). */
export function toJson(v: unknown, pretty = true): string {
  return jsonSafe(JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? '0x' + x.toString(16) : x), pretty ? 2 : undefined));
}

/** A progress bar on a TTY; a no-op when stderr is piped (quiet, machine-readable runs). */
export interface Progress {
  update(done: number, total?: number): void;
  stop(): void;
}

export function startProgress(label: string, unit: string, total = 0): Progress {
  if (!process.stderr.isTTY) return { update() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {percentage}% | {value}/{total} ${unit}`,
      stream: process.stderr,
      hideCursor: true,
      etaBuffer: 50,
      fps: 10,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total || 1, 0);
  return {
    update(done, t) {
      if (t !== undefined) bar.setTotal(t || 1);
      bar.update(done);
    },
    stop() {
      bar.stop();
    },
  };
}

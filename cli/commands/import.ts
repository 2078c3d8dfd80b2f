// `bootscope import [--format F] [--dtb FILE] [--events FILE] [--strict] [-f] FILE -o TRACE`:
// read a QEMU trace log, a QEMU simpletrace file or ftrace text into a bootscope trace.

import { Worker } from 'node:worker_threads';
import type { Command } from 'commander';
import { FORMATS, type ImportFormat, type ImportResult } from '../../capture/import/index.ts';
import { unmappedTotal } from '../../capture/import/stats.ts';
import { UserError } from '../errors.ts';
import type { ImportWorkerMessage, WorkerImportOptions } from '../import-worker.ts';
import { fmtBytes, fmtCount, fmtNs, startProgress, terminalSafe, toJson } from '../output.ts';
import { catchInterrupts } from '../signals.ts';

export { importFile } from '../../capture/import/index.ts';

interface ImportCliOptions {
  output?: string;
  format?: string;
  dtb?: string;
  events?: string;
  strict?: boolean;
  json?: boolean;
  force?: boolean;
}

export function registerImport(program: Command): void {
  program
    .command('import')
    .description('import a QEMU trace log (-trace … -D FILE), a QEMU simpletrace file or ftrace KVM text into a trace')
    .argument('<file>', 'file to import')
    .requiredOption('-o, --output <trace>', 'trace file to write')
    .option('--format <format>', `input format: ${FORMATS.join(', ')} (default: detected)`)
    .option(
      '--dtb <file>',
      "the DTB the guest got: kept in the trace (explain uart reads it); its regions replace QEMU virt's map unless it is virt's own DT",
    )
    .option('--events <file>', 'trace-events-all file for the simple backend (default: /usr/share/qemu/trace-events-all)')
    .option('--strict', 'stop at the first line that cannot be parsed')
    .option('-f, --force', 'replace the trace file if it exists (the old one stays if the import fails)')
    .option('--json', 'print the import summary as JSON')
    .action(async (file: string, opts: ImportCliOptions) => {
      if (opts.format !== undefined && !(FORMATS as readonly string[]).includes(opts.format)) {
        throw new UserError(`unknown --format '${opts.format}' (one of ${FORMATS.join(', ')})`);
      }
      const progress = startProgress('importing', 'bytes');
      const interrupts = catchInterrupts('the import');
      let res: ImportResult;
      try {
        res = await importInWorker(
          {
            input: file,
            output: opts.output!,
            format: opts.format as ImportFormat | undefined,
            dtb: opts.dtb,
            events: opts.events,
            strict: opts.strict,
            overwrite: !!opts.force,
          },
          interrupts.shared,
          (done, total) => progress.update(done, total),
        );
      } catch (err) {
        // Stopped before anything was imported (e.g. while a .gz input was decompressed).
        if ((err as Error).name !== 'ImportInterrupted') throw err;
        process.stderr.write(`bootscope: ${(err as Error).message}\n`);
        process.exitCode = interrupts.exitCode() ?? 130;
        return;
      } finally {
        progress.stop();
        interrupts.dispose();
      }
      const json = opts.json || !process.stdout.isTTY;
      if (json) process.stdout.write(toJson(summaryOf(res)) + '\n');
      // Names from a simpletrace file's mapping records are the file's text: escaped for the terminal.
      else process.stdout.write(terminalSafe(describe(res)));
      if (res.interrupted !== undefined) process.exitCode = interrupts.exitCode() ?? 130;
    });
}

/**
 * importFile() in a worker thread (cli/import-worker.ts), so that this thread hears SIGINT and
 * SIGTERM while the parser runs; errors come back with their name and message (one line).
 */
function importInWorker(
  opts: WorkerImportOptions,
  shared: Int32Array,
  onProgress: (done: number, total: number) => void,
): Promise<ImportResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('../import-worker.ts', import.meta.url), { workerData: { opts, shared } });
    let settled = false;
    worker.on('message', (m: ImportWorkerMessage) => {
      if (m.type === 'progress') return onProgress(m.done, m.total);
      settled = true;
      if (m.type === 'done') return resolve(m.result);
      const err: NodeJS.ErrnoException = new Error(m.message);
      err.name = m.name;
      if (m.stack) err.stack = m.stack;
      if (m.code) err.code = m.code;
      if (m.path) err.path = m.path;
      reject(err);
    });
    worker.on('error', (err) => {
      settled = true;
      reject(err);
    });
    worker.on('exit', (code) => {
      if (!settled) reject(new Error(`the import worker stopped (exit code ${code}) without a result`));
    });
  });
}

function summaryOf(r: ImportResult) {
  const s = r.stats;
  return {
    input: r.input,
    output: r.output,
    format: r.format,
    lines: s.lines,
    parsed: s.parsed,
    unmapped: unmappedTotal(s),
    blank: s.blank,
    header: s.header,
    bad: s.bad,
    events: r.events,
    ...(r.interrupted !== undefined ? { interrupted: r.interrupted } : {}),
    mergedMmioPairs: s.merged,
    unmappedEvents: s.unmapped,
    badLines: s.badSamples,
    timeBackwards: s.backwards,
    inputBytes: r.inputBytes,
    outputBytes: r.outputBytes,
    seconds: Number((r.elapsedMs / 1000).toFixed(3)),
  };
}

function describe(r: ImportResult): string {
  const s = r.stats;
  const lines = [
    `${r.input} (${r.format}) → ${r.output}`,
    `  ${fmtCount(s.lines)} lines: ${fmtCount(s.parsed)} parsed, ${fmtCount(unmappedTotal(s))} unmapped, ${fmtCount(s.blank)} blank, ${fmtCount(s.header)} header, ${fmtCount(s.bad)} bad`,
    `  ${fmtCount(r.events)} events (${fmtCount(s.merged)} MMIO accesses described twice were merged), ${fmtBytes(r.outputBytes)} in ${(r.elapsedMs / 1000).toFixed(2)} s`,
  ];
  const unm = Object.entries(s.unmapped).sort((a, b) => b[1] - a[1]);
  if (unm.length)
    lines.push(
      `  unmapped: ${unm
        .slice(0, 8)
        .map(([k, v]) => `${k} ${fmtCount(v)}`)
        .join(', ')}${unm.length > 8 ? ', …' : ''}`,
    );
  for (const b of s.badSamples) lines.push(`  bad line ${b.line}: ${b.reason}${b.text ? `: '${b.text}'` : ''}`);
  const back = s.backwards;
  if (back.lines) {
    const at = back.samples.map((x) => x.line).join(', ');
    lines.push(
      `  warning: time went backwards on ${fmtCount(back.lines)} line${back.lines === 1 ? '' : 's'} (largest step ${fmtNs(back.maxStepNs)} back, at line ${back.maxStepLine}; first at lines ${at}${back.lines > back.samples.length ? ', …' : ''}): their events keep the previous time`,
    );
  }
  return lines.join('\n') + '\n';
}

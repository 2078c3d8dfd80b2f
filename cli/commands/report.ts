// `bootscope report TRACE [OTHER] -o report.html`: one self-contained HTML file with d3-drawn
// SVG charts (phases, event density, latency histograms, findings, diff summary).

import type { Command } from 'commander';
import { Damage } from '../damage.ts';

export function registerReport(program: Command): void {
  program
    .command('report')
    .description('write a self-contained HTML report (d3 SVG charts; no network requests)')
    .argument('<trace>', 'trace file')
    .argument('[other]', 'second trace, for the diff summary')
    .option('-o, --output <file>', 'output HTML file', 'report.html')
    .option('-f, --force', 'replace the output file if it exists')
    .action(async (path: string, other: string | undefined, opts: { output: string; force?: boolean }) => {
      // Open first (a bad file is one line before anything is written), and check every chunk's
      // stored size and CRC: the report of a damaged trace is written, then the command fails.
      const damage = new Damage();
      for (const p of [path, other]) {
        if (!p) continue;
        const r = damage.open(p);
        try {
          r.checkStored();
        } finally {
          r.close();
        }
      }
      const { writeReport } = await import('../../tui/report.ts');
      await writeReport(other ? [path, other] : [path], opts.output, { overwrite: !!opts.force });
      process.stdout.write(`wrote ${opts.output}\n`);
      damage.raise();
    });
}

// `bootscope check TRACE [--rules id,glob…] [--json]`: spec findings grouped by severity;
// exits with status 2 when any error is found, so it can gate CI.

import { CommanderError, type Command } from 'commander';
import { Damage } from '../damage.ts';
import { check, formatCheck, selectRules } from '../../analyze/check.ts';
import { startProgress, terminalSafe, toJson } from '../output.ts';
import { UserError } from '../errors.ts';

export function registerCheck(program: Command): void {
  program
    .command('check')
    .description(
      'check a trace against the spec rules (PL011/SBSA, GIC, PSCI/SMCCC, Xen ABI, VM spec, arm64 boot protocol); exit 2 on errors',
    )
    .argument('<trace>', 'trace file')
    .option('--rules <list>', "rule ids, globs or families, comma-separated (e.g. 'gic.*,uart.tx-disabled,vm-spec')")
    .option('--json', 'print JSON')
    .action((path: string, opts: { rules?: string; json?: boolean }) => {
      let rules;
      try {
        rules = selectRules(opts.rules);
      } catch (err) {
        throw err instanceof Error && err.name === 'RuleSelectionError' ? new UserError(err.message) : err;
      }
      const damage = new Damage();
      const reader = damage.open(path);
      const progress = startProgress('checking', 'events', reader.eventCount);
      let result;
      try {
        result = check(reader, rules, { onProgress: (n) => progress.update(n), progressEvery: 250_000 });
      } finally {
        progress.stop();
        reader.close();
      }
      process.stdout.write(opts.json ? toJson({ trace: path, ...result }) + '\n' : terminalSafe(formatCheck(result)));
      damage.raise();
      if (result.counts.error > 0) throw new CommanderError(2, 'bootscope.check.errors', '');
    });
}

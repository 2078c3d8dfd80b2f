// `bootscope replay TRACE`: run a recorded emulator configuration again (same kernel file, hash
// checked) and report "identical" or the first divergent event.

import type { Command } from 'commander';
import { formatEventLine } from '../../capture/describe.ts';
import { replayTrace, type ReplayResult } from '../../emu/machine/replay.ts';
import { Damage } from '../damage.ts';
import { UserError } from '../errors.ts';
import { JIT_HELP, jitOption } from '../jit-option.ts';
import { fmtCount, toJson } from '../output.ts';
import { catchInterrupts } from '../signals.ts';

export function registerReplay(program: Command): void {
  program
    .command('replay')
    .description('re-run the configuration recorded in an emulator trace and compare the events')
    .argument('<trace>', 'trace recorded by `bootscope run`')
    .option('--kernel <file>', 'replay with this kernel instead of the recorded one (no hash check)')
    .option('--json', 'print the result as JSON')
    .option('-o, --output <trace>', 'also write the replayed run as a trace (e.g. for `bootscope diff RECORDED REPLAYED`)')
    .option('-f, --force', 'replace the --output file if it exists')
    .option('--jit [backend]', JIT_HELP)
    .option('--no-jit', 'interpreter only, no block compiler (slower; same events)')
    .action(async (trace: string, opts: { json?: boolean; kernel?: string; jit?: boolean | string; output?: string; force?: boolean }) => {
      const interrupts = catchInterrupts('the replay');
      // A damaged chunk's events cannot be compared: each is named as met, and the command fails.
      const damage = new Damage();
      let res: ReplayResult;
      try {
        res = await replayTrace(trace, {
          onProblem: damage.listener(trace),
          ...(opts.kernel !== undefined ? { kernel: opts.kernel } : {}),
          ...(opts.output !== undefined ? { output: opts.output, ...(opts.force ? { overwrite: true } : {}) } : {}),
          ...jitOption(opts.jit),
          interrupt: interrupts.reason,
        });
      } finally {
        interrupts.dispose();
      }
      if (opts.json) process.stdout.write(toJson(replaySummary(res)) + '\n');
      else process.stdout.write(renderReplay(res));
      damage.raise();
      if (res.interrupted !== undefined && res.identical) {
        process.exitCode = interrupts.exitCode() ?? 130;
        return;
      }
      if (!res.identical) throw new UserError(`replay: ${trace} diverged from the recorded run at event #${res.divergence!.seq}`);
    });
}

export function replaySummary(r: ReplayResult) {
  const d = r.divergence;
  return {
    identical: r.identical,
    compared: r.compared,
    recordedEvents: r.recordedEvents,
    ...(r.interrupted !== undefined ? { interrupted: r.interrupted } : {}),
    ...(d
      ? {
          divergence: {
            seq: d.seq,
            recorded: d.recorded ? formatEventLine(d.recorded) : null,
            replayed: d.replayed ? formatEventLine(d.replayed) : null,
          },
        }
      : {}),
    notes: r.notes,
  };
}

export function renderReplay(r: ReplayResult): string {
  const out: string[] = [];
  if (r.identical && r.interrupted !== undefined) {
    out.push(
      `interrupted by ${r.interrupted}: identical for the ${fmtCount(r.compared)} events replayed (of ${fmtCount(r.recordedEvents)} recorded); the rest was not compared`,
    );
  } else if (r.identical) {
    out.push(`identical (${fmtCount(r.compared)} events)`);
  } else {
    const d = r.divergence!;
    out.push(`diverged at event #${d.seq} (after ${fmtCount(r.compared)} identical events)`);
    out.push(`  recorded: ${d.recorded ? formatEventLine(d.recorded) : '(no more events: the trace ends here)'}`);
    out.push(`  replayed: ${d.replayed ? formatEventLine(d.replayed) : '(no more events: the new run ended here)'}`);
  }
  for (const n of r.notes) out.push(`note: ${n}`);
  return out.join('\n') + '\n';
}

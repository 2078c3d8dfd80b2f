// `bootscope diff A B`: two traces normalised to semantic events, aligned per vCPU, compared.

import type { Command } from 'commander';
import { basename } from 'node:path';
import type { TraceReader } from '../../capture/store/index.ts';
import { Damage } from '../damage.ts';
import { check } from '../../analyze/check.ts';
import { diffTraces, type DiffResult, type FindingLike } from '../../analyze/diff.ts';
import { renderDiff } from '../../analyze/diff-text.ts';
import { terminalSafe, toJson } from '../output.ts';

export function registerDiff(program: Command): void {
  program
    .command('diff')
    .description('compare two traces: devices by role, hypercalls by name, interrupts by role, aligned per vCPU')
    .argument('<a>', 'first trace')
    .argument('<b>', 'second trace')
    .option('--json', 'print the comparison as JSON')
    .option('--no-findings', 'do not run the spec checks on both traces')
    .action(async (a: string, b: string, opts: { json?: boolean; findings?: boolean }) => {
      const damage = new Damage();
      const result = await diffTraceFiles(a, b, { findings: opts.findings !== false, damage });
      process.stdout.write(opts.json ? toJson(result) + '\n' : terminalSafe(renderDiff(result)));
      damage.raise();
    });
}

/** A trace's findings, as diff compares them (rule and message). */
function findingsOf(reader: TraceReader): FindingLike[] {
  return check(reader).findings.map((f) => ({ rule: f.rule, message: f.message }));
}

/** Damaged chunks are reported on stderr and kept in `opts.damage` (raise it after printing). */
export async function diffTraceFiles(
  pathA: string,
  pathB: string,
  opts: { findings?: boolean; damage?: Damage } = {},
): Promise<DiffResult> {
  const damage = opts.damage ?? new Damage();
  const readers: TraceReader[] = [];
  try {
    const ra = damage.open(pathA);
    readers.push(ra);
    const rb = damage.open(pathB);
    readers.push(rb);
    const findings: [FindingLike[], FindingLike[]] | undefined = opts.findings ? [findingsOf(ra), findingsOf(rb)] : undefined;
    return diffTraces(ra, rb, { names: [basename(pathA), basename(pathB)], findings });
  } finally {
    for (const r of readers) r.close();
  }
}

export { renderDiff };

#!/usr/bin/env node
// The `bootscope` command. Subcommands live in cli/commands/; this file only wires them up
// and turns errors into one-line messages (stack traces only with --debug).

import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { reportError } from './errors.ts';
import { StdoutClosed } from './stdout.ts';
import { registerInfo } from './commands/info.ts';
import { registerEvents } from './commands/events.ts';
import { registerConsole } from './commands/console.ts';
import { registerSql } from './commands/sql.ts';
import { registerExport } from './commands/export.ts';
import { registerDemo } from './commands/demo.ts';
import { registerImport } from './commands/import.ts';
import { registerRun } from './commands/run.ts';
import { registerReplay } from './commands/replay.ts';
import { registerDebug } from './commands/debug.ts';
import { registerTui } from './commands/tui.ts';
import { registerReport } from './commands/report.ts';
import { registerPhases } from './commands/phases.ts';
import { registerLatency } from './commands/latency.ts';
import { registerExits } from './commands/exits.ts';
import { registerDiff } from './commands/diff.ts';
import { registerCheck } from './commands/check.ts';
import { registerExplain } from './commands/explain.ts';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

export function buildProgram(): Command {
  const program = new Command('bootscope')
    .description(
      'Record what an ARM64 VM guest does at the guest/hypervisor boundary while it boots ' +
        '(MMIO, interrupts, HVC/SMC hypercalls) into compressed SQLite traces, and analyze them.',
    )
    .version(pkg.version, '-V, --version', 'print the bootscope version')
    .option('--debug', 'show stack traces for errors')
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ sortSubcommands: false });
  registerDemo(program);
  registerInfo(program);
  registerEvents(program);
  registerConsole(program);
  registerSql(program);
  registerExport(program);
  registerImport(program);
  registerRun(program);
  registerReplay(program);
  registerDebug(program);
  registerTui(program);
  registerReport(program);
  registerPhases(program);
  registerLatency(program);
  registerExits(program);
  registerDiff(program);
  registerCheck(program);
  registerExplain(program);
  return program;
}

async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  program.exitOverride();
  const debug = argv.includes('--debug');
  try {
    await program.parseAsync(argv);
    // A command may end with a code of its own (130/143: interrupted by SIGINT/SIGTERM).
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode; // commander already printed it
    if (err instanceof StdoutClosed) return 0; // `bootscope events T | head`: the reader has what it wanted
    return reportError(err, debug);
  }
}

// EPIPE (e.g. `bootscope events t | head`) is not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

process.exitCode = await main(process.argv);

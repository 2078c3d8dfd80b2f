// `bootscope tui TRACE [OTHER]`: the terminal UI (screens: overview, timeline, events, findings,
// latency, console, diff). See docs/tui.md.

import module from 'node:module';
import type { Command } from 'commander';
import { UserError } from '../errors.ts';
import { describeProblem, openTrace } from '../../capture/store/index.ts';
import { Damage } from '../damage.ts';

export function registerTui(program: Command): void {
  program
    .command('tui')
    .description('browse a trace (or compare two) in an interactive terminal UI')
    .argument('<trace>', 'trace file')
    .argument('[other]', 'second trace, for the diff screen')
    .action(async (path: string, other: string | undefined) => {
      // Open first, so a bad file gives the store's one-line error before the screen changes.
      for (const p of [path, other]) if (p) openTrace(p).close();
      if (!process.stdin.isTTY) throw new UserError('tui needs an interactive terminal (stdin is not a TTY); try `bootscope report`');
      // Ink and React are most of the start-up time: keep their compiled code on disk.
      module.enableCompileCache?.();
      // Ink renders only its last frame when it sees a CI variable; a terminal is interactive
      // wherever it runs (CI jobs that drive the TUI under tmux included).
      delete process.env.CI;
      delete process.env.CONTINUOUS_INTEGRATION;
      const { runTui } = await import('../../tui/app.ts');
      const met = await runTui(other ? [path, other] : [path]);
      // The screen said DAMAGED while it was open; after it closes, the damage is named as every
      // reading command names it, and the exit status says the views were incomplete.
      const damage = new Damage();
      for (const { path: p, problems } of met) for (const problem of problems) damage.listener(p)(problem, describeProblem(p, problem));
      damage.raise();
    });
}

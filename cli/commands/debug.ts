// `bootscope debug TRACE --gdb [HOST:]PORT [--at '#SEQ'|TIME]`: replay a recorded emulator run
// under gdb's control, forwards and backwards (emu/gdb). The replay is compared with the
// recording all along; at the end the command says whether it was identical (a session that
// only looked at the guest always is) and, with -o, writes the replayed trace.

import type { Command } from 'commander';
import { openTrace } from '../../capture/store/index.ts';
import type { Recorder } from '../../capture/model.ts';
import { Comparator, prepareReplay } from '../../emu/machine/replay.ts';
import { parseVirtualTime } from '../../emu/input.ts';
import { runGuest, type RunResult } from '../../emu/run.ts';
import { GdbServer, RestartMachine } from '../../emu/gdb/server.ts';
import { GDB_SCRIPT } from '../../emu/gdb/gdb-script.ts';
import { UserError } from '../errors.ts';
import { checkOutput } from '../../capture/output.ts';
import { fmtCount } from '../output.ts';
import { catchInterrupts } from '../signals.ts';
import { formatEventLine } from '../../capture/describe.ts';

/** `--gdb [HOST:]PORT` → where to listen (localhost unless a host is given). */
export function parseGdbAddress(s: string): { host: string; port: number } {
  const m = /^(?:(.*):)?(\d{1,5})$/.exec(s.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new UserError(`--gdb: '${s}' is not [HOST:]PORT (e.g. 1234 or 0.0.0.0:1234)`);
  return { host: m[1] || '127.0.0.1', port };
}

interface DebugCliOptions {
  gdb?: string;
  at?: string;
  allowWrites?: boolean;
  output?: string;
  force?: boolean;
  snapshotEvery?: string;
  gdbScript?: boolean;
}

/** Instructions between snapshots by default: a reverse move re-executes at most this many. */
export const DEFAULT_SNAPSHOT_EVERY = 10_000_000;

export function registerDebug(program: Command): void {
  program
    .command('debug')
    .description('replay a recorded emulator run under gdb (GDB remote protocol): breakpoints, stepping, reverse execution, trace events')
    .argument('[trace]', 'trace recorded by `bootscope run`')
    .option('--gdb <[host:]port>', 'listen for gdb here (localhost unless a host is given)')
    .option('--at <#seq|time>', 'start at event #SEQ (before the instruction that caused it) or at a virtual time (e.g. 1500000, 2ms)')
    .option('--allow-writes', 'let gdb write guest memory and registers (the session then leaves the recording)')
    .option('-o, --output <trace>', 'write the replayed run as a trace (its digest equals the recording unless gdb wrote to the guest)')
    .option('-f, --force', 'replace the --output file if it exists')
    .option(
      '--snapshot-every <insns>',
      `instructions between machine snapshots, which reverse moves restore (default ${DEFAULT_SNAPSHOT_EVERY}; 0: none, replay from the start)`,
    )
    .option('--gdb-script', 'print gdb commands that make `monitor event N` refresh what gdb shows (gdb-multiarch -x FILE)')
    .action(async (trace: string | undefined, opts: DebugCliOptions) => {
      if (opts.gdbScript) {
        process.stdout.write(GDB_SCRIPT);
        return;
      }
      if (trace === undefined) throw new UserError('debug: a trace is required (bootscope debug TRACE --gdb PORT)');
      if (!opts.gdb) throw new UserError('debug: --gdb [HOST:]PORT is required (where gdb connects: target remote HOST:PORT)');
      const addr = parseGdbAddress(opts.gdb);
      // before listening: an output that cannot or may not be written fails the command at once
      if (opts.output !== undefined) checkOutput(opts.output, { overwrite: !!opts.force, inputs: [trace] });
      const reader = openTrace(trace);
      const interrupts = catchInterrupts('the debugging session');
      let server: GdbServer | undefined;
      try {
        const prep = prepareReplay(reader, trace, {
          ...(opts.output !== undefined ? { output: opts.output, ...(opts.force ? { overwrite: true } : {}) } : {}),
        });
        const at = parseAt(opts.at, prep.recordedEvents);
        const every = parseSnapshotEvery(opts.snapshotEvery);
        // the comparator follows the machine: a restored snapshot compares again from its event
        let cmp = prep.comparator();
        const compare: Recorder = { enabled: true, record: (ev) => cmp.record(ev) };
        const comparatorState = {
          save: () => ({ seq: cmp.seq, divergence: cmp.divergence }),
          restore: (st: unknown) => {
            const v = st as { seq: number; divergence: Comparator['divergence'] };
            cmp = new Comparator(reader.events({ fromSeq: v.seq }));
            cmp.seq = v.seq;
            cmp.divergence = v.divergence;
          },
        };
        server = await listenOrFail({
          ...addr,
          mode: 'debug',
          ...(opts.allowWrites ? { allowWrites: true } : {}),
          log: (l) => process.stderr.write(l + '\n'),
          interrupt: interrupts.reason,
          ...(every > 0
            ? {
                snapshots: {
                  every,
                  participants: [comparatorState],
                  ...(process.env.BOOTSCOPE_SNAPSHOT_CHECK === '1' ? { verify: true } : {}),
                },
              }
            : {}),
          trace: {
            count: prep.recordedEvents,
            event: (seq) => reader.event(seq),
            next: (seq, kind, device) => {
              for (const e of reader.events({ fromSeq: seq, kinds: [kind], ...(device ? { devices: [device] } : {}) })) return e;
              return undefined;
            },
          },
        });
        process.stderr.write(`gdb: waiting for gdb on ${addr.host}:${server.port} (target remote ${addr.host}:${server.port})\n`);
        if (at) server.startAt(at);
        const srv = server;
        let res: RunResult;
        for (;;) {
          cmp = prep.comparator();
          try {
            res = await runGuest({
              ...prep.cfg,
              recorder: both(compare, srv.target.recorder()),
              debugLoop: (m, step, state) => srv.drive(m, step, state),
            });
            break;
          } catch (e) {
            if (!(e instanceof RestartMachine)) throw e;
            // each fresh machine writes --output again, over what the one before left
            if (prep.cfg.output !== undefined) prep.cfg.overwrite = true;
          }
        }
        const ranToEnd = res.stop.kind !== 'stopped' && res.stop.kind !== 'interrupted';
        if (ranToEnd) cmp.finish();
        process.stderr.write(
          renderEnd(res, cmp.divergence ? formatDivergence(cmp.divergence) : undefined, cmp.seq, prep.recordedEvents, ranToEnd),
        );
        if (res.stop.kind === 'interrupted') process.exitCode = interrupts.exitCode() ?? 130;
      } finally {
        server?.close();
        interrupts.dispose();
        reader.close();
      }
    });
}

async function listenOrFail(o: Parameters<typeof GdbServer.listen>[0]): Promise<GdbServer> {
  try {
    return await GdbServer.listen(o);
  } catch (e) {
    throw new UserError((e as Error).message);
  }
}

function parseAt(at: string | undefined, count: number): { seq: number } | { time: number } | undefined {
  if (at === undefined) return undefined;
  if (at.startsWith('#')) {
    const seq = Number(at.slice(1));
    if (!Number.isInteger(seq) || seq < 0) throw new UserError(`--at: '${at}' is not an event (#SEQ, e.g. #1234)`);
    if (seq >= count) throw new UserError(`--at: the trace has ${count} events (#0 to #${count - 1}): no event ${at}`);
    return { seq };
  }
  const time = parseVirtualTime(at);
  if (time === undefined) throw new UserError(`--at: '${at}' is neither an event (#SEQ) nor a virtual time (e.g. 1500000, 2ms)`);
  return { time };
}

function parseSnapshotEvery(s: string | undefined): number {
  if (s === undefined) return DEFAULT_SNAPSHOT_EVERY;
  const n = Number(s.replace(/_/g, ''));
  if (!Number.isSafeInteger(n) || n < 0)
    throw new UserError(`--snapshot-every: '${s}' is not a number of instructions (e.g. 10000000; 0: no snapshots)`);
  return n;
}

function both(a: Recorder, b: Recorder): Recorder {
  return {
    enabled: true,
    record(ev) {
      a.record(ev);
      b.record(ev);
    },
  };
}

function formatDivergence(d: {
  seq: number;
  recorded?: Parameters<typeof formatEventLine>[0];
  replayed?: Parameters<typeof formatEventLine>[0];
}): string {
  return [
    `diverged from the recording at event #${d.seq}`,
    `  recorded: ${d.recorded ? formatEventLine(d.recorded) : '(no more events)'}`,
    `  replayed: ${d.replayed ? formatEventLine(d.replayed) : '(no more events)'}`,
  ].join('\n');
}

function renderEnd(res: RunResult, divergence: string | undefined, compared: number, recorded: number, ranToEnd: boolean): string {
  const lines = [`stopped       ${res.stop.message}`];
  if (divergence) lines.push(divergence);
  else if (ranToEnd) lines.push(`replay        identical to the recording (${fmtCount(compared)} events)`);
  else lines.push(`replay        identical for the ${fmtCount(compared)} events replayed (of ${fmtCount(recorded)} recorded)`);
  if (res.trace) lines.push(`trace         ${res.trace} ${res.digest ?? ''}`);
  return lines.join('\n') + '\n';
}

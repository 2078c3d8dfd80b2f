// `bootscope demo`: the README's main command. Builds a trace from a built-in boot and shows
// what bootscope sees in it. Today: the bundled real QEMU boot log (Debian's arm64 kernel on
// QEMU virt, GICv3, 2 vCPUs), imported through the store, then info, console and events.

import type { Command } from 'commander';
import { mkdirSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openTrace } from '../../capture/store/index.ts';
import { importFile } from '../../capture/import/index.ts';
import { formatEventLine } from '../../capture/describe.ts';
import { consoleLines } from '../../analyze/console.ts';
import { renderInfo } from './info.ts';
import { toJson } from '../output.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const DEMO_LOG = join(ROOT, 'test/fixtures/qemu/linux-gicv3-smp2.prefix.log.gz');

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('build a trace from a built-in boot (bundled QEMU boot log) and show what bootscope sees')
    .option('-o, --out <dir>', 'directory for the demo trace', 'bootscope-demo')
    .option('--json', 'print a machine-readable summary')
    .action(async (opts: { out: string; json?: boolean }) => {
      const dir = resolve(opts.out);
      mkdirSync(dir, { recursive: true });
      const log = join(dir, 'qemu-linux-boot.log');
      const trace = join(dir, 'qemu-linux-boot.trace');
      writeFileSync(log, gunzipSync(readFileSync(DEMO_LOG)));
      rmSync(trace, { force: true });
      const res = await importFile({ input: log, output: trace, format: 'qemu-log' });
      const reader = openTrace(trace);
      try {
        if (opts.json) {
          process.stdout.write(toJson({ trace, import: res.stats, info: reader.info() }) + '\n');
          return;
        }
        const say = (s = '') => process.stdout.write(s + '\n');
        say(`bootscope demo: imported ${res.stats.lines.toLocaleString('en-US')} lines of a real QEMU boot log into ${trace}`);
        say();
        say('== bootscope info ==');
        process.stdout.write(renderInfo(reader.info()));
        say();
        say('== bootscope console --times (first 12 lines) ==');
        let n = 0;
        for (const l of consoleLines(reader.events({ kinds: ['console'] }))) {
          if (n++ >= 12) break;
          say(`[${String(l.time).padStart(12)} #${l.seq}] ${l.text}`);
        }
        say();
        say('== bootscope events --kind hypercall,vcpu_state (PSCI as the guest used it) ==');
        n = 0;
        for (const e of reader.events({ kinds: ['hypercall', 'vcpu_state'] })) {
          if (n++ >= 8) break;
          say(formatEventLine(e));
        }
        say();
        say('== bootscope events --device pl011@9000000 --limit 8 ==');
        n = 0;
        for (const e of reader.events({ devices: ['pl011@9000000'] })) {
          if (n++ >= 8) break;
          say(formatEventLine(e));
        }
        say();
        say('Try next:');
        say(`  ./bootscope console ${trace}`);
        say(`  ./bootscope events ${trace} --kind irq_ack --limit 20`);
        say(`  ./bootscope sql ${trace} "SELECT device, register, count(*) n FROM events WHERE kind='mmio_read' GROUP BY 1,2 ORDER BY n DESC LIMIT 10"`);
      } finally {
        reader.close();
      }
    });
}

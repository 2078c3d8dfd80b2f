// `bootscope demo`: the README's main command. Records bootscope's built-in UART guest on the
// emulator as a KVM guest and as a Xen domU, imports a bundled real QEMU boot log of Debian's
// arm64 kernel, runs check, phases and diff, writes the HTML report, and opens the TUI on the
// kvm/xen pair — or, when stdout is not a terminal, prints the summaries instead.

import type { Command } from 'commander';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openTrace, type TraceReader } from '../../capture/store/index.ts';
import { importFile } from '../../capture/import/index.ts';
import { formatEventLine } from '../../capture/describe.ts';
import type { EventFilter } from '../../capture/model.ts';
import { consoleLines } from '../../analyze/console.ts';
import { runGuest } from '../../emu/run.ts';
import { check, formatCheck } from '../../analyze/check.ts';
import { renderInfo } from './info.ts';
import { phasesOfTrace, renderPhases } from './phases.ts';
import { diffTraceFiles, renderDiff } from './diff.ts';
import { startProgress, toJson } from '../output.ts';
import { fetchGuestsWithProgress } from '../inputs.ts';
import { UserError } from '../errors.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const DEMO_GUEST = join(ROOT, 'guests/bin/uart.bin');
export const DEMO_LOG = join(ROOT, 'test/fixtures/qemu/linux-gicv3-smp2.prefix.log.gz');

export interface DemoTraces {
  /** The built-in guest recorded on the emulator as a KVM guest of QEMU virt. */
  kvm: string;
  /** The same guest as a Xen 4.17 domU with the SBSA vUART. */
  xen: string;
  /** The bundled QEMU boot log, imported. */
  qemu: string;
  /**
   * Debian's pinned kernel under kvm and xen: from the disk initramfs onto the test disk to the
   * disk's /sbin/init (`disk` set), or, where the disk cannot be built, to the rootfs panic.
   */
  linux?: { kvm: string; xen: string; kernel: string; disk?: string };
  /** Why the test disk could not be built (then Linux boots to its rootfs panic). */
  diskUnavailable?: string;
  /** Why the kernel could not be fetched (then the demo shows the built-in guest only). */
  linuxUnavailable?: string;
}

/**
 * Debian's kernel as guests/inputs.lock pins it, fetched (once, cached) by scripts/fetch-guests.sh
 * with a progress bar on a terminal; the one-line reason when this machine cannot fetch it.
 */
async function pinnedKernel(): Promise<{ kernel: string; busybox?: string } | { reason: string }> {
  try {
    const { kernel, busybox } = await fetchGuestsWithProgress(['kernel', 'busybox']);
    return kernel ? { kernel, ...(busybox ? { busybox } : {}) } : { reason: 'scripts/fetch-guests.sh printed no kernel path' };
  } catch (e) {
    return { reason: e instanceof Error ? e.message : String(e) };
  }
}

/**
 * The test disk and its initramfs (scripts/make-test-disk.ts, run as a child: the script builds
 * with mke2fs, outside the CLI's layers), or the one-line reason they could not be made.
 */
function makeDisk(kernel: string, busybox: string, dir: string): Promise<{ disk: string; initramfs: string } | { reason: string }> {
  const script = join(ROOT, 'scripts/make-test-disk.ts');
  return new Promise((done) => {
    execFile(
      process.execPath,
      ['--disable-warning=ExperimentalWarning', script, kernel, busybox, dir],
      { encoding: 'utf8' },
      (err, out, errOut) => {
        const disk = /^disk (.*)$/m.exec(out)?.[1];
        const initramfs = /^disk-initramfs (.*)$/m.exec(out)?.[1];
        if (err || !disk || !initramfs)
          done({ reason: (errOut.trim().split('\n').pop() ?? '') || (err?.message ?? 'scripts/make-test-disk.ts printed no paths') });
        else done({ disk, initramfs });
      },
    );
  });
}

/**
 * Boots the kernel on one personality (progress on a terminal): with the test disk, from the
 * initramfs to the disk's /sbin/init, which powers off; without, to the rootfs panic.
 */
async function recordLinux(
  kernel: string,
  machine: 'kvm' | 'xen',
  output: string,
  disk?: { disk: string; initramfs: string },
): Promise<void> {
  const progress = startProgress(`booting Linux (${machine})`, 'instructions', disk ? 1_050_000_000 : 900_000_000);
  try {
    await runGuest({
      kernel,
      machine,
      gic: 3,
      smp: 2,
      memBytes: 256 << 20,
      output,
      overwrite: true,
      append: machine === 'kvm' ? 'console=ttyAMA0 earlycon=pl011,0x9000000' : 'console=hvc0',
      maxInsns: 1_500_000_000,
      ...(disk ? { initrd: disk.initramfs, disks: [{ file: disk.disk, mode: 'cow' as const }] } : { stopOn: 'end Kernel panic' }),
      onProgress: (n) => progress.update(n),
    });
  } finally {
    progress.stop();
  }
}

/** Builds the demo traces in `dir` (replacing earlier ones). */
export async function buildDemoTraces(dir: string): Promise<DemoTraces> {
  if (existsSync(dir) && !statSync(dir).isDirectory())
    throw new UserError(`${dir}: exists and is not a directory (the demo writes its traces into a directory)`);
  mkdirSync(dir, { recursive: true });
  const kvm = join(dir, 'uart-guest-kvm.trace');
  await runGuest({ kernel: DEMO_GUEST, machine: 'kvm', gic: 3, smp: 1, memBytes: 128 << 20, output: kvm, overwrite: true });
  const xen = join(dir, 'uart-guest-xen.trace');
  await runGuest({ kernel: DEMO_GUEST, machine: 'xen', vuart: 'sbsa', gic: 3, smp: 1, memBytes: 128 << 20, output: xen, overwrite: true });
  const log = join(dir, 'qemu-linux-boot.log');
  const qemu = join(dir, 'qemu-linux-boot.trace');
  writeFileSync(log, gunzipSync(readFileSync(DEMO_LOG)));
  await importFile({ input: log, output: qemu, format: 'qemu-log', overwrite: true });
  const pinned = await pinnedKernel();
  if ('reason' in pinned) return { kvm, xen, qemu, linuxUnavailable: pinned.reason };
  const { kernel } = pinned;
  const made = pinned.busybox ? await makeDisk(kernel, pinned.busybox, dir) : { reason: 'scripts/fetch-guests.sh printed no busybox path' };
  const disk = 'disk' in made ? made : undefined;
  const linux = { kvm: join(dir, 'linux-kvm.trace'), xen: join(dir, 'linux-xen.trace'), kernel, ...(disk ? { disk: disk.disk } : {}) };
  await recordLinux(kernel, 'kvm', linux.kvm, disk);
  await recordLinux(kernel, 'xen', linux.xen, disk);
  return { kvm, xen, qemu, linux, ...('reason' in made ? { diskUnavailable: made.reason } : {}) };
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('record the built-in guest on the emulator, import a bundled real QEMU boot, and show what bootscope sees')
    .option('-o, --out <dir>', 'directory for the demo traces', 'bootscope-demo')
    .option('--json', 'print a machine-readable summary')
    .option('--no-tui', 'print the summaries even on a terminal')
    .action(async (opts: { out: string; json?: boolean; tui: boolean }) => {
      const dir = resolve(opts.out);
      const traces = await buildDemoTraces(dir);
      const report = join(dir, 'report.html');
      const pair = traces.linux ? [traces.linux.kvm, traces.linux.xen] : [traces.kvm, traces.xen];
      // Loaded on use: the report shares helpers with the TUI, and ink must not load before `tui` runs.
      const { writeReport } = await import('../../tui/report.ts');
      await writeReport(pair, report, { overwrite: true }); // the demo's own file, from its last run
      if (opts.json) {
        const info = (p: string) => withTrace(p, (r) => r.info());
        const findings = (p: string) => withTrace(p, (r) => check(r));
        process.stdout.write(
          toJson({
            traces,
            report,
            kvm: info(traces.kvm),
            xen: info(traces.xen),
            qemu: info(traces.qemu),
            check: { kvm: findings(traces.kvm), xen: findings(traces.xen), qemu: findings(traces.qemu) },
            phases: { qemu: phasesOfTrace(traces.qemu) },
            diff: await diffTraceFiles(pair[0]!, pair[1]!),
          }) + '\n',
        );
        return;
      }
      if (opts.tui && process.stdout.isTTY && process.stdin.isTTY) {
        if (traces.linuxUnavailable) say(unavailableLine(traces.linuxUnavailable));
        say(`bootscope demo: traces in ${dir}, report in ${report}; opening the TUI on the kvm/xen pair (? for help, q to quit)`);
        const { runTui } = await import('../../tui/app.ts');
        await runTui(pair);
        say(`Traces: ${traces.kvm}, ${traces.xen}, ${traces.qemu}. Report: ${report}`);
        return;
      }
      await printSummaries(traces, report);
    });
}

async function printSummaries(traces: DemoTraces, report: string): Promise<void> {
  showTrace('the built-in UART guest (guests/bin/uart.bin), recorded on the emulator as a KVM guest of QEMU virt', traces.kvm, [
    { kinds: ['hypercall', 'vcpu_state'] },
    { kinds: ['irq_line', 'irq_deliver', 'irq_ack', 'irq_eoi', 'irq_deactivate'] },
  ]);
  showTrace('the same guest as a Xen 4.17 domU with the SBSA vUART at 0x22000000', traces.xen, [
    { kinds: ['mmio_read', 'mmio_write'], devices: ['sbsa-uart@22000000'] },
  ]);
  showTrace("a real QEMU 7.2 boot log of Debian's arm64 kernel (GICv3, 2 vCPUs), imported", traces.qemu, [
    { kinds: ['irq_ack', 'irq_eoi'] },
  ]);
  for (const [name, path] of [
    ['kvm', traces.kvm],
    ['xen', traces.xen],
    ['QEMU import', traces.qemu],
  ] as const) {
    say(`$ bootscope check ${path}    (${name})`);
    process.stdout.write(withTrace(path, (r) => formatCheck(check(r))));
    say();
  }
  say(`$ bootscope phases ${traces.qemu}`);
  process.stdout.write(renderPhases(phasesOfTrace(traces.qemu)));
  say();
  say(`$ bootscope diff ${traces.kvm} ${traces.xen}`);
  process.stdout.write(renderDiff(await diffTraceFiles(traces.kvm, traces.xen)));
  say();
  if (traces.linux) {
    const { kvm, xen, kernel, disk } = traces.linux;
    if (disk)
      say(
        `━━ Debian's kernel (${kernel}) booted from its initramfs onto ${disk} (virtio-blk on kvm, a Xen PV disk on xen) to the disk's /sbin/init, as a KVM guest and as a Xen domU`,
      );
    else
      say(
        `━━ Debian's kernel (${kernel}) booted to its rootfs panic as a KVM guest and as a Xen domU (the test disk could not be made: ${traces.diskUnavailable ?? 'unknown'})`,
      );
    say();
    say(`$ bootscope phases ${kvm}`);
    process.stdout.write(renderPhases(phasesOfTrace(kvm)));
    say();
    say(`$ bootscope diff ${kvm} ${xen}`);
    process.stdout.write(renderDiff(await diffTraceFiles(kvm, xen)));
    say();
  } else if (traces.linuxUnavailable) {
    say(unavailableLine(traces.linuxUnavailable));
  }
  say(`Report (phases, event density, latency, findings, diff): ${report}`);
  say('Try next:');
  say(`  ./bootscope tui ${traces.kvm} ${traces.xen}`);
  say(`  ./bootscope explain uart ${traces.xen}`);
  say(`  ./bootscope latency ${traces.qemu}`);
  say(
    `  ./bootscope sql ${traces.qemu} "SELECT device, register, count(*) n FROM events WHERE kind='mmio_read' GROUP BY 1,2 ORDER BY n DESC LIMIT 10"`,
  );
}

const say = (s = '') => process.stdout.write(s + '\n');

const unavailableLine = (reason: string) => `(Debian's kernel could not be fetched, so only the built-in guest ran: ${reason})`;

function withTrace<T>(path: string, fn: (r: TraceReader) => T): T {
  const r = openTrace(path);
  try {
    return fn(r);
  } finally {
    r.close();
  }
}

function showTrace(title: string, path: string, samples: EventFilter[]): void {
  withTrace(path, (reader) => {
    say(`━━ ${title}`);
    say();
    say(`$ bootscope info ${path}`);
    process.stdout.write(renderInfo(reader.info()));
    say();
    say(`$ bootscope console ${path} --times   (first 10 lines)`);
    let n = 0;
    for (const l of consoleLines(reader.events({ kinds: ['console'] }))) {
      if (n++ >= 10) break;
      say(`[${String(l.time).padStart(12)} #${l.seq}] ${l.text}`);
    }
    for (const f of samples) {
      say();
      say(`$ bootscope events ${path} ${filterFlags(f)} --limit 6`);
      n = 0;
      for (const e of reader.events(f)) {
        if (n++ >= 6) break;
        say(formatEventLine(e));
      }
    }
    say();
  });
}

function filterFlags(f: EventFilter): string {
  const parts: string[] = [];
  if (f.kinds) parts.push(`--kind ${f.kinds.join(',')}`);
  if (f.devices) parts.push(`--device ${f.devices.join(',')}`);
  return parts.join(' ');
}

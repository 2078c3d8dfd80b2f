// `bootscope run --machine kvm --kernel FILE [...] -o TRACE`: boot a guest on the emulator and
// record everything it does at the guest/hypervisor boundary. The guest console goes to stdout
// as it runs (or into the JSON summary with --json); progress and the summary go to stderr.

import cliProgress from 'cli-progress';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { InputFormatError, parseInputFile, parseVirtualTime, ScheduledInput, TerminalInput, type GuestInput } from '../../emu/input.ts';
import { Option, type Command } from 'commander';
import { runGuest, type RunResult } from '../../emu/run.ts';
import { UserError } from '../errors.ts';
import { JIT_HELP, jitOption } from '../jit-option.ts';
import { fmtCount, fmtNs, toJson } from '../output.ts';
import { timeToNs } from '../../capture/model.ts';
import { applyDiskFault, parseDiskOption } from '../../emu/storage/disk.ts';
import { parseNicOption } from '../../emu/net/nic.ts';
import { checkOutput, errnoText } from '../../capture/output.ts';
import { catchInterrupts } from '../signals.ts';
import { GdbServer } from '../../emu/gdb/server.ts';
import { parseGdbAddress } from './debug.ts';

const collect = (v: string, prev: string[]): string[] => [...prev, v];

interface RunCliOptions {
  machine: string;
  kernel?: string;
  dtb: string;
  append?: string;
  initrd?: string;
  smp: string;
  mem: string;
  gic: string;
  vuart?: string | false;
  uartDt?: string;
  xenToolstack?: string;
  maxInsns?: string;
  quantum?: string;
  output?: string;
  force?: boolean;
  json?: boolean;
  input?: string;
  interactive?: boolean;
  stopOn?: string;
  shutdownAfter?: string;
  jit?: boolean | string;
  fpsimd?: boolean;
  disk: string[];
  diskFault: string[];
  nic: string[];
  console?: string;
  its?: string;
  bios?: string;
  efiVars?: string;
  acpi?: string;
  acpiTable: string[];
  acpiTableUnchecked: string[];
  acpiSpcr?: string;
  gdb?: string;
}

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1 << 10, m: 1 << 20, g: 1 << 30 };

/** "512M", "1G", "128MiB", "65536" → bytes. */
export function parseSize(s: string): number {
  const m = /^(\d+)\s*([kmg]?)(i?b)?$/i.exec(s.trim());
  if (!m) throw new UserError(`--mem: cannot read '${s}' as a size (e.g. 512M, 1G)`);
  return Number(m[1]) * SIZE_UNITS[m[2]!.toLowerCase()]!;
}

/** Positive integer option; accepts 1e9 and 1_000_000 forms. */
export function parseCount(name: string, s: string): number {
  const n = Number(s.replace(/_/g, ''));
  if (!Number.isFinite(n) || n <= 0 || !Number.isInteger(n)) throw new UserError(`${name}: '${s}' is not a positive integer`);
  return n;
}

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('boot a guest on the emulator and record what it does at the guest/hypervisor boundary')
    .option('--machine <name>', 'hypervisor personality: kvm (QEMU virt under KVM) or xen (a Xen 4.17 domU)', 'kvm')
    .option('--kernel <file>', 'guest image: arm64 Linux Image, ELF or raw binary')
    .option('--dtb <auto|file>', "device tree: 'auto' generates QEMU virt's, or give a DTB file", 'auto')
    .option('--append <cmdline>', 'kernel command line (bootargs in the generated DTB)')
    .option('--initrd <file>', 'initial ramdisk')
    .option('--smp <n>', 'number of vCPUs', '1')
    .option('--mem <size>', 'guest RAM at 0x40000000', '512M')
    .option('--gic <2|3>', 'GIC version (xen: GICv2 at 0x03001000 or GICv3 with redistributors at 0x03020000)', '3')
    .option(
      '--xen-toolstack <xl|dom0less>',
      "xen: who built the domain: xl (libxl's DT, xenstore and PV devices; the default) or dom0less (Xen's own builder: its DT, no xenstore, console_io as the console)",
    )
    .option('--vuart <sbsa>', 'xen: add the SBSA vUART at 0x22000000 (xl vuart = "sbsa_uart", Xen\'s vpl011)')
    .option('--no-vuart', 'xen: no vUART (the default; console via the PV console or console_io)')
    .option(
      '--uart-dt <sbsa|pl011>',
      'xen: describe the vUART as arm,sbsa-uart (libxl) or as arm,pl011 + arm,primecell (hand-written DTs: ID registers read 0)',
    )
    .option('--max-insns <n>', 'stop after this many instructions')
    .option('--quantum <n>', 'scheduler slice in instructions (changes SMP interleaving)')
    .option('-o, --output <trace>', 'trace file to write')
    .option('-f, --force', 'replace the trace file if it exists')
    .option('--json', 'print a JSON summary (with the console) on stdout instead of the live console')
    .option('--input <file>', "bytes for the guest's UART: '@<time> <text>' lines (docs/real-guests.md) or raw bytes")
    .option('--stop-on <text>', 'stop the run once the guest console has printed this text (e.g. "end Kernel panic")')
    .option(
      '--shutdown-after <time>',
      'xen: at this virtual time the toolstack asks the guest to power off (xl shutdown: control/shutdown = poweroff); instructions, or 250ms, 1.5s',
    )
    .option('--fpsimd', 'FP/SIMD in the vCPUs (the default; userspace such as busybox needs it)')
    .option(
      '--no-fpsimd',
      'model a CPU without FP/SIMD: ID registers say absent, FP/SIMD instructions are UNDEFINED (recorded in the trace)',
    )
    .option('--jit [backend]', JIT_HELP)
    .option('--no-jit', 'interpreter only, no block compiler (slower; same trace)')
    .option('--interactive', 'type into the guest UART from the terminal (Ctrl-A x stops the run)')
    .option(
      '--disk <file[,ro|,rw]>',
      'raw disk image (repeatable): virtio-blk on kvm, a Xen virtual disk on xen; the file is never written (guest writes go to an overlay) unless ,rw; ,ro: the guest sees a read-only disk',
      collect,
      [] as string[],
    )
    .option(
      '--disk-fault <fault>',
      "make a disk fail on purpose (repeatable), to reproduce a broken disk or VMM: '[N:]eio@FIRST[-LAST]' completes reads and writes touching those sectors with an I/O error; '[N:]refuse' makes the device refuse the driver (virtio-blk clears FEATURES_OK, blkback never goes Connected); N is the --disk (0 by default)",
      collect,
      [] as string[],
    )
    // preset(''): a bare --nic still goes through the collector (commander would store `true`).
    .addOption(
      new Option(
        '--nic [mac=xx:xx:xx:xx:xx:xx]',
        'network interface (repeatable): virtio-net on kvm, a Xen vif on xen; frames the guest sends are recorded, none come in',
      )
        .preset('')
        .argParser(collect)
        .default([] as string[]),
    )
    .option('--console <uart|virtio>', "kvm: 'virtio' adds a virtio-console (hvc0) to the PL011")
    .option('--its <on|off>', 'kvm with GICv3: the ITS for PCI MSI-X (on, as QEMU virt) or INTx only (off)')
    .option(
      '--bios <file>',
      "kvm: UEFI firmware for flash bank 0, run from the reset vector (e.g. EDK2's QEMU_EFI.fd); the kernel goes through fw_cfg",
    )
    .option(
      '--efi-vars <file>',
      'kvm with --bios: the UEFI variable store for flash bank 1 (64 MiB; never written: the guest writes a copy)',
    )
    .option(
      '--acpi <on|off>',
      'kvm with --bios: give the firmware ACPI tables as QEMU 7.2 builds them (on, the default) or only the DT (off)',
    )
    .option(
      '--acpi-table <file>',
      "kvm with --bios: an ACPI table that replaces the machine's of the same signature or is added (repeatable)",
      collect,
      [] as string[],
    )
    .option(
      '--acpi-table-unchecked <file>',
      'kvm with --bios: like --acpi-table, but given exactly as it is (wrong length or checksum kept) to reproduce a firmware bug (repeatable)',
      collect,
      [] as string[],
    )
    .option('--acpi-spcr <on|off>', 'kvm with --bios: off leaves the SPCR table out (no console from the firmware tables)')
    .option('--gdb <[host:]port>', 'serve gdb (GDB remote protocol) here; the guest waits at its first instruction (docs/gdb.md)')
    .action(async (opts: RunCliOptions) => {
      if (opts.machine !== 'kvm' && opts.machine !== 'xen')
        throw new UserError(`--machine: unknown machine '${opts.machine}' (available: kvm, xen)`);
      const xen = xenSwitches(opts);
      if (!opts.kernel) throw new UserError('run: --kernel FILE is required');
      if (!opts.output) throw new UserError('run: -o TRACE is required');
      if (opts.gic !== '2' && opts.gic !== '3') throw new UserError(`--gic must be 2 or 3, not '${opts.gic}'`);
      const smp = parseCount('--smp', opts.smp);
      const maxInsns = opts.maxInsns !== undefined ? parseCount('--max-insns', opts.maxInsns) : undefined;
      const quantum = opts.quantum !== undefined ? parseCount('--quantum', opts.quantum) : undefined;
      const shutdownAfter = shutdownTime(opts);
      const disks = opts.disk.map(parseDiskOption);
      for (const f of opts.diskFault) applyDiskFault(disks, f);
      checkOutput(opts.output, {
        overwrite: !!opts.force,
        inputs: [
          opts.kernel,
          opts.dtb === 'auto' ? undefined : opts.dtb,
          opts.initrd,
          opts.input,
          opts.bios,
          opts.efiVars,
          ...opts.acpiTable,
          ...opts.acpiTableUnchecked,
          ...disks.map((d) => d.file),
        ],
      });
      const json = !!opts.json;
      if (opts.console !== undefined && opts.console !== 'uart' && opts.console !== 'virtio')
        throw new UserError(`--console must be uart or virtio, not '${opts.console}'`);
      const consoleKind = opts.console as 'uart' | 'virtio' | undefined;
      if (opts.its !== undefined && opts.its !== 'on' && opts.its !== 'off')
        throw new UserError(`--its must be on or off, not '${opts.its}'`);
      const fw = firmwareSwitches(opts);
      const { input, inputInfo } = openInput(opts);
      const bar = input?.live ? { update() {}, stop() {} } : startBar();
      const out = liveConsole(!json);
      const interrupts = catchInterrupts('the guest');
      const gdb = opts.gdb !== undefined ? await startGdb(opts.gdb, interrupts.reason) : undefined;
      let res: RunResult;
      try {
        res = await runGuest({
          machine: opts.machine,
          ...xen,
          kernel: opts.kernel,
          dtb: opts.dtb,
          ...(opts.append !== undefined ? { append: opts.append } : {}),
          ...(opts.initrd !== undefined ? { initrd: opts.initrd } : {}),
          smp,
          memBytes: parseSize(opts.mem),
          gic: Number(opts.gic) as 2 | 3,
          ...(maxInsns !== undefined ? { maxInsns } : {}),
          ...(quantum !== undefined ? { quantum } : {}),
          output: opts.output,
          ...(opts.force ? { overwrite: true } : {}),
          ...(opts.input !== undefined ? { inputs: [opts.input] } : {}),
          interrupt: interrupts.reason,
          ...(input ? { input, inputInfo: inputInfo! } : {}),
          ...(opts.stopOn !== undefined ? { stopOn: opts.stopOn } : {}),
          ...(shutdownAfter !== undefined ? { shutdownAfter } : {}),
          ...jitOption(opts.jit),
          ...(opts.fpsimd === false ? { fpsimd: false } : {}),
          ...(disks.length ? { disks } : {}),
          ...(opts.nic.length ? { nics: opts.nic.map(parseNicOption) } : {}),
          ...(consoleKind !== undefined ? { console: consoleKind } : {}),
          ...(opts.its !== undefined ? { its: opts.its === 'on' } : {}),
          ...fw,
          ...(gdb ? { debugLoop: (m, step) => gdb.drive(m, step), recorder: gdb.target.recorder() } : {}),
          onConsole: out.byte,
          onProgress: (n) => {
            out.flush();
            bar.update(n);
          },
        });
      } finally {
        out.flush();
        bar.stop();
        interrupts.dispose();
        gdb?.close();
      }
      if (json) process.stdout.write(toJson(runSummary(res)) + '\n');
      else process.stderr.write(renderRunSummary(res));
      if (res.stop.kind === 'interrupted') process.exitCode = interrupts.exitCode() ?? 130;
    });
}

/** --gdb [HOST:]PORT: listen before the guest is built (a port in use fails the command at once). */
async function startGdb(where: string, interrupt: () => string | undefined): Promise<GdbServer> {
  const addr = parseGdbAddress(where);
  let srv: GdbServer;
  try {
    srv = await GdbServer.listen({ ...addr, mode: 'run', log: (l) => process.stderr.write(l + '\n'), interrupt });
  } catch (e) {
    throw new UserError((e as Error).message);
  }
  process.stderr.write(
    `gdb: the guest waits at its first instruction for gdb on ${addr.host}:${srv.port} (target remote ${addr.host}:${srv.port})\n`,
  );
  return srv;
}

/** --input FILE / --interactive → the run's input source and what the trace says about it. */
function openInput(opts: RunCliOptions): { input?: GuestInput; inputInfo?: Record<string, unknown> } {
  if (opts.input !== undefined && opts.interactive) throw new UserError('run: use --input FILE or --interactive, not both');
  if (opts.interactive) {
    if (!process.stdin.isTTY) throw new UserError('run: --interactive needs a terminal on stdin (use --input FILE otherwise)');
    return { input: new TerminalInput(), inputInfo: { interactive: true } };
  }
  if (opts.input === undefined) return {};
  let data: Buffer;
  try {
    data = readFileSync(opts.input);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new UserError(`${opts.input}: input file not found`);
    throw new UserError(`${opts.input}: cannot read the input file: ${errnoText(err)}`);
  }
  try {
    const steps = parseInputFile(data, opts.input);
    return {
      input: new ScheduledInput(steps),
      inputInfo: { file: path.resolve(opts.input), sha256: createHash('sha256').update(data).digest('hex'), steps: steps.length },
    };
  } catch (err) {
    if (err instanceof InputFormatError) throw new UserError(err.message);
    throw err;
  }
}

/** --bios / --efi-vars / --acpi, checked: the last two only mean something with firmware. */
function firmwareSwitches(opts: RunCliOptions): { bios?: string; efiVars?: string; acpi?: boolean } {
  if (opts.acpi !== undefined && opts.acpi !== 'on' && opts.acpi !== 'off')
    throw new UserError(`--acpi must be on or off, not '${opts.acpi}'`);
  if (opts.acpiSpcr !== undefined && opts.acpiSpcr !== 'on' && opts.acpiSpcr !== 'off')
    throw new UserError(`--acpi-spcr must be on or off, not '${opts.acpiSpcr}'`);
  if (opts.bios === undefined) {
    if (opts.efiVars !== undefined) throw new UserError('--efi-vars is the variable store of UEFI firmware: it needs --bios');
    if (opts.acpi !== undefined) throw new UserError('--acpi says what the firmware gives the OS: it needs --bios');
    const shaping = opts.acpiTable.length
      ? '--acpi-table'
      : opts.acpiTableUnchecked.length
        ? '--acpi-table-unchecked'
        : opts.acpiSpcr !== undefined
          ? '--acpi-spcr'
          : undefined;
    if (shaping) throw new UserError(`${shaping} shapes the ACPI tables the firmware gives the OS: it needs --bios`);
    return {};
  }
  if (opts.machine !== 'kvm') throw new UserError('--bios loads firmware into the flash of the kvm machine (--machine kvm)');
  return {
    bios: opts.bios,
    ...(opts.efiVars !== undefined ? { efiVars: opts.efiVars } : {}),
    ...(opts.acpi !== undefined ? { acpi: opts.acpi === 'on' } : {}),
    ...(opts.acpiTable.length ? { acpiTables: opts.acpiTable } : {}),
    ...(opts.acpiTableUnchecked.length ? { acpiTablesUnchecked: opts.acpiTableUnchecked } : {}),
    ...(opts.acpiSpcr !== undefined ? { acpiSpcr: opts.acpiSpcr === 'on' } : {}),
  };
}

/** --shutdown-after TIME, checked: a virtual time, and only the Xen toolstack can ask. */
function shutdownTime(opts: RunCliOptions): number | undefined {
  if (opts.shutdownAfter === undefined) return undefined;
  if (opts.machine !== 'xen') throw new UserError('--shutdown-after asks the Xen toolstack to shut the guest down: it needs --machine xen');
  const t = parseVirtualTime(opts.shutdownAfter);
  if (t === undefined)
    throw new UserError(`--shutdown-after: '${opts.shutdownAfter}' is not a virtual time (an instruction count, or e.g. 250ms, 1.5s)`);
  return t;
}

/** --vuart / --no-vuart / --uart-dt, checked: they model Xen's vUART, so they need --machine xen. */
function xenSwitches(opts: RunCliOptions): { vuart?: 'sbsa' | 'none'; uartDt?: 'sbsa' | 'pl011'; xenToolstack?: 'xl' | 'dom0less' } {
  const out: { vuart?: 'sbsa' | 'none'; uartDt?: 'sbsa' | 'pl011'; xenToolstack?: 'xl' | 'dom0less' } = {};
  if (opts.xenToolstack !== undefined) {
    if (opts.xenToolstack !== 'xl' && opts.xenToolstack !== 'dom0less')
      throw new UserError(`--xen-toolstack must be xl or dom0less, not '${opts.xenToolstack}'`);
    if (opts.machine !== 'xen') throw new UserError('--xen-toolstack says who built the Xen domain: it needs --machine xen');
    out.xenToolstack = opts.xenToolstack;
  }
  if (opts.vuart !== undefined) {
    if (opts.vuart !== false && opts.vuart !== 'sbsa') throw new UserError(`--vuart: unknown vUART '${opts.vuart}' (available: sbsa)`);
    out.vuart = opts.vuart === false ? 'none' : 'sbsa';
  }
  if (opts.uartDt !== undefined) {
    if (opts.uartDt !== 'sbsa' && opts.uartDt !== 'pl011') throw new UserError(`--uart-dt must be sbsa or pl011, not '${opts.uartDt}'`);
    out.uartDt = opts.uartDt;
  }
  if (opts.machine !== 'xen' && (out.vuart !== undefined || out.uartDt !== undefined)) {
    throw new UserError(
      `${out.uartDt !== undefined ? '--uart-dt' : out.vuart === 'none' ? '--no-vuart' : '--vuart'} models Xen's vUART: it needs --machine xen`,
    );
  }
  if (out.vuart === 'none' && out.uartDt !== undefined)
    throw new UserError(`--uart-dt ${out.uartDt} describes the vUART, which --no-vuart removes`);
  return out;
}

/** The summary `run --json` prints. */
export function runSummary(r: RunResult) {
  return {
    trace: r.trace,
    stop: r.stop.kind,
    stopMessage: r.stop.message,
    instructions: r.executed,
    virtualTime: r.virtualTime,
    virtualTimeNs: timeToNs(r.virtualTime, r.clock),
    skipped: r.skipped,
    events: r.events,
    digest: r.digest,
    image: r.imageKind,
    entry: r.entry,
    dtbAddr: r.dtbAddr,
    hashes: r.hashes,
    config: r.source.config,
    seconds: Number((r.wallMs / 1000).toFixed(3)),
    mips: Number((r.executed / r.wallMs / 1000).toFixed(2)),
    console: Buffer.from(r.console).toString('latin1'),
  };
}

export function renderRunSummary(r: RunResult): string {
  const lines = [
    '',
    `stopped       ${r.stop.message}`,
    `instructions  ${fmtCount(r.executed)} (${(r.executed / r.wallMs / 1000).toFixed(1)} MIPS, ${(r.wallMs / 1000).toFixed(2)} s)`,
    `virtual time  ${fmtCount(r.virtualTime)} (${fmtNs(timeToNs(r.virtualTime, r.clock))}; ${fmtCount(r.skipped)} skipped while idle)`,
    `events        ${fmtCount(r.events)}`,
    `trace         ${r.trace ?? '(none)'}${r.digest ? ` ${r.digest}` : ''}`,
  ];
  return lines.join('\n') + '\n';
}

/** Guest console bytes to stdout, batched (one write per slice batch, not per byte). */
function liveConsole(enabled: boolean): { byte: (b: number) => void; flush: () => void } {
  let buf: number[] = [];
  const flush = (): void => {
    if (buf.length && enabled) process.stdout.write(Buffer.from(buf));
    buf = [];
  };
  return {
    byte: (b) => {
      if (!enabled) return;
      buf.push(b);
      if (b === 10 || buf.length >= 4096) flush();
    },
    flush,
  };
}

function startBar(): { update(n: number): void; stop(): void } {
  if (!process.stderr.isTTY) return { update() {}, stop() {} };
  const t0 = performance.now();
  const bar = new cliProgress.SingleBar(
    {
      format: 'emulating | {value} instructions | {mips} MIPS',
      stream: process.stderr,
      fps: 5,
      clearOnComplete: true,
      formatValue: (v) => fmtCount(v),
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(0, 0, { mips: '0' });
  return {
    update(n) {
      bar.update(n, { mips: (n / (performance.now() - t0) / 1000).toFixed(1) });
    },
    stop() {
      bar.stop();
    },
  };
}

// runGuest(): build a machine, load a guest, run it to the end and write the trace. Used by
// `bootscope run`, `bootscope replay`, the tests and the benchmark.

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { ClockInfo, NewEvent, TraceSource } from '../capture/model.ts';
import { createTrace, type TraceWriter } from '../capture/store/index.ts';
import { dtbMeta } from '../capture/dtb-meta.ts';
import { checkOutput, errnoText } from '../capture/output.ts';
import { COUNTER_HZ, INSTRUCTIONS_PER_SECOND, Machine, type MachineConfig } from './machine/index.ts';
import { bootGuest, GuestImageError, loadGuest, type BootInfo } from './machine/load.ts';
import { checkFirmwareImage, checkVarsImage, firmwareFwCfg, firmwareKernel, loadFirmwareBoot } from './machine/firmware.ts';
import { PFLASH_BANK_SIZE } from './devices/pflash.ts';
import { virtAffinity, type KvmFirmware } from './personality/kvm.ts';
import { AcpiTableError, acpiFiles, buildTables, checkUserTable, uncheckedUserTable } from './acpi/loader.ts';
import { smbiosFiles } from './machine/smbios.ts';
import type { GuestInput } from './input.ts';
import { EventRecorder } from './recorder.ts';
import type { StopInfo } from './scheduler.ts';
import type { Recorder } from './types.ts';
import type { JitOptions } from './cpu/jit.ts';
import { diskRole, openDisks, type DiskImage, type DiskSpec } from './storage/disk.ts';
import { formatMac, type NicSpec } from './net/nic.ts';

export { GuestImageError };

export const DEFAULT_MEM = 512 * 1024 * 1024;
/** --acpi's default with --bios. */
export const DEFAULT_ACPI = true;

export interface RunConfig {
  machine?: 'kvm' | 'xen';
  /** xen: who built the domain: 'xl' (libxl, the default) or 'dom0less' (Xen's own builder). */
  xenToolstack?: 'xl' | 'dom0less';
  /** xen: the SBSA vUART ('sbsa') or none (default). */
  vuart?: 'sbsa' | 'none';
  /** xen: how the DT describes the vUART ('sbsa' as libxl does, 'pl011' as hand-written DTs do). */
  uartDt?: 'sbsa' | 'pl011';
  /** xen: virtual time at which the toolstack writes control/shutdown = poweroff (xl shutdown). */
  shutdownAfter?: number;
  /** Kernel image file (arm64 Image, ELF or raw). */
  kernel: string;
  /** 'auto' (default): the personality's generated DTB; else a DTB file. */
  dtb?: string;
  append?: string;
  initrd?: string;
  smp?: number;
  memBytes?: number;
  gic?: 2 | 3;
  /** Stop after this many executed instructions. */
  maxInsns?: number;
  quantum?: number;
  /** Block compiler (emu/cpu/jit.ts): on by default (false: interpreter only); same trace, faster;
   *  not part of the stored config. */
  jit?: boolean | JitOptions;
  /** FP/SIMD in the vCPUs (changes what the guest sees, so it is part of the stored config). */
  fpsimd?: boolean;
  /** Trace file to write; without it nothing is recorded (unless `recorder` is given). */
  output?: string;
  /** Replace an existing trace file (only once the new one is closed: it survives a failed run). */
  overwrite?: boolean;
  /** Other files the run reads (e.g. the --input file): the trace may never replace one of them. */
  inputs?: readonly string[];
  /**
   * Asked between run slices: a reason (e.g. 'SIGINT') stops the run there (stop kind
   * 'interrupted'); the trace is closed with everything recorded and says it was interrupted.
   */
  interrupt?: () => string | undefined;
  /** Receives every event instead of (or when no) trace file (replay's comparator). */
  recorder?: Recorder;
  /** Console bytes as the guest writes them. */
  onConsole?: (byte: number) => void;
  /** Called between run chunks with the instructions executed so far. */
  onProgress?: (executed: number) => void;
  /** Stop the run (kind 'stopped') as soon as the guest console has printed this text. */
  stopOn?: string;
  /** Bytes for the guest's UART (emu/input.ts: an input file, the terminal, a trace's input events). */
  input?: GuestInput;
  /** What the input came from, stored as the trace's extra.input (e.g. { file, sha256 }). */
  inputInfo?: Record<string, unknown>;
  /** Called once the machine is built and loaded, before the run (tests, replay). */
  onReady?: (m: Machine) => void;
  /** Disk images (--disk FILE[,ro|,rw]), in order. */
  disks?: DiskSpec[];
  /** Network interfaces (--nic), in order. */
  nics?: NicSpec[];
  /** kvm: 'virtio' gives the guest a virtio-console (hvc0) besides the PL011. */
  console?: 'uart' | 'virtio';
  /** kvm with GICv3: an ITS (default true, QEMU virt's its=on); false: INTx only. */
  its?: boolean;
  /** kvm: firmware for flash bank 0 (QEMU's -bios); the kernel then goes through fw_cfg. */
  bios?: string;
  /** kvm with --bios: the UEFI variable store for flash bank 1 (copy-on-write: never written). */
  efiVars?: string;
  /** kvm with --bios: ACPI tables for the firmware (QEMU's acpi=on|off; default on). */
  acpi?: boolean;
  /** kvm with --bios and ACPI: table files that add to or replace the machine's (QEMU's -acpitable). */
  acpiTables?: string[];
  /**
   * kvm with --bios and ACPI: table files given to the firmware exactly as they are (only a whole
   * header is required: a wrong length or checksum is kept), to reproduce a firmware's broken table.
   */
  acpiTablesUnchecked?: string[];
  /** kvm with --bios and ACPI: false leaves the SPCR out. */
  acpiSpcr?: boolean;
  /**
   * A debugger drives the run (emu/gdb): called once the guest is at its first instruction, it
   * runs the machine with `step` (one chunk up to pauseAt executed instructions, null unless the
   * run ended; Scheduler.debugPoint pauses it earlier), yielding to the event loop between chunks,
   * and resolves with the stop that ended the run. `state`: what of the run lives outside the
   * machine (console bytes, the input's position), for snapshots (emu/snapshot).
   */
  debugLoop?: (m: Machine, step: (pauseAt: number) => StopInfo | null, state: object[]) => Promise<StopInfo>;
}

export interface RunResult {
  stop: StopInfo;
  /** Instructions executed by all vCPUs. */
  executed: number;
  /** Virtual time at the end (executed + time skipped while every vCPU waited). */
  virtualTime: number;
  skipped: number;
  /** Events recorded. */
  events: number;
  console: Uint8Array;
  /** Digest of the event stream (when a trace was written). */
  digest?: string;
  trace?: string;
  hashes: Record<string, string>;
  source: TraceSource;
  clock: ClockInfo;
  imageKind: BootInfo['kind'];
  entry: number;
  /** DTB address (x0), or undefined for an ELF with no DTB. */
  dtbAddr?: number;
  /** Loader remarks (e.g. initrd ignored for ELF). */
  notes: string[];
  wallMs: number;
}

export const EMULATOR_CLOCK: ClockInfo = {
  kind: 'instructions',
  counterHz: COUNTER_HZ,
  instructionsPerSecond: INSTRUCTIONS_PER_SECOND,
};

/** Instructions run between yields to the event loop (progress, console flushing). */
const CHUNK = 4_000_000;

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** A file's bytes, without copying the Buffer readFileSync made (copying a 27 MB kernel cost ~0.2 s of CPU). */
function readBytes(file: string): Uint8Array {
  const b = fs.readFileSync(file);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * A guest image, read whole once its size is known to fit: no image can be larger than the guest's
 * RAM, so a bigger file (a sparse 100 GB one, a disk image given by mistake) is refused before a
 * byte of it is read.
 */
function readGuestFile(file: string, role: string, ramBytes: number): Uint8Array {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new GuestImageError(`${file}: ${role} file not found`);
    throw new GuestImageError(`${file}: cannot read the ${role}: ${errnoText(err)}`);
  }
  if (!st.isFile()) throw new GuestImageError(`${file}: ${role} is not a regular file`);
  if (st.size > ramBytes) {
    throw new GuestImageError(
      `${file}: ${role} is ${fmtSize(st.size)}, larger than the guest's RAM (${fmtSize(ramBytes)}); it cannot be loaded`,
    );
  }
  try {
    return readBytes(file);
  } catch (err) {
    throw new GuestImageError(`${file}: cannot read the ${role}: ${errnoText(err)}`);
  }
}

/**
 * --bios/--efi-vars: the flash images, checked, and what fw_cfg gives the firmware (the kernel,
 * initrd and command line; QEMU unpacks a gzip-compressed kernel first).
 */
function readFirmware(
  cfg: RunConfig,
  smp: number,
  gic: 2 | 3,
  kernel: Uint8Array,
  initrd: Uint8Array | undefined,
): { firmware: KvmFirmware; hashes: Record<string, string>; tables?: { sig: string; data: Uint8Array }[] } {
  if ((cfg.machine ?? 'kvm') !== 'kvm')
    throw new GuestImageError('--bios loads firmware into the flash of the kvm machine (--machine kvm)');
  if (cfg.dtb !== undefined && cfg.dtb !== 'auto')
    throw new GuestImageError('--dtb with --bios is not supported: the firmware gets the generated DTB');
  const bios = readFlashFile(cfg.bios!, 'firmware image');
  checkFirmwareImage(bios, cfg.bios!);
  const hashes: Record<string, string> = { bios: sha256(bios) };
  let vars: Uint8Array | undefined;
  if (cfg.efiVars !== undefined) {
    vars = readFlashFile(cfg.efiVars, 'UEFI variable store');
    checkVarsImage(vars, cfg.efiVars);
    hashes.efiVars = sha256(vars);
  }
  const acpi = cfg.acpi ?? DEFAULT_ACPI;
  const shaping = cfg.acpiTables?.length
    ? '--acpi-table'
    : cfg.acpiTablesUnchecked?.length
      ? '--acpi-table-unchecked'
      : cfg.acpiSpcr === false
        ? '--acpi-spcr'
        : undefined;
  if (!acpi && shaping) throw new GuestImageError(`${shaping} shapes the ACPI tables: it needs --acpi on`);
  const user = userTables(cfg.acpiTables ?? [], 'acpiTable', checkUserTable, hashes);
  const unchecked = userTables(cfg.acpiTablesUnchecked ?? [], 'acpiTableUnchecked', uncheckedUserTable, hashes);
  const tables = acpi
    ? buildTables({ smp, gic, its: gic === 3, affinity: (i) => virtAffinity(i, gic), spcr: cfg.acpiSpcr !== false }, user, unchecked)
    : undefined;
  // SMBIOS as QEMU gives it to firmware on virt (under KVM the product is "KVM Virtual Machine").
  const smbios = smbiosFiles({ smp, memBytes: cfg.memBytes ?? DEFAULT_MEM, product: 'KVM Virtual Machine' });
  const fwCfg = firmwareFwCfg({
    files: [...(tables ? acpiFiles(tables) : []), ...smbios],
    smp,
    kernel: firmwareKernel(kernel, cfg.kernel),
    ...(initrd ? { initrd } : {}),
    ...(cfg.append !== undefined ? { append: cfg.append } : {}),
  });
  return { firmware: { bios, ...(vars ? { vars } : {}), fwCfg }, hashes, ...(tables ? { tables } : {}) };
}

/** Table files read and checked (`check` throws AcpiTableError), each hashed as `${role}${i}` for replay. */
function userTables(
  files: string[],
  role: string,
  check: (b: Uint8Array, file: string) => string,
  hashes: Record<string, string>,
): Uint8Array[] {
  return files.map((f, i) => {
    const b = readFlashFile(f, 'ACPI table');
    try {
      check(b, f);
    } catch (err) {
      if (err instanceof AcpiTableError) throw new GuestImageError(err.message);
      throw err;
    }
    hashes[`${role}${i}`] = sha256(b);
    return b;
  });
}

/** A flash image, read whole only when it can fit a bank (so a huge file is refused unread). */
function readFlashFile(file: string, role: string): Uint8Array {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new GuestImageError(`${file}: ${role} file not found`);
    throw new GuestImageError(`${file}: cannot read the ${role}: ${errnoText(err)}`);
  }
  if (!st.isFile()) throw new GuestImageError(`${file}: ${role} is not a regular file`);
  if (st.size > PFLASH_BANK_SIZE) {
    throw new GuestImageError(
      `${file}: the ${role} is ${fmtSize(st.size)}, larger than a flash bank (64 MiB = ${PFLASH_BANK_SIZE.toLocaleString('en-US')} bytes)`,
    );
  }
  try {
    return readBytes(file);
  } catch (err) {
    throw new GuestImageError(`${file}: cannot read the ${role}: ${errnoText(err)}`);
  }
}

/** "100 GiB (107,374,182,400 bytes)": the rounded size for people, the exact one for checking. */
function fmtSize(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} bytes` : `${Number.isInteger(v) ? v : v.toFixed(1)} ${units[i]} (${n.toLocaleString('en-US')} bytes)`;
}

/** The configuration stored in the trace (source.config), enough to run it again. */
export function runSource(cfg: RunConfig): TraceSource {
  return {
    type: 'emulator',
    name: cfg.machine ?? 'kvm',
    config: {
      kernel: path.resolve(cfg.kernel),
      dtb: cfg.dtb === undefined || cfg.dtb === 'auto' ? 'auto' : path.resolve(cfg.dtb),
      ...(cfg.append !== undefined ? { append: cfg.append } : {}),
      ...(cfg.initrd !== undefined ? { initrd: path.resolve(cfg.initrd) } : {}),
      smp: cfg.smp ?? 1,
      mem: cfg.memBytes ?? DEFAULT_MEM,
      gic: cfg.gic ?? 3,
      ...(cfg.maxInsns !== undefined && Number.isFinite(cfg.maxInsns) ? { maxInsns: cfg.maxInsns } : {}),
      ...(cfg.quantum !== undefined ? { quantum: cfg.quantum } : {}),
      ...(cfg.fpsimd === false ? { fpsimd: false } : {}),
      ...(cfg.machine === 'xen' && cfg.xenToolstack === 'dom0less' ? { toolstack: 'dom0less' } : {}),
      ...(cfg.machine === 'xen' && cfg.vuart !== undefined ? { vuart: cfg.vuart } : {}),
      ...(cfg.machine === 'xen' && cfg.uartDt !== undefined ? { uartDt: cfg.uartDt } : {}),
      ...(cfg.machine === 'xen' && cfg.shutdownAfter !== undefined ? { shutdownAfter: cfg.shutdownAfter } : {}),
      ...(cfg.stopOn !== undefined ? { stopOn: cfg.stopOn } : {}),
      ...(cfg.disks?.length
        ? { disks: cfg.disks.map((d) => ({ file: path.resolve(d.file), mode: d.mode, ...(d.faults ? { faults: d.faults } : {}) })) }
        : {}),
      ...(cfg.nics?.length ? { nics: cfg.nics.map((n) => (n.mac ? { mac: formatMac(n.mac) } : {})) } : {}),
      ...(cfg.console !== undefined && cfg.console !== 'uart' ? { console: cfg.console } : {}),
      // Always stored for kvm GICv3: traces from before the ITS existed have none and replay without.
      ...((cfg.machine ?? 'kvm') === 'kvm' && (cfg.gic ?? 3) === 3 ? { its: cfg.its ?? true } : {}),
      ...(cfg.bios !== undefined ? { bios: path.resolve(cfg.bios), acpi: cfg.acpi ?? DEFAULT_ACPI } : {}),
      ...(cfg.efiVars !== undefined ? { efiVars: path.resolve(cfg.efiVars) } : {}),
      ...(cfg.acpiTables?.length ? { acpiTables: cfg.acpiTables.map((f) => path.resolve(f)) } : {}),
      ...(cfg.acpiTablesUnchecked?.length ? { acpiTablesUnchecked: cfg.acpiTablesUnchecked.map((f) => path.resolve(f)) } : {}),
      ...(cfg.acpiSpcr === false ? { acpiSpcr: false } : {}),
    },
  };
}

export async function runGuest(cfg: RunConfig): Promise<RunResult> {
  const t0 = performance.now();
  const source = runSource(cfg);
  const c = source.config as { smp: number; mem: number; gic: 2 | 3 };
  const useDtbFile = cfg.dtb !== undefined && cfg.dtb !== 'auto';
  const inputs = [
    cfg.kernel,
    useDtbFile ? cfg.dtb : undefined,
    cfg.initrd,
    cfg.bios,
    cfg.efiVars,
    ...(cfg.disks ?? []).map((d) => d.file),
    ...(cfg.inputs ?? []),
  ];
  // Before reading any image: an output that cannot or may not be written fails the run at once.
  if (cfg.output) checkOutput(cfg.output, { overwrite: !!cfg.overwrite, inputs });
  const kernel = readGuestFile(cfg.kernel, 'kernel', c.mem);
  const dtbFile = useDtbFile ? readGuestFile(cfg.dtb!, 'DTB', c.mem) : undefined;
  const initrd = cfg.initrd !== undefined ? readGuestFile(cfg.initrd, 'initrd', c.mem) : undefined;
  const firmware = cfg.bios !== undefined ? readFirmware(cfg, c.smp, c.gic, kernel, initrd) : undefined;
  if (cfg.maxInsns !== undefined && !(cfg.maxInsns > 0))
    throw new GuestImageError(`--max-insns must be a positive number, got ${cfg.maxInsns}`);

  const consoleBytes: number[] = [];
  const onConsole = cfg.onConsole;
  let m: Machine;
  const stopOn = cfg.stopOn !== undefined ? Buffer.from(cfg.stopOn, 'utf8') : undefined;
  if (cfg.machine !== 'xen' && (cfg.vuart !== undefined || cfg.uartDt !== undefined)) {
    throw new GuestImageError(`${cfg.vuart !== undefined ? '--vuart/--no-vuart' : '--uart-dt'} models Xen's vUART: it needs --machine xen`);
  }
  if (cfg.machine !== 'xen' && cfg.shutdownAfter !== undefined)
    throw new GuestImageError('--shutdown-after asks the Xen toolstack to shut the guest down: it needs --machine xen');
  if (cfg.machine !== 'xen' && cfg.xenToolstack !== undefined)
    throw new GuestImageError('--xen-toolstack says who built the Xen domain: it needs --machine xen');
  const mc: MachineConfig = {
    machine: cfg.machine ?? 'kvm',
    ...(cfg.machine === 'xen'
      ? {
          xen: {
            ...(cfg.xenToolstack !== undefined ? { toolstack: cfg.xenToolstack } : {}),
            ...(cfg.vuart !== undefined ? { vuart: cfg.vuart } : {}),
            ...(cfg.uartDt !== undefined ? { uartDt: cfg.uartDt } : {}),
            ...(cfg.shutdownAfter !== undefined ? { shutdownAt: cfg.shutdownAfter } : {}),
          },
        }
      : {}),
    smp: c.smp,
    memBytes: c.mem,
    gic: c.gic,
    ...(cfg.quantum !== undefined ? { quantum: cfg.quantum } : {}),
    jit: cfg.jit ?? true,
    ...(cfg.fpsimd === false ? { fpsimd: false } : {}),
    onConsole: (b) => {
      consoleBytes.push(b);
      onConsole?.(b);
      if (stopOn && b === stopOn[stopOn.length - 1] && endsWith(consoleBytes, stopOn))
        m.scheduler.stop('stopped', `console printed ${JSON.stringify(cfg.stopOn)}`);
    },
  };
  if (cfg.machine === 'xen' && cfg.console === 'virtio')
    throw new GuestImageError('--console virtio is a device of the kvm machine (the xen machine has the Xen PV console)');
  const disks: DiskImage[] = openDisks(cfg.disks ?? []);
  if (disks.length) mc.disks = disks;
  if (cfg.nics?.length) mc.nics = cfg.nics;
  if (cfg.console !== undefined) mc.console = cfg.console;
  if (cfg.its !== undefined && (cfg.machine === 'xen' || c.gic !== 3))
    throw new GuestImageError('--its is the ITS of the kvm machine with GICv3 (--gic 3)');
  if ((source.config as { its?: boolean }).its !== undefined) mc.its = (source.config as { its: boolean }).its;
  if (firmware) mc.firmware = firmware.firmware;
  try {
    return await runMachine(cfg, mc, source, disks, {
      kernel,
      dtbFile,
      initrd,
      consoleBytes,
      t0,
      inputs,
      setMachine: (x) => (m = x),
      ...(firmware ? { firmwareHashes: firmware.hashes } : {}),
      ...(firmware?.tables ? { acpiTables: firmware.tables } : {}),
    });
  } finally {
    for (const d of disks) d.close();
  }
}

interface RunInputs {
  kernel: Uint8Array;
  dtbFile: Uint8Array | undefined;
  initrd: Uint8Array | undefined;
  consoleBytes: number[];
  t0: number;
  /** Every file the run reads (the trace may never replace one). */
  inputs: (string | undefined)[];
  setMachine: (m: Machine) => void;
  /** --bios: the sha256 of the firmware image and the variable store. */
  firmwareHashes?: Record<string, string>;
  /** --bios with ACPI: the tables the firmware was given (stored in the trace like the DTB). */
  acpiTables?: { sig: string; data: Uint8Array }[];
}

async function runMachine(cfg: RunConfig, mc: MachineConfig, source: TraceSource, disks: DiskImage[], inp: RunInputs): Promise<RunResult> {
  const { kernel, dtbFile, initrd, consoleBytes, t0, inputs } = inp;
  const rec = new EventRecorder(null);
  let m: Machine;
  try {
    m = new Machine(mc, rec);
  } catch (err) {
    if (err instanceof RangeError) throw new GuestImageError(err.message);
    throw err;
  }
  inp.setMachine(m);
  const boot = mc.firmware
    ? loadFirmwareBoot(m, cfg.append)
    : loadGuest(m, {
        kernel,
        kernelName: cfg.kernel,
        ...(dtbFile ? { dtb: dtbFile, dtbName: cfg.dtb } : {}),
        ...(initrd ? { initrd, initrdName: cfg.initrd! } : {}),
        ...(cfg.append !== undefined ? { append: cfg.append } : {}),
      });
  const hashes: Record<string, string> = { kernel: sha256(kernel), dtb: sha256(boot.dtb), ...inp.firmwareHashes };
  if (initrd) hashes.initrd = sha256(initrd);
  disks.forEach((d, i) => (hashes[diskRole(i)] = d.sha256));

  let writer: TraceWriter | undefined;
  if (cfg.output) {
    writer = createTrace(cfg.output, {
      source,
      clock: EMULATOR_CLOCK,
      devices: m.personality.regions,
      hashes,
      extra: {
        // The DTB the guest got (trailing zero padding trimmed; dtbSize restores it).
        ...dtbMeta(boot.dtb),
        boot: {
          image: boot.kind,
          entry: Number(boot.entry),
          ...(boot.dtbAddr !== undefined ? { dtbAddr: boot.dtbAddr } : {}),
          ...(boot.initrd ? { initrd: boot.initrd } : {}),
          ...(boot.notes.length ? { notes: boot.notes } : {}),
        },
        ...(inp.acpiTables ? { acpi: inp.acpiTables.map((t) => ({ sig: t.sig, base64: Buffer.from(t.data).toString('base64') })) } : {}),
        ...(cfg.inputInfo ? { input: cfg.inputInfo } : {}),
        ...(disks.length ? { disks: disks.map((d) => d.record()) } : {}),
      },
      ...(cfg.overwrite ? { overwrite: true } : {}),
      inputs,
    });
  }
  const sinks: Recorder[] = [];
  if (writer) sinks.push(cfg.debugLoop ? newEventsOnly(writer, rec) : writer);
  if (cfg.recorder?.enabled) sinks.push(cfg.recorder);
  rec.attach(sinks.length === 0 ? null : sinks.length === 1 ? sinks[0]! : fanOut(sinks));

  let stop: StopInfo | null = null;
  try {
    cfg.onReady?.(m);
    bootGuest(m, boot);
    const max = cfg.maxInsns ?? Infinity;
    const input = cfg.input;
    if (input) input.onQuit = (msg) => m.scheduler.stop('stopped', msg);
    if (cfg.debugLoop) {
      const step = (pauseAt: number): StopInfo | null => {
        const st = input ? runWithInput(m, input, max, pauseAt) : m.run(max, pauseAt);
        cfg.onProgress?.(m.scheduler.executed);
        return st;
      };
      stop = await cfg.debugLoop(m, step, [consoleBytes, ...(input ? [input] : [])]);
    } else {
      stop = await runChunks(cfg, m, max);
    }
  } catch (err) {
    writer?.abandon();
    throw err;
  } finally {
    cfg.input?.close?.();
  }
  const s = m.scheduler;
  let digest: string | undefined;
  if (writer) {
    writer.setMeta({
      extra: {
        stop: stop.kind,
        stopMessage: stop.message,
        executed: s.executed,
        virtualTime: s.now(),
        skipped: s.skipped,
        ...(disks.length ? { disksWritten: disks.map((d) => d.sectorsWritten) } : {}),
        ...(m.personality.runSummary?.() ?? {}),
      },
    });
    const why = stop.kind === 'interrupted' ? cfg.interrupt?.() : undefined;
    digest = writer.close(why !== undefined ? { interrupted: why } : {}).digest;
  }
  return {
    stop,
    executed: s.executed,
    virtualTime: s.now(),
    skipped: s.skipped,
    events: rec.count,
    console: Uint8Array.from(consoleBytes),
    ...(digest ? { digest } : {}),
    ...(cfg.output ? { trace: cfg.output } : {}),
    hashes,
    source,
    clock: EMULATOR_CLOCK,
    imageKind: boot.kind,
    entry: Number(boot.entry),
    ...(boot.dtbAddr !== undefined ? { dtbAddr: boot.dtbAddr } : {}),
    notes: boot.notes,
    wallMs: performance.now() - t0,
  };
}

/** The run without a debugger: chunks of CHUNK instructions, yielding to the event loop between them. */
async function runChunks(cfg: RunConfig, m: Machine, max: number): Promise<StopInfo> {
  const input = cfg.input;
  for (;;) {
    const stop = input ? runWithInput(m, input, max, m.scheduler.executed + CHUNK) : m.run(max, m.scheduler.executed + CHUNK);
    cfg.onProgress?.(m.scheduler.executed);
    if (stop) return stop;
    await new Promise<void>((r) => setImmediate(r));
    const why = cfg.interrupt?.();
    if (why !== undefined) return { kind: 'interrupted', message: `interrupted by ${why} after ${m.scheduler.executed} instructions` };
  }
}

/**
 * Run to the chunk end, pausing at each input time to hand the UART its bytes (input.ts explains
 * why this is deterministic). A live (terminal) input returns at every poll so the host can read it.
 */
function runWithInput(m: Machine, input: GuestInput, max: number, chunkEnd: number): StopInfo | null {
  const s = m.scheduler;
  for (;;) {
    const due = input.nextTime(s.now());
    const stop = s.run(max, chunkEnd, due);
    if (stop || s.now() < due || s.debugPaused >= 0) return stop;
    const bytes = input.take(s.now());
    if (bytes) m.personality.pushInput(bytes);
    if (input.live) return null;
  }
}

function endsWith(bytes: number[], tail: Uint8Array): boolean {
  const off = bytes.length - tail.length;
  if (off < 0) return false;
  for (let i = 0; i < tail.length; i++) if (bytes[off + i] !== tail[i]) return false;
  return true;
}

/**
 * A debugger that restores a snapshot (emu/snapshot) runs part of the run again: the events it
 * records again are the ones already written (the run is deterministic; debug compares each with
 * the recording), so only events past the last one written go to the trace.
 */
function newEventsOnly(writer: TraceWriter, rec: EventRecorder): Recorder {
  return {
    enabled: true,
    record(ev: NewEvent) {
      if (rec.count - 1 >= writer.count) writer.record(ev); // rec.count counts this event already
    },
  };
}

function fanOut(sinks: Recorder[]): Recorder {
  return {
    enabled: true,
    record(ev: NewEvent) {
      for (const s of sinks) s.record(ev);
    },
  };
}

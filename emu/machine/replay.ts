// Replay: run a recorded emulator trace's configuration again and compare the new event stream
// with the stored one, event by event, stopping at the first difference.

import type { JitOptions } from '../cpu/jit.ts';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { COMMON_FIELDS, KIND_FIELDS, type NewEvent, type TraceEvent } from '../../capture/model.ts';
import { openTrace, type ReaderOptions, type TraceReader } from '../../capture/store/index.ts';
import type { Recorder } from '../types.ts';
import { GuestImageError } from './load.ts';
import type { Machine } from './index.ts';
import { runGuest, type RunConfig, type RunResult } from '../run.ts';
import { ScheduledInput, type InputStep } from '../input.ts';
import { diskRole, DISK_MODES, hashFile, type DiskFaults, type DiskMode, type DiskSpec } from '../storage/disk.ts';
import { parseMac, type NicSpec } from '../net/nic.ts';

export interface Divergence {
  seq: number;
  /** The stored event, or undefined when the new run produced more events. */
  recorded?: TraceEvent;
  /** The new run's event, or undefined when it ended early. */
  replayed?: TraceEvent;
}

export interface ReplayResult {
  identical: boolean;
  divergence?: Divergence;
  /** Events compared (equal ones). */
  compared: number;
  recordedEvents: number;
  run: RunResult;
  /** Notes that do not make the replay differ (e.g. a generated DTB that changed). */
  notes: string[];
  /** The replay was stopped by the user (ReplayOptions.interrupt): the events after it were not compared. */
  interrupted?: string;
}

const sha256File = (file: string): string => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/** Field-by-field equality of a stored event and a new one (seq aside). */
export function sameEvent(a: TraceEvent, b: TraceEvent): boolean {
  if (a.kind !== b.kind || a.time !== b.time || a.vcpu !== b.vcpu || a.pc !== b.pc) return false;
  const fields = KIND_FIELDS[a.kind] as Record<string, unknown>;
  const ra = a as unknown as Record<string, unknown>,
    rb = b as unknown as Record<string, unknown>;
  for (const f of Object.keys(fields)) if (!sameValue(ra[f], rb[f])) return false;
  return true;
}

function sameValue(x: unknown, y: unknown): boolean {
  if (x instanceof Uint8Array && y instanceof Uint8Array) return x.length === y.length && x.every((v, i) => v === y[i]);
  if (Array.isArray(x) && Array.isArray(y)) return x.length === y.length && x.every((v, i) => sameValue(v, y[i]));
  return x === y;
}

/** Compares events as they are produced against a stored sequence. */
export class Comparator implements Recorder {
  readonly enabled = true;
  seq = 0;
  divergence: Divergence | undefined;
  private readonly it: Iterator<TraceEvent>;
  onDiverge: () => void = () => {};

  constructor(it: Iterator<TraceEvent>) {
    this.it = it;
  }

  record(ev: NewEvent): void {
    if (this.divergence) return;
    const replayed = { ...ev, seq: this.seq } as TraceEvent;
    if (replayed.pc === undefined) delete (replayed as { pc?: bigint }).pc;
    const next = this.it.next();
    if (next.done) {
      this.divergence = { seq: this.seq, replayed };
      this.onDiverge();
      return;
    }
    if (!sameEvent(next.value, replayed)) {
      this.divergence = { seq: this.seq, recorded: next.value, replayed };
      this.onDiverge();
      return;
    }
    this.seq++;
  }

  /** After the run: a stored event nobody produced is a divergence too. */
  finish(): void {
    if (this.divergence) return;
    const next = this.it.next();
    if (!next.done) this.divergence = { seq: this.seq, recorded: next.value };
  }
}

interface StoredConfig {
  kernel: string;
  dtb: string;
  append?: string;
  initrd?: string;
  smp: number;
  mem: number;
  gic: 2 | 3;
  maxInsns?: number;
  quantum?: number;
  toolstack?: 'xl' | 'dom0less';
  vuart?: 'sbsa' | 'none';
  uartDt?: 'sbsa' | 'pl011';
  shutdownAfter?: number;
  stopOn?: string;
  fpsimd?: boolean;
  disks?: { file: string; mode: DiskMode; faults?: DiskFaults }[];
  nics?: { mac?: string }[];
  console?: 'uart' | 'virtio';
  its?: boolean;
  bios?: string;
  efiVars?: string;
  acpi?: boolean;
  acpiTables?: string[];
  acpiTablesUnchecked?: string[];
  acpiSpcr?: boolean;
}

export interface ReplayOptions {
  /**
   * Run this kernel instead of the recorded one (no hash check): shows where a changed guest
   * first behaves differently from the recorded run.
   */
  kernel?: string;
  /** Block compiler (default on, as in runGuest); the trace is the same either way. */
  jit?: boolean | JitOptions;
  onConsole?: (byte: number) => void;
  onProgress?: (executed: number) => void;
  /** Also write the replayed run as a trace here (compare it with `bootscope diff`). */
  output?: string;
  overwrite?: boolean;
  /** Asked between run slices: a reason (e.g. 'SIGINT') stops the replay there (see RunConfig.interrupt). */
  interrupt?: () => string | undefined;
  /** Told of each damaged chunk of the recorded trace (its events cannot be compared). */
  onProblem?: ReaderOptions['onProblem'];
}

/** A recorded emulator trace opened for running again: its configuration and how to compare. */
export interface PreparedReplay {
  /** The run's configuration (without recorder, onReady and debugLoop: the caller adds them). */
  cfg: RunConfig;
  recordedEvents: number;
  /** A comparator of new events with the stored ones, from event #0. */
  comparator(): Comparator;
}

/**
 * Check a trace can be replayed (emulator trace, inputs present and unchanged) and build the run
 * configuration that replays it: the recorded configuration and the UART input at its recorded
 * times. `bootscope replay` and `bootscope debug` use it.
 */
export function prepareReplay(reader: TraceReader, tracePath: string, opts: ReplayOptions = {}): PreparedReplay {
  const meta = reader.meta;
  if (meta.source.type !== 'emulator') {
    throw new GuestImageError(
      `${tracePath}: not an emulator trace (source ${meta.source.type} ${meta.source.name}); only emulator traces can be replayed`,
    );
  }
  if (meta.source.name !== 'kvm' && meta.source.name !== 'xen')
    throw new GuestImageError(`${tracePath}: cannot replay the '${meta.source.name}' machine (only kvm and xen)`);
  const c = meta.source.config as unknown as StoredConfig;
  if (typeof c.kernel !== 'string') throw new GuestImageError(`${tracePath}: the trace does not record its kernel file`);
  const checkFile = (file: string, role: string): void => {
    if (!fs.existsSync(file)) throw new GuestImageError(`${tracePath}: the recorded ${role} ${file} is missing`);
    const want = meta.hashes[role];
    if (want && sha256File(file) !== want) {
      throw new GuestImageError(
        `${tracePath}: the ${role} ${file} changed since it was recorded (sha256 ${sha256File(file).slice(0, 12)}…, recorded ${want.slice(0, 12)}…)`,
      );
    }
  };
  if (opts.output !== undefined && path.resolve(opts.output) === path.resolve(tracePath)) {
    throw new GuestImageError(`${opts.output}: the replay's --output cannot be the trace being replayed`);
  }
  if (opts.kernel === undefined) checkFile(c.kernel, 'kernel');
  else if (!fs.existsSync(opts.kernel)) throw new GuestImageError(`${opts.kernel}: kernel file not found`);
  if (c.initrd) checkFile(c.initrd, 'initrd');
  if (c.dtb !== 'auto') checkFile(c.dtb, 'dtb');
  // The firmware and the variable store it started from (the run never wrote the file).
  if (c.bios !== undefined) checkFile(c.bios, 'bios');
  if (c.efiVars !== undefined) checkFile(c.efiVars, 'efiVars');
  (c.acpiTables ?? []).forEach((f, i) => checkFile(f, `acpiTable${i}`));
  (c.acpiTablesUnchecked ?? []).forEach((f, i) => checkFile(f, `acpiTableUnchecked${i}`));
  const disks = checkDisks(tracePath, c.disks ?? [], meta.hashes);
  const recordedEvents = reader.eventCount;
  // The UART input the run received (file or terminal), fed back at the recorded virtual times.
  const inputSteps: InputStep[] = [];
  for (const ev of reader.events({ kinds: ['input'] })) if (ev.kind === 'input') inputSteps.push({ time: ev.time, bytes: ev.bytes });
  // A recorded run the user interrupted ends where it was stopped; the replay stops there too.
  const maxInsns =
    c.maxInsns ?? (reader.interrupted !== undefined && typeof meta.extra.executed === 'number' ? meta.extra.executed : undefined);
  const cfg: RunConfig = {
    machine: meta.source.name,
    ...(c.toolstack !== undefined ? { xenToolstack: c.toolstack } : {}),
    ...(c.vuart !== undefined ? { vuart: c.vuart } : {}),
    ...(c.uartDt !== undefined ? { uartDt: c.uartDt } : {}),
    ...(c.shutdownAfter !== undefined ? { shutdownAfter: c.shutdownAfter } : {}),
    kernel: opts.kernel ?? c.kernel,
    dtb: c.dtb,
    ...(c.append !== undefined ? { append: c.append } : {}),
    ...(c.initrd !== undefined ? { initrd: c.initrd } : {}),
    smp: c.smp,
    memBytes: c.mem,
    gic: c.gic,
    ...(maxInsns !== undefined ? { maxInsns } : {}),
    ...(c.quantum !== undefined ? { quantum: c.quantum } : {}),
    ...(c.stopOn !== undefined ? { stopOn: c.stopOn } : {}),
    ...(c.fpsimd === false ? { fpsimd: false } : {}),
    ...(disks.length ? { disks } : {}),
    ...(c.nics?.length ? { nics: c.nics.map((n): NicSpec => (n.mac ? { mac: parseMac(n.mac) } : {})) } : {}),
    ...(c.console !== undefined ? { console: c.console } : {}),
    // A kvm GICv3 trace without the field was recorded before the machine had an ITS.
    ...(c.gic === 3 && (meta.source.name ?? 'kvm') === 'kvm' ? { its: c.its ?? false } : {}),
    ...(c.bios !== undefined ? { bios: c.bios, acpi: c.acpi ?? false } : {}),
    ...(c.efiVars !== undefined ? { efiVars: c.efiVars } : {}),
    ...(c.acpiTables?.length ? { acpiTables: c.acpiTables } : {}),
    ...(c.acpiTablesUnchecked?.length ? { acpiTablesUnchecked: c.acpiTablesUnchecked } : {}),
    ...(c.acpiSpcr === false ? { acpiSpcr: false } : {}),
    ...(opts.jit !== undefined ? { jit: opts.jit } : {}),
    ...(opts.output !== undefined ? { output: opts.output, inputs: [tracePath], ...(opts.overwrite ? { overwrite: true } : {}) } : {}),
    ...(inputSteps.length
      ? { input: new ScheduledInput(inputSteps), ...(meta.extra.input ? { inputInfo: meta.extra.input as Record<string, unknown> } : {}) }
      : {}),
    ...(opts.onConsole ? { onConsole: opts.onConsole } : {}),
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    ...(opts.interrupt ? { interrupt: opts.interrupt } : {}),
  };
  return { cfg, recordedEvents, comparator: () => new Comparator(reader.events()) };
}

export async function replayTrace(tracePath: string, opts: ReplayOptions = {}): Promise<ReplayResult> {
  const reader = openTrace(tracePath, opts.onProblem ? { onProblem: opts.onProblem } : {});
  try {
    const meta = reader.meta;
    const c = meta.source.config as unknown as StoredConfig;
    const { cfg: base, recordedEvents, comparator } = prepareReplay(reader, tracePath, opts);
    const cmp = comparator();
    const cfg: RunConfig = {
      ...base,
      recorder: cmp,
      onReady: (m: Machine) => {
        cmp.onDiverge = () => m.scheduler.stop('stopped', 'replay diverged');
      },
    };
    const run = await runGuest(cfg);
    const interrupted = run.stop.kind === 'interrupted' ? opts.interrupt?.() : undefined;
    // Stopped by the user: the recorded events the replay did not reach were not compared.
    if (interrupted === undefined) cmp.finish();
    const notes: string[] = [];
    if (c.dtb === 'auto' && meta.hashes.dtb && run.hashes.dtb !== meta.hashes.dtb)
      notes.push('the generated DTB differs from the recorded one');
    return {
      identical: !cmp.divergence,
      ...(cmp.divergence ? { divergence: cmp.divergence } : {}),
      compared: cmp.seq,
      recordedEvents,
      run,
      notes,
      ...(interrupted !== undefined ? { interrupted } : {}),
    };
  } finally {
    reader.close();
  }
}

/**
 * The recorded disks, each still there with the contents the run started from (size and sha256):
 * a changed image would make the guest read other data, so replay refuses it.
 */
function checkDisks(
  tracePath: string,
  disks: { file: string; mode: DiskMode; faults?: DiskFaults }[],
  hashes: Record<string, string>,
): DiskSpec[] {
  return disks.map((d, i) => {
    if (typeof d.file !== 'string' || !DISK_MODES.includes(d.mode))
      throw new GuestImageError(`${tracePath}: disk ${i} is recorded without a file or mode`);
    let st: fs.Stats;
    try {
      st = fs.statSync(d.file);
    } catch {
      throw new GuestImageError(`${tracePath}: the recorded disk image ${d.file} is missing`);
    }
    if (!st.isFile()) throw new GuestImageError(`${tracePath}: the recorded disk image ${d.file} is not a regular file`);
    const want = hashes[diskRole(i)];
    const got = hashFile(d.file);
    if (want && got !== want) {
      const why =
        d.mode === 'rw' ? ' (the run had it ,rw: its own writes changed it; replay needs a copy of the image as it was before)' : '';
      throw new GuestImageError(
        `${tracePath}: the disk image ${d.file} changed since it was recorded (sha256 ${got.slice(0, 12)}…, recorded ${want.slice(0, 12)}…)${why}`,
      );
    }
    return { file: d.file, mode: d.mode, ...(d.faults ? { faults: d.faults } : {}) };
  });
}

export { COMMON_FIELDS };

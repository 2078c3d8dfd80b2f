// Import a trace file written by another tool into a bootscope trace.
//
// The parsers are pure streaming functions producing NewEvents; this module wires them to the
// store's writer. The output is checked before any work (capture/output.ts); an import that fails
// leaves nothing (and an existing file it was to replace unchanged); one that is killed leaves a
// trace readable up to its last committed chunk and reported as incomplete; one that is
// interrupted (ImportOptions.interrupt) keeps what it read and says so.
import { createHash } from 'node:crypto';
import {
  accessSync,
  closeSync,
  constants,
  createReadStream,
  createWriteStream,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  type Stats,
} from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { basename } from 'node:path';
import type { ClockInfo, DeviceRegion, NewEvent, TraceSource } from '../model.ts';
import { checkOutput, errnoText } from '../output.ts';
import { TraceError, TraceWriter } from '../store/index.ts';
import { detectFormat, FORMATS, sniffQemuClockForm, type ImportFormat } from './detect.ts';
import { ImportError, ImportInterrupted } from './errors.ts';
import { FtraceImporter } from './ftrace.ts';
import { scanLines } from './lines.ts';
import { platformRegionsFromDtb, qemuVirtBaseRegions, qemuVirtRegions } from './memmap.ts';
import { dtbMeta, type DtbMeta } from '../dtb-meta.ts';
import { QemuLogImporter } from './qemu-log.ts';
import { importSimpleTrace } from './qemu-simple.ts';
import { unmappedTotal, type ImportStats } from './stats.ts';

export { ImportError, ImportInterrupted } from './errors.ts';
export { detectFormat, FORMATS, type ImportFormat } from './detect.ts';
export type { ImportStats } from './stats.ts';

export interface ImportOptions {
  input: string;
  output: string;
  format?: ImportFormat;
  /** DTB whose regions replace the default QEMU virt memory map. */
  dtb?: string;
  /** trace-events-all file for the simple backend (default: the one Debian's QEMU installs). */
  events?: string;
  /** Stop at the first line that cannot be parsed. */
  strict?: boolean;
  onProgress?: (done: number, total: number) => void;
  /** Name and sha256 recorded for the input (set when importing a decompressed copy of a .gz). */
  origin?: { name: string; sha256: string };
  /** Replace an existing output file (the CLI's --force); it survives an import that fails. */
  overwrite?: boolean;
  /**
   * Asked regularly while reading (every MiB of text, every 65,536 records): a reason (e.g.
   * 'SIGINT') stops the import there. What was read is kept and the trace says it was interrupted.
   */
  interrupt?: () => string | undefined;
}

export interface ImportResult {
  input: string;
  output: string;
  format: ImportFormat;
  stats: ImportStats;
  events: number;
  outputBytes: number;
  inputBytes: number;
  elapsedMs: number;
  /** lines == parsed + unmapped + blank + header + bad */
  accounted: boolean;
  /** Why the import stopped before the end of the input (ImportOptions.interrupt), when it did. */
  interrupted?: string;
}

/** The events a parser produced plus what the writer needs to describe the trace. */
interface ParseOutcome {
  stats: ImportStats;
  clock: ClockInfo;
  extra: Record<string, unknown>;
}

export type Emit = (ev: NewEvent) => void;

const QEMU_CLOCKS: Record<'tid-sec-usec' | 'iso8601' | 'none', ClockInfo> = {
  'tid-sec-usec': {
    kind: 'ns',
    source:
      'QEMU log timestamps (TID@SEC.USEC, host wall clock, µs resolution), relative to the first line; extra.clockStartNs is the absolute start',
  },
  iso8601: {
    kind: 'ns',
    source: 'QEMU log timestamps (ISO-8601 UTC, host wall clock), relative to the first line; extra.clockStartNs is the absolute start',
  },
  none: { kind: 'ns', source: 'none: the QEMU log has no timestamps; time is the source line number, not a clock' },
};
const FTRACE_CLOCK: ClockInfo = {
  kind: 'ns',
  source: 'ftrace timestamps (the trace clock, usually local/boot), relative to the first event; extra.clockStartNs is the absolute start',
};
const SIMPLE_CLOCK: ClockInfo = {
  kind: 'ns',
  source: 'QEMU simpletrace timestamps (host monotonic clock, ns), relative to the first record; extra.clockStartNs is the absolute start',
};

/** The clock a file's trace will be in (known before parsing so the writer can be created). */
export function clockFor(format: ImportFormat, input: string): ClockInfo {
  if (format === 'qemu-log') return QEMU_CLOCKS[sniffQemuClockForm(input)];
  return format === 'ftrace' ? FTRACE_CLOCK : SIMPLE_CLOCK;
}

/** Run the parser for `format` over `input`, sending events to `emit` (no store involved). */
export function parseFile(
  format: ImportFormat,
  input: string,
  emit: Emit,
  opts: {
    dtbRegions?: DeviceRegion[];
    events?: string;
    strict?: boolean;
    onRegions?: (r: DeviceRegion[]) => void;
    onProgress?: (done: number, total: number) => void;
    /** Asked regularly: true stops reading there (the events so far are emitted, stats cover the lines read). */
    shouldStop?: () => boolean;
  } = {},
): ParseOutcome {
  if (format === 'qemu-log') {
    const imp = new QemuLogImporter({ file: input, regions: opts.dtbRegions, strict: opts.strict, emit, onRegions: opts.onRegions });
    scanLines(input, imp, opts.onProgress, opts.shouldStop);
    const stats = imp.finish();
    return {
      stats,
      clock: QEMU_CLOCKS[imp.clockForm ?? 'none'],
      extra: {
        qemuClockForm: imp.clockForm ?? 'none',
        ...(imp.clockStartNs ? { clockStartNs: imp.clockStartNs } : {}),
        ...(imp.gicVersion ? { gicVersion: imp.gicVersion } : {}),
      },
    };
  }
  if (format === 'ftrace') {
    const imp = new FtraceImporter({ file: input, strict: opts.strict, emit, regions: opts.dtbRegions });
    scanLines(input, imp, opts.onProgress, opts.shouldStop);
    const stats = imp.finish();
    return {
      stats,
      clock: FTRACE_CLOCK,
      extra: {
        ...(imp.clockStartNs ? { clockStartNs: imp.clockStartNs } : {}),
        ftraceFlags: imp.flagColumns ?? 0,
        userspaceExits: imp.userspaceExits,
        ...(imp.header ? { ftraceHeader: imp.header } : {}),
      },
    };
  }
  const r = importSimpleTrace({
    file: input,
    eventsFile: opts.events,
    strict: opts.strict,
    emit,
    regions: opts.dtbRegions,
    onRegions: opts.onRegions,
    onProgress: opts.onProgress,
    shouldStop: opts.shouldStop,
  });
  return { stats: r.stats, clock: SIMPLE_CLOCK, extra: r.extra };
}

function isGzip(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(2);
    return readSync(fd, b, 0, 2, 0) === 2 && b[0] === 0x1f && b[1] === 0x8b;
  } finally {
    closeSync(fd);
  }
}

function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (d) => h.update(d))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
}

/**
 * Append one parsed event. The parsers check what the store needs, so a refusal here is a gap in
 * a parser: report it against the input line the event came from, not the trace being written.
 */
function storeEvent(writer: TraceWriter, ev: NewEvent, input: string, output: string): void {
  try {
    writer.append(ev);
  } catch (err) {
    if (!(err instanceof TraceError)) throw err;
    const why = err.message.startsWith(`${output}: `) ? err.message.slice(output.length + 2) : err.message;
    throw new ImportError(input, ev.src_line ?? 0, `cannot store the ${ev.kind} event of this line: ${why.replace(/^event \d+: /, '')}`);
  }
}

/** The largest DTB an arm64 kernel accepts ("must not exceed 2 megabytes", Documentation/arch/arm64/booting.rst). */
const MAX_DTB_BYTES = 2 << 20;
/** A bound far above any real trace-events-all file (QEMU 7.2's is 455 KB). */
const MAX_EVENTS_FILE_BYTES = 64 << 20;

/** The input's size, or an ImportError naming it: missing, a directory, unreadable (EACCES). */
function checkInput(file: string): Stats {
  let st: Stats;
  try {
    st = statSync(file);
  } catch (e) {
    throw new ImportError(file, 0, (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : `cannot read: ${errnoText(e)}`);
  }
  if (st.isDirectory()) throw new ImportError(file, 0, 'is a directory, not a trace file');
  try {
    accessSync(file, constants.R_OK);
  } catch (e) {
    throw new ImportError(file, 0, `cannot read: ${errnoText(e)}`);
  }
  return st;
}

/**
 * Import `input` into a new trace at `output`. Throws ImportError/TraceError on bad input and
 * OutputError on an output that may not or cannot be written (checked before any work).
 */
export async function importFile(opts: ImportOptions): Promise<ImportResult> {
  const t0 = performance.now();
  const { input, output } = opts;
  const inputSize = checkInput(input).size;
  if (opts.format && !FORMATS.includes(opts.format))
    throw new ImportError(input, 0, `unknown format '${opts.format}' (one of ${FORMATS.join(', ')})`);
  // Both are read whole, so their size is checked first (a sparse 100 GB file is refused at once).
  const dtbSize = opts.dtb !== undefined ? checkInput(opts.dtb).size : 0;
  if (dtbSize > MAX_DTB_BYTES)
    throw new ImportError(
      opts.dtb!,
      0,
      `${dtbSize} bytes: a DTB for an arm64 guest is at most 2 MiB (Linux, Documentation/arch/arm64/booting.rst)`,
    );
  const eventsSize = opts.events !== undefined ? checkInput(opts.events).size : 0;
  if (eventsSize > MAX_EVENTS_FILE_BYTES)
    throw new ImportError(
      opts.events!,
      0,
      `${eventsSize} bytes: too large for a trace-events-all file (QEMU 7.2's is 455 KB; at most 64 MiB)`,
    );
  const inputs = [input, opts.dtb, opts.events];
  checkOutput(output, { overwrite: !!opts.overwrite, inputs });
  if (isGzip(input)) return importGzip(opts);
  const format = opts.format ?? detectFormat(input);
  if (inputSize === 0) throw new ImportError(input, 0, 'empty file: nothing to import');
  let dtbRegions: DeviceRegion[] | undefined;
  let dtbExtra: DtbMeta | undefined;
  const hashes: Record<string, string> = { input: opts.origin?.sha256 ?? (await sha256File(input)) };
  if (opts.dtb) {
    const dtb = readFileSync(opts.dtb);
    dtbRegions = platformRegionsFromDtb(dtb, opts.dtb, format === 'ftrace');
    hashes.dtb = createHash('sha256').update(dtb).digest('hex');
    // The guest's own description, stored as the emulator stores its DTB (explain uart and the rules read it).
    dtbExtra = dtbMeta(dtb);
  }
  const source: TraceSource = {
    type: 'import',
    name: format,
    config: {
      file: opts.origin?.name ?? basename(input),
      ...(opts.dtb ? { dtb: basename(opts.dtb) } : {}),
      ...(opts.events ? { events: basename(opts.events) } : {}),
      strict: !!opts.strict,
    },
  };
  const writer = TraceWriter.create(output, {
    source,
    clock: clockFor(format, input),
    // Without --dtb: QEMU virt's map (the qemu-log importer adds the GIC's once the log shows which).
    devices: dtbRegions ?? (format === 'ftrace' ? qemuVirtRegions(3) : qemuVirtBaseRegions()),
    hashes,
    ...(dtbExtra ? { extra: { ...dtbExtra } } : {}),
    overwrite: !!opts.overwrite,
    inputs,
  });
  let interrupted: string | undefined;
  const interrupt = opts.interrupt;
  let outcome: ParseOutcome;
  try {
    outcome = parseFile(format, input, (ev) => storeEvent(writer, ev, input, output), {
      dtbRegions,
      events: opts.events,
      strict: opts.strict,
      onRegions: (r) => writer.addDevices(r),
      onProgress: opts.onProgress,
      ...(interrupt ? { shouldStop: () => (interrupted = interrupt()) !== undefined } : {}),
    });
  } catch (err) {
    writer.discard();
    throw err;
  }
  const { stats } = outcome;
  writer.setMeta({
    extra: {
      ...outcome.extra,
      unmappedEvents: stats.unmapped,
      importLines: {
        total: stats.lines,
        parsed: stats.parsed,
        unmapped: unmappedTotal(stats),
        blank: stats.blank,
        header: stats.header,
        bad: stats.bad,
      },
      badLines: stats.badSamples,
      mergedMmioPairs: stats.merged,
      ...(stats.backwards.lines ? { timeBackwards: stats.backwards } : {}),
    },
  });
  const res = writer.close(interrupted !== undefined ? { interrupted } : {});
  const accounted = stats.lines === stats.parsed + unmappedTotal(stats) + stats.blank + stats.header + stats.bad;
  return {
    input,
    output,
    format,
    stats,
    events: res.events,
    outputBytes: res.bytes,
    inputBytes: inputSize,
    elapsedMs: performance.now() - t0,
    accounted,
    ...(interrupted !== undefined ? { interrupted } : {}),
  };
}

/**
 * A gzip-compressed input: decompressed next to the output (streamed, constant memory), then
 * imported; line numbers are those of the decompressed text (as `zcat` shows it).
 */
async function importGzip(opts: ImportOptions): Promise<ImportResult> {
  const { input, output } = opts;
  const plain = `${output}.gunzip-${process.pid}`;
  const interrupt = opts.interrupt;
  rmSync(plain, { force: true }); // a leftover of a killed import that had this process id
  try {
    await pipeline(
      createReadStream(input),
      createGunzip(),
      async function* (chunks: AsyncIterable<Buffer>) {
        for await (const c of chunks) {
          const why = interrupt?.();
          if (why !== undefined) throw new ImportInterrupted(input, why);
          yield c;
        }
      },
      createWriteStream(plain, { flags: 'wx' }),
    );
  } catch (e) {
    rmSync(plain, { force: true });
    if (e instanceof ImportInterrupted) throw e;
    throw new ImportError(input, 0, `cannot decompress: ${errnoText(e)}`);
  }
  try {
    const r = await importFile({ ...opts, input: plain, origin: { name: basename(input), sha256: await sha256File(input) } });
    return { ...r, input };
  } catch (e) {
    if (e instanceof ImportError && e.message.startsWith(plain)) {
      const err = new ImportError(input, 0, '');
      err.message = input + e.message.slice(plain.length);
      Object.assign(err, { line: e.line });
      throw err;
    }
    throw e;
  } finally {
    rmSync(plain, { force: true });
  }
}

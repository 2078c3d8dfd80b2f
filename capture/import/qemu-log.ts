// QEMU "log" trace backend (`-trace PATTERN -D FILE`), all three line forms:
//   EVENT ARGS                                   (no timestamp)
//   TID@SEC.USEC:EVENT ARGS                      (-msg timestamp=on, QEMU < 10.1)
//   YYYY-MM-DDTHH:MM:SS[.ffffff]Z EVENT ARGS     (-msg timestamp=on, QEMU ≥ 10.1)
// Device events give offsets; memory_region_ops_* give absolute addresses. Both kinds describe
// the same access when both are traced: QEMU prints memory_region_ops_write *before* the
// device's write line and memory_region_ops_read *after* the device's read line (the trace sits
// around the device callback in system/memory.c). The importer keeps MMIO events in a short
// reorder window and merges a pair into one event. Each event's arguments are read by its handler
// in qemu-log-events.ts.
import type { DeviceRegion, NewEvent } from '../model.ts';
import { TIMER_NAMES } from '../model.ts';
import { GICC } from '../../arch/regmaps/gicv2.ts';
import { lookupFor } from '../../arch/regmaps/index.ts';
import { ImportError } from './errors.ts';
import type { LineHandler } from './lines.ts';
import { preview } from './lines.ts';
import { AddressMap, qemuVirtBaseRegions, qemuVirtGicRegions } from './memmap.ts';
import { clearOverflow, decAt, numAfter, numEnd, numOverflow, OVERFLOW_REASON } from './parse.ts';
import { MRO_READ, MRO_WRITE, PL011_READ, PL011_WRITE, QEMU_HANDLERS, TIMER_PPI, type QemuLineSink } from './qemu-log-events.ts';
import { countUnmapped, isEventName, MAX_BAD_SAMPLES, newStats, noteBackwards, type ImportStats } from './stats.ts';

export type QemuClockForm = 'tid-sec-usec' | 'iso8601' | 'none';

export interface QemuLogOptions {
  file: string;
  /** Regions from --dtb; when absent the QEMU virt map is used and the GIC version is taken from the log. */
  regions?: DeviceRegion[];
  strict?: boolean;
  emit(ev: NewEvent): void;
  /** Regions discovered while reading (the GIC's, once the log shows which GIC it is). */
  onRegions?(regions: DeviceRegion[]): void;
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** Lines an unmerged MMIO event waits for its partner (device line ↔ memory_region_ops line). */
const MERGE_WINDOW = 256;

/** Models QEMU traces with their own per-access events (so a memory_region_ops line has a partner). */
const DEVICE_TRACED = new Set(['pl011', 'pl031', 'gicv2-dist', 'gicv2-cpu', 'gicv3-dist', 'gicv3-redist', 'gicv3-its', 'virtio-mmio']);

/** memory_region_ops names whose `addr` is relative to an alias container, and the model it belongs to. */
const RELATIVE_MR: Readonly<Record<string, string>> = { 'pcie-mmcfg-mmio': 'pcie-ecam' };

/** One queued output event; MMIO events may wait for their partner line. */
interface Slot {
  ev: NewEvent;
  /** Line after which an unmatched MMIO event is released anyway (0: ready now). */
  until: number;
  /** MMIO only: where the event came from (0 memory_region_ops, 1 device line), region and offset. */
  src: number;
  region: DeviceRegion | undefined;
  off: number;
  valueKnown: boolean;
  matched: boolean;
}

export class QemuLogImporter implements LineHandler, QemuLineSink {
  readonly stats: ImportStats = newStats();
  clockForm: QemuClockForm | undefined;
  /** Absolute time of the first timestamp, in ns since the Unix epoch (as a decimal string). */
  clockStartNs: string | undefined;
  gicVersion: 2 | 3 | undefined;
  readonly map: AddressMap;

  private readonly opts: QemuLogOptions;
  private readonly fixedMap: boolean;
  private q: Slot[] = [];
  private qh = 0;
  private lineNo = 0;
  private time = 0;
  private lastTime = 0;
  private tid = -1;
  private readonly tidCpu = new Map<number, number>();
  private firstUs = NaN;
  private firstMinMs = NaN;
  private firstSecNs = 0;
  private minKey = '';
  private minMs = 0;
  private lastVirtio: DeviceRegion | undefined;
  /** Why the current line is bad, when a handler knows better than "cannot read the arguments". */
  why: string | undefined;

  constructor(opts: QemuLogOptions) {
    this.opts = opts;
    this.fixedMap = opts.regions !== undefined;
    this.map = new AddressMap(opts.regions ?? qemuVirtBaseRegions());
  }

  line(t: string, s: number, e: number, lineNo: number): void {
    this.lineNo = lineNo;
    this.stats.lines++;
    if (s === e) {
      this.stats.blank++;
      return;
    }
    clearOverflow();
    this.why = undefined;
    const p = this.prefix(t, s, e);
    if (p < 0) {
      if (this.guestError(t, s, e)) return this.release(lineNo);
      return this.badLine(
        t,
        s,
        e,
        this.why ??
          (numOverflow ? OVERFLOW_REASON : 'not a QEMU trace line (expected EVENT ARGS, TID@SEC.USEC:EVENT or an ISO-8601 timestamp)'),
      );
    }
    this.dispatch(t, s, p, e);
  }

  /**
   * `-d guest_errors` messages share the log (-D) with the trace lines, with no timestamp. An access
   * where nothing is mapped ("Invalid read at addr 0x9100018, size 4, region '(null)', reason:
   * rejected", from QEMU's memory core) becomes an MMIO event with outcome 'unassigned' (the guest
   * takes an external abort); the other messages ("FUNCTION: text", e.g. "gicv3_dist_read: invalid
   * guest read at offset …", or an access a device rejected, whose addr is relative to the device)
   * are counted as unmapped 'guest_error'.
   */
  private guestError(t: string, s: number, e: number): boolean {
    const write = t.startsWith('Invalid write at addr ', s);
    if (write || t.startsWith('Invalid read at addr ', s)) {
      const addr = numAfter(t, 'addr ', s, e);
      const size = numAfter(t, 'size ', numEnd, e);
      if (addr !== addr || size !== size) return false;
      const r = t.indexOf("region '", numEnd);
      const mr = r >= 0 && r < e ? t.slice(r + 8, t.indexOf("'", r + 8)) : '';
      if (mr === '(null)' || mr === '') {
        this.stats.parsed++;
        const kind = write ? 'mmio_write' : 'mmio_read';
        this.push({
          kind,
          time: this.time,
          vcpu: -1,
          src_line: this.lineNo,
          addr,
          size,
          value: 0n,
          device: '',
          register: '',
          outcome: 'unassigned',
        });
        return true;
      }
    } else if (!GUEST_ERROR.test(t.slice(s, Math.min(e, s + 64)))) return false;
    this.stats.unmapped['guest_error'] = (this.stats.unmapped['guest_error'] ?? 0) + 1;
    return true;
  }

  /** A record of the simple backend, rendered as the log backend prints it (no prefix). */
  eventLine(text: string, record: number, timeNs: number, _pid: number): void {
    this.lineNo = record;
    this.stats.lines++;
    this.tid = -1;
    if (this.clockForm === undefined) this.clockForm = 'none';
    clearOverflow();
    this.why = undefined;
    this.setTime(timeNs);
    this.dispatch(text, 0, 0, text.length);
  }

  /** Simple backend: a mapping or dropped-events record. */
  countHeader(): void {
    this.stats.lines++;
    this.stats.header++;
  }

  /** Simple backend: a well-formed record of an event the trace-events file does not know. */
  unmappedRecord(name: string): void {
    this.stats.lines++;
    countUnmapped(this.stats, name);
  }

  /** Simple backend: a record that cannot be decoded. */
  badRecord(record: number, reason: string): void {
    this.lineNo = record;
    this.stats.lines++;
    if (this.opts.strict) throw new ImportError(this.opts.file, record, reason, 'record');
    this.stats.bad++;
    if (this.stats.badSamples.length < MAX_BAD_SAMPLES) this.stats.badSamples.push({ line: record, reason, text: '' });
  }

  private dispatch(t: string, s: number, p: number, e: number): void {
    const lineNo = this.lineNo;
    let ne = t.indexOf(' ', p);
    if (ne < 0 || ne > e) ne = e;
    // The hottest events are recognised without building the name string.
    let h = ne - p === 22 && t.startsWith('memory_region_ops_', p) ? (t.charCodeAt(p + 18) === 114 ? MRO_READ : MRO_WRITE) : undefined;
    if (h === undefined && ne - p === 10 && t.startsWith('pl011_', p)) h = t.charCodeAt(p + 6) === 114 ? PL011_READ : PL011_WRITE;
    if (h === undefined) h = QEMU_HANDLERS.get(t.slice(p, ne));
    const res = h === undefined ? (isEventName(t, p, ne) ? 'unmapped' : undefined) : h(this, t, ne, e);
    if (res === true) this.stats.parsed++;
    else if (res === 'unmapped') {
      const name = t.slice(p, ne);
      countUnmapped(this.stats, name);
    } else if (res === false)
      return this.badLine(t, s, e, this.why ?? (numOverflow ? OVERFLOW_REASON : `cannot read the arguments of ${t.slice(p, ne)}`));
    else if (!this.guestError(t, p, e)) return this.badLine(t, s, e, 'not a QEMU trace line');
    this.release(lineNo);
  }

  /** Flush everything still waiting; returns the stats. */
  finish(): ImportStats {
    this.release(Infinity);
    return this.stats;
  }

  // ---- line prefix and clock -----------------------------------------------------------------

  /** Parse the timestamp prefix, set `time`/`tid`; returns where the event name starts, or -1. */
  private prefix(t: string, s: number, e: number): number {
    const c0 = t.charCodeAt(s);
    if (c0 >= 48 && c0 <= 57) {
      if (e - s > 20 && t.charCodeAt(s + 4) === 45 && t.charCodeAt(s + 10) === 84) return this.isoPrefix(t, s, e);
      const tid = decAt(t, s, e);
      let p = numEnd;
      if (t.charCodeAt(p) !== 64) return -1; // '@'
      const sec = decAt(t, p + 1, e);
      p = numEnd;
      if (sec !== sec || t.charCodeAt(p) !== 46) return -1; // '.'
      const usec = decAt(t, p + 1, e);
      const digits = numEnd - p - 1;
      p = numEnd;
      if (usec !== usec || t.charCodeAt(p) !== 58) return -1; // ':'
      const us = sec * 1e6 + (digits === 6 ? usec : Math.round(usec * 10 ** (6 - digits)));
      if (!(us <= MAX_SAFE)) return this.timeOutOfRange();
      if (this.clockForm === undefined) this.startClock('tid-sec-usec', us);
      this.tid = tid;
      const rel = this.firstUs === this.firstUs ? (us - this.firstUs) * 1000 : this.lastTime;
      if (rel > MAX_SAFE) return this.timeOutOfRange();
      this.setTime(rel);
      return p + 1;
    }
    if ((c0 >= 97 && c0 <= 122) || c0 === 95) {
      if (this.clockForm === undefined) this.startClock('none', 0);
      this.tid = -1;
      this.setTime(this.clockForm === 'none' ? this.lineNo : this.lastTime);
      return s;
    }
    return -1;
  }

  private isoPrefix(t: string, s: number, e: number): number {
    // YYYY-MM-DDTHH:MM:SS[.frac]Z␠
    if (!t.startsWith(this.minKey, s) || this.minKey === '') {
      const y = decAt(t, s, s + 4);
      const mo = decAt(t, s + 5, s + 7);
      const d = decAt(t, s + 8, s + 10);
      const h = decAt(t, s + 11, s + 13);
      const mi = decAt(t, s + 14, s + 16);
      if ([y, mo, d, h, mi].some((v) => v !== v) || t.charCodeAt(s + 13) !== 58) return -1;
      this.minKey = t.slice(s, s + 17);
      this.minMs = Date.UTC(y, mo - 1, d, h, mi);
    }
    const sec = decAt(t, s + 17, s + 19);
    if (sec !== sec) return -1;
    let p = s + 19;
    let fracNs = 0;
    if (t.charCodeAt(p) === 46) {
      const f = decAt(t, p + 1, e);
      const digits = numEnd - p - 1;
      if (f !== f || digits > 9) return -1;
      fracNs = f * 10 ** (9 - digits);
      p = numEnd;
    }
    if (t.charCodeAt(p) !== 90 || t.charCodeAt(p + 1) !== 32) return -1; // 'Z '
    const secNs = sec * 1e9 + fracNs;
    if (this.clockForm === undefined) {
      this.clockForm = 'iso8601';
      this.firstMinMs = this.minMs;
      this.firstSecNs = secNs;
      this.clockStartNs = (BigInt(this.minMs) * 1000000n + BigInt(secNs)).toString();
    }
    this.tid = -1;
    const rel = this.firstMinMs === this.firstMinMs ? (this.minMs - this.firstMinMs) * 1e6 + secNs - this.firstSecNs : this.lastTime;
    if (rel > MAX_SAFE) return this.timeOutOfRange();
    this.setTime(rel);
    return p + 2;
  }

  private startClock(form: QemuClockForm, us: number): void {
    this.clockForm = form;
    if (form === 'tid-sec-usec') {
      this.firstUs = us;
      this.clockStartNs = (BigInt(us) * 1000n).toString();
    }
  }

  /**
   * Times never go backwards: QEMU threads take timestamps before they take the log lock, so a
   * line can carry an earlier time by a few µs. Such lines keep the previous time and are counted
   * (stats.backwards), so a real jump back (two logs concatenated) is reported, not hidden.
   */
  private setTime(t: number): void {
    if (t < this.lastTime) {
      noteBackwards(this.stats, this.lineNo, this.lastTime - t);
      t = this.lastTime;
    }
    this.time = t;
    this.lastTime = t;
  }

  /** A timestamp whose time in ns does not fit an exact integer: the line is bad. */
  private timeOutOfRange(): -1 {
    this.why = 'timestamp out of range (more than 2^53 ns, about 104 days, after the first line)';
    return -1;
  }

  // ---- bad lines -------------------------------------------------------------------------------

  private badLine(t: string, s: number, e: number, reason: string): void {
    const text = preview(t, s, e);
    if (this.opts.strict) throw new ImportError(this.opts.file, this.lineNo, `${reason}: '${text}'`);
    this.stats.bad++;
    if (this.stats.badSamples.length < MAX_BAD_SAMPLES) this.stats.badSamples.push({ line: this.lineNo, reason, text });
  }

  // ---- event helpers (used by the handlers) ----------------------------------------------------

  /** A vCPU number the store cannot hold: the line is bad, and says why. */
  badVcpu(cpu: number): false {
    this.why = `vCPU ${cpu} out of range (-1 to 65534)`;
    return false;
  }

  vcpuOfThread(): number {
    return this.tid >= 0 ? (this.tidCpu.get(this.tid) ?? -1) : -1;
  }

  ensureGic(version: 2 | 3): void {
    if (this.gicVersion !== undefined || this.fixedMap) {
      this.gicVersion ??= version;
      return;
    }
    this.gicVersion = version;
    const regs = qemuVirtGicRegions(version);
    this.map.add(regs);
    this.opts.onRegions?.(regs);
  }

  /** vCPU index from an MPIDR affinity value as QEMU virt assigns them (8 per cluster on GICv2, 16 on v3). */
  cpuIndex(mpidr: number): number {
    const perCluster = this.gicVersion === 3 ? 16 : 8;
    return ((mpidr >>> 8) & 0xff) * perCluster + (mpidr & 0xff);
  }

  regionByModel(model: string): DeviceRegion | undefined {
    return this.map.byModel(model);
  }

  /** What drives an INTID: the region with that interrupt, a generic timer's PPI, or ''. */
  sourceOf(intid: number): string {
    if (intid < 32) {
      const t = TIMER_PPI.indexOf(intid);
      return t >= 0 ? `timer_${TIMER_NAMES[t]}` : '';
    }
    return this.regionByIntid(intid)?.name ?? '';
  }

  regionByIntid(intid: number): DeviceRegion | undefined {
    if (intid < 32) return undefined;
    for (const r of this.map.regions) if (r.intid === intid) return r;
    return undefined;
  }

  push(ev: NewEvent): void {
    this.q.push({ ev, until: 0, src: -1, region: undefined, off: 0, valueKnown: true, matched: false });
  }

  /** A device trace line's MMIO access (offset within `region`). */
  deviceMmio(
    region: DeviceRegion | undefined,
    off: number,
    write: boolean,
    value: bigint | undefined,
    size: number,
    vcpu: number,
    outcome: 'handled' | 'raz_wi',
  ): boolean {
    if (region === undefined) return false;
    if (region.model === 'virtio-mmio' && this.lastVirtio) region = this.lastVirtio;
    for (let i = this.qh; i < this.q.length; i++) {
      const s = this.q[i]!;
      if (s.src !== 0 || s.matched || s.region?.model !== region.model || s.off !== off || (s.ev.kind === 'mmio_write') !== write) continue;
      const ev = s.ev as Extract<NewEvent, { kind: 'mmio_read' | 'mmio_write' }>;
      // Device lines print 32-bit values; the ops line prints the access value in full.
      if (value !== undefined && ev.value !== value && BigInt.asUintN(32, ev.value) !== value) continue;
      s.matched = true;
      if (outcome !== 'handled') ev.outcome = outcome;
      if (ev.vcpu < 0) ev.vcpu = vcpu;
      this.stats.merged++;
      return true;
    }
    const ev: NewEvent = {
      kind: write ? 'mmio_write' : 'mmio_read',
      time: this.time,
      vcpu,
      src_line: this.lineNo,
      addr: region.base + off,
      size,
      value: value ?? 0n,
      device: region.name,
      register: '',
      outcome,
    };
    this.q.push({ ev, until: this.lineNo + MERGE_WINDOW, src: 1, region, off, valueKnown: value !== undefined, matched: false });
    return true;
  }

  /** A memory_region_ops_read/write line (absolute address). */
  opsMmio(write: boolean, cpu: number, addr: number, value: bigint, size: number, mrName: string): void {
    if (cpu >= 0 && this.tid >= 0) this.tidCpu.set(this.tid, cpu);
    if (this.gicVersion === undefined && mrName.startsWith('gic')) this.ensureGic(mrName.startsWith('gicv3') ? 3 : 2);
    let region = this.map.find(addr);
    // Regions QEMU maps through an alias print container-relative addresses (the PCIe ECAM).
    const relModel = RELATIVE_MR[mrName];
    if (relModel !== undefined && region?.model !== relModel) {
      const reg = this.map.regions.findLast((x) => x.model === relModel);
      if (reg && addr < reg.size) {
        addr += reg.base;
        region = reg;
      }
    }
    const off = region ? addr - region.base : 0;
    if (region?.model === 'virtio-mmio') this.lastVirtio = region;
    const traced = region !== undefined && DEVICE_TRACED.has(region.model);
    if (region !== undefined && traced) {
      for (let i = this.qh; i < this.q.length; i++) {
        const s = this.q[i]!;
        if (s.src !== 1 || s.matched || s.region?.model !== region.model || (s.ev.kind === 'mmio_write') !== write) continue;
        // A virtio-mmio device line does not say which slot: take the slot from this line.
        if (s.off !== (region.model === 'virtio-mmio' ? off : s.region === region ? off : -1)) continue;
        const ev = s.ev as Extract<NewEvent, { kind: 'mmio_read' | 'mmio_write' }>;
        if (s.valueKnown && ev.value !== value && ev.value !== BigInt.asUintN(32, value)) continue;
        s.matched = true;
        ev.value = value;
        ev.size = size;
        ev.addr = addr;
        ev.device = region.name;
        s.region = region;
        if (cpu >= 0) ev.vcpu = cpu;
        this.stats.merged++;
        return;
      }
    }
    const ev: NewEvent = {
      kind: write ? 'mmio_write' : 'mmio_read',
      time: this.time,
      vcpu: cpu,
      src_line: this.lineNo,
      addr,
      size,
      value,
      device: region?.name ?? '',
      register: '',
      outcome: 'handled',
    };
    this.q.push({ ev, until: traced ? this.lineNo + MERGE_WINDOW : 0, src: 0, region, off, valueKnown: true, matched: false });
  }

  // ---- output ----------------------------------------------------------------------------------

  private release(lineNo: number): void {
    const q = this.q;
    while (this.qh < q.length) {
      const s = q[this.qh]!;
      if (s.until !== 0 && !s.matched && s.until >= lineNo) break;
      this.qh++;
      this.out(s);
    }
    if (this.qh === q.length) {
      q.length = 0;
      this.qh = 0;
    } else if (this.qh > 4096) {
      this.q = q.slice(this.qh);
      this.qh = 0;
    }
  }

  private out(s: Slot): void {
    const ev = s.ev;
    const region = s.region;
    const isMmio = s.src >= 0 && region !== undefined && (ev.kind === 'mmio_read' || ev.kind === 'mmio_write');
    if (isMmio) ev.register = lookupFor(region.model)(s.off);
    this.opts.emit(ev);
    this.stats.events++;
    if (!isMmio || ev.kind !== 'mmio_write') return;
    const common = { time: ev.time, vcpu: ev.vcpu, src_line: ev.src_line };
    if (region.role === 'uart' && s.off === 0) {
      // QEMU's PL011 sends every DR write to the chardev, so these bytes are its serial output.
      this.opts.emit({ kind: 'console', ...common, port: region.name, bytes: BYTE[Number(ev.value & 0xffn)]! });
      this.stats.events++;
    } else if (region.model === 'gicv2-cpu' && (s.off === GICC.EOIR || s.off === GICC.DIR)) {
      const intid = Number(ev.value & 0x3ffn);
      this.opts.emit(
        s.off === GICC.EOIR
          ? { kind: 'irq_eoi', ...common, intid, via: 'gicc_mmio' }
          : { kind: 'irq_deactivate', ...common, intid, via: 'gicc_mmio' },
      );
      this.stats.events++;
    }
  }

  // ---- small accessors for handlers ------------------------------------------------------------

  get now(): number {
    return this.time;
  }
  get lineNumber(): number {
    return this.lineNo;
  }
}

/** A QEMU guest-error message: "function_name: text". */
const GUEST_ERROR = /^[A-Za-z_][A-Za-z0-9_]*: /;

const BYTE: Uint8Array[] = Array.from({ length: 256 }, (_, i) => Uint8Array.of(i));

// Linux ftrace text (tracefs `trace` and `trace-cmd report`) with the KVM arm64 tracepoints.
//
//   <comm>-<pid> [(<tgid>)] [<cpu>] [<flags>] <sec>.<frac>: <event>: <payload>
//
// comm may contain spaces ("CPU 0/KVM"), so a line is split at the CPU field: the first
// "[digits]" preceded by "-pid" (and an optional "(tgid)"). Flags have 4 or 5 characters on
// tracefs, none on trace-cmd (unless -l). Fractions have 6 digits (µs) or 9 (trace-cmd -t).
import type { DeviceRegion, NewEvent } from '../model.ts';
import { lookupFor } from '../../arch/regmaps/index.ts';
import { ImportError } from './errors.ts';
import { HOST_NS_PREFIX, HOST_NS_SUFFIX, KVM_HANDLERS, type KvmLineSink, type Pending, type PendingKind } from './ftrace-kvm.ts';
import { preview, type LineHandler } from './lines.ts';
import { AddressMap, qemuVirtRegions } from './memmap.ts';
import { clearOverflow, decAt, numEnd, numOverflow, OVERFLOW_REASON, validVcpu } from './parse.ts';
import { countUnmapped, isEventName, MAX_BAD_SAMPLES, newStats, noteBackwards, type ImportStats } from './stats.ts';

export interface FtraceOptions {
  file: string;
  strict?: boolean;
  emit(ev: NewEvent): void;
  /** Regions from --dtb; default: QEMU virt with a GICv3 (the usual KVM arm64 host setup). */
  regions?: DeviceRegion[];
}

/**
 * Lines an event held for its vCPU's later lines (an exit, a WFx, a trapped access) waits for the
 * vCPU's next kvm_entry before it is stored as it is (a WFx then with slept = 0).
 */
const HOLD_WINDOW = 4096;

interface Slot {
  ev: NewEvent;
  /** Line after which the slot is released anyway; 0 once it is complete. */
  until: number;
}

export class FtraceImporter implements LineHandler, KvmLineSink {
  readonly stats: ImportStats = newStats();
  clockStartNs: string | undefined;
  /** Flag-column width seen: 0 (trace-cmd), 4 or 5 (tracefs), or 'mixed'. */
  flagColumns: number | 'mixed' | undefined;
  /** trace-cmd header facts (version, cpus) or the tracefs '# tracer:' name. */
  header: Record<string, string> | undefined;
  /** kvm_userspace_exit reasons, counted (they are exits to the VMM, not guest events). */
  readonly userspaceExits: Record<string, number> = {};
  readonly map: AddressMap;

  private readonly opts: FtraceOptions;
  private lineNo = 0;
  private firstSec = NaN;
  private firstFrac = 0;
  private lastTime = 0;
  time = 0;
  vcpu = -1;
  /** Why the current line is bad, when a handler knows better than "cannot read the payload". */
  why: string | undefined;
  private readonly pidVcpu = new Map<number, number>();
  thread = -1;
  raised: KvmLineSink['raised'];

  constructor(opts: FtraceOptions) {
    this.opts = opts;
    this.map = new AddressMap(opts.regions ?? qemuVirtRegions(3));
  }

  line(t: string, s: number, e: number, lineNo: number): void {
    this.lineNo = lineNo;
    this.stats.lines++;
    while (s < e && (t.charCodeAt(s) === 32 || t.charCodeAt(s) === 9)) s++;
    if (s === e) {
      this.stats.blank++;
      return;
    }
    clearOverflow();
    this.why = undefined;
    const c0 = t.charCodeAt(s);
    if (c0 === 35 /* # */) {
      this.stats.header++;
      if (t.startsWith('# tracer: ', s)) (this.header ??= {}).tracer = t.slice(s + 10, e).trim();
      return;
    }
    if (this.stats.parsed === 0 && this.isHeader(t, s, e)) {
      this.stats.header++;
      return;
    }
    const p = this.prefix(t, s, e);
    if (p < 0)
      return this.bad(
        t,
        s,
        e,
        this.why ?? (numOverflow ? OVERFLOW_REASON : 'not an ftrace line (expected COMM-PID [CPU] FLAGS SEC.USEC: EVENT: ...)'),
      );
    let ne = t.indexOf(':', p);
    if (ne < 0 || ne > e) return this.bad(t, s, e, 'no event name');
    const name = t.slice(p, ne);
    let q = ne + 1;
    while (q < e && t.charCodeAt(q) === 32) q++;
    if (this.raised?.thread === this.thread && name !== 'vgic_update_irq_pending') this.raised = undefined;
    const h = KVM_HANDLERS.get(name);
    if (h === undefined && !isEventName(t, p, ne)) return this.bad(t, s, e, 'no event name');
    const res = h === undefined ? 'unmapped' : h(this, t, q, e);
    if (res === true) this.stats.parsed++;
    else if (res === 'unmapped') countUnmapped(this.stats, name);
    else this.bad(t, s, e, this.why ?? (numOverflow ? OVERFLOW_REASON : `cannot read the payload of ${name}`));
    if (this.qh < this.q.length) this.drain(lineNo);
  }

  finish(): ImportStats {
    this.drain(Infinity);
    return this.stats;
  }

  private isHeader(t: string, s: number, e: number): boolean {
    const line = t.slice(s, e);
    let m = /^version = (\d+)$/.exec(line);
    if (m) return (((this.header ??= {}).version = m[1]!), true);
    m = /^cpus=(\d+)$/.exec(line);
    if (m) return (((this.header ??= {}).cpus = m[1]!), true);
    return /^CPU \d+ (is empty|data recorded)/i.test(line) || /^trace-cmd: /.test(line);
  }

  /** Parse COMM-PID [CPU] FLAGS TIME:, set time and vcpu; returns the event name's start or -1. */
  private prefix(t: string, s: number, e: number): number {
    let b = t.indexOf('[', s);
    let dash = -1;
    let pid = 0;
    let close = -1;
    while (b >= 0 && b < e) {
      let j = b + 1;
      while (j < e && t.charCodeAt(j) >= 48 && t.charCodeAt(j) <= 57) j++;
      if (j > b + 1 && t.charCodeAt(j) === 93 /* ] */) {
        // Walk back over spaces, an optional "(tgid)", spaces, then "-pid".
        let k = b - 1;
        while (k > s && t.charCodeAt(k) === 32) k--;
        if (t.charCodeAt(k) === 41 /* ) */) {
          const open = t.lastIndexOf('(', k);
          if (open > s) {
            k = open - 1;
            while (k > s && t.charCodeAt(k) === 32) k--;
          }
        }
        const pidEnd = k + 1;
        while (k > s && t.charCodeAt(k) >= 48 && t.charCodeAt(k) <= 57) k--;
        if (k < pidEnd - 1 && t.charCodeAt(k) === 45 /* - */) {
          dash = k;
          pid = decAt(t, k + 1, pidEnd);
          if (pid !== pid) return -1; // more digits than an exact integer holds
          close = j;
          break;
        }
      }
      b = t.indexOf('[', b + 1);
    }
    if (dash < 0) return -1;
    let p = close + 1;
    while (p < e && t.charCodeAt(p) === 32) p++;
    let sp = t.indexOf(' ', p);
    if (sp < 0 || sp > e) return -1;
    let flags = 0;
    if (t.charCodeAt(sp - 1) !== 58 /* : */) {
      flags = sp - p;
      if (flags !== 4 && flags !== 5) return -1;
      p = sp;
      while (p < e && t.charCodeAt(p) === 32) p++;
      sp = t.indexOf(' ', p);
      if (sp < 0 || sp > e || t.charCodeAt(sp - 1) !== 58) return -1;
    }
    if (this.flagColumns === undefined) this.flagColumns = flags;
    else if (this.flagColumns !== flags) this.flagColumns = 'mixed';
    const sec = decAt(t, p, sp);
    if (sec !== sec || t.charCodeAt(numEnd) !== 46) return -1;
    const fs = numEnd + 1;
    const frac = decAt(t, fs, sp);
    const digits = numEnd - fs;
    if (frac !== frac || numEnd !== sp - 1 || digits > 9) return -1;
    const fracNs = frac * 10 ** (9 - digits);
    if (this.firstSec !== this.firstSec) {
      this.firstSec = sec;
      this.firstFrac = fracNs;
      this.clockStartNs = (BigInt(sec) * 1000000000n + BigInt(fracNs)).toString();
    }
    const rel = (sec - this.firstSec) * 1e9 + fracNs - this.firstFrac;
    if (!(rel <= Number.MAX_SAFE_INTEGER)) {
      this.why = 'timestamp out of range (more than 2^53 ns, about 104 days, after the first event)';
      return -1;
    }
    // A line earlier than the one before keeps the previous time; counted and reported (a merged
    // trace is sorted, so a step back means clock trouble or files pasted together).
    if (rel < this.lastTime) noteBackwards(this.stats, this.lineNo, this.lastTime - rel);
    else this.lastTime = rel;
    this.time = this.lastTime;
    // vCPU from QEMU's thread name "CPU <n>/KVM" (learned per pid: comm is cut to 15 characters).
    let cs = s;
    while (cs < dash && t.charCodeAt(cs) === 32) cs++;
    let v = -1;
    if (t.startsWith('CPU ', cs)) {
      const n = decAt(t, cs + 4, dash);
      if (n === n && t.charCodeAt(numEnd) === 47 /* / */) {
        if (!validVcpu(n)) {
          this.why = `vCPU ${n} out of range (0 to 65534) in the thread name`;
          return -1;
        }
        v = n;
      }
    }
    this.thread = pid;
    if (v >= 0) this.pidVcpu.set(pid, v);
    else v = this.pidVcpu.get(pid) ?? -1;
    this.vcpu = v;
    p = sp + 1;
    while (p < e && t.charCodeAt(p) === 32) p++;
    return p;
  }

  private bad(t: string, s: number, e: number, reason: string): void {
    const text = preview(t, s, e);
    if (this.opts.strict) throw new ImportError(this.opts.file, this.lineNo, `${reason}: '${text}'`);
    this.stats.bad++;
    if (this.stats.badSamples.length < MAX_BAD_SAMPLES) this.stats.badSamples.push({ line: this.lineNo, reason, text });
  }

  /**
   * Output goes through a short queue so an event can wait for its vCPU's later lines (an exit for
   * its syndrome, a WFx for how long the vCPU slept) without reordering events.
   */
  private q: Slot[] = [];
  private qh = 0;
  private readonly held: { [K in PendingKind]: Map<number, Slot & { ev: Pending[K] }> } = {
    exit: new Map(),
    wfx: new Map(),
    sys: new Map(),
  };

  emit(ev: NewEvent): void {
    if (this.qh === this.q.length) {
      this.opts.emit(ev);
      this.stats.events++;
      return;
    }
    this.q.push({ ev, until: 0 });
  }

  hold<K extends PendingKind>(kind: K, ev: Pending[K]): void {
    const slot = { ev, until: this.lineNo + HOLD_WINDOW };
    this.q.push(slot);
    const m = this.held[kind] as Map<number, Slot>;
    const old = m.get(ev.vcpu);
    if (old) old.until = 0; // a second exit before an entry: the first is as complete as it gets
    m.set(ev.vcpu, slot);
  }

  pending<K extends PendingKind>(kind: K, vcpu: number): Pending[K] | undefined {
    return (this.held[kind] as Map<number, Slot & { ev: Pending[K] }>).get(vcpu)?.ev;
  }

  /** kvm_entry of `vcpu` at the current time: what it held is complete (a WFx's sleep ends here). */
  entered(vcpu: number): void {
    const w = this.held.wfx.get(vcpu);
    if (w && !w.ev.sleptKnown) w.ev.slept = this.time - w.ev.time;
    // The time the exit took, kvm_exit to kvm_entry (the model's exception has no duration field:
    // the analyzers read it back with hostNsOf, capture/import/ftrace-kvm.ts).
    const x = this.held.exit.get(vcpu);
    if (x) x.ev.detail += `${HOST_NS_PREFIX}${this.time - x.ev.time}${HOST_NS_SUFFIX}`;
    for (const m of [this.held.exit, this.held.wfx, this.held.sys] as Map<number, Slot>[]) {
      const s = m.get(vcpu);
      if (s) {
        s.until = 0;
        m.delete(vcpu);
      }
    }
    this.drain(this.lineNo);
  }

  drain(lineNo: number): void {
    const q = this.q;
    while (this.qh < q.length) {
      const s = q[this.qh]!;
      if (s.until !== 0 && s.until >= lineNo) break;
      if (s.until !== 0) this.forget(s);
      this.qh++;
      const ev = s.ev as NewEvent & { sleptKnown?: boolean };
      if (ev.kind === 'wfx') delete ev.sleptKnown;
      this.opts.emit(ev);
      this.stats.events++;
    }
    if (this.qh === q.length) {
      q.length = 0;
      this.qh = 0;
    } else if (this.qh > 4096) {
      this.q = q.slice(this.qh);
      this.qh = 0;
    }
  }

  /** A held slot stored without its vCPU's kvm_entry (window passed, or the end of the file). */
  private forget(s: Slot): void {
    for (const m of [this.held.exit, this.held.wfx, this.held.sys] as Map<number, Slot>[]) if (m.get(s.ev.vcpu) === s) m.delete(s.ev.vcpu);
  }

  common(vcpu = this.vcpu, pc?: bigint) {
    return pc === undefined ? { time: this.time, vcpu, src_line: this.lineNo } : { time: this.time, vcpu, src_line: this.lineNo, pc };
  }

  mmio(write: boolean, addr: number, size: number, value: bigint): void {
    const region = this.map.find(addr);
    const off = region ? addr - region.base : 0;
    const c = this.common();
    this.emit({
      kind: write ? 'mmio_write' : 'mmio_read',
      ...c,
      addr,
      size,
      value,
      device: region?.name ?? '',
      register: region ? lookupFor(region.model)(off) : '',
      outcome: 'handled',
    });
    if (write && region?.role === 'uart' && off === 0)
      this.emit({ kind: 'console', ...c, port: region.name, bytes: Uint8Array.of(Number(value & 0xffn)) });
  }

  /** A vCPU number the store cannot hold: the line is bad, and says why. */
  badVcpu(v: number): false {
    this.why = `vCPU ${v} out of range (0 to 65534)`;
    return false;
  }

  sourceOf(intid: number): string {
    if (intid < 32)
      return (
        ({ 30: 'timer_phys', 27: 'timer_virt', 26: 'timer_hyp', 29: 'timer_sec', 28: 'timer_hypvirt' } as Record<number, string>)[intid] ??
        ''
      );
    for (const r of this.map.regions) if (r.intid === intid) return r.name;
    return '';
  }
}

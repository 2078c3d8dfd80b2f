// Linux ftrace text (tracefs `trace` and `trace-cmd report`) with the KVM arm64 tracepoints.
//
//   <comm>-<pid> [(<tgid>)] [<cpu>] [<flags>] <sec>.<frac>: <event>: <payload>
//
// comm may contain spaces ("CPU 0/KVM"), so a line is split at the CPU field: the first
// "[digits]" preceded by "-pid" (and an optional "(tgid)"). Flags have 4 or 5 characters on
// tracefs, none on trace-cmd (unless -l). Fractions have 6 digits (µs) or 9 (trace-cmd -t).
import type { DeviceRegion, NewEvent } from '../model.ts';
import { decodeSmccc } from '../../arch/hypercalls/smccc.ts';
import { XEN_HYPERCALL_IMM } from '../../arch/hypercalls/xen.ts';
import { lookupFor } from '../../arch/regmaps/index.ts';
import { sysregEncoding } from '../../arch/sysregs.ts';
import { ImportError } from './errors.ts';
import { preview, type LineHandler } from './lines.ts';
import { AddressMap, qemuVirtRegions } from './memmap.ts';
import { bigAfter, clearOverflow, decAt, numAfter, numEnd, numOverflow, OVERFLOW_REASON, validVcpu } from './parse.ts';
import { MAX_BAD_SAMPLES, newStats, noteBackwards, type ImportStats } from './stats.ts';

export interface FtraceOptions {
  file: string;
  strict?: boolean;
  emit(ev: NewEvent): void;
  /** Regions from --dtb; default: QEMU virt with a GICv3 (the usual KVM arm64 host setup). */
  regions?: DeviceRegion[];
}

/** Exception-class names as kvm_exit prints them (arch/arm64/include/asm/kvm_arm.h ECN table). */
export const KVM_EC_NAMES: Readonly<Record<number, string>> = {
  0x00: 'UNKNOWN', 0x01: 'WFx', 0x03: 'CP15_32', 0x04: 'CP15_64', 0x05: 'CP14_MR', 0x06: 'CP14_LS',
  0x07: 'FP_ASIMD', 0x08: 'CP10_ID', 0x09: 'PAC', 0x0c: 'CP14_64', 0x15: 'SVC64', 0x16: 'HVC64',
  0x17: 'SMC64', 0x18: 'SYS64', 0x19: 'SVE', 0x1a: 'ERET', 0x1f: 'IMP_DEF', 0x20: 'IABT_LOW',
  0x21: 'IABT_CUR', 0x22: 'PC_ALIGN', 0x24: 'DABT_LOW', 0x25: 'DABT_CUR', 0x26: 'SP_ALIGN',
  0x28: 'FP_EXC32', 0x2c: 'FP_EXC64', 0x2f: 'SERROR', 0x30: 'BREAKPT_LOW', 0x31: 'BREAKPT_CUR',
  0x32: 'SOFTSTP_LOW', 0x33: 'SOFTSTP_CUR', 0x34: 'WATCHPT_LOW', 0x35: 'WATCHPT_CUR', 0x38: 'BKPT32',
  0x3a: 'VECTOR32', 0x3c: 'BRK64',
};

/** Lines a WFx event waits for its vCPU's next kvm_entry before it is stored with slept = 0. */
const WFX_WINDOW = 4096;

type Handler = (imp: FtraceImporter, t: string, p: number, e: number) => boolean | 'unmapped';

export class FtraceImporter implements LineHandler {
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
    if (p < 0) return this.bad(t, s, e, this.why ?? (numOverflow ? OVERFLOW_REASON : 'not an ftrace line (expected COMM-PID [CPU] FLAGS SEC.USEC: EVENT: ...)'));
    let ne = t.indexOf(':', p);
    if (ne < 0 || ne > e) return this.bad(t, s, e, 'no event name');
    const name = t.slice(p, ne);
    let q = ne + 1;
    while (q < e && t.charCodeAt(q) === 32) q++;
    const h = HANDLERS.get(name);
    const res = h === undefined ? 'unmapped' : h(this, t, q, e);
    if (res === true) this.stats.parsed++;
    else if (res === 'unmapped') this.stats.unmapped[name] = (this.stats.unmapped[name] ?? 0) + 1;
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
    if (m) return ((this.header ??= {}).version = m[1]!), true;
    m = /^cpus=(\d+)$/.exec(line);
    if (m) return ((this.header ??= {}).cpus = m[1]!), true;
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
   * Output goes through a short queue so a WFx event can wait for its vCPU's next kvm_entry and
   * learn how long the vCPU slept, without reordering events.
   */
  private q: Array<{ ev: NewEvent; until: number }> = [];
  private qh = 0;
  private readonly waiting = new Map<number, { ev: Extract<NewEvent, { kind: 'wfx' }>; until: number }>();

  emit(ev: NewEvent, hold = false): void {
    if (!hold && this.qh === this.q.length) {
      this.opts.emit(ev);
      this.stats.events++;
      return;
    }
    const slot = { ev, until: hold ? this.lineNo + WFX_WINDOW : 0 };
    this.q.push(slot);
    if (hold && ev.kind === 'wfx') this.waiting.set(ev.vcpu, slot as { ev: Extract<NewEvent, { kind: 'wfx' }>; until: number });
  }

  /** kvm_entry of `vcpu` at the current time: the WFx it was sleeping in (if any) is complete. */
  entered(vcpu: number): void {
    const w = this.waiting.get(vcpu);
    if (w) {
      w.ev.slept = this.time - w.ev.time;
      w.until = 0;
      this.waiting.delete(vcpu);
    }
    this.drain(this.lineNo);
  }

  drain(lineNo: number): void {
    const q = this.q;
    while (this.qh < q.length) {
      const s = q[this.qh]!;
      if (s.until !== 0 && s.until >= lineNo) break;
      if (s.until !== 0 && s.ev.kind === 'wfx' && this.waiting.get(s.ev.vcpu)?.ev === s.ev) this.waiting.delete(s.ev.vcpu);
      this.qh++;
      this.opts.emit(s.ev);
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

  common(vcpu = this.vcpu, pc?: bigint) {
    return pc === undefined ? { time: this.time, vcpu, src_line: this.lineNo } : { time: this.time, vcpu, src_line: this.lineNo, pc };
  }

  mmio(write: boolean, addr: number, size: number, value: bigint): void {
    const region = this.map.find(addr);
    const off = region ? addr - region.base : 0;
    const c = this.common();
    this.emit({ kind: write ? 'mmio_write' : 'mmio_read', ...c, addr, size, value, device: region?.name ?? '', register: region ? lookupFor(region.model)(off) : '', outcome: 'handled' });
    if (write && region?.role === 'uart' && off === 0) this.emit({ kind: 'console', ...c, port: region.name, bytes: Uint8Array.of(Number(value & 0xffn)) });
  }

  /** A vCPU number the store cannot hold: the line is bad, and says why. */
  badVcpu(v: number): false {
    this.why = `vCPU ${v} out of range (0 to 65534)`;
    return false;
  }

  sourceOf(intid: number): string {
    if (intid < 32) return ({ 30: 'timer_phys', 27: 'timer_virt', 26: 'timer_hyp', 29: 'timer_sec', 28: 'timer_hypvirt' } as Record<number, string>)[intid] ?? '';
    for (const r of this.map.regions) if (r.intid === intid) return r.name;
    return '';
  }
}

const H = new Map<string, Handler>();
export const HANDLERS: ReadonlyMap<string, Handler> = H;

// kvm_entry: "PC: 0x%016lx" — a return to the guest; no model event of its own.
H.set('kvm_entry', (imp, t, p, e) => {
  if (bigAfter(t, 'PC: ', p, e) === undefined) return false;
  imp.entered(imp.vcpu);
  return true;
});

// kvm_exit: "%s: HSR_EC: 0x%04x (%s), PC: 0x%016lx" (ESR_EC in some kernels).
H.set('kvm_exit', (imp, t, p, e) => {
  const colon = t.indexOf(':', p);
  if (colon < 0 || colon > e) return false;
  const type = t.slice(p, colon);
  const ec = numAfter(t, '_EC: ', colon, e);
  const pc = bigAfter(t, 'PC: ', numEnd, e);
  if (ec !== ec || pc === undefined) return false;
  const ecName = KVM_EC_NAMES[ec] ?? `0x${ec.toString(16)}`;
  imp.emit({ kind: 'exception', ...imp.common(imp.vcpu, pc), ec, esr: ec * 0x4000000, far: 0n, from_el: 1, to_el: 2, detail: `kvm_exit ${type} (${ecName}); ISS not traced` });
  return true;
});

// kvm_guest_fault: "ipa %#llx, hsr %#08lx, hxfar %#08lx, pc %#016lx"
H.set('kvm_guest_fault', (imp, t, p, e) => {
  const ipa = bigAfter(t, 'ipa ', p, e);
  const hsr = numAfter(t, 'hsr ', numEnd, e);
  const far = bigAfter(t, 'hxfar ', numEnd, e);
  const pc = bigAfter(t, 'pc ', numEnd, e);
  if (ipa === undefined || hsr !== hsr || far === undefined || pc === undefined) return false;
  const ec = Math.floor(hsr / 0x4000000) & 0x3f;
  imp.emit({ kind: 'exception', ...imp.common(imp.vcpu, pc), ec, esr: hsr, far, from_el: 1, to_el: 2, detail: `guest fault (${KVM_EC_NAMES[ec] ?? 'EC 0x' + ec.toString(16)}) ipa 0x${ipa.toString(16)}` });
  return true;
});

// kvm_mmio: "mmio %s len %u gpa 0x%llx val 0x%llx"; an unsatisfied-read is completed by a later "read".
H.set('kvm_mmio', (imp, t, p, e) => {
  const sp = t.indexOf(' ', p + 5);
  const type = t.slice(p + 5, sp);
  const len = numAfter(t, 'len ', sp, e);
  const gpa = numAfter(t, 'gpa ', numEnd, e);
  const val = bigAfter(t, 'val ', numEnd, e);
  if (len !== len || gpa !== gpa || val === undefined) return false;
  if (type === 'unsatisfied-read') return true;
  if (type !== 'read' && type !== 'write') return false;
  imp.mmio(type === 'write', gpa, len, val);
  return true;
});

// kvm_hvc_arm64: "HVC at 0x%016lx (r0: 0x%016lx, imm: 0x%lx)"
H.set('kvm_hvc_arm64', (imp, t, p, e) => {
  const pc = bigAfter(t, 'at ', p, e);
  const r0 = bigAfter(t, 'r0: ', numEnd, e);
  const imm = numAfter(t, 'imm: ', numEnd, e);
  if (pc === undefined || r0 === undefined || imm !== imm) return false;
  if (imm === XEN_HYPERCALL_IMM) {
    // Xen's number is in x16, which this tracepoint does not record.
    imp.emit({ kind: 'hypercall', ...imp.common(imp.vcpu, pc), conduit: 'hvc', imm, func: 0, name: '', subop: '', args: [r0], results: [] });
    return true;
  }
  const func = Number(BigInt.asUintN(32, r0));
  imp.emit({ kind: 'hypercall', ...imp.common(imp.vcpu, pc), conduit: 'hvc', imm, func, name: decodeSmccc(func).name, subop: '', args: [], results: [] });
  return true;
});

// kvm_wfx_arm64: "guest executed wf%c at: 0x%016lx"
H.set('kvm_wfx_arm64', (imp, t, p, e) => {
  const i = t.indexOf('executed wf', p);
  const pc = bigAfter(t, 'at: ', p, e);
  if (i < 0 || i > e || pc === undefined) return false;
  // slept is filled in by the vCPU's next kvm_entry (if it comes within WFX_WINDOW lines).
  imp.emit({ kind: 'wfx', ...imp.common(imp.vcpu, pc), wfe: t.charCodeAt(i + 11) === 101, wake: 'unknown', slept: 0 }, imp.vcpu >= 0);
  return true;
});

// kvm_irq_line: "Inject %s interrupt (%d), vcpu->idx: %d, num: %d, level: %d"
H.set('kvm_irq_line', (imp, t, p, e) => {
  const type = numAfter(t, 'interrupt (', p, e);
  const idx = numAfter(t, 'idx: ', numEnd, e);
  const num = numAfter(t, 'num: ', numEnd, e);
  const level = numAfter(t, 'level: ', numEnd, e);
  if ([type, idx, num, level].some((v) => v !== v)) return false;
  if (type === 0) {
    // Userspace irqchip: the CPU's IRQ/FIQ pin, not a GIC INTID.
    return 'unmapped';
  }
  if (type === 2 && !(idx >= 0 && validVcpu(idx))) return imp.badVcpu(idx);
  imp.emit({ kind: 'irq_line', ...imp.common(type === 2 ? idx : -1), intid: num, level: level ? 1 : 0, trigger: 'level', source: imp.sourceOf(num) });
  return true;
});

// kvm_timer_update_irq: "VCPU: %ld, IRQ %d, level %d"; vgic_update_irq_pending: "VCPU: %ld, IRQ %d, level: %d"
function vcpuIrq(source: string | undefined): Handler {
  return (imp, t, p, e) => {
    const v = numAfter(t, 'VCPU: ', p, e);
    const irq = numAfter(t, 'IRQ ', numEnd, e);
    const level = levelAt(t, e);
    if (v !== v || irq !== irq || level !== level) return false;
    if (!(v >= 0 && validVcpu(v))) return imp.badVcpu(v);
    imp.emit({ kind: 'irq_line', ...imp.common(v), intid: irq, level: level ? 1 : 0, trigger: 'level', source: source ?? imp.sourceOf(irq) });
    return true;
  };
}
/** The number after the last 'level' (with or without a colon). */
function levelAt(t: string, e: number): number {
  const i = t.lastIndexOf('level', e);
  let p = i + 5;
  if (t.charCodeAt(p) === 58) p++;
  while (t.charCodeAt(p) === 32) p++;
  return decAt(t, p, e);
}
H.set('kvm_timer_update_irq', vcpuIrq('timer'));
H.set('vgic_update_irq_pending', vcpuIrq(undefined));

// kvm_sys_access: "PC: %lx %s (%d,%d,%d,%d,%d) %s"
H.set('kvm_sys_access', (imp, t, p, e) => {
  const pc = bigAfter(t, 'PC: ', p, e);
  const sp = numEnd + 1;
  const open = t.indexOf(' (', sp);
  if (pc === undefined || open < 0 || open > e) return false;
  const name = t.slice(sp, open);
  const ops: number[] = [];
  let q = open + 2;
  for (let i = 0; i < 5; i++) {
    const v = decAt(t, q, e);
    if (v !== v) return false;
    ops.push(v);
    q = numEnd + 1;
  }
  const write = t.endsWith('write', e);
  const encoding = sysregEncoding(ops[0]!, ops[1]!, ops[2]!, ops[3]!, ops[4]!);
  imp.emit({ kind: 'sysreg', ...imp.common(imp.vcpu, pc), name: name === 'UNKN' ? '' : name, encoding, write, value: 0n, outcome: 'trapped' });
  return true;
});

// kvm_userspace_exit: "reason %s (%d)" — counted in the metadata, no guest event.
H.set('kvm_userspace_exit', (imp, t, p, e) => {
  const i = t.indexOf('reason ', p);
  if (i < 0 || i > e) return false;
  const sp = t.indexOf(' ', i + 7);
  const reason = t.slice(i + 7, sp < 0 || sp > e ? e : sp);
  imp.userspaceExits[reason] = (imp.userspaceExits[reason] ?? 0) + 1;
  return true;
});

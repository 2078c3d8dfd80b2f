// The arm64 KVM tracepoints of Linux (system `kvm`): how each line's payload becomes model events.
// Formats are each event's TP_printk, as the host kernel's events/kvm/*/format files print them
// (arch/arm64/kvm/trace_arm.h, trace_handle_exit.h, vgic/trace.h, include/trace/events/kvm.h; the
// KVM oracle dumps them, docs/kvm-oracle.md). Events the model has no place for are counted as
// unmapped, each for a reason given in FTRACE_UNMAPPED (and docs/importers.md).
import type { NewEvent } from '../model.ts';
import { decodeSmccc } from '../../arch/hypercalls/smccc.ts';
import { XEN_HYPERCALL_IMM } from '../../arch/hypercalls/xen.ts';
import { sysregEncoding, sysregNameOf } from '../../arch/sysregs.ts';
import { bigAfter, decAt, hexBigAt, numAfter, numEnd, validVcpu } from './parse.ts';

/** Exception-class names as kvm_exit prints them (arch/arm64/include/asm/kvm_arm.h ECN table). */
export const KVM_EC_NAMES: Readonly<Record<number, string>> = {
  0x00: 'UNKNOWN',
  0x01: 'WFx',
  0x03: 'CP15_32',
  0x04: 'CP15_64',
  0x05: 'CP14_MR',
  0x06: 'CP14_LS',
  0x07: 'FP_ASIMD',
  0x08: 'CP10_ID',
  0x09: 'PAC',
  0x0c: 'CP14_64',
  0x15: 'SVC64',
  0x16: 'HVC64',
  0x17: 'SMC64',
  0x18: 'SYS64',
  0x19: 'SVE',
  0x1a: 'ERET',
  0x1f: 'IMP_DEF',
  0x20: 'IABT_LOW',
  0x21: 'IABT_CUR',
  0x22: 'PC_ALIGN',
  0x24: 'DABT_LOW',
  0x25: 'DABT_CUR',
  0x26: 'SP_ALIGN',
  0x28: 'FP_EXC32',
  0x2c: 'FP_EXC64',
  0x2f: 'SERROR',
  0x30: 'BREAKPT_LOW',
  0x31: 'BREAKPT_CUR',
  0x32: 'SOFTSTP_LOW',
  0x33: 'SOFTSTP_CUR',
  0x34: 'WATCHPT_LOW',
  0x35: 'WATCHPT_CUR',
  0x38: 'BKPT32',
  0x3a: 'VECTOR32',
  0x3c: 'BRK64',
};

/** Why a kvm_exit's exception event says less than the ESR: only the EC is traced. */
export const ISS_NOT_TRACED = '; ISS not traced';

/**
 * How long an exit kept the vCPU out of the guest (kvm_exit to its kvm_entry) is written at the
 * end of the exit's detail, "…; 312000 ns in the host"; hostNsOf reads it back (`bootscope exits`).
 */
export const HOST_NS_PREFIX = '; ';
export const HOST_NS_SUFFIX = ' ns in the host';
const HOST_NS = /; (\d+) ns in the host$/;

/** The time an imported kvm_exit spent in the host, in ns, when its kvm_entry was traced. */
export function hostNsOf(detail: string): number | undefined {
  const m = HOST_NS.exec(detail);
  const ns = m ? Number(m[1]) : NaN;
  // Only the importer writes it, but a trace is input: a number past 2^53 is not a time.
  return Number.isSafeInteger(ns) ? ns : undefined;
}

type Exception = Extract<NewEvent, { kind: 'exception' }>;
type Wfx = Extract<NewEvent, { kind: 'wfx' }>;
type Sysreg = Extract<NewEvent, { kind: 'sysreg' }>;

/**
 * Events a vCPU's later lines complete: its exit (kvm_handle_sys_reg and kvm_guest_fault give the
 * full ESR), its WFx (kvm_vcpu_wakeup gives the time blocked, the interrupt that woke it), its
 * trapped system-register access (trap_reg gives the value written). Each is held, without
 * reordering events, until the vCPU's next kvm_entry.
 */
export interface Pending {
  exit: Exception;
  wfx: Wfx & { sleptKnown?: boolean };
  sys: Sysreg;
}
export type PendingKind = keyof Pending;

/** What the handlers need from the importer (capture/import/ftrace.ts). */
export interface KvmLineSink {
  readonly time: number;
  /** vCPU of the line's thread ("CPU <n>/KVM"), -1 when not a vCPU thread. */
  readonly vcpu: number;
  why: string | undefined;
  readonly userspaceExits: Record<string, number>;
  /** pid of the line's thread. */
  readonly thread: number;
  /**
   * The last interrupt line KVM was asked to change (kvm_irq_line, kvm_timer_update_irq) while that
   * thread's next line has not come: the vgic_update_irq_pending line the same call then prints is
   * the same change, not a second one. The importer clears it at the thread's next other line.
   */
  raised: { thread: number; intid: number; level: number } | undefined;
  common(vcpu?: number, pc?: bigint): { time: number; vcpu: number; src_line: number; pc?: bigint };
  emit(ev: NewEvent): void;
  /** Queue `ev` and keep it open for the vCPU's later lines until its next kvm_entry. */
  hold<K extends PendingKind>(kind: K, ev: Pending[K]): void;
  pending<K extends PendingKind>(kind: K, vcpu: number): Pending[K] | undefined;
  /** kvm_entry: the vCPU is back in the guest; what it held is complete. */
  entered(vcpu: number): void;
  mmio(write: boolean, addr: number, size: number, value: bigint): void;
  badVcpu(v: number): false;
  sourceOf(intid: number): string;
}

type Handler = (imp: KvmLineSink, t: string, p: number, e: number) => boolean | 'unmapped';

const H = new Map<string, Handler>();
export const KVM_HANDLERS: ReadonlyMap<string, Handler> = H;

/**
 * kvm:* events of Linux 6.1 and 6.12 (arm64) counted as unmapped on purpose, with the reason. Every
 * other kvm event of those kernels has a handler (test/capture/import/ftrace-kvm.test.ts checks both
 * kernels' format lists against these two tables).
 */
export const FTRACE_UNMAPPED: ReadonlyMap<string, string> = new Map([
  ['kvm_unmap_hva_range', 'host memory management: an MMU notifier dropped host pages behind guest memory'],
  ['kvm_set_spte_hva', 'host memory management: an MMU notifier changed a host page behind guest memory'],
  ['kvm_age_hva', "host memory management: page ageing for the host's reclaim"],
  ['kvm_test_age_hva', "host memory management: page ageing for the host's reclaim"],
  [
    'kvm_access_fault',
    'host memory management: a stage-2 access-flag fault; the exit and its ESR are the kvm_exit and kvm_guest_fault lines',
  ],
  ['kvm_dirty_ring_push', 'dirty-page logging for migration, not guest behaviour'],
  ['kvm_dirty_ring_reset', 'dirty-page logging for migration, not guest behaviour'],
  ['kvm_dirty_ring_exit', 'dirty-page logging for migration, not guest behaviour'],
  ['kvm_arm_setup_debug', "KVM's debug-state bookkeeping on every guest entry (host pointer, debug flags)"],
  ['kvm_arm_clear_debug', "KVM's debug-state bookkeeping on every guest exit"],
  ['kvm_arm_set_dreg32', 'the MDCR_EL2 value KVM programs for the guest on every entry'],
  ['kvm_arm_set_regset', 'debug registers the VMM set for guest debugging (KVM_SET_GUEST_DEBUG)'],
  ['kvm_set_guest_debug', 'the VMM switched guest debugging (KVM_SET_GUEST_DEBUG)'],
  ['kvm_get_timer_map', 'which timers KVM maps to hardware for a vCPU, recomputed on every vCPU load'],
  ['kvm_timer_emulate', "KVM evaluates a timer it emulates in software; the line's level change is the kvm_timer_update_irq line"],
  [
    'kvm_timer_hrtimer_expire',
    "the host's background timer for a blocked vCPU fired; it names no vCPU (the wake-up is the kvm_vcpu_wakeup line)",
  ],
  ['kvm_halt_poll_ns', "the host's halt-polling window for a vCPU was grown or shrunk"],
  ['kvm_fpu', "the host loaded or put away the guest's FP/SIMD registers (lazy switching)"],
  ['kvm_toggle_cache', "a trapped SCTLR_EL1 write switched the guest's caches; the write itself is the kvm_sys_access line"],
  ['kvm_set_way_flush', 'a trapped set/way cache operation; the operation itself is the kvm_sys_access line'],
  ['kvm_mmio_emulate', 'the instruction of an MMIO access KVM decoded; the access itself is the kvm_mmio line'],
  ['kvm_ack_irq', "an irqfd resampler saw an SPI's EOI: only for resampled irqfds, so not every EOI of the guest"],
  ['kvm_forward_sysreg_trap', 'nested virtualisation (6.12): a trap KVM forwards to a guest hypervisor; a guest at EL1 never causes it'],
  ['kvm_inject_nested_exception', 'nested virtualisation (6.12): an exception KVM injects into a guest hypervisor at virtual EL2'],
  ['kvm_nested_eret', 'nested virtualisation (6.12): a guest hypervisor returned from virtual EL2'],
  [
    'kvm_set_irq',
    "an interrupt injected through KVM's routing table (irqfd, KVM_IRQ_LINE on a GSI): the table that maps the GSI to an INTID is not in the trace; the vgic_update_irq_pending line that follows has the INTID",
  ],
]);

// kvm_entry: "PC: 0x%016lx" — the vCPU is back in the guest; no model event of its own.
H.set('kvm_entry', (imp, t, p, e) => {
  if (bigAfter(t, 'PC: ', p, e) === undefined) return false;
  imp.entered(imp.vcpu);
  return true;
});

// kvm_exit: "%s: HSR_EC: 0x%04x (%s), PC: 0x%016lx" (ESR_EC in some kernels). Held until the vCPU's
// next kvm_entry: kvm_handle_sys_reg / kvm_guest_fault on the way give the full ESR.
H.set('kvm_exit', (imp, t, p, e) => {
  const colon = t.indexOf(':', p);
  if (colon < 0 || colon > e) return false;
  const type = t.slice(p, colon);
  const ec = numAfter(t, '_EC: ', colon, e);
  const pc = bigAfter(t, 'PC: ', numEnd, e);
  if (ec !== ec || pc === undefined) return false;
  const ecName = KVM_EC_NAMES[ec] ?? `0x${ec.toString(16)}`;
  imp.hold('exit', {
    kind: 'exception',
    ...imp.common(imp.vcpu, pc),
    ec,
    esr: ec * 0x4000000,
    far: 0n,
    from_el: 1,
    to_el: 2,
    detail: `kvm_exit ${type} (${ecName})${ISS_NOT_TRACED}`,
  });
  return true;
});

/** The held exit of this line's vCPU still waiting for its syndrome, if its EC is one of `ecs`. */
function openExit(imp: KvmLineSink, ecs: readonly number[]): Exception | undefined {
  const x = imp.pending('exit', imp.vcpu);
  return x && ecs.includes(x.ec) && x.detail.endsWith(ISS_NOT_TRACED) ? x : undefined;
}

// kvm_handle_sys_reg: "HSR 0x%08lx" — the syndrome of a trapped MSR/MRS/SYS instruction.
H.set('kvm_handle_sys_reg', (imp, t, p, e) => {
  const hsr = numAfter(t, 'HSR ', p, e);
  if (hsr !== hsr) return false;
  const x = openExit(imp, [0x18]);
  if (x) {
    x.esr = hsr;
    x.detail = x.detail.slice(0, -ISS_NOT_TRACED.length);
  }
  return true;
});

/** The syndrome of a stage-2 abort completes the vCPU's held abort exit, or stands alone (a trace cut before it). */
function abortSyndrome(imp: KvmLineSink, ipa: bigint, hsr: number, far: bigint, pc: bigint, what: string): void {
  const ec = Math.floor(hsr / 0x4000000) & 0x3f;
  const x = openExit(imp, [0x20, 0x24]);
  const detail = `${what} ipa 0x${ipa.toString(16)}`;
  if (x && x.ec === ec) {
    x.esr = hsr;
    x.far = far;
    x.detail = `${x.detail.slice(0, -ISS_NOT_TRACED.length)} ${detail}`.replace(/ guest fault /, ' ');
    return;
  }
  imp.emit({
    kind: 'exception',
    ...imp.common(imp.vcpu, pc),
    ec,
    esr: hsr,
    far,
    from_el: 1,
    to_el: 2,
    detail: `${what} (${KVM_EC_NAMES[ec] ?? 'EC 0x' + ec.toString(16)}) ipa 0x${ipa.toString(16)}`,
  });
}

// kvm_guest_fault: "ipa %#llx, hsr %#08lx, hxfar %#08lx, pc %#016lx" — the syndrome, FAR and IPA of a
// stage-2 abort.
H.set('kvm_guest_fault', (imp, t, p, e) => {
  const ipa = bigAfter(t, 'ipa ', p, e);
  const hsr = numAfter(t, 'hsr ', numEnd, e);
  const far = bigAfter(t, 'hxfar ', numEnd, e);
  const pc = bigAfter(t, 'pc ', numEnd, e);
  if (ipa === undefined || hsr !== hsr || far === undefined || pc === undefined) return false;
  abortSyndrome(imp, ipa, hsr, far, pc, 'guest fault');
  return true;
});

// kvm_mmio_nisv (6.12): "ipa %#016lx, esr %#016lx, far %#016lx, pc %#016lx" — an MMIO abort whose
// syndrome does not describe the access (ESR.ISV = 0): KVM cannot emulate it, the VMM gets
// KVM_EXIT_ARM_NISV.
H.set('kvm_mmio_nisv', (imp, t, p, e) => {
  const ipa = bigAfter(t, 'ipa ', p, e);
  const esr = numAfter(t, 'esr ', numEnd, e);
  const far = bigAfter(t, 'far ', numEnd, e);
  const pc = bigAfter(t, 'pc ', numEnd, e);
  if (ipa === undefined || esr !== esr || far === undefined || pc === undefined) return false;
  abortSyndrome(imp, ipa, esr, far, pc, 'MMIO abort without a valid syndrome (KVM_EXIT_ARM_NISV)');
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
    imp.emit({
      kind: 'hypercall',
      ...imp.common(imp.vcpu, pc),
      conduit: 'hvc',
      imm,
      func: 0,
      name: '',
      subop: '',
      args: [r0],
      results: [],
    });
    return true;
  }
  const func = Number(BigInt.asUintN(32, r0));
  imp.emit({
    kind: 'hypercall',
    ...imp.common(imp.vcpu, pc),
    conduit: 'hvc',
    imm,
    func,
    name: decodeSmccc(func).name,
    subop: '',
    args: [],
    results: [],
  });
  return true;
});

// kvm_wfx_arm64: "guest executed wf%c at: 0x%016lx"
H.set('kvm_wfx_arm64', (imp, t, p, e) => {
  const i = t.indexOf('executed wf', p);
  const pc = bigAfter(t, 'at: ', p, e);
  if (i < 0 || i > e || pc === undefined) return false;
  const ev: Wfx = { kind: 'wfx', ...imp.common(imp.vcpu, pc), wfe: t.charCodeAt(i + 11) === 101, wake: 'unknown', slept: 0 };
  // slept comes from kvm_vcpu_wakeup, else the time to the vCPU's next kvm_entry.
  if (imp.vcpu >= 0) imp.hold('wfx', ev);
  else imp.emit(ev);
  return true;
});

// kvm_vcpu_wakeup: "%s time %lld ns, polling %s" — "wait" when the vCPU blocked, "poll" when halt
// polling saw the wake-up first; either way the time the vCPU spent halted (KVM's own measure).
H.set('kvm_vcpu_wakeup', (imp, t, p, e) => {
  const ns = numAfter(t, 'time ', p, e);
  if (ns !== ns || ns < 0 || t.indexOf(' ns, polling ', numEnd) !== numEnd) return false;
  const w = imp.pending('wfx', imp.vcpu);
  if (w) {
    w.slept = ns;
    w.sleptKnown = true;
  }
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
  imp.raised = { thread: imp.thread, intid: num, level: level ? 1 : 0 };
  imp.emit({
    kind: 'irq_line',
    ...imp.common(type === 2 ? idx : -1),
    intid: num,
    level: level ? 1 : 0,
    trigger: 'level',
    source: imp.sourceOf(num),
  });
  return true;
});

/** The number after the last 'level' (with or without a colon). */
function levelAt(t: string, e: number): number {
  const i = t.lastIndexOf('level', e);
  let p = i + 5;
  if (t.charCodeAt(p) === 58) p++;
  while (t.charCodeAt(p) === 32) p++;
  return decAt(t, p, e);
}

/** A raised SGI, timer or other PPI of a vCPU that is halted in a WFx is what woke it. */
function wakeBy(imp: KvmLineSink, vcpu: number, intid: number, timer: boolean): void {
  const w = imp.pending('wfx', vcpu);
  if (w && w.wake === 'unknown') w.wake = timer ? 'timer' : intid < 16 ? 'sgi' : 'irq';
}

// kvm_timer_update_irq: "VCPU: %ld, IRQ %d, level %d" — the vCPU's timer line as KVM drives it.
H.set('kvm_timer_update_irq', (imp, t, p, e) => {
  const v = numAfter(t, 'VCPU: ', p, e);
  const irq = numAfter(t, 'IRQ ', numEnd, e);
  const level = levelAt(t, e);
  if (v !== v || irq !== irq || level !== level) return false;
  if (!(v >= 0 && validVcpu(v))) return imp.badVcpu(v);
  if (level) wakeBy(imp, v, irq, true);
  imp.raised = { thread: imp.thread, intid: irq, level: level ? 1 : 0 };
  imp.emit({ kind: 'irq_line', ...imp.common(v), intid: irq, level: level ? 1 : 0, trigger: 'level', source: imp.sourceOf(irq) });
  return true;
});

// vgic_update_irq_pending: "VCPU: %ld, IRQ %d, level: %d" — any interrupt's line into the vGIC
// (after kvm_irq_line or kvm_timer_update_irq it is the same change: one event, not two).
// KVM prints the target vCPU for SGIs and PPIs only; an SPI's line shows VCPU 0 whatever its
// target, so an SPI's event has no vCPU (-1).
H.set('vgic_update_irq_pending', (imp, t, p, e) => {
  const v = numAfter(t, 'VCPU: ', p, e);
  const irq = numAfter(t, 'IRQ ', numEnd, e);
  const level = levelAt(t, e);
  if (v !== v || irq !== irq || level !== level) return false;
  if (!(v >= 0 && validVcpu(v))) return imp.badVcpu(v);
  const r = imp.raised;
  if (r && r.thread === imp.thread && r.intid === irq && r.level === (level ? 1 : 0)) {
    imp.raised = undefined;
    return true;
  }
  const vcpu = irq < 32 ? v : -1;
  if (level && irq < 32) wakeBy(imp, v, irq, false);
  imp.emit({
    kind: 'irq_line',
    ...imp.common(vcpu),
    intid: irq,
    level: level ? 1 : 0,
    trigger: irq < 16 ? 'edge' : 'level',
    source: irq < 16 ? 'sgi' : imp.sourceOf(irq),
  });
  return true;
});

// kvm_sys_access: "PC: %lx %s (%d,%d,%d,%d,%d) %s". The name is KVM's descriptor name without its
// "SYS_" prefix; for some registers (the PMU's) KVM's name is its encoding macro's text, e.g.
// "(((3) << 19) | ((3) << 16) | …)" — the name then comes from the (Op0,Op1,CRn,CRm,Op2) tuple.
H.set('kvm_sys_access', (imp, t, p, e) => {
  const pc = bigAfter(t, 'PC: ', p, e);
  if (pc === undefined) return false;
  const nameStart = numEnd + 1;
  const write = t.endsWith(' write', e);
  if (!write && !t.endsWith(' read', e)) return false;
  const close = t.lastIndexOf(')', e);
  const open = t.lastIndexOf(' (', close);
  if (open < nameStart || close < 0) return false;
  const ops: number[] = [];
  let q = open + 2;
  for (let i = 0; i < 5; i++) {
    const v = decAt(t, q, close);
    if (v !== v || v < 0 || v > 15 || t.charCodeAt(numEnd) !== (i < 4 ? 44 : 41)) return false;
    ops.push(v);
    q = numEnd + 1;
  }
  const encoding = sysregEncoding(ops[0]!, ops[1]!, ops[2]!, ops[3]!, ops[4]!);
  let name = t.slice(nameStart, open);
  if (name.startsWith('SYS_')) name = name.slice(4);
  if (name === 'UNKN' || name.startsWith('(')) name = sysregNameOf(encoding);
  imp.hold('sys', { kind: 'sysreg', ...imp.common(imp.vcpu, pc), name, encoding, write, value: 0n, outcome: 'trapped' });
  return true;
});

// trap_reg: "%s %s reg %d (0x%016llx)" — the value a trapped debug-register write carried: it
// completes the vCPU's kvm_sys_access event just before it (the index is KVM's own numbering).
H.set('trap_reg', (imp, t, p, e) => {
  const write = t.indexOf(' write to reg ', p);
  const read = t.indexOf(' read from reg ', p);
  const open = t.lastIndexOf('(', e);
  const value = open > p ? hexBigAt(t, open + 1, e) : undefined;
  if ((write < 0 && read < 0) || value === undefined || t.charCodeAt(numEnd) !== 41) return false;
  const s = imp.pending('sys', imp.vcpu);
  if (s && write >= 0 && s.write) s.value = value;
  return true;
});

/** arch_timer_ctx_index → the model's timer name (KVM's TIMER_PTIMER, TIMER_VTIMER, then NV's EL2 ones). */
const KVM_TIMERS = ['phys', 'virt', 'hypvirt', 'hyp'] as const;

// kvm_timer_save_state / kvm_timer_restore_state: "CTL: %#08lx CVAL: %#16llx arch_timer_ctx_index: %d"
// — the guest's timer as KVM put it away when the vCPU left the CPU, or loaded it back.
function timerState(save: boolean): Handler {
  return (imp, t, p, e) => {
    const ctl = numAfter(t, 'CTL: ', p, e);
    let q = t.indexOf('CVAL:', numEnd);
    if (ctl !== ctl || q < 0 || q > e) return false;
    q += 5;
    while (t.charCodeAt(q) === 32) q++;
    const cval = hexBigAt(t, q, e);
    const idx = numAfter(t, 'index: ', numEnd, e);
    const timer = KVM_TIMERS[idx];
    if (cval === undefined || timer === undefined) return false;
    const c = imp.common();
    imp.emit({ kind: 'timer', ...c, timer, op: save ? 'save_ctl' : 'restore_ctl', value: BigInt(ctl) });
    imp.emit({ kind: 'timer', ...c, timer, op: save ? 'save_cval' : 'restore_cval', value: cval });
    return true;
  };
}
H.set('kvm_timer_save_state', timerState(true));
H.set('kvm_timer_restore_state', timerState(false));

// kvm_userspace_exit: "reason %s (%d)" — counted in the metadata, no guest event.
H.set('kvm_userspace_exit', (imp, t, p, e) => {
  const i = t.indexOf('reason ', p);
  if (i < 0 || i > e) return false;
  const sp = t.indexOf(' ', i + 7);
  const reason = t.slice(i + 7, sp < 0 || sp > e ? e : sp);
  imp.userspaceExits[reason] = (imp.userspaceExits[reason] ?? 0) + 1;
  return true;
});

for (const name of FTRACE_UNMAPPED.keys()) H.set(name, () => 'unmapped');
